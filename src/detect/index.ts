// Registry of checks, in run order. The pipeline wiring is the only importer.
import type { Check, CheckContext, CheckName } from './types.js';
import { createDnsProtectionCheck } from './dns-protection.js';
import { createWebProtectionCheck } from './web-protection.js';
import { createGotomeetingCheck } from './gotomeeting.js';

const FACTORIES: Record<CheckName, (ctx: CheckContext) => Check> = {
  'dns-protection': createDnsProtectionCheck,
  'web-protection': createWebProtectionCheck,
  'gotomeeting': createGotomeetingCheck,
};

export function isCheckName(s: string): s is CheckName {
  return Object.prototype.hasOwnProperty.call(FACTORIES, s);
}

export function createChecks(names: readonly string[], ctx: CheckContext): Check[] {
  return names.filter(isCheckName).map((n) => FACTORIES[n](ctx));
}
