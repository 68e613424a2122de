import { checkNzAccount } from '../account-number.js';
import type { PayoutBatch, PayoutFileLine } from './index.js';

// What every New Zealand batch file shares: account numbers split into their parts, the
// characters the clearing system carries, the hash total, amounts as whole cents.

/**
 * The characters BNZ's "Internet Banking for Business" file format guide allows in an
 * alphanumeric field (letters, digits and - ' & / # ? : _ . space); the other banks' guides name
 * the same set or a wider one, so one rule serves every format and a file never carries a
 * character the receiving bank's statement cannot show.
 */
export const ALLOWED = /^[A-Za-z0-9\-'&/#?:_. ]*$/;

export interface AccountParts {
  bank: string;
  branch: string;
  /** 7 digits. */
  base: string;
  /** 3 digits. */
  suffix: string;
}

export function accountParts(normalised: string): AccountParts {
  const r = checkNzAccount(normalised);
  if (!r.ok) throw new Error(`not a valid account number: ${normalised}`);
  return { bank: r.bank, branch: r.branch, base: r.base, suffix: r.suffix };
}

/**
 * The hash total the formats with a control record carry: the sum of branch and base (the 11
 * digits after the bank code, the suffix left out) over every detail line, keeping the 11
 * rightmost digits.
 */
export function hashTotal(lines: readonly PayoutFileLine[]): string {
  let sum = 0n;
  for (const l of lines) {
    const p = accountParts(l.accountNumber);
    sum += BigInt(`${p.branch}${p.base}`);
  }
  return sum.toString().slice(-11).padStart(11, '0');
}

export function totalMinor(lines: readonly PayoutFileLine[]): number {
  return lines.reduce((s, l) => s + l.amountMinor, 0);
}

/** "1234.50" from 123450 cents. */
export function decimalAmount(minor: number): string {
  const s = String(minor).padStart(3, '0');
  return `${s.slice(0, -2)}.${s.slice(-2)}`;
}

/** The rules one format sets on what a line may hold. */
export interface FieldRules {
  /** The longest payee name; a longer one is cut to this length (the guides say "first N characters"). */
  nameMax: number;
  /** Particulars, code and reference: 12 in every NZ format; a longer one is refused, never cut. */
  refMax: number;
  /** Digits the amount field holds (in cents). */
  amountDigits: number;
  /** Digits the file's total field holds (in cents), when the format has one. */
  totalDigits?: number;
  /** The suffix is carried in two digits (a suffix above 099 cannot be). */
  twoDigitSuffix?: boolean;
  /** Most lines one file may hold. */
  maxLines?: number;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** A real calendar day (Date.parse alone would take 2026-02-31 as 3 March). */
function isDate(v: string): boolean {
  const t = Date.parse(`${v}T00:00:00Z`);
  return DATE.test(v) && !Number.isNaN(t) && new Date(t).toISOString().slice(0, 10) === v;
}

/** Reasons the batch cannot be carried: batch-level ones first, then one per line that cannot. */
export function commonProblems(batch: PayoutBatch, rules: FieldRules): string[] {
  const out: string[] = [];
  const origin = checkNzAccount(batch.originator.accountNumber);
  if (!origin.ok) out.push(`the paying account: ${origin.message}`);
  else if (rules.twoDigitSuffix && Number(origin.suffix) > 99)
    out.push(`the paying account ${origin.normalised}: this format carries a two-digit suffix`);
  if (!batch.originator.name.trim()) out.push('the paying account has no name');
  else if (!ALLOWED.test(batch.originator.name))
    out.push(`the paying account's name "${batch.originator.name}" has characters the format cannot carry`);
  if (!isDate(batch.dueDate)) out.push(`the due date "${batch.dueDate}" is not a date (YYYY-MM-DD)`);
  if (batch.createdOn !== undefined && !isDate(batch.createdOn))
    out.push(`the creation date "${batch.createdOn}" is not a date (YYYY-MM-DD)`);
  else if (batch.createdOn !== undefined && batch.createdOn > batch.dueDate)
    out.push(`the file is made (${batch.createdOn}) after its due date (${batch.dueDate})`);
  if (!ALLOWED.test(batch.batchReference))
    out.push(`the batch reference "${batch.batchReference}" has characters the format cannot carry`);
  if (batch.lines.length === 0) out.push('the batch has no lines');
  if (rules.maxLines !== undefined && batch.lines.length > rules.maxLines)
    out.push(`the batch has ${batch.lines.length} lines; this format carries at most ${rules.maxLines}`);

  batch.lines.forEach((l, i) => {
    const why: string[] = [];
    const acc = checkNzAccount(l.accountNumber);
    if (!acc.ok) why.push(acc.message);
    else if (acc.normalised !== l.accountNumber) why.push(`the account number is not normalised (${acc.normalised})`);
    else if (rules.twoDigitSuffix && Number(acc.suffix) > 99)
      why.push(`suffix ${acc.suffix} does not fit this format's two-digit suffix`);
    if (!Number.isSafeInteger(l.amountMinor) || l.amountMinor <= 0)
      why.push(`the amount ${l.amountMinor} is not a positive whole number of cents`);
    else if (String(l.amountMinor).length > rules.amountDigits)
      why.push(
        `the amount ${decimalAmount(l.amountMinor)} is too large for the ${rules.amountDigits}-digit amount field`,
      );
    if (!l.accountName.trim()) why.push('the account name is empty');
    else if (!ALLOWED.test(l.accountName)) why.push(`the account name "${l.accountName}" ${charsNote(l.accountName)}`);
    for (const [field, v] of [
      ['particulars', l.particulars],
      ['code', l.code],
      ['reference', l.reference],
    ] as const) {
      if (v.length > rules.refMax) why.push(`the ${field} "${v}" is longer than ${rules.refMax} characters`);
      if (!ALLOWED.test(v)) why.push(`the ${field} "${v}" ${charsNote(v)}`);
    }
    if (why.length) out.push(`line ${i + 1} (${l.accountNumber}): ${why.join('; ')}`);
  });

  if (rules.totalDigits !== undefined && out.length === 0) {
    const total = totalMinor(batch.lines);
    if (!Number.isSafeInteger(total) || String(total).length > rules.totalDigits)
      out.push(`the batch total ${decimalAmount(total)} is too large for the ${rules.totalDigits}-digit total field`);
  }
  return out;
}

function charsNote(v: string): string {
  const bad = [...new Set([...v].filter((c) => !ALLOWED.test(c)))].join('');
  return `has characters the format cannot carry (${JSON.stringify(bad)}); allowed are letters, digits, space and - ' & / # ? : _ .`;
}

/** The payee name as the format carries it: the first `max` characters, trailing spaces dropped. */
export function fitName(name: string, max: number): string {
  return name.trim().slice(0, max).trimEnd();
}

export function yyyymmdd(isoDate: string): string {
  return isoDate.replace(/-/g, '');
}

export function yymmdd(isoDate: string): string {
  return isoDate.replace(/-/g, '').slice(2);
}

export function ddmmyy(isoDate: string): string {
  const [y, m, d] = isoDate.split('-');
  return `${d}${m}${y!.slice(2)}`;
}

export function digits(normalised: string): string {
  return normalised.replace(/-/g, '');
}

/** Left-justified, space-filled, for fixed-width records. */
export function alpha(v: string, width: number): string {
  if (v.length > width) throw new Error(`"${v}" is longer than ${width}`);
  return v.padEnd(width, ' ');
}

/** Right-justified, zero-filled, for fixed-width records. */
export function num(v: string | number, width: number): string {
  const s = String(v);
  if (!/^\d+$/.test(s) || s.length > width) throw new Error(`${s} does not fit ${width} digits`);
  return s.padStart(width, '0');
}

/** Guard every renderer with: a batch problems() refuses is never rendered. */
export function assertCarried(id: string, problems: string[]): void {
  if (problems.length) throw new Error(`${id} cannot carry this batch: ${problems.join(' | ')}`);
}

/** CSV cells of a bank file: the allowed characters hold no comma or quote, so none is quoted. */
export function csvRecord(cells: readonly (string | number)[]): string {
  return cells.map(String).join(',');
}
