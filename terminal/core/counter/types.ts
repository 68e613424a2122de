import type { Logger } from 'pino';
import type { Clock } from '../../../protocol/clock.js';
import type { FxEstimate, LinkErrorBody, LinkStoreInfo } from '../../../protocol/link.js';
import type { SaleRow } from '../db.js';
import type { RefundRecord, SaleRecord, SettlementSummary } from '../records.js';
import type { StatusWord } from '../words.js';

// The shapes the counter's parts share and the screens read.

export type { FxEstimate };

export interface DeviceHealth {
  kind: 'printer' | 'display' | 'scanner';
  state: string;
  detail?: string;
}

/** Output devices the counter drives, when the device drivers are wired in (`none` otherwise). */
export interface CounterDevices {
  health(): DeviceHealth[];
  /** The pole display follows the current sale (null: idle). */
  showSale?(
    sale: { amountMinor: number; currency: string; cnyMinor?: number; status: StatusWord } | null,
    storeName: string,
  ): void;
  printSale?(record: SaleRecord): void;
  printRefund?(record: RefundRecord): void;
  printSettlement?(summary: SettlementSummary): void;
  stop?(): Promise<void>;
}

export interface CounterOptions {
  dataDir: string;
  clock: Clock;
  log: Logger;
  devices?: CounterDevices;
  /** How long a double scan of the same code is ignored. */
  scanWindowMs?: number;
}

export interface SaleView {
  id: string;
  kind: SaleRow['kind'];
  outTradeNo: string | null;
  channel: string | null;
  amountMinor: number;
  currency: string;
  status: StatusWord;
  text: { cashier: [string, string]; customer: [string, string] };
  active: boolean;
  refundedMinor: number;
  refundableMinor: number;
  cnyChargedMinor: number | null;
  rate: string | null;
  qr: string | null;
  url: string | null;
  expiresAt: string | null;
  message: string | null;
  createdAt: string;
  updatedAt: string;
  paidAt: string | null;
}

export type Notice = { kind: 'info' | 'error'; en: string; zh: string; at: string };
export type ScanError = { en: string; zh: string; at: string };
export type FxState = { amountMinor: number; wechat: FxEstimate | null; alipay: FxEstimate | null };

export interface CounterState {
  terminalId: string | null;
  terminalName: string | null;
  store: LinkStoreInfo | null;
  connection: 'ONLINE' | 'OFFLINE';
  linkError: LinkErrorBody | null;
  outboxCount: number;
  current: SaleView | null;
  fx: FxState | null;
  staticQr: string | null;
  today: SaleView[];
  totals: { count: number; grossMinor: number; refundsMinor: number; netMinor: number };
  devices: DeviceHealth[];
  settlement: SettlementSummary | null;
  notice: Notice | null;
  scanError: ScanError | null;
  /** A receipt scanned (or its order number typed) into the scan field: the sale to refund. */
  refundCandidate: (SaleView & { at: string }) | null;
  now: string;
}

/**
 * What the screens show besides the stored sales: the last word to the cashier, the
 * estimate, the report on screen. Held in memory (a restart starts quiet), shared by
 * reference among the counter's parts.
 */
export interface ScreenState {
  fx: FxState | null;
  notice: Notice | null;
  scanError: ScanError | null;
  refundCandidate: { saleId: string; at: string } | null;
  settlement: SettlementSummary | null;
  linkError: LinkErrorBody | null;
}

export function quietScreen(): ScreenState {
  return { fx: null, notice: null, scanError: null, refundCandidate: null, settlement: null, linkError: null };
}
