import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

// WeChat Pay API v2 signatures (docs/protocols/wechat.md): every non-empty field but
// `sign`, sorted by key in ASCII order, joined as k=v&… without URL-encoding, then
// `&key=<API key>` appended — for HMAC-SHA256 too, where the key is also the HMAC key.

export const SIGN_TYPES = ['MD5', 'HMAC-SHA256'] as const;
export type SignType = (typeof SIGN_TYPES)[number];

export type Fields = Record<string, string>;

export function isSignType(v: unknown): v is SignType {
  return v === 'MD5' || v === 'HMAC-SHA256';
}

/** The string that is hashed, without the key (useful in error messages: it holds no secret). */
export function signingString(fields: Readonly<Fields>): string {
  return Object.keys(fields)
    .filter((k) => k !== 'sign' && fields[k] !== undefined && fields[k] !== '')
    .sort()
    .map((k) => `${k}=${fields[k]}`)
    .join('&');
}

export function sign(fields: Readonly<Fields>, apiKey: string, signType: SignType): string {
  const message = `${signingString(fields)}&key=${apiKey}`;
  // A string is hashed as its UTF-8 bytes (Node's default), the encoding v2 signs.
  const digest = signType === 'MD5' ? createHash('md5').update(message) : createHmac('sha256', apiKey).update(message);
  return digest.digest('hex').toUpperCase();
}

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

/**
 * Checks `fields.sign` with the account's configured algorithm, and says why not: a
 * missing sign, a sign_type naming another algorithm, or a mismatch (naming the
 * algorithm and the fields that took part, so an integrator can see whether a field was
 * added, dropped or re-encoded on the way). The message never chooses the algorithm: an
 * HMAC-SHA256 account that let a message say "MD5" would accept the weaker one.
 */
export function checkSignature(fields: Readonly<Fields>, apiKey: string, signType: SignType): SignatureCheck {
  const given = fields.sign;
  if (!given) return { ok: false, reason: 'the message has no sign field' };
  const declared = fields.sign_type;
  if (declared !== undefined && declared !== '' && declared !== signType) {
    return { ok: false, reason: `sign_type "${declared.slice(0, 20)}" is not this account's configured ${signType}` };
  }
  const expected = sign(fields, apiKey, signType);
  const a = Buffer.from(expected);
  const b = Buffer.from(given.toUpperCase());
  if (a.length === b.length && timingSafeEqual(a, b)) return { ok: true };
  const used = Object.keys(fields)
    .filter((k) => k !== 'sign' && fields[k] !== '')
    .sort();
  return {
    ok: false,
    reason: `sign does not match: ${signType} over ${used.length} fields [${used.join(',')}] with this account's API key gives another value (${given.length} hex chars received, ${expected.length} expected)`,
  };
}

/**
 * The parameters a JSAPI page hands to `WeixinJSBridge.invoke('getBrandWCPayRequest', …)`:
 * exactly appId, timeStamp, nonceStr, package, signType, signed like any v2 message.
 */
export function jsapiPayParams(
  input: { appId: string; prepayId: string; timeStamp: string; nonceStr: string; signType: SignType },
  apiKey: string,
): Fields {
  const params: Fields = {
    appId: input.appId,
    timeStamp: input.timeStamp,
    nonceStr: input.nonceStr,
    package: `prepay_id=${input.prepayId}`,
    signType: input.signType,
  };
  return { ...params, paySign: sign(params, apiKey, input.signType) };
}
