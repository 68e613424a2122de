import { sql, type Kysely, type RawBuilder, type SqlBool } from 'kysely';
import { KauriError } from '../../protocol/errors.js';
import type { Database } from '../store/schema.js';
import type { Scope } from './scope.js';

// The back office's payment queries. Every one starts from the user's Scope, so what a role
// may not read never leaves the database. Lists are keyset-paged on (created_at, id), newest
// first: a page costs the same at row 10 as at row 900,000, and rows with equal timestamps are
// neither skipped nor repeated. Dates in filters are the store's own calendar days, turned
// into UTC bounds per time zone (a New Zealand day starts at 11:00 or 12:00 UTC the day before).

/** Orders without a store (merchant API payments) are dated in New Zealand time. */
export const DEFAULT_TIMEZONE = 'Pacific/Auckland';
export const PAGE_LIMIT_MAX = 200;

export interface PaymentFilter {
  from?: string;
  to?: string;
  storeIds?: string[];
  terminalId?: string;
  channel?: string[];
  mode?: string[];
  status?: string[];
  min?: number;
  max?: number;
  flagged?: boolean;
  merchantId?: string;
  q?: string;
  currency?: string;
}

export interface PaymentRow {
  id: string;
  outTradeNo: string;
  merchantId: string;
  merchantName: string;
  storeId: string | null;
  storeName: string | null;
  /** The time zone the payment's times are read in: its store's, or New Zealand's without a store. */
  timezone: string;
  terminalId: string | null;
  channel: string;
  mode: string;
  status: string;
  amount: { minor: number; currency: string };
  charged: { minor: number; currency: 'CNY' } | null;
  refunded: { minor: number; currency: string };
  flagged: boolean;
  createdAt: string;
  paidAt: string | null;
}

type Query = Record<string, string | string[] | undefined>;

const DAY = /^\d{4}-\d{2}-\d{2}$/;

function bad(message: string): never {
  throw new KauriError('bad_argument', message);
}

function one(q: Query, name: string): string | undefined {
  const v = q[name];
  const s = Array.isArray(v) ? v[0] : v;
  if (s === undefined || s === '') return undefined;
  if (s.length > 200) bad(`${name} is too long`);
  return s;
}

function list(q: Query, name: string): string[] | undefined {
  const v = q[name];
  const all = (Array.isArray(v) ? v : v === undefined ? [] : [v]).flatMap((s) => s.split(','));
  const out = all.map((s) => s.trim()).filter(Boolean);
  if (out.length > 50) bad(`${name}: at most 50 values`);
  return out.length ? out : undefined;
}

function day(q: Query, name: string): string | undefined {
  const v = one(q, name);
  if (v === undefined) return undefined;
  if (!DAY.test(v) || Number.isNaN(Date.parse(`${v}T00:00:00Z`))) bad(`${name} must be a date YYYY-MM-DD`);
  return v;
}

function minor(q: Query, name: string): number | undefined {
  const v = one(q, name);
  if (v === undefined) return undefined;
  if (!/^-?\d{1,15}$/.test(v)) bad(`${name} must be a whole number of minor units`);
  return Number(v);
}

/** The payments filter of the list, the exports and the reports, from a query string. */
export function parseFilter(q: Query): PaymentFilter {
  const flagged = one(q, 'flagged');
  if (flagged !== undefined && !['true', 'false', '1', '0'].includes(flagged)) bad('flagged must be true or false');
  const f: PaymentFilter = {
    from: day(q, 'from'),
    to: day(q, 'to'),
    storeIds: list(q, 'store'),
    terminalId: one(q, 'counter'),
    channel: list(q, 'channel'),
    mode: list(q, 'mode'),
    status: list(q, 'status'),
    min: minor(q, 'min'),
    max: minor(q, 'max'),
    flagged: flagged === undefined ? undefined : flagged === 'true' || flagged === '1',
    merchantId: one(q, 'merchant'),
    q: one(q, 'q')?.trim() || undefined,
    currency: one(q, 'currency')?.toUpperCase(),
  };
  if (f.from && f.to && f.from > f.to) bad('from is after to');
  return f;
}

// ---- time zones ----

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(tz, f);
  }
  return f;
}

