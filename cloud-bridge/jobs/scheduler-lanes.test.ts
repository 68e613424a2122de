import { describe, it, expect, afterAll } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { request } from 'undici';
import { createTestDatabase, storeKinds, type TestDatabase } from '../../test/support/stores.js';
import { Scheduler } from './scheduler.js';
import { systemClock } from '../../protocol/clock.js';

// The scheduler must never stall: work runs in lanes with their own
// limits, each task under a timeout, and a running task's lease is renewed so a second
// bridge never takes it over.

const silent = pino({ level: 'silent' });
const dbs: TestDatabase[] = [];
const servers: Server[] = [];
afterAll(async () => {
  for (const s of servers) s.closeAllConnections();
  for (const d of dbs) await d.drop();
});

/** A merchant's webhook endpoint that takes requests and never answers. */
async function hangingReceiver(): Promise<string> {
  const server = createServer(() => undefined);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('scheduler lanes, timeouts and leases', () => {
  for (const kind of storeKinds()) {
    it(`runs an order sync due at +0.5 s on time while webhook receivers hang (${kind})`, async () => {
      const tdb = await createTestDatabase(kind);
      dbs.push(tdb);
      const store = await tdb.open();
      const hook = await hangingReceiver();
      const scheduler = new Scheduler(store, systemClock(1), silent, { pollMs: 50 });
      let posted = 0;
      scheduler.defineTask('webhook.deliver', async (_p, { signal }) => {
        posted++;
        // The webhook service's own 10 s timeout, as in production.
        const limit = AbortSignal.timeout(10_000);
        await request(hook, {
          method: 'POST',
          body: '{}',
          signal: (signal as AbortSignal | undefined) ? AbortSignal.any([signal, limit]) : limit,
        });
      });
      let syncedAt: number | undefined;
      scheduler.defineTask('order.sync', async () => {
        syncedAt = Date.now();
      });
      // More hanging deliveries than the webhook lane holds, queued before the sync.
      for (let n = 0; n < 20; n++) await scheduler.enqueue('webhook.deliver', { n });
      scheduler.start();
      while (posted === 0) await wait(10);
      const queuedAt = Date.now();
      await scheduler.enqueue('order.sync', { orderId: 'ord_1' }, { delayMs: 500 });
      while (!syncedAt && Date.now() - queuedAt < 5_000) await wait(10);
      const late = syncedAt! - queuedAt;
      expect(syncedAt, 'the order sync never ran').toBeDefined();
      expect(late).toBeGreaterThanOrEqual(490);
      expect(late).toBeLessThan(1_000);
      // The webhook lane never ran more than its limit at once.
      expect(posted).toBe(8);
      for (const s of servers) s.closeAllConnections();
      await scheduler.stop();
      await store.close();
    }, 30_000);

    it(`queues a task inside a caller's transaction: it exists only if that commits, and a duplicate does not abort it (${kind})`, async () => {
      const tdb = await createTestDatabase(kind);
      dbs.push(tdb);
      const store = await tdb.open();
      const scheduler = new Scheduler(store, systemClock(1), silent);
      await expect(
        store.db.transaction().execute(async (trx) => {
          await scheduler.enqueue('order.sync', { n: 1 }, { db: trx, dedupeKey: 'k1' });
          throw new Error('the transition failed');
        }),
      ).rejects.toThrow('the transition failed');
      expect(await store.db.selectFrom('tasks').select('id').execute()).toEqual([]);
      const ids = await store.db
        .transaction()
        .execute(async (trx) => [
          await scheduler.enqueue('order.sync', { n: 2 }, { db: trx, dedupeKey: 'k2' }),
          await scheduler.enqueue('order.sync', { n: 3 }, { db: trx, dedupeKey: 'k2' }),
          await scheduler.enqueue('order.sync', { n: 4 }, { db: trx }),
        ]);
      expect(ids[0]).toBeTruthy();
      expect(ids[1]).toBeUndefined();
      expect(ids[2]).toBeTruthy();
      const rows = await store.db.selectFrom('tasks').select('payload').orderBy('payload').execute();
      expect(rows.map((r) => JSON.parse(r.payload).n)).toEqual([2, 4]);
      await store.close();
    });

    it(`renews a running task's lease so a second instance never runs it again (${kind})`, async () => {
      const tdb = await createTestDatabase(kind);
      dbs.push(tdb);
      const a = await tdb.open();
      const b = await tdb.open();
      const runs: string[] = [];
      const make = (store: typeof a, name: string) =>
        new Scheduler(store, systemClock(1), silent, { pollMs: 20, leaseMs: 300 }).defineTask(
          'order.sync',
          async () => {
            runs.push(name);
            // Five leases long: without renewal the other instance would take it over.
            await wait(1_500);
          },
        );
      const sa = make(a, 'A');
      const sb = make(b, 'B');
      await sa.enqueue('order.sync', { orderId: 'ord_slow' });
      sa.start();
      while (runs.length === 0) await wait(10);
      sb.start();
      await wait(1_800);
      await Promise.all([sa.stop(), sb.stop()]);
      expect(runs).toEqual(['A']);
      const row = await a.db.selectFrom('tasks').select(['status', 'attempts']).executeTakeFirstOrThrow();
      expect(row).toEqual({ status: 'done', attempts: 1 });
      await a.close();
      await b.close();
    }, 30_000);
  }

  it('tells a task past its time limit to stop and gives its lane slot away, but never runs it again while it still runs', async () => {
    const tdb = await createTestDatabase('sqlite');
    dbs.push(tdb);
    const store = await tdb.open();
    const scheduler = new Scheduler(store, systemClock(1000), silent, { pollMs: 10, lanes: { reconciliation: 1 } });
    const log: string[] = [];
    const t0 = Date.now();
    const at = () => Date.now() - t0;
    let attempts = 0;
    scheduler.defineTask(
      'reconcile.day',
      async (_p, { signal }) => {
        const n = ++attempts;
        log.push(`start ${n} ${at()}`);
        if (n === 1) {
          await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
          log.push(`aborted ${at()}`);
          await wait(600); // slow to stop: the task is still running here
          log.push(`end 1 ${at()}`);
          throw new Error('stopped');
        }
        log.push(`end ${n} ${at()}`);
      },
      { timeoutMs: 200, maxAttempts: 3 },
    );
    let otherAt: number | undefined;
    scheduler.defineTask('reconcile.other', async () => {
      otherAt = at();
    });
    await scheduler.enqueue('reconcile.day', {});
    await scheduler.enqueue('reconcile.other', {}, { runAt: new Date(Date.now() + 50) });
    scheduler.start();
    while (attempts < 2 && at() < 5_000) await wait(10);
    await wait(50);
    await scheduler.stop();
    const when = (prefix: string) =>
      Number(
        log
          .find((l) => l.startsWith(prefix))!
          .split(' ')
          .at(-1),
      );
    // The same-lane task got the slot when the first overran, long before it stopped.
    expect(otherAt).toBeDefined();
    expect(otherAt!).toBeLessThan(when('end 1'));
    expect(when('aborted')).toBeLessThan(600);
    // The retry started only after the first run had really ended.
    expect(when('start 2')).toBeGreaterThanOrEqual(when('end 1'));
    const row = await store.db
      .selectFrom('tasks')
      .select(['status', 'attempts', 'last_error'])
      .where('kind', '=', 'reconcile.day')
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'done', attempts: 2 });
    expect(row.last_error).toMatch(/longer than 200 ms/);
    await store.close();
  }, 20_000);

  it('a periodic job that hangs does not hold up tasks', async () => {
    const tdb = await createTestDatabase('sqlite');
    dbs.push(tdb);
    const store = await tdb.open();
    const scheduler = new Scheduler(store, systemClock(1), silent, { pollMs: 20 });
    let release!: () => void;
    scheduler.every(
      'slow.job',
      60_000,
      () =>
        new Promise<void>((r) => {
          release = r;
        }),
    );
    let ran = 0;
    scheduler.defineTask('order.sync', async () => {
      ran++;
    });
    scheduler.start();
    await wait(100);
    await scheduler.enqueue('order.sync', {});
    const t0 = Date.now();
    while (!ran && Date.now() - t0 < 3_000) await wait(10);
    expect(ran).toBe(1);
    expect(Date.now() - t0).toBeLessThan(500);
    release();
    await scheduler.stop();
    await store.close();
  }, 20_000);
});
