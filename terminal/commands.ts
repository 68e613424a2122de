import type { Command } from 'commander';

// Commands of the counter app: each registers itself here.
export function registerTerminalCommands(program: Command): void {
  void program;
}
