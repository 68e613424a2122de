// Small integer codes for kinds and statuses, so a million rows live in typed arrays
// (see ledger.ts) instead of a million objects.

export type Channel = 'wechat' | 'alipay' | 'bank';
export const CHANNELS: readonly Channel[] = ['wechat', 'alipay', 'bank'];

export type BillKind = 'payment' | 'refund';
export const KIND_PAYMENT = 0;
export const KIND_REFUND = 1;
/** First byte of a ledger key: payments and refunds never collide. */
export const KEY_PREFIX = [0x50 /* P */, 0x52 /* R */] as const;

/** What the channel says happened to a statement row. */
export type ChannelStatus = 'paid' | 'revoked' | 'refund_succeeded' | 'refund_processing' | 'refund_failed';
export const CHANNEL_STATUSES: readonly ChannelStatus[] = [
  'paid',
  'revoked',
  'refund_succeeded',
  'refund_processing',
  'refund_failed',
];
export const C_PAID = 1;
export const C_REVOKED = 2;
export const C_REFUND_SUCCEEDED = 3;
export const C_REFUND_PROCESSING = 4;
export const C_REFUND_FAILED = 5;
export function channelStatusName(code: number): ChannelStatus {
  return CHANNEL_STATUSES[code - 1]!;
}

/** Platform statuses of docs/CONTRACTS.md (payments, then refunds). */
export type PlatformStatus =
  | 'created'
  | 'pending'
  | 'paid'
  | 'partially_refunded'
  | 'refunded'
  | 'closed'
  | 'reversed'
  | 'failed'
  | 'processing'
  | 'succeeded';
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
export const REFUND_STATUSES = ['processing', 'succeeded', 'failed'] as const;
// Codes: payments 1..8 in PAYMENT_STATUSES order, refunds 9..11.
export const P_CREATED = 1;
export const P_PENDING = 2;
export const P_PAID = 3;
export const P_PARTIALLY_REFUNDED = 4;
export const P_REFUNDED = 5;
export const P_CLOSED = 6;
export const P_REVERSED = 7;
export const P_FAILED = 8;
export const R_PROCESSING = 9;
export const R_SUCCEEDED = 10;
export const R_FAILED = 11;
export function platformStatusName(code: number): PlatformStatus {
  return (code <= 8 ? PAYMENT_STATUSES[code - 1] : REFUND_STATUSES[code - 9])!;
}
export function platformStatusCode(kind: number, name: string): number {
  if (kind === KIND_PAYMENT) {
    const i = (PAYMENT_STATUSES as readonly string[]).indexOf(name);
    return i < 0 ? 0 : i + 1;
  }
  const i = (REFUND_STATUSES as readonly string[]).indexOf(name);
  return i < 0 ? 0 : i + 9;
}

export type Category =
  | 'matched'
  | 'amountMismatch'
  | 'currencyMismatch'
  | 'statusMismatch'
  | 'channelOnly'
  | 'platformOnly'
  | 'duplicates'
  | 'suspense';
