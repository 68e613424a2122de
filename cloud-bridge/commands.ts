import type { Command } from 'commander';
import { registerReconcileCommand } from './reconcile/command.js';

export function registerBridgeCommands(program: Command): void {
  registerReconcileCommand(program);
}
