import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { SqlitePrintJobStore } from './job-store.js';

describe('print job store (SQLite)', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const file = () => {
    const d = mkdtempSync(join(tmpdir(), 'kauri-jobs-'));
    dirs.push(d);
    return join(d, 'jobs.db');
  };

  it('keeps jobs in order, through states, across a reopen, in WAL mode', () => {
    const path = file();
    const s = new SqlitePrintJobStore(path);
    const a = s.add({ kind: 'sale', ref: 'P1', bytes: new Uint8Array([0x1b, 0x40, 0x41]) });
    const b = s.add({ kind: 'refund', bytes: new Uint8Array([0x1b, 0x40, 0x42]) });
    expect(s.next()?.id).toBe(a.id);
    s.markPrinting(a.id);
    s.markHeld(a.id, 'printer_paper_out');
    expect(s.next()).toMatchObject({ id: a.id, state: 'held', reason: 'printer_paper_out', attempts: 1 });
    s.close();

    const again = new SqlitePrintJobStore(path);
    expect(again.list('held').map((j) => j.id)).toEqual([a.id]);
    again.markPrinting(a.id);
    again.markPrinted(a.id);
    expect(again.get(a.id)).toMatchObject({ state: 'printed', attempts: 2 });
    expect(again.get(a.id)!.printedAt).toMatch(/^\d{4}-/);
    expect(Buffer.from(again.next()!.bytes)).toEqual(Buffer.from([0x1b, 0x40, 0x42]));
    expect(again.next()?.id).toBe(b.id);
    again.close();
    const raw = new Database(path);
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    raw.close();
  });

  it('lives in the terminal database it is given, and leaves it open', () => {
    const db = new Database(file());
    const s = new SqlitePrintJobStore(db);
    for (let i = 0; i < 50; i++) s.add({ kind: 'sale', bytes: new Uint8Array([i]) });
    // Ids sort in insertion order even within one millisecond.
    expect(s.list().map((j) => j.bytes[0])).toEqual([...Array(50).keys()]);
    s.close();
    expect(db.open).toBe(true);
    db.close();
  });
});
