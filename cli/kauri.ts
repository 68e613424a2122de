import { Command, CommanderError } from 'commander';
import { registerBridgeCommands } from '../cloud-bridge/commands.js';
import { registerSimCommands } from '../simulators/commands.js';
import { registerTerminalCommands } from '../terminal/commands.js';
import { registerStartCommand } from './start.js';
import { registerTerminalAdminCommands } from '../cloud-bridge/terminals/admin.js';

// The composition root: every deployable registers its own commands here.
export function buildProgram(): Command {
  const program = new Command('kauri')
    .description('Kauri: WeChat Pay, Alipay and Chinese online banking at a New Zealand counter')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerStartCommand(program);
  registerBridgeCommands(program);
  registerTerminalAdminCommands(program);
  registerSimCommands(program);
  registerTerminalCommands(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  if (process.env.KAURI_EXIT_WITH_PARENT === '1') {
    // Started by `kauri start`: when the parent goes (even by SIGKILL) our stdin closes,
    // and we stop as if told to, so no process is left behind.
    process.stdin.on('end', () => process.kill(process.pid, 'SIGTERM'));
    process.stdin.on('error', () => process.kill(process.pid, 'SIGTERM'));
    process.stdin.resume();
  }
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are "errors" to commander; they already printed.
      process.exit(err.exitCode);
    }
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`kauri: ${message.split('\n')[0]}\n`);
    if (process.env.KAURI_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    process.exit(1);
  }
}

await main(process.argv);
