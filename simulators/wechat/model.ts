import type { ClockMark } from '../common/clock.js';
import type { SignType } from './sign.js';

// What the simulator believes about each order, as persisted in `--state`.

/** WeChat's trade states (docs/protocols/wechat.md). ACCEPT is never produced here. */
export type TradeState = 'NOTPAY' | 'SUCCESS' | 'REFUND' | 'CLOSED' | 'REVOKED' | 'USERPAYING' | 'PAYERROR';

export type TradeType = 'NATIVE' | 'JSAPI' | 'APP' | 'MWEB' | 'MICROPAY';

export interface Refund {
  out_refund_no: string;
  refund_id: string;
  refund_fee: number;
  cash_refund_fee: number;
  refund_desc?: string;
  /** Where the refund result notification goes (optional in the request). */
  notify_url?: string;
  status: 'PROCESSING' | 'SUCCESS';
  created_ms: number;
  created_mark: ClockMark;
  success_ms?: number;
}

export interface Order {
  mch_id: string;
  appid: string;
  sub_mch_id?: string;
  device_info?: string;
  out_trade_no: string;
  transaction_id: string;
  trade_type: TradeType;
  body: string;
  attach?: string;
  detail?: string;
  total_fee: number;
  fee_type: string;
  notify_url?: string;
  product_id?: string;
  openid?: string;
  spbill_create_ip?: string;
  time_expire_ms?: number;
  prepay_id?: string;
  code_url?: string;
  /** MWEB: the scene_info sent, and the mweb_url answered last (its package and when). */
  scene_info?: string;
  mweb?: { package: string; issued_mark: ClockMark };
  /** The algorithm the order was created with: its notify is signed the same way. */
  sign_type: SignType;
  trade_state: TradeState;
  trade_state_desc?: string;
  created_ms: number;
  created_mark: ClockMark;
  /** The request fields that made it, to tell a retry from a clash of out_trade_no. */
  fingerprint: string;
  paid_ms?: number;
  cash_fee?: number;
  cash_fee_type?: string;
  rate?: string;
  payer_openid?: string;
  bank_type?: string;
  closed_ms?: number;
  revoked_ms?: number;
  auth_code?: string;
  /** userpaying:N codes: order queries so far, and N. */
  userpaying?: { queries: number; until: number };
  refunds: Refund[];
}

export type PayCodeBehaviour = 'success' | 'userpaying' | 'insufficient' | 'expired';

export interface PayCode {
  auth_code: string;
  behaviour: PayCodeBehaviour;
  userpaying_n?: number;
  minted_mark: ClockMark;
  used: boolean;
}

export interface RateEntry {
  fee_type: string;
  /** CNY per unit × 10^8, as an integer string. */
  rate: string;
  /** Sim-clock epoch ms from which it applies. */
  from_ms: number;
}

export interface OAuthCode {
  code: string;
  appid: string;
  openid: string;
  mark: ClockMark;
  used: boolean;
}

/** Refunded so far (processing ones included: they cannot be undone). */
export function refundedTotal(o: Order): number {
  return o.refunds.reduce((s, r) => s + r.refund_fee, 0);
}

export function wasPaid(o: Order): boolean {
  return o.paid_ms !== undefined;
}
