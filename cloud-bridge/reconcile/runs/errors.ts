// Errors of the database-backed reconciliation and the HQ API: a stable code, an HTTP
// status, and a message a finance person can act on.
export type RunErrorCode =
  | 'bad_argument'
  | 'not_found'
  | 'conflict'
  | 'day_signed_off'
  | 'statement_rejected'
  | 'no_statement'
  | 'forbidden'
  | 'unauthorized';

const STATUS: Record<RunErrorCode, number> = {
  bad_argument: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  day_signed_off: 409,
  statement_rejected: 422,
  no_statement: 409,
};

export class RunError extends Error {
  readonly status: number;
  constructor(
    readonly code: RunErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'RunError';
    this.status = STATUS[code];
  }
}
