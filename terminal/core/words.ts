import type { SaleStatus } from './db.js';

// The words of docs/CONTRACTS.md's `payment-status` and `customer-status`, and what the
// cashier and the customer are told in each state (English and Chinese).

export type StatusWord =
  'WAITING' | 'PENDING' | 'PAID' | 'FAILED' | 'EXPIRED' | 'CLOSED' | 'UNKNOWN' | 'REFUNDED' | 'PARTIALLY REFUNDED';

export function statusWord(s: SaleStatus): StatusWord {
  switch (s) {
    case 'waiting':
      return 'WAITING';
    case 'creating':
    case 'pending':
      return 'PENDING';
    case 'paid':
      return 'PAID';
    case 'failed':
      return 'FAILED';
    case 'expired':
      return 'EXPIRED';
    case 'closed':
      return 'CLOSED';
    case 'unknown':
      return 'UNKNOWN';
    case 'refunded':
      return 'REFUNDED';
    case 'partially_refunded':
      return 'PARTIALLY REFUNDED';
  }
}

/** Still moving: the screen shows a countdown and Cancel. */
export function isActive(s: SaleStatus): boolean {
  return s === 'creating' || s === 'waiting' || s === 'pending' || s === 'unknown';
}

export function isPaidFamily(s: SaleStatus): boolean {
  return s === 'paid' || s === 'refunded' || s === 'partially_refunded';
}

/** What the cashier and the customer read under the status word. */
export const STATUS_TEXT: Record<StatusWord, { cashier: [string, string]; customer: [string, string] }> = {
  WAITING: {
    cashier: ['Waiting for the customer to scan', '等待顾客扫码'],
    customer: ['Scan the code above with your phone', '请用手机扫描上方二维码'],
  },
  PENDING: {
    cashier: ['Customer confirming in the wallet', '顾客正在确认支付'],
    customer: ['Please confirm in your wallet', '请在钱包中确认支付'],
  },
  PAID: { cashier: ['Paid', '支付成功'], customer: ['Paid ✓ Thank you', '支付成功 ✓ 谢谢'] },
  FAILED: {
    cashier: ['Payment failed: ask for another wallet or method', '支付失败：请换一种支付方式'],
    customer: ['Payment failed: please try another way', '支付失败，请换一种方式'],
  },
  EXPIRED: {
    cashier: ['The code expired: charge again', '二维码已过期：请重新收款'],
    customer: ['This code has expired', '二维码已过期'],
  },
  CLOSED: { cashier: ['Cancelled: nothing was charged', '已取消：未扣款'], customer: ['Cancelled', '已取消'] },
  UNKNOWN: {
    cashier: ['Result not known yet: do not charge again, it will resolve', '结果未知：请勿重复收款，稍后自动确认'],
    customer: ['Checking your payment…', '正在确认支付结果…'],
  },
  REFUNDED: { cashier: ['Refunded', '已退款'], customer: ['Refunded', '已退款'] },
  'PARTIALLY REFUNDED': { cashier: ['Partially refunded', '部分退款'], customer: ['Partially refunded', '部分退款'] },
};
