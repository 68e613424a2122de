import { formatMajor } from './fx.js';
import type { Order } from './model.js';
import { beijingDay, billTime } from './time.js';

// A day's statement (downloadbill) from the simulator's own ledger, in one of the three
// layouts WeChat is known to send (columns found by name on the reading side):
// - `overseas-en`: the overseas v2 English statement (docs/protocols/wechat.md, 35 columns);
// - `zh`: the current Chinese ALL bill (27 columns, 应结订单金额/代金券金额…; summary
//   总交易单数,应结订单总金额,…), as the official format page lists it
//   (pay.weixin.qq.com/docs/merchant/products/bill-download/format-trade.html);
// - `zh-legacy`: the early Chinese bill that page says some merchants still get (24
//   columns with 总金额 and 企业红包金额 in place of 应结订单金额 and 代金券金额; summary
//   总交易单数,总交易额,总退款金额,总企业红包退款金额,手续费总金额), as public captures show.
// Every row is a backtick-prefixed field list; amounts are in the priced currency's major unit.
//
// REVOKED rows: the same page says a transaction revoked after payment "appears in the
// bill with the original order number" (支付成功后撤销的交易会出现在对账单中，跟原支付单订单号
// 一致), and the overseas v2 downloadbill page lists REVOKED as a transaction status. Such
// a payment is one row with status REVOKED and its amount. The summary is the sum of the
// rows' columns, REVOKED rows included: 总交易单数 counts every row, and each total adds
// up its column over every row (the reading side checks exactly that).
//
// Choices where the sources are silent (UNCONFIRMED, stated so a reader of our statements
// knows): a payment appears on the day it was paid; each refund is its own row on the day
// it was requested, status REFUND, with its amount in the refund column and 0.00 in the
// payment amount; the first line starts with a UTF-8 BOM; the service fee is 0.

export type BillType = 'ALL' | 'SUCCESS' | 'REFUND' | 'REVOKED';
export const BILL_LAYOUTS = ['overseas-en', 'zh', 'zh-legacy'] as const;
export type BillLayout = (typeof BILL_LAYOUTS)[number];

export function isBillLayout(v: unknown): v is BillLayout {
  return typeof v === 'string' && (BILL_LAYOUTS as readonly string[]).includes(v);
}

