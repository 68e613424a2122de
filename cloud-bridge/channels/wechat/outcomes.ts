import { Decimal } from 'decimal.js';
import { chinaWallIso } from '../../../protocol/channel-day.js';
import { isCurrency, money, type Money } from '../../../protocol/money.js';
import type { ChannelOutcome, RefundOutcome } from '../channel.js';
import type { Fields } from './sign.js';

// WeChat's words translated to Kauri's, as pure functions (docs/protocols/wechat.md).
// The rule of the overseas API: result_code=FAIL on a payment call is not final
// unless the error says so; anything uncertain is "unknown" and the order is queried.

/** A WeChat time (yyyyMMddHHmmss, Beijing time, UTC+8) as an instant. */
export function parseBeijingTime(s: string | undefined): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(s ?? '');
  if (!m) return undefined;
  const d = new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}+08:00`);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** An instant as a WeChat time (yyyyMMddHHmmss in UTC+8). */
export function beijingTime(at: Date): string {
  return chinaWallIso(at).replace(/[-T:]/g, '').slice(0, 14);
}

/** The WeChat day (yyyyMMdd, UTC+8) an instant falls in. */
export function beijingDay(at: Date): string {
  return beijingTime(at).slice(0, 8);
}

/**
 * `rate_time` of a queryexchagerate answer. The official field table declares
 * String(14) with the format yyyyMMdd and the example 20150807 (pay.weixin.qq.com, 汇率查询
 * / Query Exchange Rate, overseas v2); WxJava's WxPayQueryExchangeRateResult reads it as
 * yyyyMMddHHmmss. Both are accepted: a date alone means that day's 10:00 (UTC+8), when
 * WeChat publishes the day's rate. Anything else is not a time and is refused.
 */
export function rateTimeFromWechat(raw: string | undefined, requestedDay: string): Date | undefined {
  const s = raw === undefined || raw === '' ? requestedDay : raw;
  if (/^\d{8}$/.test(s)) return parseBeijingTime(`${s}100000`);
  if (/^\d{14}$/.test(s)) return parseBeijingTime(s);
  return undefined;
}

/** `rate` as WeChat sends it (CNY per unit × 10^8, an integer string) → a decimal string. */
export function rateFromWechat(raw: string | undefined): string | undefined {
  if (!raw || !/^\d{1,20}$/.test(raw) || /^0+$/.test(raw)) return undefined;
  return new Decimal(raw).div(1e8).toString();
}

function amountOf(minor: string | undefined, currency: string | undefined): Money | undefined {
  if (minor === undefined || !/^\d{1,15}$/.test(minor) || !currency || !isCurrency(currency)) return undefined;
  return money(Number(minor), currency);
}

export class UnreadablePaymentError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'UnreadablePaymentError';
  }
}

/**
 * A payment WeChat says succeeded (orderquery SUCCESS/REFUND, micropay SUCCESS, a notify).
 * The priced amount goes in `amount` so the order's amount and currency are checked; a
 * paid report whose amount cannot be read is refused rather than accepted unchecked.
 */
export function paidOutcome(f: Fields): ChannelOutcome {
  if (!f.transaction_id) throw new UnreadablePaymentError('a paid answer without transaction_id');
  const amount = amountOf(f.total_fee, f.fee_type || 'CNY');
  if (!amount)
    throw new UnreadablePaymentError(
      `a paid answer with an unreadable amount (total_fee "${f.total_fee ?? ''}", fee_type "${f.fee_type ?? ''}")`,
    );
  const charged = amountOf(f.cash_fee, f.cash_fee_type || 'CNY');
  const rate = rateFromWechat(f.rate);
  return {
    state: 'paid',
    channelTradeNo: f.transaction_id,
    amount,
    ...(parseBeijingTime(f.time_end) ? { paidAt: parseBeijingTime(f.time_end) } : {}),
    ...(charged ? { charged } : {}),
    ...(rate ? { rate } : {}),
    raw: f,
  };
}

/** orderquery's trade_state. */
export function tradeStateOutcome(f: Fields): ChannelOutcome {
  const desc = f.trade_state_desc ? `: ${f.trade_state_desc}` : '';
  switch (f.trade_state) {
    case 'SUCCESS':
    case 'REFUND': // paid, then (partly) refunded: still paid as far as the order is concerned
      return paidOutcome(f);
    case 'NOTPAY':
    case 'ACCEPT':
      return { state: 'pending', raw: f };
    case 'USERPAYING':
      return { state: 'pending', userPaying: true, raw: f };
    case 'CLOSED':
      return { state: 'closed', reason: `WeChat closed the order${desc}`, raw: f };
    case 'REVOKED':
      return { state: 'reversed', reason: `WeChat revoked the order${desc}`, raw: f };
    case 'PAYERROR':
      return { state: 'failed', reason: `the payment failed${desc}`, raw: f };
    default:
      return { state: 'unknown', reason: `orderquery answered trade_state "${f.trade_state ?? ''}"`, raw: f };
  }
}

/** Micropay errors that settle the payment as failed: the customer was not charged. */
const MICROPAY_DEFINITE_FAILURES = new Set([
  'AUTHCODEEXPIRE',
  'AUTH_CODE_ERROR',
  'AUTH_CODE_INVALID',
  'NOTENOUGH',
  'NOTSUPORTCARD',
  'BUYER_MISMATCH',
  'PARAM_ERROR',
  'NOAUTH',
  'TRADE_ERROR',
  'INVALID_REQUEST',
  'XML_FORMAT_ERROR',
  'REQUIRE_POST_METHOD',
  'SIGNERROR',
  'LACK_PARAMS',
  'NOT_UTF8',
  'APPID_NOT_EXIST',
  'MCHID_NOT_EXIST',
  'APPID_MCHID_NOT_MATCH',
  'POST_DATA_EMPTY',
  'OUT_TRADE_NO_USED',
  'INVALID_TRANSACTIONID',
]);

function errText(f: Fields): string {
  return `${f.err_code ?? 'FAIL'}${f.err_code_des ? `: ${f.err_code_des}` : ''}`;
}

/** The synchronous answer of /pay/micropay (return_code SUCCESS, signature checked). */
export function micropayOutcome(f: Fields): ChannelOutcome {
  if (f.result_code === 'SUCCESS') return paidOutcome(f);
  const code = f.err_code ?? '';
  if (code === 'USERPAYING') return { state: 'pending', userPaying: true, raw: f };
  if (code === 'ORDERREVERSED') return { state: 'reversed', reason: errText(f), raw: f };
  if (code === 'ORDERCLOSED') return { state: 'closed', reason: errText(f), raw: f };
  if (MICROPAY_DEFINITE_FAILURES.has(code)) return { state: 'failed', reason: errText(f), raw: f };
  // SYSTEMERROR, BANKERROR, ORDERPAID and anything new: ask orderquery.
  return { state: 'unknown', reason: errText(f), raw: f };
}

const UNIFIEDORDER_UNCERTAIN = new Set(['SYSTEMERROR', 'ORDERPAID', 'BIZERR_NEED_RETRY']);

/** The answer of /pay/unifiedorder when result_code is FAIL. */
export function unifiedOrderFailure(f: Fields): ChannelOutcome {
  const code = f.err_code ?? '';
  if (UNIFIEDORDER_UNCERTAIN.has(code)) return { state: 'unknown', reason: errText(f), raw: f };
  if (code === 'ORDERCLOSED') return { state: 'closed', reason: errText(f), raw: f };
  return { state: 'failed', reason: errText(f), raw: f };
}

/** /secapi/pay/refund: accepted refunds are PROCESSING until refundquery says otherwise. */
export function refundOutcome(f: Fields): RefundOutcome {
  if (f.result_code === 'SUCCESS') return { state: 'processing', channelRefundId: f.refund_id || undefined, raw: f };
  const code = f.err_code ?? '';
  if (code === 'SYSTEMERROR' || code === 'BIZERR_NEED_RETRY' || code === 'FREQUENCY_LIMITED')
    return { state: 'unknown', reason: errText(f), raw: f };
  return { state: 'failed', reason: errText(f), raw: f };
}

/** The refund numbered `channelRefundNo` in a refundquery answer. */
export function refundQueryOutcome(f: Fields, channelRefundNo: string): RefundOutcome {
  if (f.result_code !== 'SUCCESS') return { state: 'unknown', reason: errText(f), raw: f };
  const count = Number(f.refund_count ?? '0');
  for (let i = 0; i < count && i < 50; i++) {
    if (f[`out_refund_no_${i}`] !== channelRefundNo) continue;
    const status = f[`refund_status_${i}`];
    const id = f[`refund_id_${i}`] || undefined;
    switch (status) {
      case 'SUCCESS':
        return { state: 'succeeded', channelRefundId: id, raw: f };
      case 'PROCESSING':
        return { state: 'processing', channelRefundId: id, raw: f };
      case 'REFUNDCLOSE':
        return { state: 'failed', reason: 'WeChat closed the refund (REFUNDCLOSE)', raw: f };
      default:
        // CHANGE: the money could not reach the payer; it needs a person at the merchant platform.
        return { state: 'unknown', reason: `refund_status ${status ?? '(none)'}`, raw: f };
    }
  }
  return { state: 'unknown', reason: `refundquery did not list ${channelRefundNo}`, raw: f };
}
