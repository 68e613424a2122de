// Money in statements arrives as decimal text in major units ("12.34"); Kauri keeps
// integer minor units. Parsing works on bytes so a million rows need no strings.

const EXPONENTS: Record<string, number> = {
  JPY: 0,
  KRW: 0,
  VND: 0,
  CLP: 0,
  ISK: 0,
  UGX: 0,
  XAF: 0,
  XOF: 0,
  XPF: 0,
  PYG: 0,
  RWF: 0,
  BHD: 3,
  JOD: 3,
  KWD: 3,
  OMR: 3,
  TND: 3,
  IQD: 3,
  LYD: 3,
};

/** ISO 4217 minor-unit exponent (2 unless listed). */
export function currencyExponent(currency: string): number {
  return EXPONENTS[currency] ?? 2;
}

export const POW10 = [1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000];

/**
 * Parses an unsigned-or-negative decimal ("12.3", "-0.50", "7") held in buf[start, end)
 * into an integer at 10^scale. Returns NaN when the text is not a decimal or has
 * non-zero digits beyond `scale` (a value the unit cannot express exactly).
 */
export function parseScaled(buf: Uint8Array, start: number, end: number, scale: number): number {
  let i = start;
  let neg = false;
  if (i < end && buf[i] === 45) {
    neg = true;
    i++;
  }
  if (i >= end) return NaN;
  let intPart = 0;
  let digits = 0;
  for (; i < end; i++) {
    const c = buf[i]! - 48;
    if (c < 0 || c > 9) break;
    intPart = intPart * 10 + c;
    digits++;
  }
  let frac = 0;
  let fracDigits = 0;
  if (i < end && buf[i] === 46) {
    i++;
    for (; i < end; i++) {
      const c = buf[i]! - 48;
      if (c < 0 || c > 9) return NaN;
      if (fracDigits < scale) {
        frac = frac * 10 + c;
        fracDigits++;
      } else if (c !== 0) {
        return NaN;
      }
    }
    if (fracDigits === 0 && digits === 0) return NaN;
  }
  if (i !== end || digits + fracDigits === 0) return NaN;
  const v = intPart * POW10[scale]! + frac * POW10[scale - fracDigits]!;
  if (!Number.isSafeInteger(v)) return NaN;
  return neg ? -v : v;
}

/** Rounds an integer at 10^from down to 10^to (to ≤ from), half away from zero. */
export function rescaleRound(v: bigint, from: number, to: number): bigint {
  if (from === to) return v;
  const d = 10n ** BigInt(from - to);
  const half = d / 2n;
  return v >= 0n ? (v + half) / d : -((-v + half) / d);
}

/** A sum of scaled integers that stays exact past 2^53 (a million large fees). */
export class ExactSum {
  private small = 0;
  private big = 0n;
  add(v: number): void {
    this.small += v;
    if (this.small > 4e15 || this.small < -4e15) {
      this.big += BigInt(this.small);
      this.small = 0;
    }
  }
  merge(other: ExactSum): void {
    this.big += other.value();
  }
  value(): bigint {
    return this.big + BigInt(this.small);
  }
  static of(v: bigint): ExactSum {
    const s = new ExactSum();
    s.big = v;
    return s;
  }
}

/** Minor units as decimal text at the currency's exponent, for reports. */
export function formatMinor(minor: bigint | number, currency: string): string {
  const exp = currencyExponent(currency);
  const v = BigInt(minor);
  const neg = v < 0n;
  const abs = neg ? -v : v;
  if (exp === 0) return `${neg ? '-' : ''}${abs}`;
  const s = abs.toString().padStart(exp + 1, '0');
  return `${neg ? '-' : ''}${s.slice(0, -exp)}.${s.slice(-exp)}`;
}
