import { Option, type Command } from 'commander';
import type { Store } from '../store/db.js';
import type { Terminal } from './repo.js';
import { newManagerPin } from './pin-policy.js';

// `kauri admin pairing-code create --store …`, `kauri admin terminal list|revoke`,
// `kauri admin manager-pin set --store …`: through the repositories, never by hand.

const DEFAULT_DB = 'sqlite:./data/bridge.db';

// The store, its drivers and the repositories load only when a command runs, so the
// commands' help costs no more than commander.
async function withStore<T>(url: string, fn: (store: Store) => Promise<T>): Promise<T> {
  const { openStore } = await import('../store/db.js');
  const store = await openStore(url);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** One counter per line: id, store, name, state, when last seen, and its devices' health. */
export function terminalLine(t: Terminal, healthText: (h: Terminal['health']) => string): string {
  const health = t.health ? `${healthText(t.health)} (at ${t.healthAt})` : healthText(null);
  return [
    t.id,
    t.storeId,
    t.name,
    t.revokedAt ? `revoked ${t.revokedAt}` : 'active',
    `seen ${t.lastSeenAt ?? 'never'}`,
    health,
  ].join('\t');
}

/** Adds the terminal subcommands to `kauri admin` (created by the bridge's commands). */
export function registerTerminalAdminCommands(program: Command): void {
  const admin =
    program.commands.find((c) => c.name() === 'admin') ?? program.command('admin').description('administration');
  const db = () => new Option('--db <url>', 'sqlite:PATH or postgres://…').default(DEFAULT_DB);
  const json = () => new Option('--json', 'print JSON');
  const print = (value: unknown, asJson: boolean | undefined, human: string) =>
    process.stdout.write(asJson ? `${JSON.stringify(value)}\n` : `${human}\n`);

  admin
    .command('pairing-code')
    .description('one-time codes that pair a new counter with a store')
    .command('create')
    .description('create a pairing code (valid once, for 24 hours; only its hash is kept)')
    .requiredOption('--store <id-or-code>', 'the store the counter belongs to')
    .option('--name <name>', 'what HQ calls the counter')
    .addOption(db())
    .addOption(json())
    .action(async (o) => {
      const { TerminalsRepo } = await import('./repo.js');
      const r = await withStore(o.db, (s) =>
        new TerminalsRepo(s).createPairingCode({ storeIdOrCode: o.store, terminalName: o.name }),
      );
      print(r, o.json, `pairing code (shown once, valid until ${r.expiresAt}): ${r.code}`);
    });

  const terminal = admin.command('terminal').description('paired counters');
  terminal
    .command('list')
    .description('list counters')
    .option('--store <id>', 'only this store')
    .option('--merchant <id>', 'only this merchant')
    .addOption(db())
    .addOption(json())
    .action(async (o) => {
      const { TerminalsRepo, healthText } = await import('./repo.js');
      const list = await withStore(o.db, (s) =>
        new TerminalsRepo(s).list({ storeId: o.store, merchantId: o.merchant }),
      );
      print(list, o.json, list.map((t) => terminalLine(t, healthText)).join('\n') || '(no terminals)');
    });
  terminal
    .command('revoke')
    .description('revoke a counter: its link is cut at once (on every bridge) and refused afterwards')
    .argument('<id>', 'terminal id (term_…)')
    .addOption(db())
    .action(async (id, o) => {
      const [{ revokeTerminal }, { EventLog }] = await Promise.all([
        import('./service.js'),
        import('../events/event-log.js'),
      ]);
      await withStore(o.db, (s) => revokeTerminal(s, new EventLog(s), id));
      process.stdout.write(`terminal ${id} revoked\n`);
    });

  admin
    .command('manager-pin')
    .description("the store manager's PIN that approves refunds at the counter")
    .command('set')
    .description(
      "set a store's manager PIN: 6–12 digits, not an obvious one such as 123456 (read from KAURI_NEW_PIN, or generated and printed)",
    )
    .requiredOption('--store <id-or-code>', 'store')
    .addOption(db())
    .action(async (o) => {
      const pin = process.env.KAURI_NEW_PIN ?? newManagerPin();
      const { TerminalsRepo } = await import('./repo.js');
      await withStore(o.db, async (s) => {
        const repo = new TerminalsRepo(s);
        const store = await repo.storeByIdOrCode(o.store);
        if (!store) throw new Error(`no store "${o.store}"`);
        await repo.setManagerPin(store.id, pin);
      });
      process.stdout.write(process.env.KAURI_NEW_PIN ? 'manager PIN set\n' : `manager PIN set (shown once): ${pin}\n`);
    });
}
