// Times as the console shows them. A payment's times are read in its store's time zone (the
// zone its date filter is in), with the zone's abbreviation, so a list across stores in
// different zones shows each row in its own store's time; other times (sessions, the audit
// log) in the browser's zone.

export type TimeStyle = 'long' | 'short';

const formats = new Map<string, Intl.DateTimeFormat>();

function format(locale: string, style: TimeStyle, timeZone: string | undefined): Intl.DateTimeFormat {
  const key = `${locale}|${style}|${timeZone ?? ''}`;
  let f = formats.get(key);
  if (!f) {
    const zone = timeZone ? { timeZone, timeZoneName: 'short' as const } : {};
    f =
      style === 'long'
        ? new Intl.DateTimeFormat(locale, {
            year: 'numeric',
            month: 'short',
            day: 'numeric',
            hour: '2-digit',
            minute: '2-digit',
            second: '2-digit',
            hour12: false,
            ...zone,
          })
        : new Intl.DateTimeFormat(locale, {
            day: 'numeric',
            month: 'short',
            hour: '2-digit',
            minute: '2-digit',
            hour12: false,
            ...zone,
          });
    formats.set(key, f);
  }
  return f;
}

/**
 * `iso` in `locale`, in `timeZone` (an IANA zone, with its abbreviation: `NZDT`, `AEDT`) or,
 * without one, the browser's. '' for no time; the text itself when it is not a time; the
 * browser's zone when `timeZone` is one this browser does not know.
 */
export function formatTime(
  iso: string | null | undefined,
  locale: string,
  style: TimeStyle,
  timeZone?: string | null,
): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  try {
    return format(locale, style, timeZone ?? undefined).format(d);
  } catch {
    return format(locale, style, undefined).format(d);
  }
}
