// Channel days are UTC+8 (China time, no daylight saving): a statement for day D holds
// what the channel recorded between D 00:00 and D 24:00 China time.

import { CHINA_OFFSET_MS, DAY_MS, chinaWallIso } from '../../protocol/channel-day.js';

export { CHINA_OFFSET_MS, DAY_MS, channelDayNumber, channelDayStartMs } from '../../protocol/channel-day.js';

export function dayNumberOf(date: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!m) return NaN;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  const back = new Date(ms);
  if (
    back.getUTCFullYear() !== Number(m[1]) ||
    back.getUTCMonth() + 1 !== Number(m[2]) ||
    back.getUTCDate() !== Number(m[3])
  )
    return NaN;
  return ms / DAY_MS;
}

export function dateOfDayNumber(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

function d2(buf: Uint8Array, i: number): number {
  return (buf[i]! - 48) * 10 + (buf[i + 1]! - 48);
}

function valid(y: number, mo: number, d: number, h: number, mi: number, s: number): boolean {
  return (
    y >= 1970 &&
    mo >= 1 &&
    mo <= 12 &&
    d >= 1 &&
    d <= 31 &&
    h >= 0 &&
    h <= 23 &&
    mi >= 0 &&
    mi <= 59 &&
    s >= 0 &&
    s <= 60
  );
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/**
 * A China-time timestamp as channels write it: "yyyy-MM-dd HH:mm:ss" (WeChat, Alipay
 * in-store, bank) or "yyyyMMddHHmmss" (Alipay legacy files). Returns epoch ms or NaN.
 */
export function parseChinaTime(buf: Uint8Array, start: number, end: number): number {
  const len = end - start;
  let y: number, mo: number, d: number, h: number, mi: number, s: number;
  if (len === 19) {
    if (
      buf[start + 4] !== 45 ||
      buf[start + 7] !== 45 ||
      (buf[start + 10] !== 32 && buf[start + 10] !== 84) ||
      buf[start + 13] !== 58 ||
      buf[start + 16] !== 58
    )
      return NaN;
    for (let k = 0; k < 19; k++) {
      if (k === 4 || k === 7 || k === 10 || k === 13 || k === 16) continue;
      if (!isDigit(buf[start + k]!)) return NaN;
    }
    y = d2(buf, start) * 100 + d2(buf, start + 2);
    mo = d2(buf, start + 5);
    d = d2(buf, start + 8);
    h = d2(buf, start + 11);
    mi = d2(buf, start + 14);
    s = d2(buf, start + 17);
  } else if (len === 14) {
    for (let k = 0; k < 14; k++) if (!isDigit(buf[start + k]!)) return NaN;
    y = d2(buf, start) * 100 + d2(buf, start + 2);
    mo = d2(buf, start + 4);
    d = d2(buf, start + 6);
    h = d2(buf, start + 8);
    mi = d2(buf, start + 10);
    s = d2(buf, start + 12);
  } else {
    return NaN;
  }
  if (!valid(y, mo, d, h, mi, s)) return NaN;
  // A statement's rows share a handful of dates: Date.UTC once per date, not per row.
  const key = y * 10000 + mo * 100 + d;
  if (key !== lastDateKey) {
    lastDateKey = key;
    lastDateMs = Date.UTC(y, mo - 1, d);
    if (new Date(lastDateMs).getUTCDate() !== d) lastDateMs = NaN; // 2026-02-30
  }
  return lastDateMs + ((h * 60 + mi) * 60 + s) * 1000 - CHINA_OFFSET_MS;
}
let lastDateKey = -1;
let lastDateMs = NaN;

const latin1 = new TextDecoder('latin1');

/**
 * ISO 8601 with an offset ("2026-11-20T23:58:00+13:00", "…Z", fractional seconds
 * allowed) as the platform CSV carries it. Returns epoch ms or NaN; a time without an
 * offset is NaN because its day would be a guess.
 */
export function parseIsoWithOffset(buf: Uint8Array, start: number, end: number): number {
  const len = end - start;
  // Fast path: "yyyy-MM-ddTHH:mm:ss" + "Z" or "±HH:mm".
  if ((len === 20 || len === 25) && buf[start + 10] === 84) {
    const base = parseChinaTime(buf, start, start + 19);
    if (Number.isNaN(base)) return NaN;
    const local = base + CHINA_OFFSET_MS; // as if UTC
    if (len === 20) return buf[start + 19] === 90 ? local : NaN;
    const sign = buf[start + 19];
    if ((sign !== 43 && sign !== 45) || buf[start + 22] !== 58) return NaN;
    const oh = d2(buf, start + 20);
    const om = d2(buf, start + 23);
    if (!(oh >= 0 && oh <= 14 && om >= 0 && om <= 59)) return NaN;
    const off = (oh * 60 + om) * 60_000;
    return sign === 43 ? local - off : local + off;
  }
  const text = latin1.decode(buf.subarray(start, end));
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.test(text)) return NaN;
  return Date.parse(text);
}

/** ISO 8601 in China time, for reports: "2026-11-20T23:58:00+08:00". */
export function formatChinaTime(ms: number): string {
  return `${chinaWallIso(ms).slice(0, 19)}+08:00`;
}
