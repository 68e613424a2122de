import { CHINA_OFFSET_MS, chinaWallIso } from '../../../protocol/channel-day.js';
import { Decimal } from 'decimal.js';
import { parseDecimal, type Money } from '../../../protocol/money.js';
import type { ChannelOutcome, RateQuote, RefundOutcome } from '../channel.js';
import { AlipayError } from './errors.js';

// Alipay's words → Kauri's, pure: every status, result code and time Alipay answers is read
// here, so channel.ts only makes calls. Nothing here does I/O or reads a clock.

const OFFSET = CHINA_OFFSET_MS;

/** Alipay's clock is Beijing time (UTC+8, no daylight saving). */
export function beijing(ms: number): { compact: string; dashed: string; day: string } {
  const d = chinaWallIso(ms); // 2026-11-22T08:30:00.000Z read as Beijing wall time
  const dashed = `${d.slice(0, 10)} ${d.slice(11, 19)}`;
  return { compact: dashed.replace(/[- :]/g, ''), dashed, day: d.slice(0, 10).replace(/-/g, '') };
}

/** Beijing yyyy-MM-dd HH:mm:ss or yyyyMMddHHmmss → Date. */
export function parseBeijing(s: string | undefined): Date | undefined {
  // Stryker disable next-line ConditionalExpression: an empty or absent time fails the pattern below as well
  if (!s) return undefined;
  const m = /^(\d{4})-?(\d{2})-?(\d{2}) ?(\d{2}):?(\d{2}):?(\d{2})$/.exec(s);
  if (!m) return undefined;
  const ms = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) - OFFSET;
  // Refuse roll-overs (month 13, 31 November) that Date would quietly move on.
  if (Number.isNaN(ms) || beijing(ms).compact !== m.slice(1).join('')) return undefined;
  return new Date(ms);
}

const TIMEOUT_RULES: Array<[string, number]> = [
  ['5m', 5],
  ['10m', 10],
  ['15m', 15],
  ['30m', 30],
  ['1h', 60],
  ['2h', 120],
  ['3h', 180],
  ['5h', 300],
  ['10h', 600],
  ['12h', 720],
  ['1d', 1440],
];

/** The longest timeout_rule that does not outlive the order (at least 5m). */
export function timeoutRuleFor(ms: number): string {
  const minutes = ms / 60_000;
  let pick = '5m';
  for (const [rule, min] of TIMEOUT_RULES) if (min <= minutes) pick = rule;
  return pick;
}

/** Gateway errors that say nothing about the trade: it may or may not have happened. */
export const UNCERTAIN_ERRORS: ReadonlySet<string> = new Set([
  'SYSTEM_ERROR',
  'SYSTEM_EXCEPTION',
  'SYSTEM_BUSY',
  'UNKNOW',
  'UNKNOWN',
]);

export function amountOf(text: string | undefined, currency: string | undefined, what: string): Money {
  if (!text || !currency) throw new AlipayError('channel_error', `Alipay's ${what} has no amount or currency`);
  try {
    return parseDecimal(text, currency);
  } catch (err) {
    throw new AlipayError(
      'channel_error',
      `Alipay's ${what} amount "${text} ${currency}" is not valid: ${(err as Error).message}`,
    );
  }
}

export function cnyOf(text: string | undefined): Money | undefined {
  // Stryker disable next-line ConditionalExpression: parseDecimal refuses an empty or absent amount, which the catch reads as none
  if (!text) return undefined;
  // The CNY the customer was charged is informational: an unreadable one is left out, the payment stands.
  try {
    return parseDecimal(text, 'CNY');
  } catch {
    return undefined;
  }
}

type Fields = Readonly<Record<string, string>>;

/** is_success=F: refused before any trade was touched, or a gateway error (uncertain). */
export function gatewayRefusal(error: string | undefined, service: string): ChannelOutcome {
  const code = error ?? 'UNKNOWN';
  if (UNCERTAIN_ERRORS.has(code)) return { state: 'unknown', reason: `${service}: ${code}` };
  // ILLEGAL_SIGN, ILLEGAL_ARGUMENT… are about our request, not the trade: nothing was created.
  return { state: 'failed', reason: `${service} refused: ${code}`, raw: { error: code } };
}

/**
 * Whether an alipay.acquire.* answer says the call failed. Alipay's own definitions of
 * alipay.acquire.precreate, .query and .cancel name the codes SUCCESS / FAIL / UNKNOWN (a captured
 * precreate refusal reads FAIL too); FAILED and UNKNOW are the overseas spot services' words.
 * Both spellings are read as a refusal, so neither family's answer is taken for an uncertain one.
 */