function wallClock(tz: string, t: number): { y: number; m: number; d: number; h: number; mi: number; s: number } {
  const p = Object.fromEntries(
    formatter(tz)
      .formatToParts(new Date(t))
      .map((x) => [x.type, x.value]),
  );
  return { y: +p.year!, m: +p.month!, d: +p.day!, h: +p.hour!, mi: +p.minute!, s: +p.second! };
}

/** How far the zone's clock is ahead of UTC at instant t, in ms. */
function offsetMs(tz: string, t: number): number {
  const w = wallClock(tz, t);
  return Date.UTC(w.y, w.m - 1, w.d, w.h, w.mi, w.s) - Math.floor(t / 1000) * 1000;
}

/** The UTC instant (ms) at which the local date `date` begins in `tz`. */
export function localDayStart(date: string, tz: string): number {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const wall = Date.UTC(y, m - 1, d);
  // Twice: the offset at the guess may differ from the offset at the answer across a DST change.
  let t = wall - offsetMs(tz, wall);
  t = wall - offsetMs(tz, t);
  return t;
}

/** The day after a YYYY-MM-DD date. */
export function nextDay(date: string): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
}

/** The local date (YYYY-MM-DD) of an ISO instant in `tz`. */
export function localDate(iso: string, tz: string): string {
  const w = wallClock(tz, Date.parse(iso));
  return `${w.y}-${String(w.m).padStart(2, '0')}-${String(w.d).padStart(2, '0')}`;
}

export function checkTimezone(tz: string): string {
  try {
    formatter(tz);
    return tz;
  } catch {
    return DEFAULT_TIMEZONE;
  }
}

// ---- conditions ----

export interface Resolved {
  /** Conditions on the orders table aliased `o`; empty: every row. */
  conds: RawBuilder<SqlBool>[];
  /** Nothing can match (a store manager without stores, another merchant asked for). */
  none: boolean;
  /** The stores in play and their time zones (for dates in CSVs and report periods). */
  timezones: Map<string, string>;
}

const lit = (v: string | number) => sql`${v}`;
const inList = (col: string, values: readonly string[]) =>
  sql<SqlBool>`${sql.ref(col)} in (${sql.join(values.map((v) => lit(v)))})`;

/**
 * The scope's and the filter's conditions on `orders o`. `dateColumn` is what `from`/`to`
 * bound (the payment's creation, or a refund's when listing refunds).
 */
