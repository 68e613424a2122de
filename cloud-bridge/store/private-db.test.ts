import { existsSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from './db.js';
import { resolveSecretKey } from '../secret-key.js';

// bridge.db (sealed credentials, password and PIN hashes) and secret.key
// are this user's only, whatever the umask.

const mode = (p: string) => statSync(p).mode & 0o777;
const root = mkdtempSync(join(tmpdir(), 'kauri-private-'));
const oldUmask = process.umask(0o022);
afterAll(() => {
  process.umask(oldUmask);
});

describe("the bridge's secret files", () => {
  it("the bridge's SQLite database and its -wal and -shm files, and secret.key", async () => {
    const dir = join(root, 'bridge-data');
    const store = await openStore(`sqlite:${join(dir, 'bridge.db')}`);
    try {
      expect(mode(dir)).toBe(0o700);
      for (const f of ['bridge.db', 'bridge.db-wal', 'bridge.db-shm']) {
        expect(existsSync(join(dir, f)), f).toBe(true);
        expect(mode(join(dir, f)), f).toBe(0o600);
      }
    } finally {
      await store.close();
    }
    const keyDir = join(root, 'key-data');
    const saved = process.env.KAURI_SECRET_KEY;
    delete process.env.KAURI_SECRET_KEY;
    try {
      resolveSecretKey(keyDir, () => undefined);
    } finally {
      if (saved !== undefined) process.env.KAURI_SECRET_KEY = saved;
    }
    expect(mode(keyDir)).toBe(0o700);
    expect(mode(join(keyDir, 'secret.key'))).toBe(0o600);
  });
});
