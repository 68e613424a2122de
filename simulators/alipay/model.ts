import type { ClockMark } from '../common/clock.js';
import type { SignType } from './sign.js';

// What the simulator believes, as persisted in `--state`.

export type TradeStatus = 'WAIT_BUYER_PAY' | 'TRADE_SUCCESS' | 'TRADE_CLOSED';
export type TradeKind = 'web' | 'precreate' | 'spot';

/** forex_refund is asynchronous by default: accepted (PROCESSING), then SUCCESS or FAIL. */
export type RefundStatus = 'PROCESSING' | 'SUCCESS' | 'FAIL';

export interface TradeRefund {
  refund_no: string;
  amount_minor: number;
  cny_minor: number;
  reason?: string;
  ms: number;
  service: string;
  /** Absent in state files written before refunds were asynchronous: SUCCESS. */
  status?: RefundStatus;
  /** When it was accepted, for its settle delay (protocol time). */
  accepted_mark?: ClockMark;
  /** Told to fail through the `refund-fail` fault. */
  will_fail?: boolean;
  error_code?: string;
  notify_url?: string;
  settled_ms?: number;
}

export interface Trade {
  partner: string;
  kind: TradeKind;
  out_trade_no: string;
  trade_no: string;
  subject: string;
  body?: string;
  /** Settlement currency (`currency`). */
  currency: string;
  /** Pricing currency: total_fee / trans_amount are in it. */
  trans_currency: string;
  amount_minor: number;
  status: TradeStatus;
  notify_url?: string;
  return_url?: string;
  /** Opened with create_forex_trade_wap: the mobile cashier. */
  wap?: boolean;
  sign_type: SignType;
  charset: 'UTF-8' | 'GBK';
  created_ms: number;
  created_mark: ClockMark;
  /** Protocol ms after creation when an unpaid trade closes (timeout_rule, it_b_pay). */
  expires_after_ms?: number;
  /** Token in the cashier / qr_code URL. */
  token: string;
  fingerprint: string;
  paid_ms?: number;
  rate?: string;
  cny_minor?: number;
  buyer_login_id?: string;
  buyer_user_id?: string;
  closed_ms?: number;
  /** alipay.acquire.cancel: closed unpaid, or refunded in full. */
  cancel?: { ms: number; action: 'close' | 'refund' };
  userpaying?: { queries: number; until: number };
  refunds: TradeRefund[];
}

export type PayCodeBehaviour = 'success' | 'userpaying' | 'insufficient' | 'expired';

export interface PayCode {
  code: string;
  behaviour: PayCodeBehaviour;
  userpaying_n?: number;
  minted_mark: ClockMark;
  used: boolean;
}

export interface Merchant {
  partner: string;
  md5Key: string;
  /** The merchant's RSA public key (PEM), set through POST /sim/keys. */
  publicKey?: string;
  name: string;
  /** Pricing currencies (`trans_currency`) Alipay enabled for this merchant ("contact your BD"). */
  transCurrencies?: string[];
}

/** What is refunded or on its way back: a failed refund gives its amount back to the trade. */
export function refundedMinor(t: Trade): number {
  return t.refunds.reduce((s, r) => s + (r.status === 'FAIL' ? 0 : r.amount_minor), 0);
}
