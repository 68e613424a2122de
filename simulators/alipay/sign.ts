import { createHash, createSign, createVerify, generateKeyPairSync, timingSafeEqual } from 'node:crypto';
import iconv from 'iconv-lite';

// MAPI signing (docs/protocols/alipay.md): every parameter except sign and
// sign_type, empty values dropped, sorted by key (ASCII), joined raw as k=v&…; then
// MD5 (hex of md5(preSign + key)), RSA (SHA1withRSA) or RSA2 (SHA256withRSA), all over
// the bytes of the string in the request's `_input_charset`. The simulator's own copy:
// simulators share no code with the bridge.

export type SignType = 'MD5' | 'RSA' | 'RSA2';
export const SIGN_TYPES: readonly SignType[] = ['MD5', 'RSA', 'RSA2'];

export function preSignString(params: Readonly<Record<string, string | undefined>>): string {
  return Object.keys(params)
    .filter((k) => k !== 'sign' && k !== 'sign_type' && params[k] !== undefined && params[k] !== '')
    .sort()
    .map((k) => `${k}=${params[k]}`)
    .join('&');
}

export function encodeText(text: string, charset: string): Buffer {
  return /^gb/i.test(charset) ? iconv.encode(text, 'gbk') : Buffer.from(text, 'utf8');
}

export interface SignKeys {
  md5Key?: string;
  /** PEM, PKCS#8 */
  privateKey?: string;
  /** PEM, X.509 SubjectPublicKeyInfo */
  publicKey?: string;
}

/**
 * A reply's pre-sign string as Alipay's SDK builds it (melitigo/AlipaySDK AlipayResponse
 * getPreSignString): every child of <response><NAME>, sorted, empty values kept as `k=`.
 */
export function responsePreSignString(fields: Readonly<Record<string, string>>): string {
  return Object.keys(fields)
    .sort()
    .map((k) => `${k}=${fields[k]}`)
    .join('&');
}

export function sign(
  params: Readonly<Record<string, string | undefined>>,
  type: SignType,
  keys: SignKeys,
  charset = 'UTF-8',
): string {
  return signPreSign(preSignString(params), type, keys, charset);
}

export function signPreSign(pre: string, type: SignType, keys: SignKeys, charset = 'UTF-8'): string {
  if (type === 'MD5') {
    if (!keys.md5Key) throw new Error('no MD5 key');
    return createHash('md5')
      .update(encodeText(pre + keys.md5Key, charset))
      .digest('hex');
  }
  if (!keys.privateKey) throw new Error('no RSA private key');
  return createSign(type === 'RSA' ? 'RSA-SHA1' : 'RSA-SHA256')
    .update(encodeText(pre, charset))
    .sign(keys.privateKey, 'base64');
}

export function verify(
  params: Readonly<Record<string, string | undefined>>,
  type: SignType,
  signature: string,
  keys: SignKeys,
  charset = 'UTF-8',
): boolean {
  const pre = preSignString(params);
  if (type === 'MD5') {
    if (!keys.md5Key) return false;
    const want = createHash('md5')
      .update(encodeText(pre + keys.md5Key, charset))
      .digest('hex');
    const got = signature.toLowerCase();
    return got.length === want.length && timingSafeEqual(Buffer.from(got), Buffer.from(want));
  }
  if (!keys.publicKey) return false;
  // Form posts sometimes arrive with '+' turned into spaces.
  const repaired = signature.replace(/ /g, '+');
  try {
    return createVerify(type === 'RSA' ? 'RSA-SHA1' : 'RSA-SHA256')
      .update(encodeText(pre, charset))
      .verify(keys.publicKey, repaired, 'base64');
  } catch {
    return false;
  }
}

export function generateRsaKeys(): { privateKey: string; publicKey: string } {
  return generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
}
