import { Decimal } from 'decimal.js';

// Amounts: integer minor units inside, decimal major units on the wire ("10.00").

const EXPONENT: Record<string, number> = { JPY: 0, KRW: 0, VND: 0, IDR: 0 };

export function exponentOf(currency: string): number {
  return EXPONENT[currency] ?? 2;
}

/** "10.00" → 1000; undefined when it is not a positive amount with the currency's places. */
export function parseMajor(text: string | undefined, currency: string): number | undefined {
  if (text === undefined) return undefined;
  const exp = exponentOf(currency);
  const m = /^(\d{1,10})(?:\.(\d+))?$/.exec(text);
  if (!m || (m[2] ?? '').length > exp) return undefined;
  const minor = Number(m[1]) * 10 ** exp + Number((m[2] ?? '').padEnd(exp, '0') || '0');
  return minor > 0 ? minor : undefined;
}

export function formatMajor(minor: number, currency: string): string {
  const exp = exponentOf(currency);
  return new Decimal(minor).div(new Decimal(10).pow(exp)).toFixed(exp);
}

/** CNY fen for an amount at a rate (CNY per unit), half up. */
export function toCny(minor: number, currency: string, rate: string): number {
  if (currency === 'CNY') return minor;
  return new Decimal(minor)
    .div(new Decimal(10).pow(exponentOf(currency)))
    .mul(rate)
    .mul(100)
    .toDecimalPlaces(0, Decimal.ROUND_HALF_UP)
    .toNumber();
}

/** The CNY part of a refund, cumulative so that a full refund gives back exactly what was paid. */
export function cnyRefund(cny: number, total: number, before: number, refund: number): number {
  const at = (r: number) => new Decimal(cny).mul(r).div(total).toDecimalPlaces(0, Decimal.ROUND_HALF_UP).toNumber();
  return at(before + refund) - at(before);
}
