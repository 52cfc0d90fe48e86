// `wirecheck batch` and `wirecheck summarize`. STUB: implemented in issue 7.
import type { Command } from 'commander';
export function registerBatchCommands(program: Command): void {
  void program;
}
