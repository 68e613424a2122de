import type { Command } from 'commander';
import { registerPrintTestCommand } from './drivers/escpos/print-test.js';

// Commands of the counter app: each registers itself here.
export function registerTerminalCommands(program: Command): void {
  void program;
  registerPrintTestCommand(program);
}
