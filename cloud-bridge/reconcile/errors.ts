import { KauriError } from '../../protocol/errors.js';

// Reconciliation errors: a code from the catalogue (protocol/errors.ts), a human message, and
// where in a file the problem was (so a rejected statement's report names the line).
export type ReconcileErrorCode =
  | 'bad_argument'
  | 'file_unreadable'
  | 'wrong_encoding'
  | 'wrong_header'
  | 'malformed_row'
  | 'truncated_file'
  | 'summary_mismatch'
  | 'wrong_day'
  | 'database_required'
  | 'output_unwritable';

export class ReconcileError extends KauriError {
  declare readonly code: ReconcileErrorCode;
  readonly file?: string;
  readonly line?: number;
  constructor(code: ReconcileErrorCode, message: string, where: { file?: string; line?: number } = {}) {
    super(code, message);
    this.name = 'ReconcileError';
    this.file = where.file;
    this.line = where.line;
  }

  /** One line for a person: "file.csv line 12: amount "1.234" has more decimals than NZD allows". */
  report(): string {
    const at = [this.file, this.line !== undefined ? `line ${this.line}` : undefined].filter(Boolean).join(' ');
    return at ? `${at}: ${this.message}` : this.message;
  }
}

/** A problem found inside a file while parsing; the convertor adds the line number. */
export class RowProblem extends KauriError {
  declare readonly code: ReconcileErrorCode;
  constructor(code: ReconcileErrorCode, message: string) {
    super(code, message);
    this.name = 'RowProblem';
  }
}