const refused = (code: string | undefined): boolean => code === 'FAIL' || code === 'FAILED';

/** A refusal that may hide a trade already paid, or says nothing about the trade: ask, never assume. */
const refusalUncertain = (r: Fields): boolean =>
  [r.error, r.detail_error_code].some(
    (c) => c !== undefined && (UNCERTAIN_ERRORS.has(c) || c.startsWith('TRADE_HAS_SUCCESS') || c === 'TRADE_SUCCESS'),
  );

/** alipay.acquire.precreate's answer (is_success=T). */
export function precreateOutcome(r: Fields): ChannelOutcome {
  if (r.result_code === 'SUCCESS' && r.qr_code) return { state: 'pending', qrCode: r.qr_code, raw: r };
  if (refused(r.result_code) && !refusalUncertain(r))
    return { state: 'failed', reason: r.detail_error_code ?? r.error ?? r.result_code!, raw: r };
  return {
    state: 'unknown',
    reason: `precreate result ${r.result_code ?? 'missing'}${r.detail_error_code || r.error ? ` (${r.detail_error_code ?? r.error})` : ''}`,
    raw: r,
  };
}

/** alipay.acquire.overseas.spot.pay's answer (is_success=T). */
export function spotPayOutcome(r: Fields): ChannelOutcome {
  if (r.result_code === 'SUCCESS') return spotPaid(r);
  if (r.result_code === 'FAILED') return { state: 'failed', reason: r.error ?? 'FAILED', raw: r };
  // UNKNOW (sic): the payment may or may not have happened; the bridge queries and cancels.
  return {
    state: 'unknown',
    reason: `spot pay result ${r.result_code ?? 'missing'}${r.error ? ` (${r.error})` : ''}`,
    raw: r,
  };
}

export function spotPaid(r: Fields): ChannelOutcome {
  const tradeNo = r.alipay_trans_id;
  if (!tradeNo) throw new AlipayError('channel_error', 'Alipay reported a spot payment without alipay_trans_id');
  return {
    state: 'paid',
    channelTradeNo: tradeNo,
    paidAt: parseBeijing(r.alipay_pay_time),
    amount: amountOf(r.trans_amount, r.trans_currency ?? r.currency, 'spot payment'),
    charged: cnyOf(r.trans_amount_cny),
    rate: r.exchange_rate,
    raw: r,
  };
}

/** single_trade_query refused (is_success=F) for an online (cashier) trade. */
export function onlineQueryRefused(error: string | undefined): ChannelOutcome {
  // Until the customer opens the cashier the trade does not exist (docs/protocols/alipay.md, Status words).
  if (error === 'TRADE_NOT_EXIST') return { state: 'pending', raw: { error } };
  return { state: 'unknown', reason: `single_trade_query: ${error ?? 'refused'}` };
}

/** single_trade_query's trade (is_success=T) for an online (cashier) trade. */
export function onlineTradeOutcome(r: Fields): ChannelOutcome {
  switch (r.trade_status) {
    case 'WAIT_BUYER_PAY':
      return { state: 'pending', userPaying: true, channelTradeNo: r.trade_no, raw: r };
    case 'TRADE_FINISHED':
    case 'TRADE_SUCCESS':
      return onlinePaid(r);
    case 'TRADE_CLOSED':
      return r.gmt_payment ? onlinePaid(r) : { state: 'closed', reason: 'TRADE_CLOSED', raw: r };
    default:
      return { state: 'unknown', reason: `trade_status ${r.trade_status ?? 'missing'}`, raw: r };
  }
}

function onlinePaid(r: Fields): ChannelOutcome {
  if (!r.trade_no) throw new AlipayError('channel_error', 'Alipay reported a paid trade without trade_no');
  return {
    state: 'paid',
    channelTradeNo: r.trade_no,
    paidAt: parseBeijing(r.gmt_payment),
    amount: amountOf(r.total_fee, r.currency, 'trade'),
    charged: cnyOf(r.rmb_total_fee),
    rate: r.forex_rate,
    raw: r,
  };
}

