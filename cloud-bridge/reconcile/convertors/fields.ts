import { RowProblem } from '../errors.js';

/**
 * Splits buf[start, end) on a one-byte separator into S/E (field starts/ends). Returns the
 * field count, or n + 1 as soon as there are more than n fields. Also reports whether any
 * byte was non-ASCII, so only such lines pay for a UTF-8 check.
 */
export function splitFields(buf: Uint8Array, start: number, end: number, sep: number, S: Int32Array, E: Int32Array, n: number): { count: number; high: boolean } {
  let f = 0;
  let fs = start;
  let high = 0;
  for (let i = start; i < end; i++) {
    const b = buf[i]!;
    high |= b;
    if (b === sep) {
      if (f === n - 1) return { count: n + 1, high: (high & 0x80) !== 0 };
      S[f] = fs;
      E[f] = i;
      f++;
      fs = i + 1;
    }
  }
  S[f] = fs;
  E[f] = end;
  return { count: f + 1, high: (high & 0x80) !== 0 };
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
    throw new RowProblem('wrong_header', `not a ${what} header: no column ${missing.map((r) => roles[r][0]).join(', ')}`);
  }
  return cols;
}
