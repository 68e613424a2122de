import { describe, it, expect, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, pgUrl, type TestDatabase } from '../support/stores.js';
import { kauriBin, spawnKauri } from '../support/processes.js';
import { skipUnless } from '../support/skip.js';

const dbs: TestDatabase[] = [];
afterAll(async () => {
  for (const d of dbs) await d.drop();
});

describe.skipIf(
  skipUnless(pgUrl, 'KAURI_TEST_PG_URL is not set: the PostgreSQL bridge test is skipped (.ci/run sets it)'),
)('kauri bridge on PostgreSQL', () => {
  it('administers a merchant and serves its API from two bridge instances on one database', async () => {
    const tdb = await createTestDatabase('postgres');
    dbs.push(tdb);
    const cwd = mkdtempSync(join(tmpdir(), 'kauri-pg-'));
    const env = { ...process.env, KAURI_FROM_SOURCE: '1', KAURI_SECRET_KEY: 'shared-secret-key-for-both-bridges' };
    const admin = (...args: string[]) =>
      JSON.parse(
        execFileSync(process.execPath, [kauriBin, 'admin', ...args, '--db', tdb.url, '--json'], {
          env,
          cwd,
          encoding: 'utf8',
        }),
      );
    const merchant = admin('merchant', 'create', '--name', 'Auckland Tuition');
    const { key } = admin('api-key', 'create', '--merchant', merchant.id);
    const [a, b] = await Promise.all([
      spawnKauri(['bridge', '--db', tdb.url, '--port', '0'], { env, cwd, ready: /listening on (\S+)/ }),
      spawnKauri(['bridge', '--db', tdb.url, '--port', '0'], { env, cwd, ready: /listening on (\S+)/ }),
    ]);
    try {
      for (const url of [a.ready, b.ready]) {
        expect(await (await fetch(`${url}/healthz`)).json()).toMatchObject({ status: 'ok', db: 'postgres' });
        const res = await fetch(`${url}/api/v1/payments`, { headers: { authorization: `Bearer ${key}` } });
        expect(res.status).toBe(200);
        expect(await res.json()).toEqual({ data: [], next: null });
        const refused = await fetch(`${url}/api/v1/payments`, { headers: { authorization: 'Bearer nope' } });
        expect(refused.status).toBe(401);
      }
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});
