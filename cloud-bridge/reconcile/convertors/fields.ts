import { RowProblem } from '../errors.js';

export const HIGH_BIT = 1 << 24;
export const QUOTE_BIT = 1 << 25;
export const COUNT_MASK = HIGH_BIT - 1;

/**
 * Splits buf[start, end) on a one-byte separator into S/E (field starts/ends). Returns the
 * field count (n + 1 as soon as there are more than n), plus HIGH_BIT when a byte was
 * non-ASCII (only such lines pay for a UTF-8 check) and QUOTE_BIT when a '"' was seen.
 * Flags in one number: this runs once per row of a million-row file, so nothing is allocated.
 */
export function splitFields(
  buf: Uint8Array,
  start: number,
  end: number,
  sep: number,
  S: Int32Array,
  E: Int32Array,
  n: number,
): number {
  let f = 0;
  let fs = start;
  let high = 0;
  let quote = 0;
  for (let i = start; i < end; i++) {
    const b = buf[i]!;
    high |= b;
    if (b === sep) {
      if (f === n - 1) return n + 1;
      S[f] = fs;
      E[f] = i;
      f++;
      fs = i + 1;
    } else if (b === 34) {
      quote = QUOTE_BIT;
    }
  }
  S[f] = fs;
  E[f] = end;
  return (f + 1) | (high & 0x80 ? HIGH_BIT : 0) | quote;
}

/** Splits a WeChat data row: backtick-prefixed fields joined by ",`". Same return as splitFields. */
export function splitBacktickFields(
  buf: Uint8Array,
  start: number,
  end: number,
  S: Int32Array,
  E: Int32Array,
  n: number,
): number {
  let f = 0;
  let fs = start + 1;
  let high = 0;
  for (let i = fs; i < end; i++) {
    const b = buf[i]!;
    high |= b;
    if (b === 44 && buf[i + 1] === 96) {
      if (f === n - 1) return n + 1;
      S[f] = fs;
      E[f] = i;
      f++;
      i++;
      fs = i + 1;
    }
  }
  S[f] = fs;
  E[f] = end;
  return (f + 1) | (high & 0x80 ? HIGH_BIT : 0);
}

export const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * splitBacktickFields four bytes at a time: most words of a row hold no backtick, and a
 * word test (the "has zero byte" trick on word ^ 0x60606060) costs about what one byte
 * compare does. `u32` views the same memory as `buf` (buf.byteOffset a multiple of 4);
 * candidates the trick reports are checked byte by byte, so false positives are harmless.
 */
export function splitBacktickFieldsWords(
  buf: Uint8Array,
  u32: Uint32Array,
  start: number,
  end: number,
  S: Int32Array,
  E: Int32Array,
  n: number,
): number {
  let f = 0;
  let fs = start + 1;
  let high = 0;
  let i = start + 1;
  const aligned = Math.min(end, (i + 3) & ~3);
  for (; i < aligned; i++) {
    const b = buf[i]!;
    high |= b;
    if (b === 96 && buf[i - 1] === 44 && i - 1 >= fs) {
      if (f === n - 1) return n + 1;
      S[f] = fs;
      E[f] = i - 1;
      f++;
      fs = i + 1;
    }
  }
  const wEnd = end >> 2;
  for (let w = i >> 2; w < wEnd; w++) {
    const v = u32[w]!;
    high |= v;
    const x = v ^ 0x60606060;
    let t = (x - 0x01010101) & ~x & 0x80808080;
    while (t !== 0) {
      const q = (w << 2) + ((31 - Math.clz32(t & -t)) >> 3);
      t &= t - 1;
      if (buf[q] === 96 && buf[q - 1] === 44 && q - 1 >= fs) {
        if (f === n - 1) return n + 1;
        S[f] = fs;
        E[f] = q - 1;
        f++;
        fs = q + 1;
      }
    }
  }
  for (i = Math.max(i, wEnd << 2); i < end; i++) {
    const b = buf[i]!;
    high |= b;
    if (b === 96 && buf[i - 1] === 44 && i - 1 >= fs) {
      if (f === n - 1) return n + 1;
      S[f] = fs;
      E[f] = i - 1;
      f++;
      fs = i + 1;
    }
  }
  S[f] = fs;
  E[f] = end;
  return (f + 1) | (high & 0x80808080 ? HIGH_BIT : 0);
}

/** True if buf[start, end) holds the byte c. */
export function hasByte(buf: Uint8Array, start: number, end: number, c: number): boolean {
  for (let i = start; i < end; i++) if (buf[i] === c) return true;
  return false;
}

/** Finds columns by header name (case-insensitive); a missing required column is a wrong header. */
export function columnsByName<R extends string>(
  names: string[],
  roles: Record<R, readonly string[]>,
  required: readonly R[],
  what: string,
): Record<R, number> {
  const norm = names.map((n) => n.trim().toLowerCase());
  const cols = {} as Record<R, number>;
  for (const role of Object.keys(roles) as R[]) {
    cols[role] = -1;
    for (const alias of roles[role]) {
      const i = norm.indexOf(alias.toLowerCase());
      if (i >= 0) {
        cols[role] = i;
        break;
      }
    }
  }
  const missing = required.filter((r) => cols[r] < 0);
  if (missing.length > 0) {
    throw new RowProblem(
      'wrong_header',
      `not a ${what} header: no column ${missing.map((r) => roles[r][0]).join(', ')}`,
    );
  }
  return cols;
}
