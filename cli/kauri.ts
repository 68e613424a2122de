import { Command, CommanderError } from 'commander';

// The composition root: every deployable registers its own commands here. Each command's
// modules load only when that command runs (its first argument picks them), so `kauri sim
// wechat` or `kauri reconcile` does not pay for the bridge, the terminal and the device
// drivers at start-up; help and unknown commands load them all.
type Registrar = (program: Command) => void;

const REGISTRARS: Array<{ commands: string[]; load: () => Promise<Registrar[]> }> = [
  {
    commands: ['start', 'demo-bridge'],
    load: async () => {
      const m = await import('./start.js');
      return [m.registerStartCommand, m.registerDemoBridgeCommand];
    },
  },
  {
    commands: ['bridge', 'admin'],
    load: async () => [
      (await import('../cloud-bridge/commands.js')).registerBridgeCommands,
      (await import('../cloud-bridge/terminals/admin.js')).registerTerminalAdminCommands,
      (await import('../cloud-bridge/payouts/commands.js')).registerPayoutAdminCommands,
      (await import('../cloud-bridge/payouts/admin.js')).registerPayoutDbAdminCommands,
    ],
  },
  {
    commands: ['reconcile'],
    load: async () => [(await import('../cloud-bridge/reconcile/command.js')).registerReconcileCommand],
  },
  {
    commands: ['sticker'],
    load: async () => [(await import('../cloud-bridge/onecode/sticker-command.js')).registerStickerCommand],
  },
  { commands: ['sim'], load: async () => [(await import('../simulators/commands.js')).registerSimCommands] },
  {
    commands: ['terminal', 'print-test'],
    load: async () => [(await import('../terminal/commands.js')).registerTerminalCommands],
  },
];

export async function buildProgram(argv: string[] = process.argv): Promise<Command> {
  const program = new Command('kauri')
    .description('Kauri: WeChat Pay, Alipay and Chinese online banking at a New Zealand counter')
    // Bad arguments get one line on stderr (reason and hint), as every command promises.
    .configureOutput({
      outputError: (str, write) => write(`${str.trim().replace(/\s*\n\s*/g, ' ')} (run with --help for usage)\n`),
    })
    .exitOverride();
  const first = argv[2];
  const wanted = REGISTRARS.filter((r) => first !== undefined && r.commands.includes(first));
  for (const r of wanted.length ? wanted : REGISTRARS) {
    for (const register of await r.load()) register(program);
  }
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
  const program = await buildProgram(argv);
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
