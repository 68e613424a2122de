import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TerminalDb } from './db.js';

// The counter's database holds its device secret: this user's only.

const mode = (p: string) => statSync(p).mode & 0o777;
const root = mkdtempSync(join(tmpdir(), 'kauri-private-'));
const oldUmask = process.umask(0o022);
afterAll(() => {
  process.umask(oldUmask);
});

describe("the counter's secret files", () => {
  it("the counter's database (its device secret), from the first write", () => {
    const dir = join(root, 'counter');
    const db = new TerminalDb(dir);
    try {
      db.setSetting('terminal_secret', 's3cret');
      expect(mode(dir)).toBe(0o700);
      for (const f of ['terminal.db', 'terminal.db-wal', 'terminal.db-shm']) expect(mode(join(dir, f)), f).toBe(0o600);
    } finally {
      db.close();
    }
  });
});
