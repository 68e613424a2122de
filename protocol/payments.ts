// Words shared by the bridge, the terminal and the merchant API.

export const CHANNELS = ['wechat', 'alipay', 'bank'] as const;
export type ChannelName = (typeof CHANNELS)[number];

export const PAYMENT_MODES = ['native', 'jsapi', 'h5', 'micropay', 'web', 'wap', 'precreate', 'spot', 'bank'] as const;
export type PaymentMode = (typeof PAYMENT_MODES)[number];

/** Which modes each channel offers (CONTRACTS.md). */
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

/**
 * The channel a customer-presented payment code belongs to, by its prefix:
 * WeChat 10–15 (18 digits), Alipay 25–30 (16–24 digits). Anything else is not a payment code.
 */
export function channelOfPaymentCode(code: string): ChannelName | undefined {
  if (!/^\d+$/.test(code)) return undefined;
  const prefix = Number(code.slice(0, 2));
  if (code.length === 18 && prefix >= 10 && prefix <= 15) return 'wechat';
  if (code.length >= 16 && code.length <= 24 && prefix >= 25 && prefix <= 30) return 'alipay';
  return undefined;
}
