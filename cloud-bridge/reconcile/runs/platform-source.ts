import type { Store } from '../../store/db.js';
import type { Channel } from '../codes.js';
import type { PlatformRow } from '../platform-csv.js';
import { csvDocument } from '../../csv.js';
import { channelDayStartMs, dayNumberOf, DAY_MS } from '../time.js';
import { money, type Money } from '../../../protocol/money.js';
import { refundCny } from '../../channels/bank/amounts.js';
import { refundedBefore, type RefundOfPayment } from '../../orders/earlier-refunds.js';

// The platform side of a channel-day, read from the database instead of a CSV: one
// merchant's orders and refunds on one channel around the day. An order's time is the
// channel's own payment time when the bridge learnt it (notify or query), else the
// bridge's clock, so an order paid at 23:59 China time by the channel's clock lands on
// the channel's day even if the notify arrived after midnight.

/**
 * Orders are created by the bridge's clock and paid by the channel's: two days either side
 * covers any payment window and any disagreement of the two clocks (a simulator's clock
 * set to yesterday, a notify that arrives late), and keeps the query on the index.
 */
const CREATED_SLACK_MS = 2 * DAY_MS;

export interface PlatformSourceOptions {
  channel: Channel;
  date: string;
  merchantId: string;
  windowMs: number;
  /** Ids (payments: channel order no; refunds: channel refund no) in suspense after the day before's run. */
  carried?: ReadonlySet<string>;
}

export type DbPlatformRow = PlatformRow & { carriedSuspense?: boolean; orderId: string };

export async function platformRows(store: Store, o: PlatformSourceOptions): Promise<DbPlatformRow[]> {
  const start = channelDayStartMs(dayNumberOf(o.date));
  const lo = start - o.windowMs;
  const hi = start + DAY_MS + o.windowMs;
  const iso = (ms: number): string => new Date(ms).toISOString();
  const orders = await store.db
    .selectFrom('orders')
    .select([
      'id',
      'channel_order_no',
      'channel_trade_no',
      'amount_minor',
      'currency',
      'status',
      'paid_at',
      'channel_paid_at',
      'created_at',
      'cny_charged_minor',
      'cny_quote_minor',
    ])
    .where('merchant_id', '=', o.merchantId)
    .where('channel', '=', o.channel)
    .where('created_at', '>=', iso(lo - CREATED_SLACK_MS))
    .where('created_at', '<', iso(hi + CREATED_SLACK_MS))
    .execute();
  const out: DbPlatformRow[] = [];
  for (const r of orders) {
    const paid = r.channel_paid_at ?? r.paid_at;
    const t = paid ? Date.parse(paid) : NaN;
    // Undated (never paid here) orders are kept when created near the day: the statement
    // may show them paid (a lost notify), which is a status mismatch.
    if (Number.isNaN(t) ? Date.parse(r.created_at) < start - DAY_MS : t < lo || t >= hi) continue;
    // The bank takes CNY only, and its statement says what it took: the CNY charged.
    const paidCny = o.channel === 'bank' ? cnyPaid(r) : undefined;
    out.push({
      orderId: r.id,
      outTradeNo: r.channel_order_no,
      outRefundNo: null,
      channel: o.channel,
      channelTradeNo: r.channel_trade_no,
      kind: 'payment',
      amountMinor: paidCny ? paidCny.minor : Number(r.amount_minor),
      currency: paidCny ? paidCny.currency : r.currency,
      status: r.status,
      paidAt: Number.isNaN(t) ? null : new Date(t).toISOString(),
      carriedSuspense: o.carried?.has(r.channel_order_no) ?? false,
    });
  }
  const refunds = await store.db
    .selectFrom('refunds')
    .innerJoin('orders', 'orders.id', 'refunds.order_id')
    .select([
      'refunds.id as id',
      'refunds.channel_refund_no as channel_refund_no',
      'refunds.channel_refund_id as channel_refund_id',
      'refunds.amount_minor as amount_minor',
      'refunds.currency as currency',
      'refunds.status as status',
      'refunds.created_at as created_at',
      'refunds.order_id as order_id',
      'orders.channel_order_no as channel_order_no',
      'orders.amount_minor as order_amount_minor',
      'orders.currency as order_currency',
      'orders.cny_charged_minor as cny_charged_minor',
      'orders.cny_quote_minor as cny_quote_minor',
    ])
    .where('refunds.merchant_id', '=', o.merchantId)
    .where('orders.channel', '=', o.channel)
    .where('refunds.created_at', '>=', iso(lo))
    .where('refunds.created_at', '<', iso(hi))
    .execute();
  const bankRefunds =
    o.channel === 'bank' ? await refundsOfOrders(store, [...new Set(refunds.map((r) => r.order_id))]) : [];
  for (const r of refunds) {
    // Bank refunds are matched on the bank's refund id (BANK-STATEMENT.md); one the bank
    // never answered has none and cannot be on its statement.
    if (o.channel === 'bank' && !r.channel_refund_id) continue;
    // In CNY, as the bridge asked the bank for it: the running total's CNY less the CNY of the
    // order's earlier refunds (that did not fail), so the parts add up to what was paid.
    const paid = o.channel === 'bank' ? cnyPaid(r) : undefined;
    const asked =
      paid && r.order_currency !== 'CNY'
        ? refundCny(
            money(Number(r.amount_minor), r.currency),
            money(Number(r.order_amount_minor), r.order_currency),
            paid,
            money(refundedBefore(bankRefunds, r), r.currency),
          )
        : undefined;
    const key = o.channel === 'bank' ? r.channel_refund_id! : r.channel_refund_no;
    out.push({
      orderId: r.id,
      outTradeNo: r.channel_order_no,
      outRefundNo: r.channel_refund_no,
      channel: o.channel,
      channelTradeNo: o.channel === 'bank' ? r.channel_refund_id : r.channel_refund_id,
      kind: 'refund',
      amountMinor: asked ? asked.minor : Number(r.amount_minor),
      currency: asked ? asked.currency : r.currency,
      status: r.status,
      paidAt: new Date(Date.parse(r.created_at)).toISOString(),
      carriedSuspense: o.carried?.has(key) ?? false,
    });
  }
  return out;
}

