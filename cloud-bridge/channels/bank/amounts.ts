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

/**
 * The CNY to refund for `amount` of a price that was paid as `paid` CNY, after `before` of the
 * price was refunded already.
 *
 * Each part is the running total's CNY less the CNY of the total before it, not the part's
 * own share rounded: rounded on their own, three thirds of 100.01 CNY would ask for 100.02.
 * Taken from the running total, the parts of a fully refunded order add up to what was paid,
 * to the fen, without asking the gateway what it still holds.
 */
export function refundCny(amount: Money, price: Money, paid: Money | null | undefined, before?: Money): Money {
  if (amount.currency === 'CNY') return amount;
  if (!paid || paid.currency !== 'CNY')
    throw new KauriError(
      'channel_error',
      'The CNY amount of this bank payment is not known, so it cannot be refunded here',
    );
  const earlier = before && before.currency === price.currency ? Math.max(0, before.minor) : 0;
  const fen = cnyOfPart(earlier + amount.minor, price, paid) - cnyOfPart(earlier, price, paid);
  return money(Math.max(0, fen), 'CNY');
}

/** The CNY paid for `part` minor units of the price, to the fen (the whole price: exactly what was paid). */
function cnyOfPart(part: number, price: Money, paid: Money): number {
  if (part >= price.minor) return paid.minor;
  return new Decimal(paid.minor).mul(part).div(price.minor).toDecimalPlaces(0, Decimal.ROUND_HALF_UP).toNumber();
}
