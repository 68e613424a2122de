import { KauriError } from '../../../protocol/errors.js';

// Money and dates as bank statements write them, read exactly: never through a float.

const AMOUNT = /^([+-])?(\d{1,3}(?:,\d{3})+|\d*)(?:\.(\d{1,2}))?$/;

/** "-1,234.5" → -123450 cents. `where` names the place for the error. */
export function parseAmount(text: string, where: string): number {
  const t = text
    .trim()
    .replace(/^\$/, '')
    .replace(/^(-)\$/, '$1');
  const m = AMOUNT.exec(t);
  if (!t || !m || (m[2] === '' && m[3] === undefined))
    invalid(`${where}: the amount "${text}" is not a number of dollars and cents`);
  const cents = BigInt((m[2] ?? '').replace(/,/g, '') || '0') * 100n + BigInt((m[3] ?? '').padEnd(2, '0') || '0');
  if (cents > BigInt(Number.MAX_SAFE_INTEGER)) invalid(`${where}: the amount "${text}" is too large`);
  const n = Number(cents);
  return m[1] === '-' ? -n : n;
}

/** A calendar date in one of the orders NZ banks write, as YYYY-MM-DD. */
export function parseDate(text: string, order: 'ymd' | 'dmy', where: string): string {
  const parts = text.trim().split(/[/\-.]/);
  let y: string | undefined, m: string | undefined, d: string | undefined;
  if (parts.length === 3) {
    if (/^\d{4}$/.test(parts[0]!)) [y, m, d] = parts;
    else if (order === 'dmy' || /^\d{4}$/.test(parts[2]!)) [d, m, y] = parts;
  } else if (/^\d{8}$/.test(text.trim())) {
    [y, m, d] = [text.slice(0, 4), text.slice(4, 6), text.slice(6, 8)];
  }
  if (y && /^\d{2}$/.test(y)) y = `20${y}`;
  if (!y || !m || !d || !/^\d{4}$/.test(y) || !/^\d{1,2}$/.test(m) || !/^\d{1,2}$/.test(d))
    invalid(`${where}: the date "${text}" is not a date`);
  const iso = `${y}-${m.padStart(2, '0')}-${d.padStart(2, '0')}`;
  const back = new Date(`${iso}T00:00:00Z`);
  if (Number.isNaN(back.getTime()) || back.toISOString().slice(0, 10) !== iso)
    invalid(`${where}: the date "${text}" is not a date`);
  return iso;
}

export function invalid(reason: string): never {
  throw new KauriError('statement_invalid', reason);
}