/** What a bank payment was charged in CNY (the quote, until the bank said what it took). */
function cnyPaid(r: { cny_charged_minor: number | null; cny_quote_minor: number | null }): Money | undefined {
  const fen = r.cny_charged_minor ?? r.cny_quote_minor;
  return fen === null || fen === undefined ? undefined : money(Number(fen), 'CNY');
}

/** Every refund of these orders, whatever its day: a part's CNY depends on the parts before it. */
async function refundsOfOrders(store: Store, orderIds: string[]): Promise<RefundOfPayment[]> {
  const out: RefundOfPayment[] = [];
  for (let i = 0; i < orderIds.length; i += 500) {
    const rows = await store.db
      .selectFrom('refunds')
      .select(['id', 'order_id', 'amount_minor', 'status', 'created_at'])
      .where('order_id', 'in', orderIds.slice(i, i + 500))
      .execute();
    out.push(...rows.map((r) => ({ ...r, amount_minor: Number(r.amount_minor) })));
  }
  return out;
}

/** The platform orders CSV of docs/CONTRACTS.md, for the HQ export and for `--platform` files. */
export function platformCsv(rows: readonly PlatformRow[]): string {
  return csvDocument(
    [
      'out_trade_no',
      'out_refund_no',
      'channel',
      'channel_trade_no',
      'kind',
      'amount_minor',
      'currency',
      'status',
      'paid_at',
    ],
    rows.map((r) => [
      r.outTradeNo,
      r.outRefundNo,
      r.channel,
      r.channelTradeNo,
      r.kind,
      r.amountMinor,
      r.currency,
      r.status,
      r.paidAt,
    ]),
  );
}
