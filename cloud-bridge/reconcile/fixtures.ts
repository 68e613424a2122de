import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Channel } from './codes.js';
import { currencyExponent, formatMinor } from './money.js';
import { CHINA_OFFSET_MS } from './time.js';

// Statement and platform files built from rows, for tests and the benchmark: each format
// written the way its channel writes it, with summaries computed from the rows (so a test
// that changes an amount still has a well-formed file unless it breaks it on purpose).

export interface FixtureRow {
  kind: 'payment' | 'refund';
  /** paid | revoked for payments; succeeded | processing | failed for refunds */
  status: 'paid' | 'revoked' | 'succeeded' | 'processing' | 'failed';
  outTradeNo: string;
  outRefundNo?: string;
  tradeNo: string;
  refundId?: string;
  amountMinor: number;
  currency: string;
  /** epoch ms */
  timeMs: number;
  cnyMinor?: number;
  /** fee in millionths of a major unit */
  feeMicro?: number;
}

export function chinaTime(ms: number): string {
  return new Date(ms + CHINA_OFFSET_MS).toISOString().slice(0, 19).replace('T', ' ');
}

function major(minor: number, currency: string): string {
  return formatMinor(minor, currency);
}

function micro(v: number, decimals: number): string {
  const neg = v < 0;
  const s = Math.abs(v).toString().padStart(7, '0');
  const whole = s.slice(0, -6);
  const frac = s.slice(-6).slice(0, decimals);
  return `${neg ? '-' : ''}${whole}.${frac}`;
}

export const WECHAT_EN_HEADER = [
  'Transaction time',
  'Official account ID',
  'Vendor ID',
  'Sub vendor ID',
  'Device ID',
  'Wechat order number',
  'Vendor order number',
  'User tag',
  'Transaction type',
  'Transaction status',
  'Payment bank',
  'Currency type',
  'Total amount',
  'Coupon amount',
  'Wechat refund number',
  'Vendor refund number',
  'Refund amount',
  'Coupon refund amount',
  'Refund type',
  'Refund status',
  'Product name',
  "Vendor's data package",
  'Fee',
  'Rate',
  'Payment Currency type',
  'Cash payment amount',
  'Settlement currency type',
  'Settlement currency amount',
  'Exchange rate',
  'Refund exchange rate',
  "Payer's Refund amount",
  "Payer's Refund currency type",
  'Refund currency type',
  'Refund settlement currency type',
  'Refund settlement amount',
];
export const WECHAT_EN_SUMMARY = [
  'Total transaction count',
  'Total transaction amount',
  'Total refund amount',
  'Total coupon refund amount',
  'Transaction fee',
];

export const WECHAT_ZH_HEADER = [
  '交易时间',
  '公众账号ID',
  '商户号',
  '特约商户号',
  '设备号',
  '微信订单号',
  '商户订单号',
  '用户标识',
  '交易类型',
  '交易状态',
  '付款银行',
  '货币种类',
  '应结订单金额',
  '代金券金额',
  '微信退款单号',
  '商户退款单号',
  '退款金额',
  '充值券退款金额',
  '退款类型',
  '退款状态',
  '商品名称',
  '商户数据包',
  '手续费',
  '费率',
  '订单金额',
  '申请退款金额',
  '费率备注',
];
export const WECHAT_ZH_SUMMARY = [
  '总交易单数',
  '应结订单总金额',
  '退款总金额',
  '充值券退款总金额',
  '手续费总金额',
  '订单总金额',
  '申请退款总金额',
];

