import { Decimal } from 'decimal.js';

// Amounts are integers in the currency's minor unit; rates are CNY per 1 unit of the
// foreign currency, carried as WeChat does: an integer string of rate × 10^8.

const EXPONENT: Record<string, number> = {
  JPY: 0,
  KRW: 0,
  VND: 0,
  IDR: 0,
  CLP: 0,
  ISK: 0,
  HUF: 2,
  BHD: 3,
  KWD: 3,
  JOD: 3,
  OMR: 3,
  TND: 3,
};

export function minorExponent(currency: string): number {
  return EXPONENT[currency] ?? 2;
}

/** "8.88" for 888 NZD cents; statements show major units. */
export function formatMajor(minor: number, currency: string): string {
  return new Decimal(minor).div(new Decimal(10).pow(minorExponent(currency))).toFixed(minorExponent(currency));
}

/** "4.25" → "425000000"; refuses non-positive or over-precise rates. */
export function rateToWechat(rate: string): string {
  if (!/^\d+(\.\d{1,8})?$/.test(rate))
    throw new Error(`rate must be a positive decimal with at most 8 places, got "${rate}"`);
  const v = new Decimal(rate).mul(1e8);
  if (v.lte(0)) throw new Error('rate must be positive');
  return v.toFixed(0);
}

/** What the payer is charged in CNY fen for `total` minor units at `rate1e8`. Half up (rounding rule UNCONFIRMED). */
export function cashFee(total: number, currency: string, rate1e8: string): number {
  if (currency === 'CNY') return total;
  return new Decimal(total)
    .div(new Decimal(10).pow(minorExponent(currency)))
    .mul(new Decimal(rate1e8).div(1e8))
    .mul(100)
    .toDecimalPlaces(0, Decimal.ROUND_HALF_UP)
    .toNumber();
}

/**
 * The CNY part of a refund: the refund ratio applied to the payer's cash amount
 * (docs/protocols/wechat.md), taken cumulatively so partial refunds add up to
 * exactly `cash` when the order is fully refunded.
 */
export function cashRefund(cash: number, total: number, refundedBefore: number, refund: number): number {
  const at = (r: number) => new Decimal(cash).mul(r).div(total).toDecimalPlaces(0, Decimal.ROUND_HALF_UP).toNumber();
  return at(refundedBefore + refund) - at(refundedBefore);
}
