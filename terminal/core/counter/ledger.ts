import type { Clock } from '../../../protocol/clock.js';
import type { LinkPaymentView, LinkStoreInfo } from '../../../protocol/link.js';
import { isCurrency, money, type Currency } from '../../../protocol/money.js';
import type { ChannelName } from '../../../protocol/payments.js';
import type { RefundRow, SaleRow, SaleStatus, TerminalDb } from '../db.js';
import type { RefundRecord, SaleRecord, StoreInfo } from '../records.js';
import { isPaidFamily } from '../words.js';
import type { CounterDevices } from './types.js';

/** How far a paid sale has been refunded: an answer's view never moves a sale down this. */
const refundRank = (s: SaleRow['status']): number => (s === 'refunded' ? 2 : s === 'partially_refunded' ? 1 : 0);

// The counter's sales and refunds as the bridge reports them, and the store they belong
// to: what every other part reads and what both the answers to commands and the events
// write through (applyPayment), so a payment is taken in one way whichever way it arrives.

/** Until the bridge has said which store this is (the first welcome), amounts are the demo store's. */
const DEFAULT_CURRENCY: Currency = 'NZD';

export class Ledger {
  private storeRaw: string | undefined;
  private storeParsed: LinkStoreInfo | null = null;

  constructor(
    private readonly db: TerminalDb,
    private readonly clock: Clock,
    private readonly devices?: CounterDevices,
  ) {}

  store(): LinkStoreInfo | null {
    const raw = this.db.getSetting('store');
    if (raw !== this.storeRaw) {
      this.storeRaw = raw;
      this.storeParsed = raw ? (JSON.parse(raw) as LinkStoreInfo) : null;
    }
    return this.storeParsed;
  }

  /** The store's currency: what a keyed amount is in and what the reports total. */
  currency(): Currency {
    const c = this.store()?.currency;
    return c && isCurrency(c) ? c : DEFAULT_CURRENCY;
  }

  storeInfo(): StoreInfo {
    const s = this.store();
    return {
      name: s?.name ?? 'Kauri counter',
      timeZone: s?.timezone ?? 'Pacific/Auckland',
      storeCode: s?.code,
      terminalId: this.db.getSetting('terminal_id'),
    };
  }

  currentSale(): SaleRow | undefined {
    const id = this.db.getSetting('current_sale');
    return id ? this.db.sale(id) : undefined;
  }

  /** Refunds keyed here that the bridge has not taken yet: not refundable a second time meanwhile. */
  pendingRefunds(saleId: string): number {
    return this.db
      .refundsOf(saleId)
      .filter((r) => r.status === 'queued')
      .reduce((a, r) => a + r.amount_minor, 0);
  }

  /** The sales begun on the store's trading day today. */
  todaySales(): SaleRow[] {
    const tz = this.storeInfo().timeZone;
    const now = this.clock.now();
    const today = storeDay(now.toISOString(), tz);
    return this.db
      .salesSince(new Date(now.getTime() - 48 * 3600_000).toISOString())
      .filter((s) => storeDay(s.created_at, tz) === today);
  }

  /**
   * Takes the bridge's view of a payment into the sale (never back from paid). `seq` is the
   * event's number; without it the view comes from a command's answer, which may be older than
   * events applied since (a replayed answer, recorded when the command first ran): such a view
   * never takes a refund back nor lowers what was refunded. Only an event (in order) does.
   */
  applyPayment(sale: SaleRow, view: LinkPaymentView, seq?: number): void {
    const status = saleStatusOf(view.status);
    if (isPaidFamily(sale.status) && !isPaidFamily(status)) return;
    if (
      seq === undefined &&
      isPaidFamily(sale.status) &&
      (refundRank(status) < refundRank(sale.status) || (view.refunded_minor ?? 0) < sale.refunded_minor)
    )
      return;
    const wasPaid = isPaidFamily(sale.status);
    const patch: Partial<SaleRow> = {
      status,
      refunded_minor: view.refunded_minor ?? sale.refunded_minor,
      payment_id: view.id,
      channel: view.channel ?? sale.channel,
      out_trade_no: sale.out_trade_no ?? view.out_trade_no,
    };
    if (view.cny_charged_minor !== undefined) patch.cny_charged_minor = view.cny_charged_minor;
    if (view.rate !== undefined) patch.rate = view.rate;
    if (view.channel_trade_no) patch.channel_trade_no = view.channel_trade_no;
    if (view.paid_at) patch.paid_at = view.paid_at;
    const after = this.db.updateSale(sale.id, patch)!;
    if (status !== sale.status)
      this.db.journal(`sale.${status}`, {
        id: sale.id,
        outTradeNo: after.out_trade_no,
        channel: after.channel,
        amountMinor: after.amount_minor,
        refundedMinor: after.refunded_minor,
        seq,
      });
    if (!wasPaid && isPaidFamily(status)) {
      const record = this.saleRecord(after);
      this.db.saveReceipt('sale', after.id, record);
      this.devices?.printSale?.(record);
    }
  }

