import type { Store } from '../../store/db.js';
import type { Channel } from '../codes.js';
import type { PlatformRow } from '../platform-csv.js';
import { csvDocument } from '../../csv.js';
import { channelDayStartMs, dayNumberOf, DAY_MS } from '../time.js';

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
    out.push({
      orderId: r.id,
      outTradeNo: r.channel_order_no,
      outRefundNo: null,
      channel: o.channel,
      channelTradeNo: r.channel_trade_no,
      kind: 'payment',
      amountMinor: Number(r.amount_minor),
      currency: r.currency,
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
      'orders.channel_order_no as channel_order_no',
    ])
    .where('refunds.merchant_id', '=', o.merchantId)
    .where('orders.channel', '=', o.channel)
    .where('refunds.created_at', '>=', iso(lo))
    .where('refunds.created_at', '<', iso(hi))
    .execute();
  for (const r of refunds) {
    // Bank refunds are matched on the bank's refund id (BANK-STATEMENT.md); one the bank
    // never answered has none and cannot be on its statement.
    if (o.channel === 'bank' && !r.channel_refund_id) continue;
    const key = o.channel === 'bank' ? r.channel_refund_id! : r.channel_refund_no;
    out.push({
      orderId: r.id,
      outTradeNo: r.channel_order_no,
      outRefundNo: r.channel_refund_no,
      channel: o.channel,
      channelTradeNo: o.channel === 'bank' ? r.channel_refund_id : r.channel_refund_id,
      kind: 'refund',
      amountMinor: Number(r.amount_minor),
      currency: r.currency,
      status: r.status,
      paidAt: new Date(Date.parse(r.created_at)).toISOString(),
      carriedSuspense: o.carried?.has(key) ?? false,
    });
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
