import { describe, expect, it } from 'vitest';
import { parseTrustProxy } from './bridge.js';

// KAURI_TRUST_PROXY / --trust-proxy: nothing is trusted unless said; a hop count trusts
// that many proxies in front of the bridge and no further.

describe('parseTrustProxy', () => {
  it('trusts no proxy by default', () => {
    expect(parseTrustProxy(undefined)).toBe(false);
    expect(parseTrustProxy('')).toBe(false);
    expect(parseTrustProxy(' false ')).toBe(false);
  });
  it('takes addresses and CIDRs as they are, and "true" only when said', () => {
    expect(parseTrustProxy('10.0.0.0/8, 127.0.0.1')).toBe('10.0.0.0/8, 127.0.0.1');
    expect(parseTrustProxy('true')).toBe(true);
  });
  it('counts hops from the bridge outwards', () => {
    const trust = parseTrustProxy('1') as (address: string, hop: number) => boolean;
    expect(trust('10.0.0.1', 0)).toBe(true);
    expect(trust('198.51.100.7', 1)).toBe(false);
  });
});
