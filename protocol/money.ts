// Money is an integer count of minor units plus an ISO 4217 currency. Never a float:
// amounts travel as integers (JSON numbers that are safe integers) or decimal strings.
import { KauriError } from './errors.js';

/** Minor-unit exponents (ISO 4217). Only currencies Kauri may meet are listed; others are refused. */
export const CURRENCY_EXPONENTS = {
  NZD: 2,
  CNY: 2,
  AUD: 2,
  USD: 2,
  HKD: 2,
  EUR: 2,
  GBP: 2,
  SGD: 2,
  CAD: 2,
  CHF: 2,
  MOP: 2,
  FJD: 2,
  JPY: 0,
  KRW: 0,
  TWD: 2,
  THB: 2,
  MYR: 2,
} as const;

export type Currency = keyof typeof CURRENCY_EXPONENTS;

export interface Money {
  readonly minor: number;
  readonly currency: Currency;
}

/** A money rule broken; its codes and statuses are the catalogue's (protocol/errors.ts). */
export class MoneyError extends KauriError {
  declare readonly code: 'unknown_currency' | 'invalid_amount' | 'currency_mismatch' | 'amount_overflow';
  constructor(code: 'unknown_currency' | 'invalid_amount' | 'currency_mismatch' | 'amount_overflow', message: string) {
    super(code, message);
    this.name = 'MoneyError';
  }
}

export function isCurrency(code: string): code is Currency {
  return Object.prototype.hasOwnProperty.call(CURRENCY_EXPONENTS, code);
}

export function currency(code: string): Currency {
  if (!isCurrency(code)) throw new MoneyError('unknown_currency', `Unknown currency "${code}"`);
  return code;
}

export function exponent(c: Currency): number {
  return CURRENCY_EXPONENTS[c];
}

function checkMinor(minor: number): number {
  if (!Number.isSafeInteger(minor)) {
    throw new MoneyError('invalid_amount', `Amount must be a whole number of minor units, got ${minor}`);
  }
  return minor;
}

export function money(minor: number, code: string): Money {
  return Object.freeze({ minor: checkMinor(minor), currency: currency(code) });
}

function sameCurrency(a: Money, b: Money): void {
  if (a.currency !== b.currency) {
    throw new MoneyError('currency_mismatch', `Cannot mix ${a.currency} and ${b.currency}`);
  }
}

export function add(a: Money, b: Money): Money {
  sameCurrency(a, b);
  const sum = a.minor + b.minor;
  if (!Number.isSafeInteger(sum)) throw new MoneyError('amount_overflow', 'Amount too large');
  return money(sum, a.currency);
}

export function subtract(a: Money, b: Money): Money {
  sameCurrency(a, b);
  const diff = a.minor - b.minor;
  if (!Number.isSafeInteger(diff)) throw new MoneyError('amount_overflow', 'Amount too large');
  return money(diff, a.currency);
}

export function compare(a: Money, b: Money): -1 | 0 | 1 {
  sameCurrency(a, b);
  return a.minor < b.minor ? -1 : a.minor > b.minor ? 1 : 0;
}

export function equals(a: Money, b: Money): boolean {
  return a.currency === b.currency && a.minor === b.minor;
}

export function sum(items: readonly Money[], code: Currency): Money {
  return items.reduce((acc, m) => add(acc, m), money(0, code));
}

const DECIMAL = /^(-)?(\d+)(?:\.(\d+))?$/;

/**
 * Parses a decimal string ("12.50", "-3", "0.5") into minor units of the currency.
 * More fraction digits than the currency has is an error, never a silent rounding.
 */
export function parseDecimal(text: string, code: string): Money {
  const c = currency(code);
  const m = DECIMAL.exec(text.trim());
  if (!m) throw new MoneyError('invalid_amount', `"${text}" is not a decimal amount`);
  const [, sign, whole, frac = ''] = m;
  const exp = exponent(c);
  if (frac.length > exp) {
    throw new MoneyError('invalid_amount', `"${text}" has more than ${exp} decimal places for ${c}`);
  }
  // Stryker disable next-line StringLiteral: the pattern's second group (\d+) always matches, so whole is never undefined
  const digits = (whole ?? '0') + frac.padEnd(exp, '0');
  const big = BigInt(digits);
  if (big > BigInt(Number.MAX_SAFE_INTEGER)) throw new MoneyError('amount_overflow', `"${text}" is too large`);
  const minor = Number(big);
  return money(sign && minor !== 0 ? -minor : minor, c);
}

/** Formats minor units as a plain decimal string with the currency's exponent ("12.50"). */
export function toDecimalString(m: Money): string {
  const exp = exponent(m.currency);
  const neg = m.minor < 0;
  const digits = String(Math.abs(m.minor)).padStart(exp + 1, '0');
  const whole = exp === 0 ? digits : digits.slice(0, -exp);
  const frac = exp === 0 ? '' : `.${digits.slice(-exp)}`;
  return `${neg ? '-' : ''}${whole}${frac}`;
}

/** "NZD 1,234.50" — for people, never for machines. */
export function format(m: Money): string {
  const [whole, frac] = toDecimalString(m).replace('-', '').split('.');
  // Stryker disable next-line StringLiteral: toDecimalString always writes at least one digit before any point
  const grouped = (whole ?? '0').replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${m.minor < 0 ? '-' : ''}${m.currency} ${grouped}${frac ? `.${frac}` : ''}`;
}

export function isPositive(m: Money): boolean {
  return m.minor > 0;
}
