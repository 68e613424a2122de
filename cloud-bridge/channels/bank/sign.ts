import {
  createHash,
  createHmac,
  createPublicKey,
  privateEncrypt,
  publicDecrypt,
  constants,
  timingSafeEqual,
  type KeyObject,
} from 'node:crypto';
import iconv from 'iconv-lite';

// PayEase's signatures (README.md beside this file, "Signatures"):
// - HMAC-MD5 (RFC 2104) with the merchant key, lowercase hex, over field values joined
//   without separators; Chinese values are hashed as GBK bytes, the gateway's encoding.
// - v_sign "RSA_MD5": the 32 lowercase hex characters of MD5(src), PKCS#1 v1.5 type 1
//   "encrypted" with the gateway's private key, no DigestInfo; verified by decrypting
//   with the gateway's public key and comparing case-insensitively.
// Every comparison of a received value with an expected one goes through sameHex: a
// byte-by-byte `===` would tell an attacker, by its timing, how much of a forged MAC is right.

export function hmacMd5(key: string, data: string): string {
  // Stryker disable next-line StringLiteral: Node reads an empty encoding name as UTF-8
  const keyBytes = Buffer.from(key, 'utf8');
  return createHmac('md5', keyBytes).update(iconv.encode(data, 'gbk')).digest('hex');
}

export function md5Hex(data: string): string {
  return createHash('md5').update(iconv.encode(data, 'gbk')).digest('hex');
}

/** Compares a received hex string with the expected lowercase one in constant time (case-insensitive, as the gateway's own check). */
export function sameHex(expected: string, got: string | undefined): boolean {
  // As UTF-8 (Buffer's default) a character outside ASCII is bytes of 0x80 and above, which no hex
  // digit is; as latin1 only its low byte would be kept, and 'ɢ' (U+0262) would pass for 'b'.
  const a = Buffer.from(expected.toLowerCase());
  // Stryker disable next-line StringLiteral: a missing value is refused whatever it stands in for, as no hex MAC is that text
  const b = Buffer.from((got ?? '').toLowerCase());
  // Lengths are public (always 32 for an MD5 MAC): only equal-length buffers are compared.
  return a.length === b.length && a.length > 0 && timingSafeEqual(a, b);
}

/** True when `got` is HMAC-MD5(key, data). */
export function macMatches(key: string, data: string, got: string | undefined): boolean {
  return sameHex(hmacMd5(key, data), got);
}

export function rsaMd5Verify(publicKey: KeyObject, src: string, signHex: string): boolean {
  if (!/^[0-9a-fA-F]+$/.test(signHex) || signHex.length % 2 !== 0) return false;
  try {
    const plain = publicDecrypt({ key: publicKey, padding: constants.RSA_PKCS1_PADDING }, Buffer.from(signHex, 'hex'));
    return sameHex(md5Hex(src), plain.toString('latin1'));
  } catch {
    return false;
  }
}

/** Signs as the gateway does (tests, and tools that stand in for the gateway). */
export function rsaMd5Sign(privateKey: KeyObject, src: string): string {
  return privateEncrypt(
    { key: privateKey, padding: constants.RSA_PKCS1_PADDING },
    // Stryker disable next-line StringLiteral: hex digits are the same bytes in ASCII and in UTF-8
    Buffer.from(md5Hex(src), 'ascii'),
  ).toString('hex');
}

const hexToB64url = (hex: string) => Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex').toString('base64url');

/** The gateway's public key: a PEM, or PayEase's key file text `m=<hex>;e=<hex>;`. */
export function parseGatewayPublicKey(text: string): KeyObject {
  // Stryker disable next-line MethodExpression: a PEM is read past blanks around it, and each key=value part is trimmed below
  const trimmed = text.trim();
  if (trimmed.includes('-----BEGIN')) return createPublicKey(trimmed);
  const fields = Object.fromEntries(
    // Stryker disable next-line MethodExpression: an empty part would only add a key "" that nothing reads
    trimmed
      .split(';')
      .filter(Boolean)
      .map((kv) => {
        const i = kv.indexOf('=');
        return [kv.slice(0, i).trim(), kv.slice(i + 1).trim()];
      }),
  );
  // Stryker disable next-line StringLiteral: an absent part fails the pattern whatever text stands in for it
  if (!/^[0-9a-fA-F]+$/.test(fields.m ?? '') || !/^[0-9a-fA-F]+$/.test(fields.e ?? '')) {
    throw new Error('the gateway public key must be a PEM or "m=<hex>;e=<hex>;"');
  }
  return createPublicKey({ key: { kty: 'RSA', n: hexToB64url(fields.m!), e: hexToB64url(fields.e!) }, format: 'jwk' });
}
