import { closeSync, fsync, openSync } from 'node:fs';
import type Database from 'better-sqlite3';
import {
  SqliteDialect,
  type CompiledQuery,
  type DatabaseConnection,
  type Driver,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';

// Group commit for SQLite. With `synchronous = FULL` every COMMIT is an
// fsync (~6 ms on our disks), and better-sqlite3 runs it on the event loop, so one commit
// per write caps a bridge at a few hundred writes per second whatever the CPU. Here every
// write and transaction that arrives while a group is open joins it as a savepoint; the
// group commits once, on the next turn of the event loop, and only then is each of them
// answered. So:
//   - one fsync per group instead of one per write, and nobody is answered before the
//     data is on disk (a crash loses only work that was never acknowledged);
//   - a failing write or a rolled-back transaction undoes only its own savepoint, never
//     its neighbours' work;
//   - a read while no group is open runs at once; a read inside an open group may see its
//     neighbours' uncommitted rows, so it is answered after that group commits too.
// This is the same idea as PostgreSQL's commit_delay and InnoDB's binlog group commit:
// https://www.postgresql.org/docs/current/wal-configuration.html
//
// The fsync itself runs off the event loop. A group commits with synchronous = NORMAL (its
// frames are written to the WAL, not yet synced), and the WAL file is then fsynced on
// libuv's thread pool; the group's units are answered when that fsync is done, which is
// the sync synchronous = FULL would have done inside COMMIT. Meanwhile the event loop
// parses requests, and the next group writes. Nothing is told before it is on disk: a read
// that may have seen rows of a group still syncing is answered after that sync too. A
// process killed meanwhile loses nothing (the frames are in the OS's cache); a power cut
// loses only groups nobody was answered for, exactly as with FULL.

interface Group {
  readonly committed: Promise<void>;
  resolve(): void;
  reject(err: unknown): void;
  units: number;
}

export interface GroupCommitStats {
  /** COMMITs issued (each one fsync). */
  commits: number;
  /** Writes and transactions that joined a group. */
  units: number;
  /** Time spent in COMMIT on the event loop (with the WAL fsync when it cannot go off it), total and longest, ms. */
  commitMs: number;
  maxCommitMs: number;
  /** WAL fsyncs run off the event loop (one covers every group committed before it), and their time (total, ms). */
  syncs: number;
  syncMs: number;
}

const STATEMENT_CACHE = 500;

const isBusy = (err: unknown): boolean => {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
};

/** The one SQLite connection, a FIFO lock over it, and the open group. */
class GroupCommitter {
  private locked = false;
  private readonly waiters: Array<() => void> = [];
  private group: Group | undefined;
  private commitQueued = false;
  private readonly statements = new Map<string, Database.Statement>();
  readonly stats: GroupCommitStats = { commits: 0, units: 0, commitMs: 0, maxCommitMs: 0, syncs: 0, syncMs: 0 };
  /** The WAL file (fsynced after each COMMIT off the event loop); null: no WAL, COMMIT syncs. */
  private wal: number | null | undefined;
  /** The WAL fsync that covers the latest committed group: what a read may have seen is durable once it is done. */
  unsynced: Promise<void> | undefined;
  /** Committed groups waiting for the next fsync (one runs at a time), and that fsync's promise. */
  private awaitingSync: Group[] = [];
  private nextSync: { promise: Promise<void>; resolve(): void; reject(err: unknown): void } | undefined;
  private syncing = false;
  private readonly pragmas: Record<'normal' | 'full', Database.Statement>;
  // Transaction control as prepared statements (exec parses every time). Units hold the
  // lock one at a time, so one savepoint name serves them all.
  private readonly control: Record<
    'begin' | 'commit' | 'rollback' | 'savepoint' | 'release' | 'undo',
    Database.Statement
  >;

  /** How long a write or a read waits for another connection's lock (the connection's busy_timeout). */
  private readonly busyWaitMs: number;

  constructor(readonly raw: Database.Database) {
    // The waiting is done here, off the event loop; SQLite itself answers BUSY at once.
    this.busyWaitMs = Number(raw.pragma('busy_timeout', { simple: true })) || 5000;
    raw.pragma('busy_timeout = 0');
    this.control = {
      begin: raw.prepare('BEGIN IMMEDIATE'),
      commit: raw.prepare('COMMIT'),
      rollback: raw.prepare('ROLLBACK'),
      savepoint: raw.prepare('SAVEPOINT gc_unit'),
      release: raw.prepare('RELEASE gc_unit'),
      undo: raw.prepare('ROLLBACK TO gc_unit'),
    };
    this.pragmas = {
      normal: raw.prepare('PRAGMA synchronous = NORMAL'),
      full: raw.prepare('PRAGMA synchronous = FULL'),
    };
  }

  /** The WAL's file descriptor, when the database has one that this connection keeps open. */
  private walFd(): number | null {
    if (this.wal === undefined) {
      this.wal = null;
      // Only a connection at FULL in WAL mode: the fsync replaces FULL's, nothing else.
      if (!this.raw.memory && this.raw.pragma('synchronous', { simple: true }) === 2) {
        const mode = String(this.raw.pragma('journal_mode', { simple: true })).toLowerCase();
        if (mode === 'wal') {
          try {
            // SQLite deletes the WAL only when its last connection closes: this one is open.
            this.wal = openSync(`${this.raw.name}-wal`, 'r');
          } catch {
            this.wal = null;
          }
        }
      }
    }
    return this.wal;
  }

  closeWal(): void {
    if (typeof this.wal === 'number') closeSync(this.wal);
    this.wal = null;
  }

  exec(what: keyof GroupCommitter['control']): void {
    this.control[what].run();
  }

  async lock(): Promise<void> {
    if (!this.locked) {
      this.locked = true;
      return;
    }
    await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  unlock(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.locked = false;
    if (this.group && !this.commitQueued) {
      this.commitQueued = true;
      // After the current turn: writes already on their way join this group.
      setImmediate(() => void this.commit());
    }
  }

  get isFree(): boolean {
    return !this.locked;
  }

  get groupOpen(): boolean {
    return this.group !== undefined;
  }

  /**
   * Opens a group if none is (the caller holds the lock) and returns it; undefined when
   * another connection holds the database's write lock (then `join` waits for it).
   */
  joinNow(): Group | undefined {
    if (!this.group) {
      // The safety level cannot change inside a transaction: NORMAL for this group's COMMIT
      // (its fsync follows off the event loop), FULL again once it is committed.
      if (this.walFd() !== null) this.pragmas.normal.run();
      // IMMEDIATE takes the write lock now, so the COMMIT itself cannot meet SQLITE_BUSY.
      try {
        this.exec('begin');
      } catch (err) {
        this.pragmas.full.run();
        if (isBusy(err)) return undefined;
        throw err;
      }
      let resolve!: () => void;
      let reject!: (err: unknown) => void;
      const committed = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      // A group nobody awaits any more (all its units failed) must not be an unhandled rejection.
      committed.catch(() => undefined);
      this.group = { committed, resolve, reject, units: 0 };
    }
    this.group.units++;
    this.stats.units++;
    return this.group;
  }

  /**
   * Opens or joins a group, waiting off the event loop while another connection (a CLI on
   * the same file, another bridge in this process) holds the write lock. SQLite's own busy
   * wait would sleep on the event loop: every request stalls, and a holder in this same
   * process could never commit, so the wait would run out (SQLITE_BUSY after busy_timeout).
   */
  async join(): Promise<Group> {
    return this.joinNow() ?? (await this.whenFree(() => this.joinNow()));
  }

  /** A read outside any group; undefined when the database is busy (then `read` waits). */
  readNow<R>(compiled: CompiledQuery): QueryResult<R> | undefined {
    try {
      return this.run<R>(compiled);
    } catch (err) {
      if (isBusy(err)) return undefined;
      throw err;
    }
  }

  /** A read outside any group, waiting off the event loop while the database is busy. */
  async read<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    return this.readNow<R>(compiled) ?? (await this.whenFree(() => this.readNow<R>(compiled)));
  }

  private async whenFree<T>(attempt: () => T | undefined): Promise<T> {
    const deadline = performance.now() + this.busyWaitMs;
    for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
      if (performance.now() >= deadline) {
        throw Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
      }
      await new Promise((r) => setTimeout(r, delay));
      const done = attempt();
      if (done !== undefined) return done;
    }
  }

  /** SQLite rolled the whole transaction back by itself (disk full, I/O error): the group is lost. */
  checkAborted(err: unknown): void {
    if (this.group && !this.raw.inTransaction) {
      const g = this.group;
      this.group = undefined;
      g.reject(err);
    }
  }

  private async commit(): Promise<void> {
    await this.lock();
    this.commitQueued = false;
    const g = this.group;
    this.group = undefined;
    try {
      if (!g) return;
      const wal = this.walFd();
      try {
        const t0 = performance.now();
        try {
          this.exec('commit');
        } finally {
          if (wal !== null && !this.raw.inTransaction) this.pragmas.full.run();
        }
        const ms = performance.now() - t0;
        this.stats.commits++;
        this.stats.commitMs += ms;
        if (ms > this.stats.maxCommitMs) this.stats.maxCommitMs = ms;
        if (wal === null) g.resolve();
        else this.syncThenAnswer(wal, g);
      } catch (err) {
        try {
          if (this.raw.inTransaction) this.exec('rollback');
        } catch {
          /* already rolled back */
        }
        if (wal !== null) this.pragmas.full.run();
        g.reject(err);
      }
    } finally {
      this.unlock();
    }
  }

  /**
   * Fsyncs the WAL on the thread pool and then answers the group. One fsync covers every
   * frame written before it, so groups that commit while a sync runs share the next one: at
   * most one runs and one waits, as with PostgreSQL's WAL flushes. The disk is flushed fewer
   * times when it is slower than the groups come (in the payments benchmark on this
   * machine's disk, 7% fewer fsyncs than commits; no measurable change in CPU).
   */
  private syncThenAnswer(wal: number, g: Group): void {
    this.awaitingSync.push(g);
    if (!this.nextSync) {
      let resolve!: () => void;
      let reject!: (err: unknown) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      promise.catch(() => undefined); // readers may not be waiting
      this.nextSync = { promise, resolve, reject };
      this.unsynced = promise;
    }
    if (!this.syncing) this.runSync(wal);
  }

  private runSync(wal: number): void {
    const groups = this.awaitingSync;
    const sync = this.nextSync!;
    this.awaitingSync = [];
    this.nextSync = undefined;
    this.syncing = true;
    const t0 = performance.now();
    fsync(wal, (err) => {
      this.syncing = false;
      if (err) {
        for (const g of groups) g.reject(err);
        sync.reject(err);
      } else {
        this.stats.syncs++;
        this.stats.syncMs += performance.now() - t0;
        for (const g of groups) g.resolve();
        sync.resolve();
      }
      if (this.unsynced === sync.promise) this.unsynced = undefined;
      if (this.awaitingSync.length) this.runSync(wal);
    });
  }

  /** Waits until nothing is open or syncing, for close(). */
  async drain(): Promise<void> {
    await this.lock();
    const g = this.group;
    this.unlock();
    await g?.committed.catch(() => undefined);
    await this.unsynced?.catch(() => undefined);
  }

  prepare(sql: string): Database.Statement {
    let stmt = this.statements.get(sql);
    if (!stmt) {
      stmt = this.raw.prepare(sql);
      // Query texts are few (Kysely builds them from code); the bound is for safety.
      if (this.statements.size >= STATEMENT_CACHE) this.statements.clear();
      this.statements.set(sql, stmt);
    }
    return stmt;
  }

  run<R>(compiled: CompiledQuery): QueryResult<R> {
    const stmt = this.prepare(compiled.sql);
    const params = compiled.parameters as unknown[];
    if (stmt.reader) return { rows: stmt.all(params) as R[] };
    const { changes, lastInsertRowid } = stmt.run(params);
    return { numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid), rows: [] };
  }
}

