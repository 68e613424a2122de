import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openStore, type Store } from '../../cloud-bridge/store/db.js';
import { skipUnless } from './skip.js';

// The repository suite runs against both stores. PostgreSQL comes from KAURI_TEST_PG_URL
// (which .ci/run exports); each test database is created here and dropped afterwards.

export interface TestDatabase {
  readonly kind: 'sqlite' | 'postgres';
  readonly url: string;
  open(): Promise<Store>;
  drop(): Promise<void>;
}

export const pgUrl = process.env.KAURI_TEST_PG_URL;

export function storeKinds(): Array<'sqlite' | 'postgres'> {
  if (skipUnless(pgUrl, 'KAURI_TEST_PG_URL is not set: the PostgreSQL store tests are skipped (.ci/run sets it)'))
    return ['sqlite'];
  return ['sqlite', 'postgres'];
}

export async function createTestDatabase(kind: 'sqlite' | 'postgres'): Promise<TestDatabase> {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'kauri-db-'));
    const url = `sqlite:${join(dir, 'bridge.db')}`;
    return { kind, url, open: () => openStore(url), drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  if (!pgUrl) throw new Error('KAURI_TEST_PG_URL is not set');
  const name = `kauri_test_${process.pid}_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
  const admin = new pg.Client({ connectionString: pgUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const u = new URL(pgUrl);
  u.pathname = `/${name}`;
  const url = u.toString();
  return {
    kind,
    url,
    open: () => openStore(url),
    drop: async () => {
      const c = new pg.Client({ connectionString: pgUrl });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}
