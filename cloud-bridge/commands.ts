import type { Command } from 'commander';

export function registerBridgeCommands(program: Command): void {
  void program;
}