/** The WeChat fields of one row (without backticks), in header order. */
export function wechatFields(r: FixtureRow, layout: 'en' | 'zh'): string[] {
  const refund = r.kind === 'refund';
  const amount = major(r.amountMinor, r.currency);
  const zero = major(0, r.currency);
  const status = refund ? 'REFUND' : r.status === 'revoked' ? 'REVOKED' : 'SUCCESS';
  const refundStatus = !refund
    ? ''
    : r.status === 'succeeded'
      ? 'SUCCESS'
      : r.status === 'processing'
        ? 'PROCESSING'
        : 'REFUNDCLOSE';
  const fee = micro(r.feeMicro ?? 0, 5);
  const payAmount = refund ? zero : amount;
  const refundAmount = refund ? amount : zero;
  if (layout === 'en') {
    const cny = r.cnyMinor !== undefined && !refund ? major(r.cnyMinor, 'CNY') : '0.00';
    return [
      chinaTime(r.timeMs),
      'wx2421b1c4370ec43b',
      '10000100',
      '',
      '',
      r.tradeNo,
      r.outTradeNo,
      'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o',
      'NATIVE',
      status,
      'CFT',
      r.currency,
      payAmount,
      zero,
      refund ? (r.refundId ?? '') : '',
      refund ? (r.outRefundNo ?? '') : '',
      refundAmount,
      zero,
      refund ? 'ORIGINAL' : '',
      refundStatus,
      'Kauri sale',
      '',
      fee,
      '0.60%',
      'CNY',
      cny,
      r.currency,
      payAmount,
      refund ? '0' : '431200000',
      refund ? '431200000' : '0',
      '0.00',
      refund ? 'CNY' : '',
      refund ? r.currency : '',
      refund ? r.currency : '',
      refundAmount,
    ];
  }
  return [
    chinaTime(r.timeMs),
    'wx2421b1c4370ec43b',
    '10000100',
    '',
    '',
    r.tradeNo,
    r.outTradeNo,
    'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o',
    'NATIVE',
    status,
    'CFT',
    r.currency,
    payAmount,
    zero,
    refund ? (r.refundId ?? '') : '',
    refund ? (r.outRefundNo ?? '') : '',
    refundAmount,
    zero,
    refund ? 'ORIGINAL' : '',
    refundStatus,
    '商品, 套餐',
    '',
    fee,
    '0.60%',
    payAmount,
    refundAmount,
    '',
  ];
}

export function wechatRowLine(r: FixtureRow, layout: 'en' | 'zh'): string {
  return `\`${wechatFields(r, layout).join(',`')}`;
}

/** Summary values (backtick-prefixed) computed from the rows. */
export class WechatTotals {
  count = 0;
  pay = 0;
  refund = 0;
  fee = 0;
  currency = 'NZD';
  add(r: FixtureRow): void {
    this.count++;
    this.currency = r.currency;
    if (r.kind === 'refund') this.refund += r.amountMinor;
    else this.pay += r.amountMinor;
    this.fee += r.feeMicro ?? 0;
  }
  lines(layout: 'en' | 'zh'): string[] {
    const m = (v: number): string => major(v, this.currency);
    const fee = major(Math.round(this.fee / 10 ** (6 - currencyExponent(this.currency))), this.currency);
    if (layout === 'en') {
      return [
        WECHAT_EN_SUMMARY.join(','),
        `\`${[String(this.count), m(this.pay), m(this.refund), m(0), fee].join(',`')}`,
      ];
    }
    return [
      WECHAT_ZH_SUMMARY.join(','),
      `\`${[String(this.count), m(this.pay), m(this.refund), m(0), fee, m(this.pay), m(this.refund)].join(',`')}`,
    ];
  }
}

export function wechatStatement(
  rows: FixtureRow[],
  layout: 'en' | 'zh' = 'en',
  opts: { bom?: boolean; crlf?: boolean } = {},
): string {
  const nl = opts.crlf ? '\r\n' : '\n';
  const totals = new WechatTotals();
  const out = [(layout === 'en' ? WECHAT_EN_HEADER : WECHAT_ZH_HEADER).join(',')];
  for (const r of rows) {
    totals.add(r);
    out.push(wechatRowLine(r, layout));
  }
  out.push(...totals.lines(layout));
  return `${opts.bom ? '\ufeff' : ''}${out.join(nl)}${nl}`;
}

/** Streams a large WeChat statement to a file; the rows come from a generator. */
export async function writeWechatStatement(
  path: string,
  rows: Iterable<FixtureRow>,
  layout: 'en' | 'zh' = 'en',
): Promise<void> {
  const out = createWriteStream(path);
  const totals = new WechatTotals();
  let buf = `\ufeff${(layout === 'en' ? WECHAT_EN_HEADER : WECHAT_ZH_HEADER).join(',')}\n`;
  for (const r of rows) {
    totals.add(r);
    buf += `${wechatRowLine(r, layout)}\n`;
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await once(out, 'drain');
      buf = '';
    }
  }
  buf += `${totals.lines(layout).join('\n')}\n`;
  out.end(buf);
  await once(out, 'finish');
}

export interface FixturePlatformRow {
  outTradeNo: string;
  outRefundNo?: string;
  channel: Channel;
  channelTradeNo?: string;
  kind: 'payment' | 'refund';
  amountMinor: number;
  currency: string;
  status: string;
  /** epoch ms, or null for an empty paid_at */
  paidAtMs: number | null;
}

export const PLATFORM_HEADER =
  'out_trade_no,out_refund_no,channel,channel_trade_no,kind,amount_minor,currency,status,paid_at';

