import {
  createHash,
  createPrivateKey,
  createPublicKey,
  createSign,
  createVerify,
  timingSafeEqual,
  type KeyObject,
} from 'node:crypto';
import iconv from 'iconv-lite';

// MAPI signatures (docs/protocols/alipay.md). The pre-sign string is every
// parameter except `sign` and `sign_type`, empty values dropped, sorted by key in ASCII
// order and joined raw (not URL-encoded) as k=v&…. MD5 is hex(md5(preSign + key)); RSA is
// SHA1withRSA and RSA2 SHA256withRSA, base64. All of them over the bytes of the string in
// the request's `_input_charset`, so a GBK account signs GBK bytes.

export type SignType = 'MD5' | 'RSA' | 'RSA2';
export const SIGN_TYPES: readonly SignType[] = ['MD5', 'RSA', 'RSA2'];
export type Charset = 'UTF-8' | 'GBK';

export function preSignString(params: Readonly<Record<string, string | undefined>>): string {
  return Object.keys(params)
    .filter((k) => k !== 'sign' && k !== 'sign_type' && params[k] !== undefined && params[k] !== '')
    .sort()
    .map((k) => `${k}=${params[k]}`)
    .join('&');
}

export function encodeText(text: string, charset: Charset): Buffer {
  // Buffer.from reads a string as UTF-8.
  return charset === 'GBK' ? iconv.encode(text, 'gbk') : Buffer.from(text);
}

/** A PKCS#8 private key from PEM or from the bare base64 Alipay's key tool prints. */
export function privateKeyFrom(text: string): KeyObject {
  const t = text.trim();
  // Stryker disable next-line MethodExpression: a PEM both starts and ends with dashes, bare base64 does neither
  const key = t.startsWith('-----')
    ? createPrivateKey(t)
    : // Stryker disable next-line Regex: removing each blank one by one leaves what removing runs of them leaves
      createPrivateKey({ key: Buffer.from(t.replace(/\s+/g, ''), 'base64'), format: 'der', type: 'pkcs8' });
  if (key.asymmetricKeyType !== 'rsa') throw new Error('the private key is not an RSA key');
  return key;
}

/** An X.509 SubjectPublicKeyInfo public key from PEM or bare base64 (as Alipay publishes it). */
export function publicKeyFrom(text: string): KeyObject {
  const t = text.trim();
  // Stryker disable next-line MethodExpression: a PEM both starts and ends with dashes, bare base64 does neither
  const key = t.startsWith('-----')
    ? createPublicKey(t)
    : // Stryker disable next-line Regex: removing each blank one by one leaves what removing runs of them leaves
      createPublicKey({ key: Buffer.from(t.replace(/\s+/g, ''), 'base64'), format: 'der', type: 'spki' });
  if (key.asymmetricKeyType !== 'rsa') throw new Error('the public key is not an RSA key');
  return key;
}

export interface SigningKeys {
  md5Key?: string;
  privateKey?: KeyObject;
}

export interface VerifyingKeys {
  md5Key?: string;
  /** Alipay's public key, for RSA and RSA2. */
  publicKey?: KeyObject;
}

const algorithm = (t: 'RSA' | 'RSA2') => (t === 'RSA' ? 'RSA-SHA1' : 'RSA-SHA256');

export function signParams(
  params: Readonly<Record<string, string | undefined>>,
  type: SignType,
  keys: SigningKeys,
  // Stryker disable next-line StringLiteral: any charset but GBK is encoded as UTF-8, so '' signs the same bytes
  charset: Charset = 'UTF-8',
): string {
  const pre = preSignString(params);
  if (type === 'MD5') {
    if (!keys.md5Key) throw new Error('MD5 signing needs the MD5 key');
    return createHash('md5')
      .update(encodeText(pre + keys.md5Key, charset))
      .digest('hex');
  }
  if (!keys.privateKey) throw new Error(`${type} signing needs the merchant private key`);
  return createSign(algorithm(type)).update(encodeText(pre, charset)).sign(keys.privateKey, 'base64');
}

/** Repairs an RSA signature whose '+' became spaces on the way (a form decoded twice). */
export function repairSignature(signature: string): string {
  return signature.replace(/ /g, '+');
}

/**
 * The pre-sign string of a signed reply, built as Alipay's own SDK checks it
 * (melitigo/AlipaySDK AlipayResponse.getPreSignString): every child of <response><NAME>,
 * sorted, empty values kept as `k=` (unlike requests and notifies, where empty values are
 * dropped); a signed refusal without <response> signs `error=CODE`.
 */
export function responsePreSignString(fields: Readonly<Record<string, string>>): string {
  return Object.keys(fields)
    .sort()
    .map((k) => `${k}=${fields[k]}`)
    .join('&');
}

export function verifyParams(
  params: Readonly<Record<string, string | undefined>>,
  type: SignType,
  signature: string,
  keys: VerifyingKeys,
  // Stryker disable next-line StringLiteral: any charset but GBK is encoded as UTF-8, so '' signs the same bytes
  charset: Charset = 'UTF-8',
): boolean {
  return verifyPreSign(preSignString(params), type, signature, keys, charset);
}

export function verifyPreSign(
  pre: string,
  type: SignType,
  signature: string,
  keys: VerifyingKeys,
  // Stryker disable next-line StringLiteral: any charset but GBK is encoded as UTF-8, so '' signs the same bytes
  charset: Charset = 'UTF-8',
): boolean {
  if (type === 'MD5') {
    if (!keys.md5Key) return false;
    const want = createHash('md5')
      .update(encodeText(pre + keys.md5Key, charset))
      .digest('hex');
    const got = signature.trim().toLowerCase();
    return got.length === want.length && timingSafeEqual(Buffer.from(got), Buffer.from(want));
  }
  // Stryker disable next-line ConditionalExpression: without a key Node's verify throws, and the catch below says no as well
  if (!keys.publicKey) return false;
  try {
    return createVerify(algorithm(type))
      .update(encodeText(pre, charset))
      .verify(keys.publicKey, repairSignature(signature), 'base64');
  } catch {
    return false;
  }
}
