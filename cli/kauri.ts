import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';

// The composition root. `kauri --help`, `kauri --version` and a mistyped command load
// nothing but commander: the list below carries each command's one-line summary. A command
// named on the command line loads only the module that declares its options (light: commander
// and a few parsers), and its action imports what it runs (the bridge, the terminal, the
// device drivers) only when it runs, so `kauri <command> --help` is as quick as `kauri --help`.
type Registrar = (program: Command) => void;

interface CommandEntry {
  name: string;
  summary: string;
  load: () => Promise<Registrar[]>;
}

export const COMMANDS: CommandEntry[] = [
  {
    name: 'start',
    summary: 'run the whole system on this machine: bridge, channel simulators, devices, a paired terminal',
    load: async () => [(await import('./start-command.js')).registerStartCommand],
  },
  {
    name: 'demo-bridge',
    summary: 'take the bridge of a running `kauri start` down or bring it back, to watch the counter work offline',
    load: async () => [(await import('./start-command.js')).registerDemoBridgeCommand],
  },
  {
    name: 'bridge',
    summary: 'run the cloud bridge (merchant API, channel notifies, jobs)',
    load: async () => [(await import('../cloud-bridge/commands.js')).registerBridgeCommands],
  },
  {
    name: 'admin',
    summary: 'manage merchants, stores, API keys, channel accounts, HQ users and counters',
    load: async () => [
      (await import('../cloud-bridge/commands.js')).registerBridgeCommands,
      (await import('../cloud-bridge/terminals/admin.js')).registerTerminalAdminCommands,
      (await import('../cloud-bridge/payouts/commands.js')).registerPayoutAdminCommands,
      (await import('../cloud-bridge/payouts/admin.js')).registerPayoutDbAdminCommands,
    ],
  },
  {
    name: 'reconcile',
    summary: "reconcile one channel-day: the channel's statement against the platform's orders",
    load: async () => [(await import('../cloud-bridge/reconcile/command.js')).registerReconcileCommand],
  },
  {
    name: 'sticker',
    summary: "make a store's printed one-code sticker as PDF or PNG",
    load: async () => [(await import('../cloud-bridge/onecode/sticker-command.js')).registerStickerCommand],
  },
  {
    name: 'sim',
    summary: 'protocol-faithful simulators of the payment channels and counter devices',
    load: async () => [(await import('../simulators/commands.js')).registerSimCommands],
  },
  {
    name: 'print-test',
    summary: 'print a test page and wait for the printer to report it printed',
    load: async () => [(await import('../terminal/commands.js')).registerTerminalCommands],
  },
  {
    name: 'terminal',
    summary: 'the counter app: cashier and customer screens, linked to the bridge',
    load: async () => [(await import('../terminal/commands.js')).registerTerminalCommands],
  },
];

/** The version in package.json: beside cli/ when run from source, two up from dist/cli/. */
export function kauriVersion(): string {
  for (const up of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'kauri' && pkg.version) return pkg.version;
    } catch {
      // not this one
    }
  }
  return 'unknown';
}

export async function buildProgram(argv: string[] = process.argv): Promise<Command> {
  const program = new Command('kauri')
    .description('Kauri: WeChat Pay, Alipay and Chinese online banking at a New Zealand counter')
    .version(kauriVersion(), '-V, --version', 'print the version of Kauri')
    // Bad arguments get one line on stderr (reason and hint), as every command promises.
    .configureOutput({
      outputError: (str, write) => write(`${str.trim().replace(/\s*\n\s*/g, ' ')} (run with --help for usage)\n`),
    })
    .exitOverride();
  // `kauri help <command>` is `kauri <command> --help`.
  const named = argv[2] === 'help' ? argv[3] : argv[2];
  const entry = COMMANDS.find((c) => c.name === named);
  if (entry) {
    const registered = new Set<Registrar>();
    for (const register of await entry.load()) {
      if (registered.has(register)) continue;
      registered.add(register);
      register(program);
    }
  } else {
    for (const c of COMMANDS) program.command(c.name).summary(c.summary);
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
