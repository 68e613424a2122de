import { createHmac, timingSafeEqual } from 'node:crypto';

/*
 * Verifying Kauri webhooks — copy this file into your own code (it needs only Node's crypto).
 *
 * Every webhook Kauri sends is a POST with a JSON body and these headers:
 *   Kauri-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>
 *   Kauri-Event-Id:  evt_…   (the same for every retry of one event: de-duplicate on it)
 *   Kauri-Event-Type: checkout.paid | payment.paid | refund.succeeded | …
 * The signature is HMAC-SHA256, keyed with your webhook secret (the `secret` that
 * `PUT /api/v1/webhook` returned), over `<t>.<raw body>`: the timestamp, a dot, and the
 * body exactly as received. Verify before you parse, and answer 2xx once you have stored
 * the event; anything else (or no answer within 10 s) is retried with backoff for more
 * than a day.
 *
 *   import { verifyKauriWebhook } from './verify-signature.js';
 *   app.post('/kauri/webhook', express.raw({ type: '*\/*' }), (req, res) => {
 *     let event;
 *     try {
 *       event = verifyKauriWebhook(req.body, req.get('kauri-signature'), process.env.KAURI_WEBHOOK_SECRET);
 *     } catch (err) {
 *       return res.status(400).send(err.message);
 *     }
 *     if (!alreadyHandled(event.id)) handle(event); // event.type, event.data
 *     res.sendStatus(204);
 *   });
 */

export const SIGNATURE_HEADER = 'kauri-signature';
export const EVENT_ID_HEADER = 'kauri-event-id';
/** Signatures older (or newer) than this are refused, so a captured request cannot be replayed later. */
export const DEFAULT_TOLERANCE_S = 300;

export interface KauriWebhookEvent<T = Record<string, unknown>> {
  /** Unique per event; retries carry the same id. */
  id: string;
  type: string;
  created_at: string;
  merchant_id: string;
  store_id: string | null;
  data: T;
}

/**
 * What can be wrong with a webhook. These are codes of Kauri's error catalogue too; this file
 * keeps its own small class so that it stays one file a merchant can copy.
 */
export const SIGNATURE_ERROR_CODES = [
  'missing_header',
  'malformed_header',
  'timestamp_outside_tolerance',
  'no_matching_signature',
  'body_not_raw',
  'secret_invalid',
  'body_not_json',
] as const;
export type SignatureErrorCode = (typeof SIGNATURE_ERROR_CODES)[number];

export class KauriSignatureError extends Error {
  constructor(
    readonly code: SignatureErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'KauriSignatureError';
  }
}

/** The hex HMAC-SHA256 of `<timestamp>.<body>`. */
export function computeSignature(secret: string, timestamp: number, body: string | Buffer): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}

/** A valid header for a body, as Kauri would send it (for your tests). */
export function signatureHeader(
  secret: string,
  body: string | Buffer,
  timestamp = Math.floor(Date.now() / 1000),
): string {
  return `t=${timestamp},v1=${computeSignature(secret, timestamp, body)}`;
}

/**
 * Checks a webhook's signature and returns the parsed event, or throws a
 * KauriSignatureError saying exactly what is wrong.
 */
export function verifyKauriWebhook<T = Record<string, unknown>>(
  rawBody: string | Buffer,
  header: string | string[] | undefined | null,
  secret: string,
  options: { toleranceS?: number; nowS?: number } = {},
): KauriWebhookEvent<T> {
  if (typeof rawBody !== 'string' && !Buffer.isBuffer(rawBody)) {
    throw new KauriSignatureError(
      'body_not_raw',
      'Pass the raw request body (a string or Buffer), not parsed JSON: re-serialised JSON does not match the signature',
    );
  }
  if (typeof secret !== 'string' || secret.length === 0)
    throw new KauriSignatureError('secret_invalid', 'The webhook secret is empty');
  if (secret.trim() !== secret)
    throw new KauriSignatureError(
      'secret_invalid',
      'The webhook secret has leading or trailing whitespace; copy it exactly',
    );
  const value = Array.isArray(header) ? header[0] : header;
  if (!value)
    throw new KauriSignatureError(
      'missing_header',
      'No Kauri-Signature header: is this request from Kauri, and does your proxy pass the header on?',
    );
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim();
    const v = part.slice(eq + 1).trim();
    if (key === 't' && /^\d{1,12}$/.test(v)) timestamp = Number(v);
    else if (key === 'v1' && /^[0-9a-f]{64}$/i.test(v)) signatures.push(v.toLowerCase());
  }
  if (timestamp === undefined || signatures.length === 0) {
    throw new KauriSignatureError(
      'malformed_header',
      `Kauri-Signature must look like "t=<unix seconds>,v1=<64 hex digits>", got "${value.slice(0, 120)}"`,
    );
  }
  const now = options.nowS ?? Math.floor(Date.now() / 1000);
  const tolerance = options.toleranceS ?? DEFAULT_TOLERANCE_S;
  if (Math.abs(now - timestamp) > tolerance) {
    throw new KauriSignatureError(
      'timestamp_outside_tolerance',
      `The signature's timestamp is ${now - timestamp} s from now (tolerance ${tolerance} s): a replay, or a clock that is off`,
    );
  }
  const expected = Buffer.from(computeSignature(secret, timestamp, rawBody), 'hex');
  const ok = signatures.some((s) => {
    const given = Buffer.from(s, 'hex');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  if (!ok) {
    throw new KauriSignatureError(
      'no_matching_signature',
      'The signature does not match this body and secret: check the secret (the latest PUT /api/v1/webhook answer) and that the body is byte-for-byte what was received',
    );
  }
  try {
    return JSON.parse(Buffer.isBuffer(rawBody) ? rawBody.toString('utf8') : rawBody) as KauriWebhookEvent<T>;
  } catch {
    throw new KauriSignatureError('body_not_json', 'The body is signed but is not JSON');
  }
}
