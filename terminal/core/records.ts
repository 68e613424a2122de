// The records the counter keeps about what happened, as the receipt and settlement
// layouts need them. The terminal core fills them from its own store; the
// layouts in terminal/receipts/ are pure functions of these and a printer profile.
//
// Money is protocol's (integer minor units plus an ISO 4217 currency); rates are
// decimal strings.

import type { Money } from '../../protocol/money.js';
import type { ChannelName } from '../../protocol/payments.js';

export type { Money };
export type Channel = ChannelName;

export interface StoreInfo {
  name: string;
  /** Chinese name, printed under the English one when present. */
  nameZh?: string;
  address?: string;
  gstNumber?: string;
  /** IANA time zone of the store, e.g. "Pacific/Auckland": receipts show store time. */
  timeZone: string;
  storeCode?: string;
  terminalId?: string;
}

export interface SaleItem {
  description: string;
  descriptionZh?: string;
  quantity: number;
  /** Line total (quantity × unit price), in the sale's currency. */
  amount: Money;
}

/** A paid sale with its payment, as printed on the customer's receipt. */
export interface SaleRecord {
  store: StoreInfo;
  /** Kauri's payment id (the bridge's). */
  paymentId: string;
  /** The order number Kauri sent to the channel. */
  outTradeNo: string;
  /** The channel's own transaction id, once known. */
  channelTradeNo?: string;
  channel: Channel;
  /** NZD total the shop asked for. */
  amount: Money;
  items?: SaleItem[];
  /** What the customer's wallet was actually charged (CNY), when the channel says. */
  cnyCharged?: Money;
  /** CNY per 1 unit of `amount.currency`, as a decimal string ("4.6712"). */
  rate?: string;
  /** ISO 8601 instant the payment was confirmed. */
  paidAt: string;
  cashier?: string;
  /** What the refund-lookup QR holds (a URL or the Kauri id); ASCII only. */
  lookupPayload?: string;
}

export type RefundStatus = 'processing' | 'succeeded' | 'failed';

export interface RefundRecord {
  store: StoreInfo;
  paymentId: string;
  outTradeNo: string;
  outRefundNo: string;
  channelTradeNo?: string;
  channel: Channel;
  /** This refund. */
  amount: Money;
  /** The original payment. */
  original: Money;
  /** Every refund of this payment that has not failed, this one included. */
  refundedTotal: Money;
  /** CNY going back to the wallet, when the channel says. */
  cnyRefunded?: Money;
  status: RefundStatus;
  reason?: string;
  /** ISO 8601 instant the refund was asked for. */
  refundedAt: string;
  /** Who entered the manager PIN. */
  approvedBy?: string;
  lookupPayload?: string;
}

/** Totals of one channel over a store day, in the store currency (NZD). */
export interface ChannelTotals {
  channel: Channel;
  /** Paid payments. */
  count: number;
  grossMinor: number;
  refundCount: number;
  refundsMinor: number;
  /** gross − refunds. */
  netMinor: number;
}

/** A payment that is not settled either way: the report lists it and warns. */
export interface OpenPayment {
  outTradeNo: string;
  channel: Channel;
  amount: Money;
  /** `unknown`: the channel's answer was lost; closing the day is refused while any is. */
  status: 'pending' | 'unknown';
  createdAt: string;
}

/**
 * Sales of the store day grouped by the channel's statement day (UTC+8), so a
 * manager sees which channel statement a late-evening or early-morning sale lands in.
 */
export interface ChannelDaySplit {
  /** YYYY-MM-DD in UTC+8. */
  channelDay: string;
  count: number;
  netMinor: number;
}

export interface SettlementSummary {
  /** Z closes the day; X is a mid-day look that closes nothing. */
  report: 'Z' | 'X';
  store: StoreInfo;
  /** YYYY-MM-DD in the store's time zone. */
  storeDay: string;
  /** ISO 8601 instant the report was made. */
  generatedAt: string;
  /** The store currency every total is in (NZD). */
  currency: Money['currency'];
  channels: ChannelTotals[];
  openPayments: OpenPayment[];
  channelDays: ChannelDaySplit[];
  /** Head of the terminal's hash-chained journal at the time of the report. */
  journalHead: { sequence: number; hash: string };
  /** Who printed it (manager). */
  printedBy?: string;
  /** Z only: the sequence number of this close. */
  closeNumber?: number;
  /**
   * When the previous Z was made: the report counts every payment settled and every
   * refund made since then that no Z has counted, whichever day the sale began.
   */
  periodStart?: string;
}