/** alipay.acquire.query (precreate) or alipay.acquire.overseas.query (spot) answer (is_success=T). */
export function inStoreQueryOutcome(r: Fields, spot: boolean): ChannelOutcome {
  if (r.result_code !== 'SUCCESS')
    return {
      state: 'unknown',
      reason: `query result ${r.result_code ?? 'missing'} ${r.error ?? r.detail_error_code ?? ''}`.trim(),
      raw: r,
    };
  const status = spot ? r.alipay_trans_status : r.trade_status;
  const tradeNo = spot ? r.alipay_trans_id : r.trade_no;
  switch (status) {
    case 'WAIT_BUYER_PAY':
      return { state: 'pending', userPaying: true, channelTradeNo: tradeNo, raw: r };
    case 'TRADE_SUCCESS':
    case 'TRADE_FINISHED':
      return spot
        ? spotPaid(r)
        : {
            state: 'paid',
            channelTradeNo: tradeNo!,
            paidAt: parseBeijing(r.gmt_payment),
            amount: amountOf(r.total_fee, r.trans_currency ?? r.currency, 'trade'),
            charged: cnyOf(r.trans_amount_cny),
            rate: r.exchange_rate,
            raw: r,
          };
    case 'TRADE_CLOSED':
      return { state: spot ? 'reversed' : 'closed', reason: 'TRADE_CLOSED', raw: r };
    default:
      return { state: 'unknown', reason: `trade status ${status ?? 'missing'}`, raw: r };
  }
}

/**
 * alipay.acquire.cancel's answer (is_success=T). `ask` means the cancel failed for a reason
 * only a query can settle (paid on an earlier Beijing day, refunded): the order is what the
 * query says, or `ifStillPending` when the query says it still waits.
 */
export function cancelOutcome(
  r: Fields,
  spot: boolean,
): { readonly outcome: ChannelOutcome } | { readonly ask: true; readonly ifStillPending: ChannelOutcome } {
  if (r.result_code === 'SUCCESS') {
    // action=refund: it had been paid and the money went back; either way nothing is charged now.
    return {
      outcome: {
        state: spot || r.action === 'refund' ? 'reversed' : 'closed',
        reason: `cancelled (${r.action ?? 'close'})`,
        raw: r,
      },
    };
  }
  const uncertain: ChannelOutcome = {
    state: 'unknown',
    reason: `cancel result ${r.result_code ?? 'missing'} ${r.error ?? ''}`.trim(),
    raw: r,
  };
  if (refused(r.result_code) && r.retry_flag !== 'Y') {
    if (r.error === 'TRADE_NOT_EXIST' || r.detail_error_code === 'TRADE_NOT_EXIST')
      return { outcome: { state: spot ? 'reversed' : 'closed', reason: 'no such trade at Alipay', raw: r } };
    return { ask: true, ifStillPending: uncertain };
  }
  return { outcome: uncertain };
}

/** forex_refund's synchronous answer: accepted (the result comes later), refused, or uncertain. */
export function forexRefundOutcome(
  isSuccess: boolean,
  error: string | undefined,
  channelRefundNo: string,
): RefundOutcome {
  if (isSuccess) return { state: 'processing', channelRefundId: channelRefundNo };
  // Stryker disable next-line StringLiteral: an absent error is no uncertain code, whatever text stands in for it
  if (UNCERTAIN_ERRORS.has(error ?? '')) return { state: 'unknown', reason: `forex_refund: ${error}` };
  return { state: 'failed', reason: `forex_refund refused: ${error ?? 'unknown error'}`, raw: { error } };
}

/** alipay.acquire.overseas.spot.refund's answer (synchronous, is_sync=Y). */
export function spotRefundOutcome(
  isSuccess: boolean,
  error: string | undefined,
  r: Fields,
  channelRefundNo: string,
): RefundOutcome {
  if (!isSuccess) {
    // Stryker disable next-line StringLiteral: an absent error is no uncertain code, whatever text stands in for it
    if (UNCERTAIN_ERRORS.has(error ?? '')) return { state: 'unknown', reason: `spot refund: ${error}` };
    return { state: 'failed', reason: `spot refund refused: ${error ?? 'unknown error'}` };
  }
  if (r.result_code === 'SUCCESS') return { state: 'succeeded', channelRefundId: channelRefundNo, raw: r };
  if (r.result_code === 'FAILED') return { state: 'failed', reason: r.error ?? 'FAILED', raw: r };
  return { state: 'unknown', reason: `spot refund result ${r.result_code ?? 'missing'}`, raw: r };
}

/**
 * alipay.acquire.refund.query's answer (is_success=T); `not_found` when Alipay never received
 * the refund (the caller sends it again under the same out_return_no).
 */
