import { describe, it, expect, afterEach } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, sql } from 'kysely';
import { GroupCommitSqliteDialect } from './group-commit.js';

// Group commit on a real SQLite file in WAL with synchronous = FULL, read back through a
// second, independent connection: what it sees is what a crash would leave.

interface T {
  items: { id: number; tag: string };
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function open() {
  const dir = mkdtempSync(join(tmpdir(), 'kauri-gc-'));
  dirs.push(dir);
  const file = join(dir, 'g.db');
  const raw = new SQLite(file);
  raw.pragma('journal_mode = WAL');
  raw.pragma('synchronous = FULL');
  raw.exec('create table items (id integer primary key, tag text not null unique)');
  const dialect = new GroupCommitSqliteDialect(raw);
  const db = new Kysely<T>({ dialect });
  const other = new SQLite(file, { readonly: true });
  const seen = (id: number) => other.prepare('select count(*) as n from items where id = ?').get(id) as { n: number };
  return {
    db,
    dialect,
    seen,
    close: async () => {
      other.close();
      await db.destroy();
    },
  };
}

describe('SQLite group commit', () => {
  it('concurrent writes share commits, and each is answered only once it is on disk', async () => {
    const { db, dialect, seen, close } = await open();
    const visibleWhenAnswered: boolean[] = [];
    await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        db
          .insertInto('items')
          .values({ id: i, tag: `t${i}` })
          .execute()
          .then(() => {
            visibleWhenAnswered.push(seen(i).n === 1);
          }),
      ),
    );
    expect(visibleWhenAnswered).toHaveLength(200);
    expect(visibleWhenAnswered.every(Boolean)).toBe(true);
    expect(dialect.stats.units).toBe(200);
    // 200 writes issued in one turn: a handful of fsyncs, not 200.
    expect(dialect.stats.commits).toBeLessThanOrEqual(5);
    await close();
  });

