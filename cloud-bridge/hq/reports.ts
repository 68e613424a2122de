import { sql, type Kysely, type RawBuilder } from 'kysely';
import { KauriError } from '../../protocol/errors.js';
import type { Database } from '../store/schema.js';
import type { Scope } from './scope.js';
import {
  DEFAULT_TIMEZONE,
  localDate,
  localDayStart,
  nextDay,
  parseFilter,
  resolve,
  whereAll,
} from './payments-query.js';

// Reports: per store-local day (or month), store and channel, the payments received, their
// gross, what was refunded of them, the net and the CNY the customers were charged. Summed in
// the database: the period of a row is a CASE over the period's UTC boundaries in its store's
// time zone, so neither store needs time-zone support and no row comes back to us.

/** Money that came in. */
const RECEIVED = ['paid', 'partially_refunded', 'refunded'];
const MAX_DAYS = 400;
const MAX_MONTHS = 36;

export interface ReportRow {
  period: string;
  storeId: string | null;
  storeName: string | null;
  channel: string;
  count: number;
  gross: { minor: number; currency: string };
  refunds: { minor: number; currency: string };
  net: { minor: number; currency: string };
  charged: { minor: number; currency: 'CNY' };
}

function periods(kind: 'day' | 'month', from: string, to: string): string[] {
  const out: string[] = [];
  if (kind === 'day') {
    for (let d = from; d <= to; d = nextDay(d)) {
      out.push(d);
      if (out.length > MAX_DAYS) throw new KauriError('bad_argument', `at most ${MAX_DAYS} days in a daily report`);
    }
  } else {
    let [y, m] = from.split('-').map(Number) as [number, number];
    const last = to.slice(0, 7);
    for (;;) {
      const p = `${y}-${String(m).padStart(2, '0')}`;
      if (p > last) break;
      out.push(p);
      if (out.length > MAX_MONTHS) throw new KauriError('bad_argument', `at most ${MAX_MONTHS} months in a report`);
      m++;
      if (m > 12) {
        m = 1;
        y++;
      }
    }
  }
  return out;
}

/** The CASE naming the period an order's creation falls in, for one time zone. */
function periodCase(kind: 'day' | 'month', list: string[], tz: string): RawBuilder<string> {
  const startOf = (p: string) => new Date(localDayStart(kind === 'day' ? p : `${p}-01`, tz)).toISOString();
  const arms = list.slice(1).map((p, i) => sql`when o.created_at < ${startOf(p)} then ${list[i]!}`);
  return arms.length ? sql<string>`case ${sql.join(arms, sql` `)} else ${list.at(-1)!} end` : sql<string>`${list[0]!}`;
}

export async function reportRows(
  db: Kysely<Database>,
  scope: Scope,
  query: Record<string, string | undefined>,
  today: string = localDate(new Date().toISOString(), DEFAULT_TIMEZONE),
): Promise<ReportRow[]> {
  const kind = (query.period ?? 'day') as 'day' | 'month';
  if (kind !== 'day' && kind !== 'month') throw new KauriError('bad_argument', 'period is day or month');
  const filter = parseFilter(query);
  filter.to ??= today;
  if (!filter.from) {
    const t = Date.parse(`${filter.to}T00:00:00Z`);
    filter.from =
      kind === 'day'
        ? new Date(t - 30 * 86_400_000).toISOString().slice(0, 10)
        : `${new Date(Date.UTC(new Date(t).getUTCFullYear(), new Date(t).getUTCMonth() - 11, 1)).toISOString().slice(0, 10)}`;
  }
  if (kind === 'month') filter.from = `${filter.from.slice(0, 7)}-01`;
  if (filter.from > filter.to) throw new KauriError('bad_argument', 'from is after to');
  // Only money that came in; a status filter may narrow it further.
  filter.status = (filter.status ?? RECEIVED).filter((s) => RECEIVED.includes(s));
  if (!filter.status.length) return [];
  const list = periods(kind, filter.from, filter.to);
  const r = await resolve(db, scope, filter);
  if (r.none) return [];

  const zones = new Map<string, string[]>();
  for (const [id, tz] of r.timezones) zones.set(tz, [...(zones.get(tz) ?? []), id]);
  const otherZones = [...zones].filter(([tz]) => tz !== DEFAULT_TIMEZONE);
  const period = otherZones.length
    ? sql<string>`case ${sql.join(
        otherZones.map(
          ([tz, ids]) =>
            sql`when o.store_id in (${sql.join(ids.map((id) => sql`${id}`))}) then ${periodCase(kind, list, tz)}`,
        ),
        sql` `,
      )} else ${periodCase(kind, list, DEFAULT_TIMEZONE)} end`
    : periodCase(kind, list, DEFAULT_TIMEZONE);

  const { rows } = await sql<{
    period: string;
    store_id: string | null;
    store_name: string | null;
    channel: string;
    currency: string;
    n: number | string;
    gross: number | string;
    refunded: number | string;
    charged: number | string;
  }>`select t.period, t.store_id, s.name as store_name, t.channel, t.currency, t.n, t.gross, t.refunded, t.charged
     from (
       select p.period, p.store_id, p.channel, p.currency, count(*) as n, sum(p.amount_minor) as gross,
              sum(p.refunded_minor) as refunded, coalesce(sum(p.cny_charged_minor), 0) as charged
       from (
         select ${period} as period, o.store_id, o.channel, o.currency, o.amount_minor, o.refunded_minor, o.cny_charged_minor
         from orders o where ${whereAll(r)}
       ) p
       group by p.period, p.store_id, p.channel, p.currency
     ) t left join stores s on s.id = t.store_id
     order by t.period, s.name, t.channel, t.currency`.execute(db);
  return rows.map((x) => {
    const gross = Number(x.gross);
    const refunded = Number(x.refunded);
    return {
      period: x.period,
      storeId: x.store_id,
      storeName: x.store_name,
      channel: x.channel,
      count: Number(x.n),
      gross: { minor: gross, currency: x.currency },
      refunds: { minor: refunded, currency: x.currency },
      net: { minor: gross - refunded, currency: x.currency },
      charged: { minor: Number(x.charged), currency: 'CNY' },
    };
  });
}
