import { describe, it, expect, afterAll } from 'vitest';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { createTestDatabase, storeKinds, type TestDatabase } from '../../test/support/stores.js';
import { Scheduler } from './scheduler.js';
import { EventLog } from '../events/event-log.js';
import { systemClock } from '../../protocol/clock.js';

const fixture = fileURLToPath(new URL('./scheduler-worker.fixture.ts', import.meta.url));

function runWorker(url: string, ms: number, name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', fixture, url, String(ms), name], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    p.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`worker ${name} exited ${code}`))));
  });
}

const dbs: TestDatabase[] = [];
afterAll(async () => {
  for (const d of dbs) await d.drop();
});

describe('scheduler', () => {
  for (const kind of storeKinds()) {
    it(`runs each job and task once across two bridge processes sharing ${kind}`, async () => {
      const tdb = await createTestDatabase(kind);
      dbs.push(tdb);
      const store = await tdb.open();
      const producer = new Scheduler(store, systemClock(1), pino({ level: 'silent' }));
      producer.defineTask('test.task', async () => undefined);
      for (let n = 0; n < 40; n++) await producer.enqueue('test.task', { n });
      // a dedupe key makes a second enqueue of the same work a no-op
      expect(await producer.enqueue('test.task', { n: 999 }, { dedupeKey: 'same' })).toBeTruthy();
      expect(await producer.enqueue('test.task', { n: 999 }, { dedupeKey: 'same' })).toBeUndefined();
      await store.close();

      await Promise.all([runWorker(tdb.url, 4000, 'A'), runWorker(tdb.url, 4000, 'B')]);

      const check = await tdb.open();
      const events = await new EventLog(check).read(0, { limit: 1000 });
      const tasks = events
        .filter((e) => e.type === 'test.task')
        .map((e) => (e.payload as { n: number }).n)
        .sort((a, b) => a - b);
      expect(tasks).toEqual([...Array.from({ length: 40 }, (_, i) => i), 999]);
      expect(events.filter((e) => e.type === 'test.job')).toHaveLength(1);
      await check.close();
    }, 60_000);
  }

  it('retries a failing task with backoff and gives up after its attempts', async () => {
    const tdb = await createTestDatabase('sqlite');
    dbs.push(tdb);
    const store = await tdb.open();
    const scheduler = new Scheduler(store, systemClock(1000), pino({ level: 'silent' }), { pollMs: 5 });
    let calls = 0;
    scheduler.defineTask(
      'flaky',
      async () => {
        calls++;
        if (calls < 3) throw new Error('not yet');
      },
      { maxAttempts: 5 },
    );
    let doomed = 0;
    scheduler.defineTask(
      'doomed',
      async () => {
        doomed++;
        throw new Error('never');
      },
      { maxAttempts: 3 },
    );
    let polls = 0;
    scheduler.defineTask('poll', async () => (++polls < 10 ? { again: 1000 } : undefined), { maxAttempts: 1 });
    scheduler.start();
    await scheduler.enqueue('flaky', {});
    await scheduler.enqueue('doomed', {});
    await scheduler.enqueue('poll', {});
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && (calls < 3 || doomed < 3 || polls < 10))
      await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 100));
    await scheduler.stop();
    expect(calls).toBe(3);
    expect(doomed).toBe(3);
    expect(polls).toBe(10); // polling again does not use up attempts
    const rows = await store.db.selectFrom('tasks').select(['kind', 'status']).orderBy('kind').execute();
    expect(rows).toEqual([
      { kind: 'doomed', status: 'dead' },
      { kind: 'flaky', status: 'done' },
      { kind: 'poll', status: 'done' },
    ]);
    await store.close();
  });
});
