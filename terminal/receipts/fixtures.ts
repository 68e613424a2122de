import type { RefundRecord, SaleRecord, SettlementSummary, StoreInfo } from '../core/records.js';

// Sample records for tests, golden files and the benchmark, until the terminal core
// produces real ones. Times are fixed so the bytes are stable.

export const sampleStore: StoreInfo = {
  name: 'Kauri Tea House',
  nameZh: '考里茶馆',
  address: '12 Queen St, Auckland',
  gstNumber: '123-456-789',
  timeZone: 'Pacific/Auckland',
  storeCode: 'KTH01',
  terminalId: 'T1',
};

export const sampleSale: SaleRecord = {
  store: sampleStore,
  paymentId: '01JDKAURI0000000000000SALE',
  outTradeNo: 'K20261121A0001',
  channelTradeNo: '4200001234202611213456789012',
  channel: 'wechat',
  amount: { minor: 2550, currency: 'NZD' },
  items: [
    { description: 'Bubble tea', descriptionZh: '珍珠奶茶', quantity: 2, amount: { minor: 1300, currency: 'NZD' } },
    { description: 'Pork buns', descriptionZh: '叉烧包', quantity: 1, amount: { minor: 1250, currency: 'NZD' } },
  ],
  cnyCharged: { minor: 10726, currency: 'CNY' },
  rate: '4.2063',
  paidAt: '2026-11-21T23:14:05Z',
  cashier: 'Amy',
  lookupPayload: 'https://kauri.example/r/01JDKAURI0000000000000SALE',
};

export const sampleRefund: RefundRecord = {
  store: sampleStore,
  paymentId: sampleSale.paymentId,
  outTradeNo: sampleSale.outTradeNo,
  outRefundNo: 'R20261121A0001-1',
  channelTradeNo: sampleSale.channelTradeNo,
  channel: 'wechat',
  amount: { minor: 1250, currency: 'NZD' },
  original: sampleSale.amount,
  refundedTotal: { minor: 1250, currency: 'NZD' },
  cnyRefunded: { minor: 5258, currency: 'CNY' },
  status: 'succeeded',
  reason: 'Wrong item',
  refundedAt: '2026-11-21T23:40:00Z',
  approvedBy: 'Manager Li',
  lookupPayload: sampleSale.lookupPayload,
};

export const sampleSettlement: SettlementSummary = {
  report: 'Z',
  store: sampleStore,
  storeDay: '2026-11-22',
  generatedAt: '2026-11-22T09:30:00Z',
  currency: 'NZD',
  channels: [
    { channel: 'wechat', count: 31, grossMinor: 84250, refundCount: 1, refundsMinor: 1250, netMinor: 83000 },
    { channel: 'alipay', count: 17, grossMinor: 40990, refundCount: 0, refundsMinor: 0, netMinor: 40990 },
    { channel: 'bank', count: 2, grossMinor: 120000, refundCount: 0, refundsMinor: 0, netMinor: 120000 },
  ],
  openPayments: [
    {
      outTradeNo: 'K20261122A0049',
      channel: 'alipay',
      amount: { minor: 880, currency: 'NZD' },
      status: 'pending',
      createdAt: '2026-11-22T09:12:00Z',
    },
  ],
  channelDays: [
    { channelDay: '2026-11-21', count: 3, netMinor: 4500 },
    { channelDay: '2026-11-22', count: 47, netMinor: 239490 },
  ],
  journalHead: { sequence: 1289, hash: '9f2c6c1e0b7d4a38e5f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7' },
  printedBy: 'Manager Li',
  closeNumber: 42,
};
