import { ReconcileError } from './errors.js';
import { convertStatement } from './parse.js';
import type { Channel } from './codes.js';
import type { StandardBillRow } from './rows.js';

/** Feeds text through a convertor in small chunks (so lines straddle chunk boundaries). */
export async function convertText(
  channel: Channel,
  content: string | Uint8Array,
  date = '2026-11-20',
  chunk = 7,
): Promise<StandardBillRow[]> {
  const bytes = typeof content === 'string' ? new TextEncoder().encode(content) : content;
  async function* chunks(): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < bytes.length; i += chunk) yield bytes.subarray(i, i + chunk);
  }
  const rows: StandardBillRow[] = [];
  for await (const r of convertStatement(channel, chunks(), { date, file: 'statement.csv' })) rows.push(r);
  return rows;
}

/** The ReconcileError that `p` rejects with; fails if it resolves or rejects with something else. */
export async function rejection(p: Promise<unknown>): Promise<ReconcileError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ReconcileError) return err;
    throw err;
  }
  throw new Error('expected the file to be rejected');
}
