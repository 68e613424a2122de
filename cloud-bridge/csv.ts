// The one way Kauri writes CSV (differences.csv, platform.csv, the settlement export,
// `kauri reconcile --differences-out`). RFC 4180 quoting, and no cell a spreadsheet would
// run as a formula: OWASP's "CSV Injection" guidance names the leading characters
// = + - @ tab and carriage return, and its remedy, a leading apostrophe inside a quoted
// cell (https://owasp.org/www-community/attacks/CSV_Injection). A value from outside
// (a note, a channel's trade number, a merchant's name, an out_trade_no, which may begin
// with "-") can therefore never become a formula in HQ's spreadsheet.
// csv-stringify's `escape_formulas` does the same, but it is not a dependency of Kauri and
// these few lines are all of it that we need.

export type CsvValue = string | number | boolean | null | undefined | CsvDecimal;

/**
 * A decimal amount written as a number ("-12.50"), never neutralised: money is not a float in
 * Kauri, yet a bank-statement import wants a signed decimal, and a text "-12.50" would be
 * written as "'-12.50". Only digits, one point and a leading minus get through.
 */
export class CsvDecimal {
  constructor(readonly text: string) {
    if (!/^-?\d+(\.\d+)?$/.test(text)) throw new TypeError(`not a decimal number: ${text}`);
  }
}

const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

/** One cell. Numbers are written as they are (a negative amount stays a number); text is neutralised. */
export function csvCell(v: CsvValue): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v instanceof CsvDecimal) return v.text;
  if (FORMULA_START.test(v)) return `"'${v.replace(/"/g, '""')}"`;
  return NEEDS_QUOTES.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** One line (no line end). */
export function csvLine(values: readonly CsvValue[]): string {
  return values.map(csvCell).join(',');
}

/** A whole document: the header, then each row, each line ending in "\n". */
export function csvDocument(header: readonly string[], rows: Iterable<readonly CsvValue[]>): string {
  const lines = [csvLine(header)];
  for (const r of rows) lines.push(csvLine(r));
  return `${lines.join('\n')}\n`;
}

/**
 * What `csvCell` neutralised, given back (for Kauri's own files read back in, e.g. a
 * platform.csv given to `kauri reconcile --platform`): "'-X" is "-X". Only a quoted cell's
 * text may be passed: an apostrophe before another character is left alone.
 */
export function csvUnneutralise(quotedText: string): string {
  return quotedText.length > 1 && quotedText[0] === "'" && FORMULA_START.test(quotedText.slice(1))
    ? quotedText.slice(1)
    : quotedText;
}
