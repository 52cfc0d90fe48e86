// Check `gotomeeting`. STUB: implemented in its own issue; until then it reports not-observed.
import type { Check, CheckContext } from './types.js';

export const CHECK = 'gotomeeting' as const;

export function createGotomeetingCheck(ctx: CheckContext): Check {
  void ctx;
  return {
    name: CHECK,
    finish: () => ({ result: { check: CHECK, status: 'not-observed', summary: 'not implemented yet', targets: [] }, findings: [] }),
  };
}