export async function resolve(
  db: Kysely<Database>,
  scope: Scope,
  f: PaymentFilter,
  dateColumn = 'o.created_at',
): Promise<Resolved> {
  const conds: RawBuilder<SqlBool>[] = [];
  let none = false;
  let merchantId = scope.merchantId;
  if (f.merchantId) {
    if (merchantId !== null && merchantId !== f.merchantId) none = true;
    merchantId = f.merchantId;
  }
  if (merchantId !== null) conds.push(sql<SqlBool>`o.merchant_id = ${merchantId}`);
  let storeIds: string[] | null = scope.storeIds === null ? null : [...scope.storeIds];
  if (f.storeIds) storeIds = storeIds === null ? f.storeIds : storeIds.filter((s) => f.storeIds!.includes(s));
  if (storeIds !== null) {
    if (storeIds.length === 0) none = true;
    else conds.push(storeIds.length === 1 ? sql<SqlBool>`o.store_id = ${storeIds[0]}` : inList('o.store_id', storeIds));
  }
  if (f.terminalId) conds.push(sql<SqlBool>`o.terminal_id = ${f.terminalId}`);
  if (f.channel) conds.push(inList('o.channel', f.channel));
  if (f.mode) conds.push(inList('o.mode', f.mode));
  if (f.status) {
    // One status walks its (status, created_at, id) index in date order; for several, that
    // index would read every row of them and sort, so the expression keeps it out of the plan.
    if (f.status.length === 1) conds.push(sql<SqlBool>`o.status = ${f.status[0]}`);
    else conds.push(sql<SqlBool>`(o.status || '') in (${sql.join(f.status.map((v) => lit(v)))})`);
  }
  if (f.currency) conds.push(sql<SqlBool>`o.currency = ${f.currency}`);
  if (f.min !== undefined) conds.push(sql<SqlBool>`o.amount_minor >= ${f.min}`);
  if (f.max !== undefined) conds.push(sql<SqlBool>`o.amount_minor <= ${f.max}`);
  if (f.flagged !== undefined) conds.push(sql<SqlBool>`o.flagged = ${f.flagged ? 1 : 0}`);
  if (f.q) {
    // Exact matches, each on its own index, looked up first: one OR across the columns would
    // have the planner walk the whole table in date order instead.
    const q = f.q;
    const checkouts = await db
      .selectFrom('checkouts')
      .select('id')
      .where((eb) => eb.or([eb('reference', '=', q), eb('id', '=', q)]))
      .limit(1000)
      .execute();
    const found = new Set<string>();
    const by = async (
      col: 'id' | 'out_trade_no' | 'channel_trade_no' | 'channel_order_no' | 'checkout_id',
      v: string[],
    ) => {
      if (!v.length) return;
      for (const x of await db.selectFrom('orders').select('id').where(col, 'in', v).limit(1001).execute())
        found.add(x.id);
    };
    await by('id', [q]);
    await by('out_trade_no', [q]);
    await by('channel_trade_no', [q]);
    await by('channel_order_no', [q]);
    await by(
      'checkout_id',
      checkouts.map((c) => c.id),
    );
    const rows = [...found].map((id) => ({ id }));
    if (rows.length > 1000) bad('the search matches too many payments; narrow it');
    if (rows.length === 0) none = true;
    else
      conds.push(
        inList(
          'o.id',
          rows.map((x) => x.id),
        ),
      );
  }

  // The stores in play and their zones: the dates of the filter are theirs.
  let stores = db.selectFrom('stores').select(['id', 'timezone']);
  if (merchantId !== null) stores = stores.where('merchant_id', '=', merchantId);
  if (storeIds !== null)
    stores = storeIds.length ? stores.where('id', 'in', storeIds) : stores.where(sql<SqlBool>`1 = 0`);
  const timezones = new Map<string, string>();
  for (const s of await stores.execute()) timezones.set(s.id, checkTimezone(s.timezone));

  if (f.from || f.to) {
    const bounds = (tz: string) => {
      const parts: RawBuilder<SqlBool>[] = [];
      if (f.from)
        parts.push(sql<SqlBool>`${sql.ref(dateColumn)} >= ${new Date(localDayStart(f.from, tz)).toISOString()}`);
      if (f.to)
        parts.push(sql<SqlBool>`${sql.ref(dateColumn)} < ${new Date(localDayStart(nextDay(f.to), tz)).toISOString()}`);
      return sql<SqlBool>`${sql.join(parts, sql` and `)}`;
    };
    const zones = new Map<string, string[]>();
    for (const [id, tz] of timezones) zones.set(tz, [...(zones.get(tz) ?? []), id]);
    const storeless = storeIds === null; // orders without a store may match
    const all = new Set(zones.keys());
    if (storeless) all.add(DEFAULT_TIMEZONE);
    if (all.size <= 1) {
      conds.push(bounds([...all][0] ?? DEFAULT_TIMEZONE));
    } else {
      // Stores in several zones: each store's rows are bounded by its own day.
      const arms = [...zones].map(([tz, ids]) => {
        const inZone =
          tz === DEFAULT_TIMEZONE && storeless
            ? sql<SqlBool>`(o.store_id is null or ${inList('o.store_id', ids)})`
            : inList('o.store_id', ids);
        return sql<SqlBool>`(${inZone} and ${bounds(tz)})`;
      });
      if (storeless && !zones.has(DEFAULT_TIMEZONE))
        arms.push(sql<SqlBool>`(o.store_id is null and ${bounds(DEFAULT_TIMEZONE)})`);
      conds.push(sql<SqlBool>`(${sql.join(arms, sql` or `)})`);
    }
  }
  return { conds, none, timezones };
}

export function whereAll(r: Resolved): RawBuilder<SqlBool> {
  if (r.none) return sql<SqlBool>`1 = 0`;
  if (!r.conds.length) return sql<SqlBool>`1 = 1`;
  return sql<SqlBool>`${sql.join(r.conds, sql` and `)}`;
}

// ---- cursors ----

export interface Cursor {
  at: string;
  id: string;
}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.at, c.id])).toString('base64url');
}

export function decodeCursor(s: string | undefined): Cursor | undefined {
  if (!s) return undefined;
  try {
    const v = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string')
      return { at: v[0], id: v[1] };
  } catch {
    // answered below
  }
  return bad('cursor is not one this server gave');
}