  saleRecord(s: SaleRow): SaleRecord {
    return {
      store: this.storeInfo(),
      paymentId: s.payment_id ?? s.id,
      outTradeNo: s.out_trade_no ?? s.id,
      channelTradeNo: s.channel_trade_no ?? undefined,
      channel: (s.channel ?? 'wechat') as ChannelName,
      amount: money(s.amount_minor, s.currency),
      cnyCharged: s.cny_charged_minor !== null ? money(s.cny_charged_minor, 'CNY') : undefined,
      rate: s.rate ?? undefined,
      paidAt: s.paid_at ?? s.updated_at,
      lookupPayload: s.out_trade_no ?? undefined,
    };
  }

  saveRefundReceipt(s: SaleRow, r: RefundRow): void {
    const record: RefundRecord = {
      store: this.storeInfo(),
      paymentId: s.payment_id ?? s.id,
      outTradeNo: s.out_trade_no ?? s.id,
      outRefundNo: r.out_refund_no,
      channelTradeNo: s.channel_trade_no ?? undefined,
      channel: (s.channel ?? 'wechat') as ChannelName,
      amount: money(r.amount_minor, r.currency),
      original: money(s.amount_minor, s.currency),
      refundedTotal: money(s.refunded_minor, s.currency),
      status: r.status === 'queued' ? 'processing' : r.status,
      refundedAt: r.created_at,
      lookupPayload: s.out_trade_no ?? undefined,
    };
    this.db.saveReceipt('refund', r.out_refund_no, record);
    this.devices?.printRefund?.(record);
  }
}

export function newSale(
  p: Partial<SaleRow> & Pick<SaleRow, 'id' | 'kind' | 'amount_minor' | 'currency' | 'status' | 'created_at'>,
): SaleRow {
  return {
    out_trade_no: null,
    checkout_id: null,
    checkout_url: null,
    channel: null,
    refunded_minor: 0,
    cny_charged_minor: null,
    rate: null,
    payment_id: null,
    channel_trade_no: null,
    message: null,
    expires_at: null,
    cancel_requested: 0,
    updated_at: p.created_at,
    paid_at: null,
    ...p,
  };
}

export function saleStatusOf(bridgeStatus: string): SaleStatus {
  switch (bridgeStatus) {
    case 'created':
    case 'pending':
      return 'pending';
    case 'paid':
      return 'paid';
    case 'partially_refunded':
      return 'partially_refunded';
    case 'refunded':
      return 'refunded';
    case 'closed':
    case 'reversed':
      return 'closed';
    case 'failed':
      return 'failed';
    default:
      return 'unknown';
  }
}

/**
 * The hour (store time) at which a trading day begins. A shop that trades past midnight
 * closes the day after it: a Z pressed at 00:20 on Tuesday closes Monday, so Tuesday can
 * still be closed on Tuesday evening.
 */
export const TRADING_DAY_STARTS_HOUR = 4;

/**
 * The store's trading day (YYYY-MM-DD) an instant falls in: the date in the store's time zone,
 * or the day before it until TRADING_DAY_STARTS_HOUR.
 */
export function storeDay(iso: string, timeZone: string): string {
  let f = dayFormats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      hourCycle: 'h23',
    });
    dayFormats.set(timeZone, f);
  }
  const parts = Object.fromEntries(f.formatToParts(new Date(iso)).map((p) => [p.type, p.value]));
  const date = `${parts.year}-${parts.month}-${parts.day}`;
  if (Number(parts.hour) >= TRADING_DAY_STARTS_HOUR) return date;
  // Calendar arithmetic on the date alone (noon UTC: no time zone can move it a day).
  return new Date(Date.parse(`${date}T12:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
}
// A formatter costs far more to make than to use, and today's list asks one per sale.
const dayFormats = new Map<string, Intl.DateTimeFormat>();
