// WeChat's times are Beijing time (UTC+8, no daylight saving): `time_end`,
// `time_expire`, bill and rate dates.

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

/** yyyyMMddHHmmss in Beijing time. */
export function compactTime(ms: number): string {
  const x = parts(ms);
  return `${x.y}${x.mo}${x.d}${x.h}${x.mi}${x.s}`;
}

/** yyyyMMdd, the Beijing day. */
export function beijingDay(ms: number): string {
  return compactTime(ms).slice(0, 8);
}

/** yyyy-MM-dd HH:mm:ss in Beijing time (statement rows). */
export function billTime(ms: number): string {
  const x = parts(ms);
  return `${x.y}-${x.mo}-${x.d} ${x.h}:${x.mi}:${x.s}`;
}

/** Epoch ms of a Beijing yyyyMMddHHmmss (or yyyyMMdd = midnight), or undefined if it is not one. */
export function parseCompactTime(s: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2}))?$/.exec(s);
  if (!m) return undefined;
  const [y, mo, d, h, mi, sec] = m.slice(1).map((v) => Number(v ?? '0')) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const ms = Date.UTC(y, mo - 1, d, h, mi, sec) - OFFSET;
  // Reject roll-overs such as 20261131 (which Date would read as 1 December).
  return compactTime(ms).slice(0, s.length) === s ? ms : undefined;
}