/** What Kysely sees as a connection: one per acquire, so each write or transaction is a unit of its own. */
class Unit implements DatabaseConnection {
  /** Whether this unit's transaction (its savepoint) is open. */
  txn = false;
  group: Group | undefined;

  constructor(private readonly gc: GroupCommitter) {}

  async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    if (this.txn) return this.gc.run<R>(compiled);
    await this.gc.lock();
    let group: Group | undefined;
    let unsynced: Promise<void> | undefined;
    try {
      const stmt = this.gc.prepare(compiled.sql);
      if (stmt.readonly && !this.gc.groupOpen) {
        // It may see a committed group whose fsync is still running: answered after it.
        unsynced = this.gc.unsynced;
        return this.gc.readNow<R>(compiled) ?? (await this.gc.read<R>(compiled));
      }
      if (stmt.readonly) {
        group = this.gc.joinNow() ?? (await this.gc.join());
        return this.gc.run<R>(compiled);
      }
      group = this.gc.joinNow() ?? (await this.gc.join());
      try {
        // A failed statement undoes only itself (SQLite's statement journal) unless
        // SQLite had to abandon the whole transaction, which checkAborted catches.
        return this.gc.run<R>(compiled);
      } catch (err) {
        this.gc.checkAborted(err);
        group = undefined;
        throw err;
      }
    } finally {
      this.gc.unlock();
      // Answered once what it did, or saw, is on disk.
      if (group) await group.committed;
      else if (unsynced) await unsynced.catch(() => undefined);
    }
  }

  async *streamQuery<R>(compiled: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    yield await this.executeQuery<R>(compiled);
  }
}

