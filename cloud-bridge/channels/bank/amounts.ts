import { Decimal } from 'decimal.js';
import { KauriError } from '../../../protocol/errors.js';
import { money, type Money } from '../../../protocol/money.js';

// The gateway takes CNY only: what is paid and refunded there, in fen.

/** What the bank pays in CNY for an order: the quoted amount (or the price, if it is CNY). */
export function payableCny(amount: Money, payAmount?: Money | null): Money {
  if (payAmount && payAmount.currency === 'CNY') return payAmount;
  if (amount.currency === 'CNY') return amount;
  throw new KauriError('rate_unavailable', 'The bank channel takes CNY only and this payment has no CNY quote');
}

/** The CNY to refund for `amount` of a price that was paid as `paid` CNY. */
export function refundCny(amount: Money, price: Money, paid: Money | null | undefined): Money {
  if (amount.currency === 'CNY') return amount;
  if (!paid || paid.currency !== 'CNY')
    throw new KauriError(
      'channel_error',
      'The CNY amount of this bank payment is not known, so it cannot be refunded here',
    );
  if (amount.minor === price.minor) return paid;
  // Part of the price back: the same part of the CNY paid, to the fen.
  const fen = new Decimal(paid.minor)
    .mul(amount.minor)
    .div(price.minor)
    .toDecimalPlaces(0, Decimal.ROUND_HALF_UP)
    .toNumber();
  return money(Math.min(fen, paid.minor), 'CNY');
}
