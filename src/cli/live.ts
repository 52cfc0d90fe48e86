// `wirecheck live` and `wirecheck interfaces`. STUB: implemented in issue 6.
import type { Command } from 'commander';
export function registerLiveCommands(program: Command): void {
  void program;
}
