import { open, rename, rm, stat } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { ReconcileError } from './errors.js';
import type { Difference } from './ledger.js';
import { csvLine, type CsvValue } from '../csv.js';

// --differences-out FILE: JSON lines when FILE ends in .jsonl, .ndjson or .json (one
// Difference object per line, the fields of ledger.ts), CSV otherwise (header below).
// Written to a temporary file beside FILE and renamed, so FILE is whole or untouched.

export const DIFFERENCE_COLUMNS = [
  'category',
  'kind',
  'id',
  'channel_trade_no',
  'channel_status',
  'channel_amount_minor',
  'channel_currency',
  'channel_time',
  'platform_status',
  'platform_amount_minor',
  'platform_currency',
  'paid_at',
  'occurrences',
] as const;

export function differencesFormat(path: string): 'jsonl' | 'csv' {
  return /\.(jsonl|ndjson|json)$/i.test(path) ? 'jsonl' : 'csv';
}

/** A difference's cells, in DIFFERENCE_COLUMNS order (text from a channel's file is neutralised by csvLine). */
export function differenceCsvCells(d: Difference): CsvValue[] {
  return [
    d.category,
    d.kind,
    d.id,
    d.channelTradeNo,
    d.channelStatus,
    d.channelAmountMinor,
    d.channelCurrency,
    d.channelTime,
    d.platformStatus,
    d.platformAmountMinor,
    d.platformCurrency,
    d.paidAt,
    d.occurrences,
  ];
}

export function differenceCsvLine(d: Difference): string {
  return csvLine(differenceCsvCells(d));
}

/** Fails early (before any work) when FILE's folder cannot take it. */
export async function checkWritable(path: string): Promise<void> {
  const dir = dirname(path);
  try {
    const s = await stat(dir);
    if (!s.isDirectory()) throw new Error('not a directory');
  } catch {
    throw new ReconcileError('output_unwritable', `--differences-out: folder ${dir} does not exist`);
  }
  try {
    const s = await stat(path);
    if (s.isDirectory()) throw new ReconcileError('output_unwritable', `--differences-out: ${path} is a folder`);
  } catch (err) {
    if (err instanceof ReconcileError) throw err;
  }
}

export async function writeDifferences(path: string, differences: Difference[]): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const fmt = differencesFormat(path);
  let fh;
  try {
    fh = await open(tmp, 'w');
    let chunk = fmt === 'csv' ? `${csvLine(DIFFERENCE_COLUMNS)}\n` : '';
    for (const d of differences) {
      chunk += fmt === 'csv' ? `${differenceCsvLine(d)}\n` : `${JSON.stringify(d)}\n`;
      if (chunk.length > 1 << 20) {
        await fh.write(chunk);
        chunk = '';
      }
    }
    await fh.write(chunk);
    await fh.sync();
    await fh.close();
    fh = undefined;
    await rename(tmp, path);
  } catch (err) {
    await fh?.close().catch(() => undefined);
    await rm(tmp, { force: true });
    if (err instanceof ReconcileError) throw err;
    throw new ReconcileError(
      'output_unwritable',
      `cannot write ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    );
  }
}
