// The gateway lives in China time (UTC+8, no daylight saving): order dates, statement
// days and the times on statements are all UTC+8.

const CHINA_OFFSET_MS = 8 * 3_600_000;

function parts(d: Date): string[] {
  return new Date(d.getTime() + CHINA_OFFSET_MS).toISOString().split(/[-T:.]/);
}

/** `yyyymmdd` in China time. */
export function chinaYmd(d: Date): string {
  const [y, m, day] = parts(d);
  return `${y}${m}${day}`;
}

/** `yyyy-MM-dd HH:mm:ss` in China time. */
export function chinaDateTime(d: Date): string {
  const [y, m, day, hh, mm, ss] = parts(d);
  return `${y}-${m}-${day} ${hh}:${mm}:${ss}`;
}

/** The instant a China-time day starts: `yyyymmdd` → Date. */
export function chinaDayStart(ymd: string): Date {
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(ymd);
  if (!m) throw new Error(`not a yyyymmdd date: ${ymd}`);
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) - CHINA_OFFSET_MS);
  if (chinaYmd(d) !== ymd) throw new Error(`not a calendar date: ${ymd}`);
  return d;
}
