// The operator's bank statement, read back: NZ internet-banking CSV exports and OFX (being filled in).

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
}

/** Throws KauriError('statement_invalid', reason) on bad input. */
export function parseStatement(body: Buffer, kind: 'csv' | 'ofx'): StatementLine[] {
  void body;
  void kind;
  throw new Error('not implemented');
}
