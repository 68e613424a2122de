// Words shared by the bridge, the terminal and the merchant API.

export const CHANNELS = ['wechat', 'alipay', 'bank'] as const;
export type ChannelName = (typeof CHANNELS)[number];

export const PAYMENT_MODES = ['native', 'jsapi', 'h5', 'micropay', 'web', 'wap', 'precreate', 'spot', 'bank'] as const;
export type PaymentMode = (typeof PAYMENT_MODES)[number];

/** Which modes each channel offers: the channels declare theirs from this list (docs/CONTRACTS.md). */
export const CHANNEL_MODES: Record<ChannelName, readonly PaymentMode[]> = {
  wechat: ['native', 'jsapi', 'h5', 'micropay'],
  alipay: ['web', 'wap', 'precreate', 'spot'],
  bank: ['bank'],
};

/**
 * Modes where the customer pays in the wallet's app or mobile cashier from their phone's own
 * browser, and the wallet sends that browser back to the bridge's return page.
 */
export const PHONE_BROWSER_MODES: readonly PaymentMode[] = ['h5', 'wap'];

/** Modes where the customer shows a payment code and the cashier scans it. */
export const PRESENTED_CODE_MODES: readonly PaymentMode[] = ['micropay', 'spot'];

export const PAYMENT_STATUSES = [
  'created',
  'pending',
  'paid',
  'partially_refunded',
  'refunded',
  'closed',
  'reversed',
  'failed',
] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

export const REFUND_STATUSES = ['processing', 'succeeded', 'failed'] as const;
export type RefundStatus = (typeof REFUND_STATUSES)[number];

/** A customer-presented payment code checked: its channel, or why it is not one (for the cashier). */
export type PaymentCodeCheck = { ok: true; channel: ChannelName } | { ok: false; why: string };

/**
 * The one rule for customer-presented payment codes, by prefix and length: WeChat 10–15
 * (18 digits), Alipay 25–30 (16–24 digits). Anything else is not a payment code. The
 * counter's scan field, its serial scanner and the bridge all ask here.
 */
export function checkPaymentCode(code: string): PaymentCodeCheck {
  if (code === '') return { ok: false, why: 'empty scan' };
  if (!/^\d+$/.test(code)) return { ok: false, why: 'not digits only' };
  const prefix = Number(code.slice(0, 2));
  if (prefix >= 10 && prefix <= 15)
    return code.length === 18
      ? { ok: true, channel: 'wechat' }
      : { ok: false, why: `WeChat codes have 18 digits, this has ${code.length}` };
  if (prefix >= 25 && prefix <= 30)
    return code.length >= 16 && code.length <= 24
      ? { ok: true, channel: 'alipay' }
      : { ok: false, why: `Alipay codes have 16-24 digits, this has ${code.length}` };
  return { ok: false, why: `prefix ${code.slice(0, 2)} is neither WeChat (10-15) nor Alipay (25-30)` };
}

/** The channel of a customer-presented payment code (checkPaymentCode), or undefined when it is not one. */
export function channelOfPaymentCode(code: string): ChannelName | undefined {
  const c = checkPaymentCode(code);
  return c.ok ? c.channel : undefined;
}
