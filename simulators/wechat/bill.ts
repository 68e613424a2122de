import { formatMajor } from './fx.js';
import type { Order } from './model.js';
import { beijingDay, billTime } from './time.js';

// A day's statement (downloadbill) from the simulator's own ledger, in the overseas v2
// shape (protocols/wechatpay.md §8.3): a header line of column names, one line per
// row with every field prefixed by a backtick, then a summary header and a totals line.
// Amounts are in the priced currency's major unit.
//
// Choices where the sources are silent (UNCONFIRMED there, stated here so a reader of
// our statements knows): a payment appears on the day it was paid with status SUCCESS
// (or REVOKED if it was revoked after payment); each refund is its own row on the day
// it was requested, status REFUND, with its amount in "Refund amount" and 0.00 in
// "Total amount"; the first line starts with a UTF-8 BOM as WeChat's files do; the
// service fee is 0.

export type BillType = 'ALL' | 'SUCCESS' | 'REFUND' | 'REVOKED';

export const BILL_HEADER = [
  'Transaction time', 'Official account ID', 'Vendor ID', 'Sub vendor ID', 'Device ID', 'Wechat order number',
  'Vendor order number', 'User tag', 'Transaction type', 'Transaction status', 'Payment bank', 'Currency type',
  'Total amount', 'Coupon amount', 'Wechat refund number', 'Vendor refund number', 'Refund amount',
  'Coupon refund amount', 'Refund type', 'Refund status', 'Product name', "Vendor's data package", 'Fee', 'Rate',
  'Payment Currency type', 'Cash payment amount', 'Settlement currency type', 'Settlement currency amount',
  'Exchange rate', 'Refund exchange rate', "Payer's Refund amount", "Payer's Refund currency type",
  'Refund currency type', 'Refund settlement currency type', 'Refund settlement amount',
];

export const BILL_SUMMARY_HEADER = [
  'Total transaction count', 'Total transaction amount', 'Total refund amount', 'Total coupon refund amount', 'Transaction fee',
];

interface Row {
  at: number;
  kind: 'payment' | 'refund';
  status: 'SUCCESS' | 'REVOKED' | 'REFUND';
  cells: string[];
  currency: string;
  amount: number;
  refund: number;
}

function paymentRow(o: Order): Row {
  const status = o.trade_state === 'REVOKED' ? 'REVOKED' : 'SUCCESS';
  const cny = o.cash_fee_type ?? 'CNY';
  return {
    at: o.paid_ms!,
    kind: 'payment',
    status,
    currency: o.fee_type,
    amount: o.total_fee,
    refund: 0,
    cells: [
      billTime(o.paid_ms!), o.appid, o.mch_id, o.sub_mch_id ?? '0', o.device_info ?? '', o.transaction_id, o.out_trade_no,
      o.payer_openid ?? '', o.trade_type, status, o.bank_type ?? 'CFT', o.fee_type, formatMajor(o.total_fee, o.fee_type),
      formatMajor(0, o.fee_type), '0', '0', formatMajor(0, o.fee_type), formatMajor(0, o.fee_type), '', '', o.body,
      o.attach ?? '', formatMajor(0, o.fee_type), '0.00%', cny, formatMajor(o.cash_fee ?? 0, cny), o.fee_type,
      formatMajor(o.total_fee, o.fee_type), o.rate ?? '', '0', formatMajor(0, cny), '', '', '', formatMajor(0, o.fee_type),
    ],
  };
}

function refundRows(o: Order): Row[] {
  const cny = o.cash_fee_type ?? 'CNY';
  return o.refunds.map((r) => ({
    at: r.created_ms,
    kind: 'refund' as const,
    status: 'REFUND' as const,
    currency: o.fee_type,
    amount: 0,
    refund: r.refund_fee,
    cells: [
      billTime(r.created_ms), o.appid, o.mch_id, o.sub_mch_id ?? '0', o.device_info ?? '', o.transaction_id, o.out_trade_no,
      o.payer_openid ?? '', o.trade_type, 'REFUND', o.bank_type ?? 'CFT', o.fee_type, formatMajor(0, o.fee_type),
      formatMajor(0, o.fee_type), r.refund_id, r.out_refund_no, formatMajor(r.refund_fee, o.fee_type),
      formatMajor(0, o.fee_type), 'ORIGINAL', r.status, o.body, o.attach ?? '', formatMajor(0, o.fee_type), '0.00%', cny,
      formatMajor(0, cny), o.fee_type, formatMajor(0, o.fee_type), o.rate ?? '', o.rate ?? '',
      formatMajor(r.cash_refund_fee, cny), cny, o.fee_type, o.fee_type, formatMajor(r.refund_fee, o.fee_type),
    ],
  }));
}

const line = (cells: string[]) => cells.map((c) => `\`${c}`).join(',');

/** The statement of Beijing day `day` (yyyyMMdd), or undefined when the day has no rows ("No Bill Exist"). */
export function renderBill(orders: Order[], day: string, type: BillType): string | undefined {
  const rows: Row[] = [];
  for (const o of orders) {
    if (o.paid_ms !== undefined && beijingDay(o.paid_ms) === day) rows.push(paymentRow(o));
    for (const r of refundRows(o)) if (beijingDay(r.at) === day) rows.push(r);
  }
  const wanted = rows
    .filter((r) => type === 'ALL' || r.status === type)
    .sort((a, b) => a.at - b.at || a.cells[6]!.localeCompare(b.cells[6]!));
  if (wanted.length === 0) return undefined;
  const currency = wanted[0]!.currency;
  const paid = wanted.filter((r) => r.status === 'SUCCESS').reduce((s, r) => s + r.amount, 0);
  const refunded = wanted.reduce((s, r) => s + r.refund, 0);
  return [
    `\uFEFF${BILL_HEADER.join(',')}`,
    ...wanted.map((r) => line(r.cells)),
    BILL_SUMMARY_HEADER.join(','),
    line([String(wanted.length), formatMajor(paid, currency), formatMajor(refunded, currency), formatMajor(0, currency), formatMajor(0, currency)]),
  ].join('\r\n') + '\r\n';
}
