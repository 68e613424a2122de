import {
  KIND_PAYMENT,
  KIND_REFUND,
  KEY_PREFIX,
  channelStatusName,
  type BillKind,
  type Channel,
  type ChannelStatus,
} from './codes.js';
import { text } from './lines.js';
import { formatChinaTime, channelDayNumber, dateOfDayNumber } from './time.js';
import { currencyExponent } from './money.js';

/** A standard bill row: what every convertor produces, whatever the channel's format. */
export interface StandardBillRow {
  channel: Channel;
  /** The channel's payment id (WeChat transaction_id, Alipay trade no, bank trade no). */
  channelTradeNo: string;
  /** The channel's refund id, for refund rows. */
  channelRefundNo: string | null;
  /** The bridge's order number; null on refund rows whose file does not carry it (Alipay). */
  outTradeNo: string | null;
  outRefundNo: string | null;
  kind: BillKind;
  status: ChannelStatus;
  amountMinor: number;
  currency: string;
  /** The CNY the customer paid, in fen, when the file says. */
  cnyChargedMinor: number | null;
  /** CNY per 1 unit of `currency`, a decimal string, when the file says. */
  rate: string | null;
  /** The channel's fee in minor units of `currency` (rounded half up from the file's precision). */
  feeMinor: number | null;
  /**
   * The fee as the file gives it, in millionths of a unit of `currency` (WeChat gives five
   * decimals): a day's fees are added up from these and rounded once, as the file's own total is.
   */
  feeMicro: number | null;
  /** ISO 8601, China time. */
  channelTime: string;
  /** YYYY-MM-DD, China time. */
  channelDay: string;
}

/**
 * One statement row as the byte parsers see it: offsets into the current line buffer and
 * plain numbers. Reused for every row; sinks copy what they keep.
 */
export class StatementRowScratch {
  buf: Uint8Array = new Uint8Array(0);
  outTradeNoS = 0;
  outTradeNoE = 0;
  outRefundNoS = 0;
  outRefundNoE = 0;
  tradeNoS = 0;
  tradeNoE = 0;
  refundIdS = 0;
  refundIdE = 0;
  /** Raw FX rate text; rateScale 8 means an integer in units of 1e-8 (WeChat overseas). */
  rateS = 0;
  rateE = 0;
  rateScale = 0;
  kind = KIND_PAYMENT;
  status = 0;
  amountMinor = 0;
  currency = '';
  cnyMinor = NaN;
  /** Fee at 10^-6 of a major unit (files give up to 5 decimals). */
  feeMicro = NaN;
  timeMs = 0;
  line = 0;
  /** File offset of the row's line (set by the reader, not the parser). */
  offset = 0;
}

export type StatementSink = (row: StatementRowScratch) => void;

/** Which id a channel's rows are matched on (refunds on their own ids). */
export function statementKeyRange(channel: Channel, r: StatementRowScratch): [number, number] {
  if (r.kind === KIND_PAYMENT) return [r.outTradeNoS, r.outTradeNoE];
  // The bank gateway's refund request carries no merchant refund number: its refunds are
  // known by the bank's refund id, which the bridge records as the refund's channel id.
  if (channel === 'bank') return [r.refundIdS, r.refundIdE];
  return [r.outRefundNoS, r.outRefundNoE];
}

function rateText(r: StatementRowScratch): string | null {
  if (r.rateE <= r.rateS) return null;
  const raw = text(r.buf, r.rateS, r.rateE).trim();
  if (r.rateScale === 0) return raw;
  if (!/^\d+$/.test(raw) || /^0+$/.test(raw)) return null;
  const padded = raw.padStart(r.rateScale + 1, '0');
  const whole = padded.slice(0, -r.rateScale).replace(/^0+(?=\d)/, '');
  const frac = padded.slice(-r.rateScale).replace(/0+$/, '');
  return frac ? `${whole}.${frac}` : whole;
}

export function materialize(channel: Channel, r: StatementRowScratch): StandardBillRow {
  const t = (s: number, e: number): string | null => (e > s ? text(r.buf, s, e) : null);
  const exp = currencyExponent(r.currency);
  return {
    channel,
    channelTradeNo: t(r.tradeNoS, r.tradeNoE) ?? '',
    channelRefundNo: r.kind === KIND_REFUND ? t(r.refundIdS, r.refundIdE) : null,
    outTradeNo: t(r.outTradeNoS, r.outTradeNoE),
    outRefundNo: r.kind === KIND_REFUND ? t(r.outRefundNoS, r.outRefundNoE) : null,
    kind: r.kind === KIND_PAYMENT ? 'payment' : 'refund',
    status: channelStatusName(r.status),
    amountMinor: r.amountMinor,
    currency: r.currency,
    cnyChargedMinor: Number.isNaN(r.cnyMinor) ? null : r.cnyMinor,
    rate: rateText(r),
    feeMinor: Number.isNaN(r.feeMicro) ? null : roundMicroToMinor(r.feeMicro, exp),
    feeMicro: Number.isNaN(r.feeMicro) ? null : r.feeMicro,
    channelTime: formatChinaTime(r.timeMs),
    channelDay: dateOfDayNumber(channelDayNumber(r.timeMs)),
  };
}

export function roundMicroToMinor(micro: number, exp: number): number {
  const d = 10 ** (6 - exp);
  const abs = Math.abs(micro);
  const q = Math.floor(abs / d);
  const rounded = abs - q * d >= d / 2 ? q + 1 : q;
  return micro < 0 ? -rounded : rounded;
}

export { KEY_PREFIX };