class GroupCommitDriver implements Driver {
  constructor(private readonly gc: GroupCommitter) {}

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    return new Unit(this.gc);
  }

  async beginTransaction(connection: DatabaseConnection, _settings: TransactionSettings): Promise<void> {
    const unit = connection as Unit;
    await this.gc.lock();
    try {
      unit.group = this.gc.joinNow() ?? (await this.gc.join());
      this.gc.exec('savepoint');
      unit.txn = true;
    } catch (err) {
      unit.group = undefined;
      this.gc.unlock();
      throw err;
    }
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    const unit = connection as Unit;
    const group = unit.group;
    try {
      this.gc.exec('release');
    } catch (err) {
      this.gc.checkAborted(err);
      throw err;
    } finally {
      unit.txn = false;
      unit.group = undefined;
      this.gc.unlock();
    }
    await group?.committed;
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    const unit = connection as Unit;
    try {
      if (this.gc.raw.inTransaction) {
        this.gc.exec('undo');
        this.gc.exec('release');
      } else {
        this.gc.checkAborted(new Error('SQLite rolled the transaction back'));
      }
    } finally {
      unit.txn = false;
      unit.group = undefined;
      this.gc.unlock();
    }
  }

  async savepoint(_connection: DatabaseConnection, name: string): Promise<void> {
    this.gc.raw.exec(`SAVEPOINT ${quoteName(name)}`);
  }

  async rollbackToSavepoint(_connection: DatabaseConnection, name: string): Promise<void> {
    this.gc.raw.exec(`ROLLBACK TO ${quoteName(name)}`);
  }

  async releaseSavepoint(_connection: DatabaseConnection, name: string): Promise<void> {
    this.gc.raw.exec(`RELEASE ${quoteName(name)}`);
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    const unit = connection as Unit;
    // A transaction Kysely gave up on without commit or rollback must not hold the lock.
    if (unit.txn) await this.rollbackTransaction(unit);
  }

  async destroy(): Promise<void> {
    await this.gc.drain();
    this.gc.closeWal();
    this.gc.raw.close();
  }
}

function quoteName(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Kysely's SQLite dialect with the group-commit driver over one better-sqlite3 connection. */
export class GroupCommitSqliteDialect extends SqliteDialect {
  private readonly gc: GroupCommitter;

  constructor(raw: Database.Database) {
    super({ database: raw });
    this.gc = new GroupCommitter(raw);
  }

  get stats(): GroupCommitStats {
    return this.gc.stats;
  }

  override createDriver(): Driver {
    return new GroupCommitDriver(this.gc);
  }
}
