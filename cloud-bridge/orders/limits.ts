import { KauriError } from '../../protocol/errors.js';
import { format, money, MoneyError, parseDecimal, type Money } from '../../protocol/money.js';
import type { Merchant } from '../store/accounts.js';

// The most one payment may be, per merchant. Nothing bounded an amount
// but the safe-integer range, so NZD 90,071,992,547,409.91 was stored and sent to a channel.
// Checked where a payment or a checkout is created, before anything is stored or sent.

/** What a merchant gets unless HQ sets another (`kauri admin merchant update ID --max-payment`). */
export const DEFAULT_MAX_PAYMENT: Money = money(5_000_000, 'NZD');

type Limited = Pick<Merchant, 'id' | 'max_payment_minor' | 'max_payment_currency'>;

/** The merchant's maximum per payment. */
export function maxPaymentOf(merchant: Limited): Money {
  return money(merchant.max_payment_minor, merchant.max_payment_currency);
}

/** Throws `amount_too_large` (HTTP 422) when `amount` is more than the merchant takes in one payment. */
export function checkMaxPayment(merchant: Limited, amount: Money): void {
  const max = maxPaymentOf(merchant);
  if (amount.currency !== max.currency) {
    // No exchange rate is trusted here: a limit in one currency says nothing certain about
    // another, so the payment waits for HQ to state the limit in its currency.
    throw new KauriError(
      'amount_too_large',
      `This merchant's maximum per payment is set in ${max.currency}, so a ${amount.currency} payment cannot be taken: ask HQ to set it in ${amount.currency} (kauri admin merchant update ${merchant.id} --max-payment "AMOUNT ${amount.currency}")`,
    );
  }
  if (amount.minor > max.minor) {
    throw new KauriError(
      'amount_too_large',
      `${format(amount)} is more than this merchant's maximum per payment, ${format(max)}; split it, or ask HQ to raise the maximum`,
      {
        details: { max_amount_minor: max.minor, currency: max.currency },
      },
    );
  }
}

/** Throws `merchant_disabled` when HQ has turned the merchant off: it starts no new payment. */
export function checkMerchantOn(merchant: Pick<Merchant, 'id' | 'disabled_at'>): void {
  if (merchant.disabled_at)
    throw new KauriError('merchant_disabled', `Merchant ${merchant.id} is turned off (since ${merchant.disabled_at})`);
}

/** The one line at a payment's entry point: looks the merchant up, checks it is on and checks the amount. */
export async function assertWithinMaxPayment(
  accounts: { getMerchant(id: string): Promise<(Limited & Pick<Merchant, 'disabled_at'>) | undefined> },
  merchantId: string,
  amount: Money,
): Promise<void> {
  const merchant = await accounts.getMerchant(merchantId);
  if (!merchant) throw new KauriError('not_found', `No merchant "${merchantId}"`);
  checkMerchantOn(merchant);
  checkMaxPayment(merchant, amount);
}

/** Parses HQ's `--max-payment` ("50000.00", or "50000.00 AUD"; NZD when no currency is named). */
export function parseMaxPayment(text: string): Money {
  const m = /^\s*([0-9][0-9,]*(?:\.[0-9]+)?)\s*([A-Za-z]{3})?\s*$/.exec(text);
  let amount: Money | undefined;
  try {
    if (m) amount = parseDecimal(m[1]!.replace(/,/g, ''), (m[2] ?? DEFAULT_MAX_PAYMENT.currency).toUpperCase());
  } catch (err) {
    if (!(err instanceof MoneyError)) throw err;
  }
  if (!amount || amount.minor <= 0) {
    throw new KauriError(
      'invalid_request',
      `"${text}" is not a maximum per payment: write an amount above zero such as 50000.00, or 50000.00 AUD for another currency`,
    );
  }
  return amount;
}
