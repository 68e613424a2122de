import type { RefundRecord, SaleRecord, StoreInfo } from '../core/records.js';
import { ReceiptWriter } from '../drivers/escpos/writer.js';
import type { PrinterProfile } from './profiles.js';
import { CHANNEL_NAMES, formatMoney, formatStoreTime } from './format.js';

// The customer's receipts, bilingual (English, then Chinese). Pure: record + profile → bytes.

function header(w: ReceiptWriter, store: StoreInfo): void {
  w.line(store.name, { bold: true, size: 2, align: 'center' });
  if (store.nameZh) w.line(store.nameZh, { bold: true, align: 'center' });
  if (store.address) w.line(store.address, { align: 'center' });
  if (store.gstNumber) w.line(`GST ${store.gstNumber}`, { align: 'center' });
  w.rule();
}

function ids(w: ReceiptWriter, r: { paymentId: string; outTradeNo: string; channelTradeNo?: string }): void {
  w.line('Kauri ID 交易号');
  w.line(r.paymentId, { align: 'right' });
  w.line('Order 订单号');
  w.line(r.outTradeNo, { align: 'right' });
  if (r.channelTradeNo) {
    w.line('Channel txn 渠道单号');
    w.line(r.channelTradeNo, { align: 'right' });
  }
}

function terminalLine(w: ReceiptWriter, store: StoreInfo, cashier?: string): void {
  const bits = [store.terminalId ? `Terminal ${store.terminalId}` : '', cashier ? `Cashier ${cashier}` : '']
    .filter(Boolean)
    .join('  ');
  if (bits) w.line(bits);
}

export function saleReceipt(sale: SaleRecord, profile: PrinterProfile): Uint8Array {
  const w = new ReceiptWriter(profile);
  header(w, sale.store);
  w.pair('SALE 销售', formatStoreTime(sale.paidAt, sale.store.timeZone), { bold: true });
  w.rule();
  if (sale.items && sale.items.length > 0) {
    for (const item of sale.items) {
      const qty = item.quantity === 1 ? '' : ` x${item.quantity}`;
      w.pair(`${item.description}${qty}`, formatMoney(item.amount));
      if (item.descriptionZh) w.line(`  ${item.descriptionZh}`);
    }
    w.rule();
  }
  w.pair('TOTAL 合计', formatMoney(sale.amount), { bold: true, size: 2 });
  const ch = CHANNEL_NAMES[sale.channel];
  w.pair('Paid with 支付方式', `${ch.en} ${ch.zh}`);
  if (sale.cnyCharged) w.pair('Charged 实付', formatMoney(sale.cnyCharged), { bold: true });
  if (sale.rate) w.pair('Rate 汇率', `1 ${sale.amount.currency} = ${sale.rate} CNY`);
  w.rule();
  ids(w, sale);
  terminalLine(w, sale.store, sale.cashier);
  w.rule();
  w.qr(sale.lookupPayload ?? sale.paymentId);
  w.line('Scan for refunds 扫码查询退款', { align: 'center' });
  w.line('Thank you 谢谢惠顾', { align: 'center', bold: true });
  return w.cut().encode();
}

const REFUND_STATUS = {
  processing: 'Refund processing 退款处理中',
  succeeded: 'Refunded 退款成功',
  failed: 'REFUND FAILED 退款失败',
} as const;

export function refundReceipt(refund: RefundRecord, profile: PrinterProfile): Uint8Array {
  const w = new ReceiptWriter(profile);
  header(w, refund.store);
  w.pair('REFUND 退款', formatStoreTime(refund.refundedAt, refund.store.timeZone), { bold: true });
  w.rule();
  w.pair('Refund 退款金额', formatMoney(refund.amount), { bold: true, size: 2 });
  if (refund.cnyRefunded) w.pair('To wallet 退回', formatMoney(refund.cnyRefunded), { bold: true });
  w.pair('Original 原支付', formatMoney(refund.original));
  w.pair('Refunded so far 累计退款', formatMoney(refund.refundedTotal));
  const ch = CHANNEL_NAMES[refund.channel];
  w.pair('Paid with 支付方式', `${ch.en} ${ch.zh}`);
  w.line(REFUND_STATUS[refund.status], { bold: true, align: 'center' });
  if (refund.reason) w.line(`Reason 原因: ${refund.reason}`);
  w.rule();
  w.line('Refund no. 退款单号');
  w.line(refund.outRefundNo, { align: 'right' });
  ids(w, refund);
  terminalLine(w, refund.store, refund.approvedBy ? `${refund.approvedBy} (manager)` : undefined);
  w.rule();
  w.qr(refund.lookupPayload ?? refund.paymentId);
  w.line('Keep this slip 请保留此凭条', { align: 'center' });
  return w.cut().encode();
}