export function refundQueryOutcome(r: Fields, channelRefundNo: string): RefundOutcome {
  if (r.response_code === 'NOT_FOUND')
    return { state: 'not_found', reason: 'Alipay has no such refund (NOT_FOUND)', raw: r };
  if (r.response_code !== 'SUCCESS')
    return { state: 'unknown', reason: `refund query: ${r.response_code ?? 'no response_code'}`, raw: r };
  switch (r.refund_result_code) {
    case 'SUCCESS':
      return { state: 'succeeded', channelRefundId: channelRefundNo, raw: r };
    case 'FAILED':
    case 'CANCELED':
      return {
        state: 'failed',
        reason: `${r.refund_result_code}${r.refund_error_code ? ` (${r.refund_error_code})` : ''}`,
        raw: r,
      };
    case 'PROCESSING':
      return { state: 'processing', channelRefundId: channelRefundNo, raw: r };
    default:
      return { state: 'unknown', reason: `refund_result_code ${r.refund_result_code ?? 'missing'}`, raw: r };
  }
}

/** A verified trade notify's fields → the outcome; an AlipayError for one Kauri cannot read. */
export function tradeNotifyOutcome(fields: Fields): ChannelOutcome {
  const currency = fields.trans_currency ?? fields.currency;
  switch (fields.trade_status) {
    case 'TRADE_FINISHED':
    case 'TRADE_SUCCESS':
      if (!fields.trade_no) throw new AlipayError('channel_error', 'a paid notify without trade_no');
      return {
        state: 'paid',
        channelTradeNo: fields.trade_no,
        paidAt: parseBeijing(fields.gmt_payment),
        amount: amountOf(fields.total_fee, currency, 'notify'),
        charged: cnyOf(fields.trans_amount_cny),
        rate: fields.forex_rate,
        raw: fields,
      };
    case 'TRADE_CLOSED':
      return { state: 'closed', reason: 'TRADE_CLOSED', raw: fields };
    case 'WAIT_BUYER_PAY':
      return { state: 'pending', channelTradeNo: fields.trade_no, raw: fields };
    default:
      throw new AlipayError('channel_error', `trade_status "${fields.trade_status ?? ''}" is not one Kauri knows`);
  }
}

/**
 * The forex_refund notify ("Asynchronous response" of
 * https://global.alipay.com/docs/ac/global/forex_refund): out_return_no and refund_status
 * REFUND_SUCCESS / REFUND_FAIL (with error_code).
 */
export function refundNotifyOutcome(fields: Fields): { channelRefundNo: string; outcome: RefundOutcome } {
  if (!fields.out_return_no) throw new AlipayError('channel_error', 'a refund notify without out_return_no');
  const channelRefundNo = fields.out_return_no;
  switch (fields.refund_status) {
    case 'REFUND_SUCCESS':
      return { channelRefundNo, outcome: { state: 'succeeded', channelRefundId: channelRefundNo, raw: fields } };
    case 'REFUND_FAIL':
      return {
        channelRefundNo,
        outcome: {
          state: 'failed',
          reason: `REFUND_FAIL${fields.error_code ? ` (${fields.error_code})` : ''}`,
          raw: fields,
        },
      };
    default:
      throw new AlipayError('channel_error', `refund_status "${fields.refund_status ?? ''}" is not one Kauri knows`);
  }
}

/** Parses forex_rate_file lines (`yyyyMMdd|HHmmss|CUR|rate`); a malformed line is an error, never a silent skip. */
export function parseRateFile(text: string): RateQuote[] {
  const out: RateQuote[] = [];
  const trimmed = text.trim();
  if (trimmed === '' || /^(System exception|Merchant ID incorrect|File empty)/i.test(trimmed)) {
    throw new AlipayError('rate_unavailable', `Alipay's rate file: ${trimmed || 'empty'}`);
  }
  for (const [i, line] of trimmed.split(/\r?\n/).entries()) {
    const m = /^(\d{8})\|(\d{6})\|([A-Z]{3})\|(\d{1,5}(?:\.\d{1,8})?)$/.exec(line.trim());
    if (!m)
      throw new AlipayError(
        'channel_error',
        `Alipay's rate file line ${i + 1} is not yyyyMMdd|HHmmss|CUR|rate: "${line.slice(0, 60)}"`,
      );
    const rate = new Decimal(m[4]!);
    if (rate.lte(0)) throw new AlipayError('channel_error', `Alipay's rate file line ${i + 1}: rate must be positive`);
    const publishedAt = parseBeijing(`${m[1]}${m[2]}`);
    if (!publishedAt) throw new AlipayError('channel_error', `Alipay's rate file line ${i + 1}: bad date or time`);
    out.push({ currency: m[3]!, cnyPerUnit: rate.toString(), publishedAt, source: 'alipay:forex_rate_file' });
  }
  return out;
}