  it('fsyncs the WAL off the event loop and answers a write or a read only after that fsync', async () => {
    const { db, dialect, close } = await open();
    const raw = (dialect as unknown as { gc: { raw: SQLite.Database } }).gc.raw;
    const stats = dialect.stats;
    // Answered writes: each had its group's fsync done by the time it was answered.
    const syncedWhenAnswered: boolean[] = [];
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        db
          .insertInto('items')
          .values({ id: 1000 + i, tag: `s${i}` })
          .execute()
          .then(() => syncedWhenAnswered.push(stats.syncs === stats.commits)),
      ),
    );
    expect(syncedWhenAnswered.every(Boolean)).toBe(true);
    expect(stats.syncs).toBe(stats.commits);
    expect(stats.syncs).toBeGreaterThan(0);
    // The connection is back at FULL between groups (NORMAL is only the group's own COMMIT).
    expect(raw.pragma('synchronous', { simple: true })).toBe(2);
    // A read issued while a group's fsync runs (no group open) is answered after that fsync.
    const write = db.insertInto('items').values({ id: 2000, tag: 'r' }).execute();
    await new Promise((r) => setImmediate(r)); // the group commits on this turn; its fsync is in flight
    const syncsBefore = stats.syncs;
    const read = await db.selectFrom('items').select('id').where('id', '=', 2000).execute();
    expect(read).toEqual([{ id: 2000 }]);
    expect(stats.syncs).toBeGreaterThan(syncsBefore);
    await write;
    await close();
  });

  it('groups that commit while a WAL fsync runs share the next one, and are answered once it is done', async () => {
    const { db, dialect, seen, close } = await open();
    const stats = dialect.stats;
    const before = { commits: stats.commits, syncs: stats.syncs };
    // One write per turn of the event loop: each turn commits a group of its own, far faster
    // than the disk flushes the WAL.
    const answered: Array<Promise<boolean>> = [];
    for (let i = 0; i < 40; i++) {
      answered.push(
        db
          .insertInto('items')
          .values({ id: 3000 + i, tag: `w${i}` })
          .execute()
          .then(() => seen(3000 + i).n === 1),
      );
      await new Promise((r) => setImmediate(r));
    }
    expect((await Promise.all(answered)).every(Boolean)).toBe(true);
    const commits = stats.commits - before.commits;
    const syncs = stats.syncs - before.syncs;
    expect(commits).toBeGreaterThanOrEqual(10);
    expect(syncs).toBeGreaterThan(0);
    expect(syncs).toBeLessThan(commits);
    await close();
  });

  it("waits for another connection's write lock off the event loop, so a holder in this process can commit", async () => {
    const { db, dialect, close } = await open();
    const raw = (dialect as unknown as { gc: { raw: SQLite.Database } }).gc.raw;
    // A second bridge on the same file in this process (as an end-to-end test starts one).
    const other = new SQLite(raw.name);
    other.pragma('busy_timeout = 2000');
    const second = new Kysely<T>({ dialect: new GroupCommitSqliteDialect(other) });
    const t0 = performance.now();
    // Both in one turn: the first opens a group and holds the write lock until it commits on a
    // later turn; the second must wait for that without stopping the event loop.
    const writes = [
      db.insertInto('items').values({ id: 5000, tag: 'first' }).execute(),
      second.insertInto('items').values({ id: 5001, tag: 'second' }).execute(),
    ];
    await Promise.all(writes);
    expect(performance.now() - t0).toBeLessThan(1_000);
    const rows = await second.selectFrom('items').select('id').where('id', '>=', 5000).orderBy('id').execute();
    expect(rows).toEqual([{ id: 5000 }, { id: 5001 }]);
    await second.destroy();
    await close();
  });

  it('a failing write does not poison the others in its group', async () => {
    const { db, seen, close } = await open();
    await db.insertInto('items').values({ id: 1, tag: 'taken' }).execute();
    const results = await Promise.allSettled([
      db.insertInto('items').values({ id: 2, tag: 'a' }).execute(),
      db.insertInto('items').values({ id: 3, tag: 'taken' }).execute(), // unique violation
      db.insertInto('items').values({ id: 4, tag: 'b' }).execute(),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason.code).toBe('SQLITE_CONSTRAINT_UNIQUE');
    expect([seen(2).n, seen(3).n, seen(4).n]).toEqual([1, 0, 1]);
    await close();
  });

  it('a transaction that throws undoes only its own writes; its neighbours commit', async () => {
    const { db, dialect, seen, close } = await open();
    const before = dialect.stats.commits;
    const results = await Promise.allSettled([
      db.transaction().execute(async (trx) => {
        await trx.insertInto('items').values({ id: 10, tag: 'x10' }).execute();
        await trx.insertInto('items').values({ id: 11, tag: 'x11' }).execute();
      }),
      db.transaction().execute(async (trx) => {
        await trx.insertInto('items').values({ id: 20, tag: 'x20' }).execute();
        throw new Error('the decision failed half way');
      }),
      (async () => {
        // a nested savepoint rolled back inside a unit that commits
        const trx = await db.startTransaction().execute();
        await trx.insertInto('items').values({ id: 30, tag: 'x30' }).execute();
        const sp = await trx.savepoint('inner').execute();
        await sp.insertInto('items').values({ id: 31, tag: 'x31' }).execute();
        await sp.rollbackToSavepoint('inner').execute();
        await trx.commit().execute();
      })(),
      db.insertInto('items').values({ id: 40, tag: 'x40' }).execute(),
    ]);
    expect(results.map((r) => (r.status === 'rejected' ? String(r.reason) : r.status))).toEqual([
      'fulfilled',
      'Error: the decision failed half way',
      'fulfilled',
      'fulfilled',
    ]);
    expect([10, 11, 20, 30, 31, 40].map((id) => seen(id).n)).toEqual([1, 1, 0, 1, 0, 1]);
    expect(dialect.stats.commits - before).toBeLessThanOrEqual(2);
    await close();
  });

  it('reads run at once when nothing is pending and see committed data', async () => {
    const { db, close } = await open();
    await db.insertInto('items').values({ id: 5, tag: 'five' }).execute();
    const [row, count] = await Promise.all([
      db.selectFrom('items').selectAll().where('id', '=', 5).executeTakeFirst(),
      sql<{ n: number }>`select count(*) as n from items`.execute(db),
    ]);
    expect(row).toEqual({ id: 5, tag: 'five' });
    expect(count.rows[0]!.n).toBe(1);
    await close();
  });
});

describe('SQLite group commit under kill -9', () => {
  it('never acknowledges a write that a kill -9 then loses', async () => {
    const { spawn } = await import('node:child_process');
    const { fileURLToPath } = await import('node:url');
    const { openStore } = await import('./db.js');
    const dir = mkdtempSync(join(tmpdir(), 'kauri-gc-kill-'));
    dirs.push(dir);
    const url = `sqlite:${join(dir, 'bridge.db')}`;
    await (await openStore(url)).close(); // migrated before the writer starts
    const fixture = fileURLToPath(new URL('./group-commit-worker.fixture.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, url], { stdio: ['ignore', 'pipe', 'inherit'] });
    const acked: string[] = [];
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const l of lines) if (l.startsWith('evt_')) acked.push(l);
    });
    const t0 = Date.now();
    while (acked.length < 500 && Date.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const store = await openStore(url);
    const rows = await store.db.selectFrom('events').select('id').where('type', '=', 'test.kill').execute();
    await store.close();
    const onDisk = new Set(rows.map((r) => r.id));
    expect(acked.length).toBeGreaterThanOrEqual(500);
    expect(acked.filter((id) => !onDisk.has(id))).toEqual([]);
  }, 60_000);
});
