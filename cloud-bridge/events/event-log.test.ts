import { describe, it, expect, afterAll } from 'vitest';
import pg from 'pg';
import { createTestDatabase, pgUrl, type TestDatabase } from '../../test/support/stores.js';
import { skipUnless } from '../../test/support/skip.js';
import { EventLog } from './event-log.js';

// The event log on PostgreSQL: appends overlap (one slow append's transaction does not
// hold up the others), and a reader never skips an event that commits late.

const dbs: TestDatabase[] = [];
afterAll(async () => {
  for (const d of dbs) await d.drop();
});

describe.skipIf(
  skipUnless(pgUrl, 'KAURI_TEST_PG_URL is not set: the PostgreSQL event log test is skipped (.ci/run sets it)'),
)('event log on PostgreSQL', () => {
  it('lets appends overlap, and reads only up to what can no longer commit out of order', async () => {
    const tdb = await createTestDatabase('postgres');
    dbs.push(tdb);
    const store = await tdb.open();
    const log = new EventLog(store);
    await log.append({ type: 'test.first', payload: {} });
    const cursor = await log.head();

    // An append in flight in another session (another bridge), holding its transaction open.
    const slow = new pg.Client({ connectionString: tdb.url });
    await slow.connect();
    await slow.query('begin');
    await slow.query('select pg_advisory_xact_lock_shared(727274)');
    await slow.query(
      `insert into events (id, type, merchant_id, store_id, payload, created_at) values ('evt_slow', 'test.slow', null, null, '{}', now()::text)`,
    );

    const t0 = Date.now();
    const fast = await log.append({ type: 'test.fast', payload: {} });
    expect(Date.now() - t0, 'an append waited for another one in flight').toBeLessThan(400);

    // The fast event has the higher number and is committed, but the slow one may still
    // commit below it: a reader must not move past it yet.
    let readerDone = false;
    const reading = log.read(cursor).then((r) => {
      readerDone = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(readerDone).toBe(false);
    await slow.query('commit');
    await slow.end();
    const seen = await reading;
    expect(seen.map((e) => e.type)).toEqual(['test.slow', 'test.fast']);
    expect(seen[1]!.seq).toBe(fast.seq);

    // Many appends at once all land, in order, once.
    await Promise.all(Array.from({ length: 40 }, (_, n) => log.append({ type: 'test.many', payload: { n } })));
    const all = await log.read(fast.seq, { limit: 100 });
    expect(all.map((e) => (e.payload as { n: number }).n).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 40 }, (_, n) => n),
    );
    await store.close();
  }, 30_000);
});