/** paid_at as the bridge writes it: ISO 8601 with the Auckland offset (+13:00 in summer). */
export function isoWithOffset(ms: number, offsetMinutes = 780): string {
  const local = new Date(ms + offsetMinutes * 60_000).toISOString().slice(0, 19);
  const sign = offsetMinutes >= 0 ? '+' : '-';
  const a = Math.abs(offsetMinutes);
  return `${local}${sign}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
}

export function platformLine(p: FixturePlatformRow): string {
  return [
    p.outTradeNo,
    p.outRefundNo ?? '',
    p.channel,
    p.channelTradeNo ?? '',
    p.kind,
    String(p.amountMinor),
    p.currency,
    p.status,
    p.paidAtMs === null ? '' : isoWithOffset(p.paidAtMs),
  ].join(',');
}

export function platformCsv(rows: FixturePlatformRow[]): string {
  return `${[PLATFORM_HEADER, ...rows.map(platformLine)].join('\n')}\n`;
}

export async function writePlatformCsv(path: string, rows: Iterable<FixturePlatformRow>): Promise<void> {
  const out = createWriteStream(path);
  let buf = `${PLATFORM_HEADER}\n`;
  for (const r of rows) {
    buf += `${platformLine(r)}\n`;
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await once(out, 'drain');
      buf = '';
    }
  }
  out.end(buf);
  await once(out, 'finish');
}

export function alipayTransactionFile(rows: FixtureRow[], date: string, opts: { totalCount?: number } = {}): string {
  const header =
    'Partner_transaction_id|Transaction_id|Transaction_amount|Charge_amount|Currency|Payment_time|Transaction_type|Remark|Secondary_merchant_industry|Secondary_merchant_name|Operator_name|Order_scene|Trans_currency|Trans_amount|Trans_forex_rate';
  const lines = rows.map((r) =>
    [
      r.kind === 'refund' ? r.outRefundNo : r.outTradeNo,
      r.tradeNo,
      major(r.amountMinor, r.currency),
      micro(r.feeMicro ?? 0, 2),
      r.currency,
      chinaTime(r.timeMs),
      r.kind === 'refund' ? 'REFUND' : r.status === 'revoked' ? 'REVERSAL' : 'PAYMENT',
      '',
      '5812',
      'Kauri',
      'cashier',
      'shopQrCode',
      r.currency,
      major(r.amountMinor, r.currency),
      '1',
    ].join('|'),
  );
  return `${[`Partner:2088101122136241|Payment_time: ${date}|Total_count:${opts.totalCount ?? rows.length}`, header, ...lines].join('\n')}\n`;
}

export function alipaySettlementFile(rows: FixtureRow[]): string {
  const header =
    'Partner_transaction_id|Transaction_id|Amount|Rmb_amount|Fee|Settlement|Rmb_settlement|Currency|Rate|Payment_time|Settlement_time|Type|Status|Remarks';
  const lines = rows.map((r) =>
    [
      r.kind === 'refund' ? r.outRefundNo : r.outTradeNo,
      r.tradeNo,
      major(r.amountMinor, r.currency),
      major(r.cnyMinor ?? 0, 'CNY'),
      micro(r.feeMicro ?? 0, 2),
      major(r.amountMinor, r.currency),
      major(r.cnyMinor ?? 0, 'CNY'),
      r.currency,
      '4.31200000',
      chinaTime(r.timeMs),
      chinaTime(r.timeMs + 86_400_000),
      r.kind === 'refund' ? 'R' : 'P',
      'L',
      '',
    ].join('|'),
  );
  return `${[header, ...lines].join('\n')}\n`;
}

export function bankStatement(rows: FixtureRow[], date: string): string {
  let pay = 0;
  let refund = 0;
  let fee = 0;
  const lines = rows.map((r) => {
    if (r.kind === 'refund') refund += r.amountMinor;
    else pay += r.amountMinor;
    fee += r.feeMicro ?? 0;
    const status =
      r.kind === 'payment'
        ? r.status === 'revoked'
          ? 'REVERSED'
          : 'SUCCESS'
        : r.status.toUpperCase().replace('SUCCEEDED', 'SUCCESS');
    return [
      '8888',
      r.outTradeNo,
      r.kind === 'refund' ? (r.refundId ?? '') : '',
      r.tradeNo,
      r.kind === 'refund' ? 'REFUND' : 'PAY',
      major(r.amountMinor, r.currency),
      r.currency,
      status,
      chinaTime(r.timeMs),
      micro(r.feeMicro ?? 0, 2),
    ].join(',');
  });
  const trailer = [
    'TRAILER',
    date,
    String(rows.length),
    major(pay, 'CNY'),
    major(refund, 'CNY'),
    major(Math.round(fee / 10_000), 'CNY'),
  ].join(',');
  return `${['v_mid,v_oid,v_refid,bank_trade_no,type,amount,currency,status,time,fee', ...lines, trailer].join('\n')}\n`;
}