/** Rows strictly after the cursor in (at desc, id desc) order. */
export function after(atCol: string, idCol: string, c: Cursor | undefined): RawBuilder<SqlBool> {
  if (!c) return sql<SqlBool>`1 = 1`;
  // The first term is implied by the second, but it is what makes the cursor a range on the
  // (…, created_at, id) index: without it a page starts at the top of the range and steps over
  // every row the pages before it returned (an export of a million rows becomes quadratic).
  return sql<SqlBool>`(${sql.ref(atCol)} <= ${c.at} and (${sql.ref(atCol)} < ${c.at} or (${sql.ref(atCol)} = ${c.at} and ${sql.ref(idCol)} < ${c.id})))`;
}

// ---- the list ----

type Raw = {
  id: string;
  out_trade_no: string;
  merchant_id: string;
  merchant_name: string;
  store_id: string | null;
  store_name: string | null;
  store_timezone: string | null;
  terminal_id: string | null;
  channel: string;
  mode: string;
  status: string;
  amount_minor: number;
  currency: string;
  cny_charged_minor: number | null;
  refunded_minor: number;
  flagged: number;
  created_at: string;
  paid_at: string | null;
};

export function paymentRow(r: Raw): PaymentRow {
  return {
    id: r.id,
    outTradeNo: r.out_trade_no,
    merchantId: r.merchant_id,
    merchantName: r.merchant_name,
    storeId: r.store_id,
    storeName: r.store_name,
    timezone: r.store_timezone ?? DEFAULT_TIMEZONE,
    terminalId: r.terminal_id,
    channel: r.channel,
    mode: r.mode,
    status: r.status,
    amount: { minor: Number(r.amount_minor), currency: r.currency },
    charged: r.cny_charged_minor === null ? null : { minor: Number(r.cny_charged_minor), currency: 'CNY' },
    refunded: { minor: Number(r.refunded_minor), currency: r.currency },
    flagged: Number(r.flagged) === 1,
    createdAt: r.created_at,
    paidAt: r.paid_at,
  };
}

const ORDER_COLUMNS = [
  'o.id',
  'o.out_trade_no',
  'o.merchant_id',
  'o.store_id',
  'o.terminal_id',
  'o.channel',
  'o.mode',
  'o.status',
  'o.amount_minor',
  'o.currency',
  'o.cny_charged_minor',
  'o.refunded_minor',
  'o.flagged',
  'o.created_at',
  'o.paid_at',
] as const;

/**
 * Merchants' and stores' names, looked up for the ids a page holds and kept for the next
 * pages. The page itself reads orders alone: joined, SQLite may start from the small
 * merchants table and then sort every matching order before it can answer the first row.
 */
export class Names {
  private readonly merchants = new Map<string, string>();
  private readonly stores = new Map<string, { name: string; timezone: string }>();
  constructor(private readonly db: Kysely<Database>) {}

  async fill(rows: ReadonlyArray<{ merchant_id: string; store_id: string | null }>): Promise<void> {
    const m = [...new Set(rows.map((r) => r.merchant_id))].filter((id) => !this.merchants.has(id));
    const s = [...new Set(rows.map((r) => r.store_id))].filter((id): id is string => !!id && !this.stores.has(id));
    if (m.length)
      for (const r of await this.db.selectFrom('merchants').select(['id', 'name']).where('id', 'in', m).execute())
        this.merchants.set(r.id, r.name);
    if (s.length)
      for (const r of await this.db
        .selectFrom('stores')
        .select(['id', 'name', 'timezone'])
        .where('id', 'in', s)
        .execute())
        this.stores.set(r.id, { name: r.name, timezone: r.timezone });
  }
  merchant(id: string): string {
    return this.merchants.get(id) ?? '';
  }
  store(id: string | null): string | null {
    return id ? (this.stores.get(id)?.name ?? null) : null;
  }
  timezone(id: string | null): string | null {
    return id ? (this.stores.get(id)?.timezone ?? null) : null;
  }
}

