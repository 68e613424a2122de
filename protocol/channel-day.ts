// The channels' day: WeChat Pay, Alipay and the bank keep China time (UTC+8, no daylight
// saving), so a statement for day D holds what the channel recorded between D 00:00 and
// D 24:00 China time, whatever the store's own day is. Every place that needs that day (or a
// China wall-clock time) asks here, so they cannot drift apart.

export const DAY_MS = 86_400_000;
export const CHINA_OFFSET_MS = 8 * 3_600_000;

/** An instant's China wall-clock time as an ISO string read without its zone ("…T08:30:00.000Z" is 08:30 in Beijing). */
export function chinaWallIso(at: Date | number): string {
  return new Date((typeof at === 'number' ? at : at.getTime()) + CHINA_OFFSET_MS).toISOString();
}

/** The channel day (YYYY-MM-DD, UTC+8) an instant falls in. */
export function channelDay(at: Date | number | string): string {
  const ms = typeof at === 'string' ? Date.parse(at) : typeof at === 'number' ? at : at.getTime();
  return chinaWallIso(ms).slice(0, 10);
}

/** Days since 1970-01-01 of the China-time calendar day that contains `ms`. */
export function channelDayNumber(ms: number): number {
  return Math.floor((ms + CHINA_OFFSET_MS) / DAY_MS);
}

/** Start of the China-time day number `day`, as epoch ms. */
export function channelDayStartMs(day: number): number {
  return day * DAY_MS - CHINA_OFFSET_MS;
}
