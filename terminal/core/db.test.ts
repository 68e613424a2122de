import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { TerminalDb } from './db.js';

// txThen(): a command's transaction whose fsync overlaps with its send. What is sent must
// already be in the database (another connection reads it), and the connection must be back
// at synchronous = FULL afterwards, even when the transaction or the send fails.

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function open(): { db: TerminalDb; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'kauri-txthen-'));
  dirs.push(dir);
  const db = new TerminalDb(dir);
  db.setSetting('opened', '1'); // the WAL exists from the first write
  return { db, dir };
}
const synchronous = (db: TerminalDb) => db.raw.pragma('synchronous', { simple: true });

describe('TerminalDb.txThen', () => {
  it('commits before the send (another connection sees the queued command) and is back at FULL after', () => {
    const { db, dir } = open();
    try {
      expect(synchronous(db)).toBe(2);
      let seenBySend: unknown;
      const r = db.txThen(
        () => {
          db.enqueue('k-1', 'checkout.create', { amountMinor: 1250, currency: 'NZD' });
          return 'done';
        },
        () => {
          const other = new Database(join(dir, 'terminal.db'), { readonly: true });
          try {
            seenBySend = other.prepare('select key from outbox').all();
          } finally {
            other.close();
          }
        },
      );
      expect(r).toBe('done');
      expect(seenBySend).toEqual([{ key: 'k-1' }]);
      expect(synchronous(db)).toBe(2);
    } finally {
      db.close();
    }
  });

  it('leaves nothing and sends nothing when the transaction fails, and stays at FULL', () => {
    const { db } = open();
    try {
      let sent = false;
      expect(() =>
        db.txThen(
          () => {
            db.enqueue('k-2', 'checkout.create', {});
            throw new Error('refused');
          },
          () => {
            sent = true;
          },
        ),
      ).toThrow('refused');
      expect(sent).toBe(false);
      expect(db.outboxCount()).toBe(0);
      expect(synchronous(db)).toBe(2);
    } finally {
      db.close();
    }
  });
});
