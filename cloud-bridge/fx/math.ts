import { Decimal } from 'decimal.js';
import { exponent, currency as toCurrency } from '../../protocol/money.js';

// FX arithmetic, all in decimal.js and integer minor units (never floats).
// Rates are CNY per 1 unit of the foreign currency; a markup is a fraction ("0.02" = 2%).

const D = Decimal.clone({ precision: 60, rounding: Decimal.ROUND_HALF_UP });

const DECIMAL = /^\d{1,12}(\.\d{1,12})?$/;

export function isRate(v: string): boolean {
  return DECIMAL.test(v) && new D(v).gt(0);
}

export function isMarkup(v: string): boolean {
  return /^\d(\.\d{1,8})?$/.test(v) && new D(v).lt(1);
}

/** The exact CNY (in yuan) for `amountMinor` of `currency` at `rate` with `markup`. */
export function exactCny(amountMinor: number, currency: string, rate: string, markup = '0'): Decimal {
  const exp = exponent(toCurrency(currency));
  return new D(amountMinor).div(new D(10).pow(exp)).mul(rate).mul(new D(1).plus(markup));
}

/**
 * What the customer pays by bank, in fen: NZD × rate × (1 + markup), rounded UP to the fen
 * so the merchant always receives at least the price asked.
 */
export function payableCnyMinor(
  amountMinor: number,
  currency: string,
  rate: string,
  markup: string,
): { cnyMinor: number; exact: string } {
  const exact = exactCny(amountMinor, currency, rate, markup);
  const fen = exact.mul(100).toDecimalPlaces(0, Decimal.ROUND_CEIL);
  if (!fen.lte(Number.MAX_SAFE_INTEGER)) throw new RangeError('CNY amount too large');
  return { cnyMinor: fen.toNumber(), exact: exact.toString() };
}

/** A wallet's display estimate (the wallet converts on its side): half up to the fen, no markup. */
export function estimateCnyMinor(
  amountMinor: number,
  currency: string,
  rate: string,
): { cnyMinor: number; exact: string } {
  const exact = exactCny(amountMinor, currency, rate);
  return { cnyMinor: exact.mul(100).toDecimalPlaces(0, Decimal.ROUND_HALF_UP).toNumber(), exact: exact.toString() };
}

/** What the merchant receives, in its currency's minor units (exact decimal), for `cnyMinor` fen. */
export function merchantReceives(cnyMinor: number, currency: string, rate: string, markup: string): Decimal {
  const exp = exponent(toCurrency(currency));
  return new D(cnyMinor)
    .div(100)
    .div(new D(rate).mul(new D(1).plus(markup)))
    .mul(new D(10).pow(exp));
}
