import { createCipheriv, createDecipheriv, createHash, randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import { KauriError } from '../../protocol/errors.js';

// Channel credentials are sealed at rest with AES-256-GCM under a key derived from
// KAURI_SECRET_KEY. The sealed form names its version so the scheme can change later.

export class SecretBox {
  private readonly key: Buffer;
  constructor(secretKey: string) {
    if (!secretKey || secretKey.length < 16) {
      throw new KauriError('config_invalid', 'KAURI_SECRET_KEY must be set to at least 16 characters');
    }
    this.key = createHash('sha256').update(`kauri-secret-box:v1:${secretKey}`).digest();
  }

  seal(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return `v1.${iv.toString('base64url')}.${body.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}`;
  }

  open(sealed: string): string {
    const [v, iv, body, tag] = sealed.split('.');
    if (v !== 'v1' || !iv || body === undefined || !tag)
      throw new KauriError('config_invalid', 'Sealed secret is malformed');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new KauriError(
        'config_invalid',
        'Cannot decrypt channel credentials: is KAURI_SECRET_KEY the one they were sealed with?',
      );
    }
  }
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function safeEqualHex(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}

// Passwords of people (HQ and merchant users) get a slow, salted hash.
const SCRYPT = { N: 16384, r: 8, p: 1 } as const;

export function hashPassword(password: string): string {
  const salt = randomBytes(16);
  const hash = scryptSync(password, salt, 32, SCRYPT);
  return `scrypt$${salt.toString('base64url')}$${hash.toString('base64url')}`;
}

// Checked synchronously on purpose: on libuv's shared thread pool (async scrypt) a login queues
// behind the pool's other work, and the HQ page e2e saw a login unanswered for 10 s that way (not
// with a larger pool). The cost is the event loop held for one hash per login let through.
export function verifyPassword(password: string, stored: string): boolean {
  const [scheme, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const actual = scryptSync(password, Buffer.from(salt, 'base64url'), expected.length, SCRYPT);
  return timingSafeEqual(expected, actual);
}

/**
 * A stored hash that no password matches, costing exactly what a real one costs to check (a
 * random salt and a random "hash"): checked for user names that do not exist. Nothing is hashed
 * to make it, so the first unknown name is no slower than the next.
 */
export function unmatchableHash(): string {
  return `scrypt$${randomBytes(16).toString('base64url')}$${randomBytes(32).toString('base64url')}`;
}
