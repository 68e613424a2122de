// Alipay's times are Beijing time (UTC+8): notify_time, gmt_payment, file days.

const OFFSET = 8 * 3600_000;

function parts(ms: number) {
  const d = new Date(ms + OFFSET);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return {
    y: p(d.getUTCFullYear(), 4),
    mo: p(d.getUTCMonth() + 1),
    d: p(d.getUTCDate()),
    h: p(d.getUTCHours()),
    mi: p(d.getUTCMinutes()),
    s: p(d.getUTCSeconds()),
  };
}

/** yyyyMMddHHmmss */
export function compactTime(ms: number): string {
  const x = parts(ms);
  return `${x.y}${x.mo}${x.d}${x.h}${x.mi}${x.s}`;
}

/** yyyy-MM-dd HH:mm:ss */
export function dashedTime(ms: number): string {
  const x = parts(ms);
  return `${x.y}-${x.mo}-${x.d} ${x.h}:${x.mi}:${x.s}`;
}

/** yyyyMMdd, the Beijing day. */
export function beijingDay(ms: number): string {
  return compactTime(ms).slice(0, 8);
}

/** Epoch ms of Beijing midnight starting a yyyyMMdd day, or undefined. */
export function dayStart(day: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(day);
  if (!m) return undefined;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) - OFFSET;
  return beijingDay(ms) === day ? ms : undefined;
}

/** Parses yyyy-MM-dd HH:mm:ss or yyyyMMddHHmmss (Beijing) or epoch ms; undefined if none. */
export function parseAlipayTime(s: string): number | undefined {
  if (/^\d{13}$/.test(s)) return Number(s);
  const m = /^(\d{4})-?(\d{2})-?(\d{2}) ?(\d{2}):?(\d{2}):?(\d{2})$/.exec(s);
  if (!m) return undefined;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])) - OFFSET;
  return Number.isNaN(ms) ? undefined : ms;
}
