import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { KauriError, type ErrorCode } from '../../protocol/errors.js';

// The one boundary where errors become HTTP answers, for every surface of the bridge (merchant
// API, HQ, one-code pages, channel notifies, terminal link): whatever was thrown becomes a
// KauriError of the catalogue, logged once, answered with the catalogue's status (and
// Retry-After when it says when to try again). The API answers `{"error": {"code", "message"}}`;
// a surface that answers people with pages passes its own `render` for the body.

interface ValidationIssue {
  instancePath?: string;
  message?: string;
  params?: { issue?: { path?: Array<string | number>; message?: string } };
}

function fieldOf(issue: ValidationIssue): string {
  const path = issue.params?.issue?.path;
  if (path && path.length) return path.join('.');
  return (issue.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.');
}

/** Names the validation failure precisely, with a code per field where one fits. */
export function validationError(issues: ValidationIssue[], context: string): KauriError {
  const first = issues[0] ?? {};
  const field = fieldOf(first);
  const what = issues
    .map((i) => `${fieldOf(i) || context}: ${i.params?.issue?.message ?? i.message ?? 'invalid'}`)
    .join('; ');
  let code: ErrorCode = 'invalid_request';
  if (/_minor$/.test(field)) code = 'invalid_amount';
  else if (field === 'currency') code = 'unknown_currency';
  const message =
    code === 'invalid_amount'
      ? `${field} must be a positive whole number of minor units (e.g. 1250 for 12.50): ${what}`
      : `Invalid ${context}: ${what}`;
  return new KauriError(code, message, {
    details: issues.map((i) => ({ field: fieldOf(i), message: i.params?.issue?.message ?? i.message })),
  });
}

export function toKauriError(err: unknown): KauriError {
  if (err instanceof KauriError) return err;
  const fe = err as FastifyError & { validation?: ValidationIssue[]; validationContext?: string };
  if (fe?.validation) return validationError(fe.validation, fe.validationContext ?? 'request');
  switch (fe?.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new KauriError('invalid_json', `The request body is not valid JSON: ${fe.message}`);
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new KauriError('payload_too_large', 'The request body is larger than this endpoint accepts');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new KauriError('unsupported_media_type', 'Send JSON with Content-Type: application/json');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new KauriError('invalid_request', 'The Content-Length does not match the body');
  }
  if (err instanceof SyntaxError)
    return new KauriError('invalid_json', `The request body is not valid JSON: ${err.message}`);
  if (fe?.statusCode === 429) return new KauriError('rate_limited', fe.message);
  if (fe?.statusCode && fe.statusCode >= 400 && fe.statusCode < 500)
    return new KauriError('invalid_request', fe.message);
  return new KauriError('internal', undefined, { cause: err });
}

/** How a surface shows an error it did not handle; the status and headers are already set. */
export type ErrorRender = (error: KauriError, req: FastifyRequest, reply: FastifyReply) => unknown;

const renderJson: ErrorRender = (ke, _req, reply) =>
  reply.type('application/json; charset=utf-8').send({ error: ke.toJSON() });

/** The error handler every surface uses: `render` only chooses the body's form. */
export function errorBoundary(render: ErrorRender = renderJson) {
  return (err: unknown, req: FastifyRequest, reply: FastifyReply) => {
    const ke = toKauriError(err);
    if (ke.code === 'internal') req.log.error({ err }, 'request failed');
    else req.log.info({ code: ke.code, reason: ke.message }, 'request refused');
    void reply.status(ke.status);
    if (ke.retryAfterS !== undefined) void reply.header('retry-after', String(ke.retryAfterS));
    return render(ke, req, reply);
  };
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler(errorBoundary());
  app.setNotFoundHandler((req, reply) => {
    void reply
      .status(404)
      .send({ error: { code: 'not_found', message: `No route ${req.method} ${req.url.split('?')[0]}` } });
  });
}