/** One page of payments, newest first, and the cursor of the next (null on the last). */
export async function pagePayments(
  db: Kysely<Database>,
  r: Resolved,
  cursor: Cursor | undefined,
  limit: number,
  names: Names = new Names(db),
): Promise<{ items: PaymentRow[]; nextCursor: string | null }> {
  if (r.none) return { items: [], nextCursor: null };
  const rows = await db
    .selectFrom('orders as o')
    .select(ORDER_COLUMNS)
    .where(whereAll(r))
    .where(after('o.created_at', 'o.id', cursor))
    .orderBy('o.created_at', 'desc')
    .orderBy('o.id', 'desc')
    .limit(limit + 1)
    .execute();
  const more = rows.length > limit;
  const page = rows.slice(0, limit);
  await names.fill(page);
  const items = page.map((x) =>
    paymentRow({
      ...x,
      merchant_name: names.merchant(x.merchant_id),
      store_name: names.store(x.store_id),
      store_timezone: names.timezone(x.store_id),
    }),
  );
  const last = items.at(-1);
  return { items, nextCursor: more && last ? encodeCursor({ at: last.createdAt, id: last.id }) : null };
}

/** Count and sum per currency of everything the filter matches. */
export async function totals(
  db: Kysely<Database>,
  r: Resolved,
): Promise<Array<{ currency: string; count: number; amount: { minor: number; currency: string } }>> {
  if (r.none) return [];
  const rows = await db
    .selectFrom('orders as o')
    .select(['o.currency', sql<number>`count(*)`.as('n'), sql<number>`coalesce(sum(o.amount_minor), 0)`.as('total')])
    .where(whereAll(r))
    .groupBy('o.currency')
    .orderBy('o.currency')
    .execute();
  return rows.map((x) => ({
    currency: x.currency,
    count: Number(x.n),
    amount: { minor: Number(x.total), currency: x.currency },
  }));
}

/** Every payment the filter matches, newest first, a page at a time (for the exports). */
export async function* eachPayment(db: Kysely<Database>, r: Resolved, pageSize = 2000): AsyncGenerator<PaymentRow> {
  let cursor: Cursor | undefined;
  const names = new Names(db);
  for (;;) {
    const { items } = await pagePayments(db, r, cursor, pageSize, names);
    for (const it of items) yield it;
    if (items.length < pageSize) return;
    const last = items.at(-1)!;
    cursor = { at: last.createdAt, id: last.id };
  }
}

export interface RefundRow {
  id: string;
  outRefundNo: string;
  paymentId: string;
  outTradeNo: string;
  merchantId: string;
  merchantName: string;
  storeId: string | null;
  storeName: string | null;
  channel: string;
  amount: { minor: number; currency: string };
  status: string;
  reason: string | null;
  automatic: boolean;
  createdAt: string;
  updatedAt: string;
}

/** Every refund of a payment in scope, created within the filter's dates, newest first. */
export async function* eachRefund(db: Kysely<Database>, r: Resolved, pageSize = 2000): AsyncGenerator<RefundRow> {
  if (r.none) return;
  let cursor: Cursor | undefined;
  const names = new Names(db);
  for (;;) {
    // A cross join keeps SQLite walking refunds in date order (the join condition is in the where).
    const rows = await db
      .selectFrom('refunds as r')
      .crossJoin('orders as o')
      .select([
        'r.id',
        'r.out_refund_no',
        'r.order_id',
        'o.out_trade_no',
        'o.merchant_id',
        'o.store_id',
        'o.channel',
        'r.amount_minor',
        'r.currency',
        'r.status',
        'r.reason',
        'r.automatic',
        'r.created_at',
        'r.updated_at',
      ])
      .whereRef('o.id', '=', 'r.order_id')
      .where(whereAll(r))
      .where(after('r.created_at', 'r.id', cursor))
      .orderBy('r.created_at', 'desc')
      .orderBy('r.id', 'desc')
      .limit(pageSize)
      .execute();
    await names.fill(rows);
    for (const x of rows)
      yield {
        id: x.id,
        outRefundNo: x.out_refund_no,
        paymentId: x.order_id,
        outTradeNo: x.out_trade_no,
        merchantId: x.merchant_id,
        merchantName: names.merchant(x.merchant_id),
        storeId: x.store_id,
        storeName: names.store(x.store_id),
        channel: x.channel,
        amount: { minor: Number(x.amount_minor), currency: x.currency },
        status: x.status,
        reason: x.reason,
        automatic: Number(x.automatic) === 1,
        createdAt: x.created_at,
        updatedAt: x.updated_at,
      };
    if (rows.length < pageSize) return;
    const last = rows.at(-1)!;
    cursor = { at: last.created_at, id: last.id };
  }
}
