import iconv from 'iconv-lite';
import { parseCsvStatement } from './csv.js';
import { parseOfxStatement } from './ofx.js';

// The operator's bank statement, read back so each payout line can be matched to its debit:
// the CSV exports of New Zealand internet banking (ASB, ANZ, BNZ, Westpac; told apart by their
// header) and OFX 1.x (SGML) and 2.x (XML). Amounts are integer cents, negative for money out.

export interface StatementLine {
  /** YYYY-MM-DD */
  date: string;
  /** Cents; negative = money out. */
  amountMinor: number;
  payee?: string;
  particulars?: string;
  code?: string;
  reference?: string;
  description?: string;
  /** The bank's own id for the transaction where the export has one (ASB's Unique Id, OFX FITID). */
  id?: string;
}

/** Throws KauriError('statement_invalid', reason) on bad input. */
export function parseStatement(body: Buffer, kind: 'csv' | 'ofx'): StatementLine[] {
  if (kind === 'ofx') return parseOfxStatement(body);
  return parseCsvStatement(decodeCsv(body));
}

/** UTF-8 when the bytes are UTF-8; otherwise Windows-1252, which older internet-banking exports write. */
function decodeCsv(body: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    return iconv.decode(body, 'win1252');
  }
}
