import { KauriError } from '../../../protocol/errors.js';

// Errors of the database-backed reconciliation and the HQ API: a code from the catalogue
// (protocol/errors.ts, which also gives its HTTP status) and a message a finance person can act on.
export type RunErrorCode =
  | 'bad_argument'
  | 'not_found'
  | 'conflict'
  | 'day_signed_off'
  | 'statement_rejected'
  | 'no_statement'
  | 'forbidden'
  | 'unauthorized';

export class RunError extends KauriError {
  declare readonly code: RunErrorCode;
  constructor(code: RunErrorCode, message: string) {
    super(code, message);
    this.name = 'RunError';
  }
}
