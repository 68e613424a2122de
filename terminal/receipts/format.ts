import { channelDay } from '../../protocol/channel-day.js';
import { format } from '../../protocol/money.js';
import type { Channel, Money } from '../core/records.js';

// Formatting shared by the layouts. Pure: no clock, no locale of the machine.

/** "NZD 1,234.50", "-NZD 12.50": protocol's format, the same words as every screen. */
export function formatMoney(m: Money): string {
  return format(m);
}

export const CHANNEL_NAMES: Record<Channel, { en: string; zh: string; ascii: string }> = {
  wechat: { en: 'WeChat Pay', zh: '微信支付', ascii: 'WeChat Pay' },
  alipay: { en: 'Alipay', zh: '支付宝', ascii: 'Alipay' },
  bank: { en: 'Online banking', zh: '网银支付', ascii: 'Bank' },
};

const formatters = new Map<string, Intl.DateTimeFormat>();

function parts(instant: Date, timeZone: string): Record<string, string> {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-NZ', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'short',
    });
    formatters.set(timeZone, f);
  }
  const out: Record<string, string> = {};
  for (const p of f.formatToParts(instant)) out[p.type] = p.value;
  return out;
}

function toDate(iso: string): Date {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) throw new Error(`not an ISO 8601 time: "${iso}"`);
  return d;
}

/** "2026-11-22 12:00 NZDT": the store's wall clock, whatever the terminal's TZ. */
export function formatStoreTime(iso: string, timeZone: string): string {
  const p = parts(toDate(iso), timeZone);
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute} ${p.timeZoneName}`;
}

/** YYYY-MM-DD of an instant in a time zone. */
export function dayIn(iso: string, timeZone: string): string {
  const p = parts(toDate(iso), timeZone);
  return `${p.year}-${p.month}-${p.day}`;
}

/** The channel statement day (UTC+8, no daylight saving) of an instant. */
export function channelDayOf(iso: string): string {
  return channelDay(toDate(iso));
}

/**
 * The store-local wall time at which the channel's day `storeDay` begins (midnight
 * UTC+8), e.g. "05:00 NZDT" for Auckland in summer: sales before it fall on the
 * previous channel statement day.
 */
export function channelDayStartInStore(storeDay: string, timeZone: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(storeDay)) throw new Error(`storeDay must be YYYY-MM-DD, got "${storeDay}"`);
  const p = parts(new Date(`${storeDay}T00:00:00+08:00`), timeZone);
  const sameDay = `${p.year}-${p.month}-${p.day}` === storeDay;
  return `${sameDay ? '' : `${p.year}-${p.month}-${p.day} `}${p.hour}:${p.minute} ${p.timeZoneName}`;
}
