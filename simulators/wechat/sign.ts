import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

// WeChat Pay API v2 signature (docs/protocols/wechat.md): every field except `sign`,
// empty values dropped, keys in ASCII order, `k=v` joined with `&` without URL-encoding,
// then `&key=<APIv2 key>`; MD5 or HMAC-SHA256 (keyed with the same API key, and the
// `&key=` suffix is still appended), uppercase hex. `sign_type`, when sent, is signed
// like any other field.

export type SignType = 'MD5' | 'HMAC-SHA256';

export function isSignType(v: string | undefined): v is SignType {
  return v === 'MD5' || v === 'HMAC-SHA256';
}

export function stringToSign(fields: Record<string, string | undefined>, key: string): string {
  const keys = Object.keys(fields)
    .filter((k) => k !== 'sign' && fields[k] !== undefined && fields[k] !== '')
    .sort();
  return `${keys.map((k) => `${k}=${fields[k]}`).join('&')}&key=${key}`;
}

export function sign(fields: Record<string, string | undefined>, key: string, type: SignType = 'MD5'): string {
  const s = stringToSign(fields, key);
  const digest = type === 'MD5' ? createHash('md5').update(s, 'utf8') : createHmac('sha256', key).update(s, 'utf8');
  return digest.digest('hex').toUpperCase();
}

/** Checks `fields.sign` with the algorithm the request named (`sign_type`, MD5 when absent). */
export function verify(fields: Record<string, string | undefined>, key: string, type: SignType): boolean {
  const given = fields.sign;
  if (!given) return false;
  const expected = Buffer.from(sign(fields, key, type));
  const actual = Buffer.from(given.toUpperCase());
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}
