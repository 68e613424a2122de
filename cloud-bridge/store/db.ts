import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import type { Database as Schema } from './schema.js';
import { migrationProvider } from './migrations.js';
import { KauriError } from '../../protocol/errors.js';
import { privateFile } from '../../protocol/private-files.js';

export type Dialect = 'sqlite' | 'postgres';

export interface Store {
  readonly db: Kysely<Schema>;
  readonly dialect: Dialect;
  readonly url: string;
  /** For PostgreSQL: the pool, so LISTEN/NOTIFY can take its own connection. */
  readonly pgPool?: pg.Pool;
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
    if (!path) throw new KauriError('config_invalid', 'The database URL sqlite: needs a file path, e.g. sqlite:./data/bridge.db');
    // Sealed channel credentials, password and PIN hashes: this user's only (0600, folder 0700).
    if (path !== ':memory:') privateFile(path, { sqlite: true });
    const raw = new SQLite(path);
    raw.pragma('journal_mode = WAL');
    // FULL: a commit is on disk before we answer anyone (payments are at stake).
    raw.pragma('synchronous = FULL');
    raw.pragma('foreign_keys = ON');
    raw.pragma('busy_timeout = 5000');
    const db = new Kysely<Schema>({ dialect: new SqliteDialect({ database: raw }) });
    store = { db, dialect: 'sqlite', url, close: () => db.destroy() };
  } else if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    const pool = new pg.Pool({ connectionString: url, max: 10 });
    // An idle client losing its server must not crash the process; the pool replaces it.
    pool.on('error', () => undefined);
    const db = new Kysely<Schema>({ dialect: new PostgresDialect({ pool }) });
    store = { db, dialect: 'postgres', url, pgPool: pool, close: () => db.destroy() };
  } else {
    throw new KauriError('config_invalid', `Unsupported database URL "${redactUrl(url)}": use sqlite:PATH or postgres://…`);
  }
  try {
    await sql`select 1`.execute(store.db);
    if (options.migrate !== false) await migrate(store);
  } catch (err) {
    await store.close().catch(() => undefined);
    if (err instanceof KauriError) throw err;
    throw new KauriError('config_invalid', `Cannot open database ${redactUrl(url)}: ${(err as Error).message}`, { cause: err });
  }
  return store;
}

export async function migrate(store: Store): Promise<void> {
  const migrator = new Migrator({ db: store.db, provider: migrationProvider(store.dialect) });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`Migration ${failed?.migrationName ?? ''} failed: ${(error as Error).message ?? error}`);
  }
}

/** A database URL fit for logs: the password is never shown. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):([^@]+)@/, '//$1:***@');
}

export function nowIso(date: Date = new Date()): string {
  return date.toISOString();
}
