import { describe, it, expect } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TerminalDb } from './db.js';
import { GENESIS, verifyJournal } from './journal.js';

describe('hash-chained journal (on a real SQLite file)', () => {
  it('chains every row to the one before; a changed or removed row breaks the chain', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kauri-journal-'));
    const db = new TerminalDb(dir);
    try {
      expect(db.journalHead()).toEqual({ sequence: 0, hash: GENESIS });
      for (let i = 0; i < 5; i++) db.journal('sale.paid', { i, amountMinor: 100 * i });
      const rows = db.journalEntries();
      expect(rows[0]!.prevHash).toBe(GENESIS);
      expect(verifyJournal(rows)).toBeUndefined();
      expect(db.journalHead()).toEqual({ sequence: 5, hash: rows[4]!.hash });
      db.raw.prepare('update journal set data = \'{"i":2,"amountMinor":1}\' where seq = 3').run();
      expect(verifyJournal(db.journalEntries())).toBe(3);
      const gone = rows.filter((r) => r.seq !== 2);
      expect(verifyJournal(gone)).toBe(3);
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps the outbox in order and answers each key once', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kauri-outbox-'));
    const db = new TerminalDb(dir);
    try {
      for (let i = 0; i < 3; i++)
        db.enqueue(`key-${i}-abcdef`, 'payment.query', { outTradeNo: `K00000${i}` }, `sale-${i}`);
      expect(db.outbox().map((r) => r.key)).toEqual(['key-0-abcdef', 'key-1-abcdef', 'key-2-abcdef']);
      expect(db.dequeue('key-1-abcdef')).toBe(true);
      expect(db.dequeue('key-1-abcdef')).toBe(false);
      expect(db.outboxCount()).toBe(2);
      expect(() => db.enqueue('key-0-abcdef', 'payment.query', {})).toThrow();
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
