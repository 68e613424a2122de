// One bridge in a process of its own for bench/payments.ts and the soak, so the load
// generator never shares its event loop: starts on the database URL given, seeds the demo
// merchant against the WeChat simulator, prints one JSON line ({ url, apiKey }) on stdout,
// and on SIGTERM closes and prints its group-commit counts. Logs go to stderr at the
// level KAURI_LOG_LEVEL names (info, as in production, unless told otherwise).
//   node --import tsx bench/payments-bridge.ts DB_URL SIM_URL SIM_STATE_DIR FILES_DIR [jobs]
import Database from 'better-sqlite3';
import pg from 'pg';
import { startBridge } from '../cloud-bridge/bridge.js';
import { seedDemo } from '../cloud-bridge/demo.js';
import { demoChannelAccounts } from '../cloud-bridge/channels/index.js';

const [dbUrl, simUrl, stateDir, filesDir, jobs] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string | undefined,
];
// Statements sent to the database, counted by wrapping the drivers (PostgreSQL: every
// query a client sends, each one round trip; SQLite: every statement run), so the bench
// can report statements per payment.
let statements = 0;
const pgQuery = pg.Client.prototype.query;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  statements++;
  return (pgQuery as (...a: unknown[]) => unknown).apply(this, args);
} as typeof pg.Client.prototype.query;
{
  const probe = new Database(':memory:');
  const proto = Object.getPrototypeOf(probe.prepare('select 1')) as Record<string, (...a: unknown[]) => unknown>;
  probe.close();
  for (const m of ['run', 'get', 'all', 'iterate']) {
    const orig = proto[m]!;
    proto[m] = function (this: unknown, ...a: unknown[]) {
      statements++;
      return orig.apply(this, a);
    };
  }
}
const bridge = await startBridge({
  dbUrl,
  port: Number(process.env.KAURI_BENCH_BRIDGE_PORT ?? 0),
  secretKey: 'bench-secret-key-0123456789abcdef0123',
  filesDir,
  runJobs: jobs === 'jobs',
  fx: { pullAtStart: false },
});
const seed = await seedDemo(bridge.accounts, {
  registry: bridge.channels,
  channelAccounts: await demoChannelAccounts({ wechat: { url: simUrl, stateDir } }),
});
process.stdout.write(`${JSON.stringify({ url: bridge.url, apiKey: seed.apiKey, pid: process.pid })}\n`);
process.once('SIGTERM', () => {
  void (async () => {
    const stats = bridge.store.groupCommit ? { ...bridge.store.groupCommit } : undefined;
    const counted = statements;
    const orders = await bridge.store.db
      .selectFrom('orders')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirst();
    await bridge.close();
    process.stdout.write(
      `${JSON.stringify({ groupCommit: stats, statements: counted, orders: Number(orders?.n ?? 0) })}\n`,
    );
    process.exit(0);
  })();
});
