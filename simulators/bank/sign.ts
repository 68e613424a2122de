import {
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  privateEncrypt,
  publicDecrypt,
  constants,
  timingSafeEqual,
  type KeyObject,
} from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import iconv from 'iconv-lite';

// PayEase's two signatures (docs/protocols/payease-bank.md):
// - "MD5" is RFC 2104 HMAC-MD5 with the merchant key, lowercase hex, over field values
//   concatenated without separators. Chinese values are hashed as GBK bytes, the
//   gateway's own encoding.
// - v_sign is "RSA_MD5": the 32 lowercase hex characters of MD5(src) encrypted with the
//   gateway's private key under PKCS#1 v1.5 type 1 padding, without a DigestInfo, hex.

export function hmacMd5(key: string, data: string): string {
  return createHmac('md5', Buffer.from(key, 'utf8')).update(iconv.encode(data, 'gbk')).digest('hex');
}

export function md5Hex(data: string): string {
  return createHash('md5').update(iconv.encode(data, 'gbk')).digest('hex');
}

/** The gateway's check of a merchant MAC: constant time, case-insensitive, equal lengths only. */
export function macOk(key: string, data: string, got: string | undefined): boolean {
  const want = Buffer.from(hmacMd5(key, data), 'latin1');
  const have = Buffer.from((got ?? '').toLowerCase(), 'latin1');
  return want.length === have.length && timingSafeEqual(want, have);
}

export function rsaMd5Sign(privateKey: KeyObject, src: string): string {
  return privateEncrypt(
    { key: privateKey, padding: constants.RSA_PKCS1_PADDING },
    Buffer.from(md5Hex(src), 'ascii'),
  ).toString('hex');
}

export function rsaMd5Verify(publicKey: KeyObject, src: string, signHex: string): boolean {
  if (!/^[0-9a-fA-F]+$/.test(signHex) || signHex.length % 2 !== 0) return false;
  try {
    const plain = publicDecrypt({ key: publicKey, padding: constants.RSA_PKCS1_PADDING }, Buffer.from(signHex, 'hex'));
    const want = Buffer.from(md5Hex(src), 'latin1');
    const have = Buffer.from(plain.toString('latin1').toLowerCase(), 'latin1');
    return want.length === have.length && timingSafeEqual(want, have);
  } catch {
    return false;
  }
}

const b64urlToHex = (s: string) => Buffer.from(s, 'base64url').toString('hex');

/** The gateway's key file format: `m=<hex modulus>;e=<hex exponent>;` (private adds the CRT parts). */
export function payeaseKeyText(key: KeyObject): string {
  const jwk = key.export({ format: 'jwk' });
  const parts: Array<[string, string | undefined]> = [
    ['m', jwk.n],
    ['e', jwk.e],
  ];
  if (key.type === 'private') {
    parts.push(
      ['privateExponent', jwk.d],
      ['p', jwk.p],
      ['q', jwk.q],
      ['dP', jwk.dp],
      ['dQ', jwk.dq],
      ['qInv', jwk.qi],
    );
  }
  return parts.map(([k, v]) => `${k}=${b64urlToHex(v ?? '')};`).join('');
}

export interface GatewayKeys {
  privateKey: KeyObject;
  publicKey: KeyObject;
  publicPem: string;
  publicKeyText: string;
}

/** The gateway's RSA key pair: generated once into `dir` (kept in memory without one). */
export function ensureGatewayKeys(dir: string | undefined, bits = 1024): GatewayKeys {
  const privPath = dir ? join(dir, 'bank-private.pem') : undefined;
  let privateKey: KeyObject;
  if (privPath && existsSync(privPath)) {
    privateKey = createPrivateKey(readFileSync(privPath, 'utf8'));
  } else {
    privateKey = generateKeyPairSync('rsa', { modulusLength: bits }).privateKey;
  }
  const publicKey = createPublicKey(privateKey);
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const publicKeyText = payeaseKeyText(publicKey);
  if (dir && privPath && !existsSync(privPath)) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(privPath, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), { mode: 0o600 });
    writeFileSync(join(dir, 'bank-public.pem'), publicPem);
    writeFileSync(join(dir, `Public${bits}.key`), publicKeyText);
  }
  return { privateKey, publicKey, publicPem, publicKeyText };
}
