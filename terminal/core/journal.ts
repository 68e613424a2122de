import { createHash } from 'node:crypto';

// The hash-chained journal: every row carries the hash of the one before, so a row
// changed or removed afterwards breaks every hash after it. The settlement report
// prints the head, which commits to the whole day.

export const GENESIS = '0'.repeat(64);

export interface JournalEntry {
  seq: number;
  at: string;
  kind: string;
  data: string;
  prevHash: string;
  hash: string;
}

export function journalHash(prevHash: string, seq: number, at: string, kind: string, data: string): string {
  return createHash('sha256').update(`${prevHash}\n${seq}\n${at}\n${kind}\n${data}`).digest('hex');
}

/** The first row whose chain does not hold, or undefined when all do. */
export function verifyJournal(entries: readonly JournalEntry[]): number | undefined {
  let prev = entries[0]?.prevHash ?? GENESIS;
  for (const e of entries) {
    if (e.prevHash !== prev || journalHash(e.prevHash, e.seq, e.at, e.kind, e.data) !== e.hash) return e.seq;
    prev = e.hash;
  }
  return undefined;
}
