import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import type { Database as Schema } from './schema.js';
import { migrationProvider } from './migrations.js';
import { KauriError } from '../../protocol/errors.js';
import { GroupCommitSqliteDialect, type GroupCommitStats } from './group-commit.js';
import { privateFile } from '../../protocol/private-files.js';
import type { Dialect } from './dialect.js';
import { PreparingClient } from './pg-prepared.js';

export type { Dialect } from './dialect.js';
export { nowIso } from './dialect.js';

export interface Store {
  readonly db: Kysely<Schema>;
  readonly dialect: Dialect;
  readonly url: string;
  /** For PostgreSQL: the pool, so LISTEN/NOTIFY can take its own connection. */
  readonly pgPool?: pg.Pool;
  /** For SQLite: how many writes shared how many commits (group commit). */
  readonly groupCommit?: GroupCommitStats;
  close(): Promise<void>;
}

// int8 (bigint) columns hold money in minor units: safe integers, parsed as numbers
// (and refused if they ever were not), rather than the strings pg returns by default.
pg.types.setTypeParser(20, (v: string) => {
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new Error(`int8 value ${v} exceeds the safe integer range`);
  return n;
});

/** Opens `sqlite:PATH` or `postgres://…`, applying migrations. */
export async function openStore(url: string, options: { migrate?: boolean } = {}): Promise<Store> {
  let store: Store;
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    if (!path)
      throw new KauriError(
        'config_invalid',
        'The database URL sqlite: needs a file path, e.g. sqlite:./data/bridge.db',
      );
    // Sealed channel credentials, password and PIN hashes: this user's only (0600, folder 0700).
    if (path !== ':memory:') privateFile(path, { sqlite: true });
    const raw = new SQLite(path);
    raw.pragma('journal_mode = WAL');
    // FULL: a commit is on disk before we answer anyone (payments are at stake).
    raw.pragma('synchronous = FULL');
    raw.pragma('foreign_keys = ON');
    raw.pragma('busy_timeout = 5000');
    // Concurrent writes share one transaction and one fsync per event-loop turn.
    const dialect = new GroupCommitSqliteDialect(raw);
    const db = new Kysely<Schema>({ dialect });
    store = { db, dialect: 'sqlite', url, groupCommit: dialect.stats, close: () => db.destroy() };
  } else if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    const pool = new pg.Pool({
      connectionString: url,
      max: pgPoolMax(),
      connectionTimeoutMillis: 10_000,
      Client: PreparingClient,
    });
    // A client losing its server (a PostgreSQL restart, a failover) must not crash the
    // process: the pool drops it and connects a new one for the next query, and the query
    // that was running fails with an error its caller handles.
    pool.on('error', () => undefined);
    pool.on('connect', (client) => client.on('error', () => undefined));
    const db = new Kysely<Schema>({ dialect: new PostgresDialect({ pool }) });
    store = { db, dialect: 'postgres', url, pgPool: pool, close: () => db.destroy() };
  } else {
    throw new KauriError(
      'config_invalid',
      `Unsupported database URL "${redactUrl(url)}": use sqlite:PATH or postgres://…`,
    );
  }
  try {
    await sql`select 1`.execute(store.db);
    if (options.migrate !== false) await migrate(store);
  } catch (err) {
    await store.close().catch(() => undefined);
    if (err instanceof KauriError) throw err;
    throw new KauriError('config_invalid', `Cannot open database ${redactUrl(url)}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return store;
}

/**
 * A read-only connection for a worker thread (the back office's exports): no migrations (the
 * bridge that owns the database ran them), no group commit, one PostgreSQL connection.
 * Opening it in the worker also applies this module's int8 parser there (modules are per thread).
 */
export async function openReader(url: string): Promise<Pick<Store, 'db' | 'dialect' | 'close'>> {
  if (url.startsWith('sqlite:')) {
    // The bridge keeps the file in WAL mode, so this connection reads beside its writes.
    const raw = new SQLite(url.slice('sqlite:'.length), { readonly: true, fileMustExist: true });
    raw.pragma('busy_timeout = 5000');
    const db = new Kysely<Schema>({ dialect: new SqliteDialect({ database: raw }) });
    return { db, dialect: 'sqlite', close: () => db.destroy() };
  }
  // Named, so an operator (and a test) can tell an export's connection in pg_stat_activity.
  const pool = new pg.Pool({
    connectionString: url,
    max: 1,
    connectionTimeoutMillis: 10_000,
    application_name: 'kauri-export',
  });
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  const db = new Kysely<Schema>({ dialect: new PostgresDialect({ pool }) });
  return { db, dialect: 'postgres', close: () => db.destroy() };
}

export async function migrate(store: Store): Promise<void> {
  const migrator = new Migrator({ db: store.db, provider: migrationProvider(store.dialect) });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`Migration ${failed?.migrationName ?? ''} failed: ${(error as Error).message ?? error}`);
  }
}

/** Connections per bridge to PostgreSQL: KAURI_PG_POOL_MAX, 10 by default. */
export function pgPoolMax(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.KAURI_PG_POOL_MAX;
  if (raw === undefined || raw === '') return 10;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 1000) {
    throw new KauriError('config_invalid', `KAURI_PG_POOL_MAX must be a whole number from 1 to 1000, got "${raw}"`);
  }
  return n;
}

/** A database URL fit for logs: the password is never shown. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):([^@]+)@/, '//$1:***@');
}
