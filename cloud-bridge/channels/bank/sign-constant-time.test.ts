import { generateKeyPairSync } from 'node:crypto';
import * as crypto from 'node:crypto';
import { beforeEach, describe, expect, it, vi } from 'vitest';

// Every MAC and signature the bank channel receives is compared with crypto.timingSafeEqual
// on equal-length buffers (a `!==` leaks, by timing, how much of a forged MAC is right).
vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:crypto')>();
  return {
    ...real,
    timingSafeEqual: vi.fn((a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => real.timingSafeEqual(a, b)),
  };
});

const { hmacMd5, macMatches, rsaMd5Sign, rsaMd5Verify, sameHex } = await import('./sign.js');
const spy = vi.mocked(crypto.timingSafeEqual);

describe('bank signatures are compared in constant time', () => {
  beforeEach(() => {
    spy.mockClear();
  });

  it('v_md5money / v_md5info / v_mac: timingSafeEqual on equal-length buffers', () => {
    const mac = hmacMd5('test', '1.00' + '0');
    expect(macMatches('test', '1.00' + '0', mac)).toBe(true);
    expect(macMatches('test', '1.00' + '0', mac.toUpperCase())).toBe(true);
    expect(spy).toHaveBeenCalledTimes(2);
    for (const [a, b] of spy.mock.calls) expect((a as Buffer).length).toBe((b as Buffer).length);
    expect(
      macMatches(
        'test',
        '1.00' + '0',
        mac.replace(/.$/, (c) => (c === '0' ? '1' : '0')),
      ),
    ).toBe(false);
    expect(spy).toHaveBeenCalledTimes(3);
  });

  it('refuses a MAC of another length without comparing bytes, and an empty or missing one', () => {
    const mac = hmacMd5('test', 'x');
    expect(macMatches('test', 'x', mac.slice(0, 31))).toBe(false);
    expect(macMatches('test', 'x', `${mac}0`)).toBe(false);
    expect(macMatches('test', 'x', '')).toBe(false);
    expect(macMatches('test', 'x', undefined)).toBe(false);
    expect(sameHex('', '')).toBe(false);
    expect(spy).not.toHaveBeenCalled();
  });

  it('v_sign (RSA_MD5): the decrypted digest is compared with timingSafeEqual', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const sig = rsaMd5Sign(privateKey, 'a1');
    expect(rsaMd5Verify(publicKey, 'a1', sig)).toBe(true);
    expect(spy).toHaveBeenCalledTimes(1);
  });
});
