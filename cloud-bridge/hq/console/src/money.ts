// Money on the console: integer minor units in, text out, and the decimal a person types
// parsed by its digits (never through a float).

const EXPONENT: Record<string, number> = { JPY: 0, KRW: 0 };
const exponentOf = (currency: string): number => EXPONENT[currency] ?? 2;

/** `1234, 'NZD'` → `'12.34'`, with a minus sign and thousands separators. */
export function formatMinor(minor: number, currency: string): string {
  const exp = exponentOf(currency);
  const neg = minor < 0;
  const digits = String(Math.abs(Math.trunc(minor))).padStart(exp + 1, '0');
  const whole = digits.slice(0, digits.length - exp).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const frac = exp ? `.${digits.slice(-exp)}` : '';
  return `${neg ? '-' : ''}${whole}${frac}`;
}

/** `'NZD 12.34'`, or '' for no amount. */
export function formatMoney(m: { minor: number; currency: string } | null | undefined): string {
  if (!m || typeof m.minor !== 'number') return '';
  return `${m.currency} ${formatMinor(m.minor, m.currency)}`;
}

/**
 * A typed amount in minor units: `'12.3'` → 1230 for NZD. Null for anything that is not a
 * plain non-negative decimal with at most the currency's places.
 */
export function parseMinor(text: string, currency = 'NZD'): number | null {
  const exp = exponentOf(currency);
  const s = text.trim().replace(/,/g, '');
  const m = exp ? /^(\d{1,12})(?:\.(\d{0,2}))?$/.exec(s) : /^(\d{1,12})$/.exec(s);
  if (!m) return null;
  if (exp && m[2] !== undefined && m[2].length > exp) return null;
  const frac = (m[2] ?? '').padEnd(exp, '0');
  const minor = Number(m[1]) * 10 ** exp + (frac ? Number(frac) : 0);
  return Number.isSafeInteger(minor) ? minor : null;
}