export const BILL_HEADER = [
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

export const BILL_SUMMARY_HEADER = [
  'Total transaction count',
  'Total transaction amount',
  'Total refund amount',
  'Total coupon refund amount',
  'Transaction fee',
];

export const BILL_HEADER_ZH = [
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
export const BILL_SUMMARY_HEADER_ZH = [
  '总交易单数',
  '应结订单总金额',
  '退款总金额',
  '充值券退款总金额',
  '手续费总金额',
  '订单总金额',
  '申请退款总金额',
];

export const BILL_HEADER_ZH_LEGACY = [
  '交易时间',
  '公众账号ID',
  '商户号',
  '子商户号',
  '设备号',
  '微信订单号',
  '商户订单号',
  '用户标识',
  '交易类型',
  '交易状态',
  '付款银行',
  '货币种类',
  '总金额',
  '企业红包金额',
  '微信退款单号',
  '商户退款单号',
  '退款金额',
  '企业红包退款金额',
  '退款类型',
  '退款状态',
  '商品名称',
  '商户数据包',
  '手续费',
  '费率',
];
export const BILL_SUMMARY_HEADER_ZH_LEGACY = [
  '总交易单数',
  '总交易额',
  '总退款金额',
  '总企业红包退款金额',
  '手续费总金额',
];

interface Row {
  at: number;
  status: 'SUCCESS' | 'REVOKED' | 'REFUND';
  o: Order;
  refund?: Order['refunds'][number];
  /** Minor units in the priced currency. */
  amount: number;
  refundAmount: number;
}

function rowsOf(o: Order): Row[] {
  const rows: Row[] = [];
  if (o.paid_ms !== undefined) {
    rows.push({
      at: o.paid_ms,
      status: o.trade_state === 'REVOKED' ? 'REVOKED' : 'SUCCESS',
      o,
      amount: o.total_fee,
      refundAmount: 0,
    });
  }
  for (const r of o.refunds)
    rows.push({ at: r.created_ms, status: 'REFUND', o, refund: r, amount: 0, refundAmount: r.refund_fee });
  return rows;
}

function overseasCells(row: Row): string[] {
  const { o, refund: r } = row;
  const cny = o.cash_fee_type ?? 'CNY';
  const m = (v: number) => formatMajor(v, o.fee_type);
  const common = [
    billTime(row.at),
    o.appid,
    o.mch_id,
    o.sub_mch_id ?? '0',
    o.device_info ?? '',
    o.transaction_id,
    o.out_trade_no,
    o.payer_openid ?? '',
    o.trade_type,
    row.status,
    o.bank_type ?? 'CFT',
    o.fee_type,
  ];
  if (!r) {
    return [
      ...common,
      m(o.total_fee),
      m(0),
      '0',
      '0',
      m(0),
      m(0),
      '',
      '',
      o.body,
      o.attach ?? '',
      m(0),
      '0.00%',
      cny,
      formatMajor(o.cash_fee ?? 0, cny),
      o.fee_type,
      m(o.total_fee),
      o.rate ?? '',
      '0',
      formatMajor(0, cny),
      '',
      '',
      '',
      m(0),
    ];
  }
  return [
    ...common,
    m(0),
    m(0),
    r.refund_id,
    r.out_refund_no,
    m(r.refund_fee),
    m(0),
    'ORIGINAL',
    r.status,
    o.body,
    o.attach ?? '',
    m(0),
    '0.00%',
    cny,
    formatMajor(0, cny),
    o.fee_type,
    m(0),
    o.rate ?? '',
    o.rate ?? '',
    formatMajor(r.cash_refund_fee, cny),
    cny,
    o.fee_type,
    o.fee_type,
    m(r.refund_fee),
  ];
}

function chineseCells(row: Row, legacy: boolean): string[] {
  const { o, refund: r } = row;
  const m = (v: number) => formatMajor(v, o.fee_type);
  const cells = [
    billTime(row.at),
    o.appid,
    o.mch_id,
    o.sub_mch_id ?? '0',
    o.device_info ?? '',
    o.transaction_id,
    o.out_trade_no,
    o.payer_openid ?? '',
    o.trade_type,
    row.status,
    o.bank_type ?? 'CFT',
    o.fee_type,
    m(row.amount),
    m(0),
    r?.refund_id ?? '0',
    r?.out_refund_no ?? '0',
    m(row.refundAmount),
    m(0),
    r ? 'ORIGINAL' : '',
    r?.status ?? '',
    o.body,
    o.attach ?? '',
    '0.00000',
    '0.00%',
  ];
  // 订单金额 and 申请退款金额 (before vouchers) equal the settled amounts here: no vouchers.
  return legacy ? cells : [...cells, m(row.amount), m(row.refundAmount), ''];
}

const line = (cells: string[]) => cells.map((c) => `\`${c}`).join(',');

/** The statement of Beijing day `day` (yyyyMMdd), or undefined when the day has no rows ("No Bill Exist"). */
export function renderBill(
  orders: Order[],
  day: string,
  type: BillType,
  layout: BillLayout = 'overseas-en',
): string | undefined {
  const wanted = orders
    .flatMap(rowsOf)
    .filter((r) => beijingDay(r.at) === day && (type === 'ALL' || r.status === type))
    .sort((a, b) => a.at - b.at || a.o.out_trade_no.localeCompare(b.o.out_trade_no));
  if (wanted.length === 0) return undefined;
  const currency = wanted[0]!.o.fee_type;
  const m = (v: number) => formatMajor(v, currency);
  const amount = wanted.reduce((s, r) => s + r.amount, 0);
  const refunded = wanted.reduce((s, r) => s + r.refundAmount, 0);
  const count = String(wanted.length);
  let header: string[];
  let summaryHeader: string[];
  let rows: string[][];
  let totals: string[];
  if (layout === 'overseas-en') {
    header = BILL_HEADER;
    summaryHeader = BILL_SUMMARY_HEADER;
    rows = wanted.map(overseasCells);
    totals = [count, m(amount), m(refunded), m(0), m(0)];
  } else if (layout === 'zh') {
    header = BILL_HEADER_ZH;
    summaryHeader = BILL_SUMMARY_HEADER_ZH;
    rows = wanted.map((r) => chineseCells(r, false));
    totals = [count, m(amount), m(refunded), m(0), '0.00000', m(amount), m(refunded)];
  } else {
    header = BILL_HEADER_ZH_LEGACY;
    summaryHeader = BILL_SUMMARY_HEADER_ZH_LEGACY;
    rows = wanted.map((r) => chineseCells(r, true));
    totals = [count, m(amount), m(refunded), m(0), '0.00000'];
  }
  return [`\uFEFF${header.join(',')}`, ...rows.map(line), summaryHeader.join(','), line(totals)].join('\r\n') + '\r\n';
}
