import { describe, it, expect } from 'vitest';
import { KauriSignatureError, computeSignature, signatureHeader, verifyKauriWebhook } from './verify-signature.js';
import { MAX_ATTEMPTS, retryDelayMs } from './service.js';

const SECRET = 'whsec_test_0123456789abcdef';
const body = JSON.stringify({
  id: 'evt_1',
  type: 'checkout.paid',
  created_at: '2026-11-22T00:00:00.000Z',
  merchant_id: 'mch_1',
  store_id: null,
  data: { a: 1 },
});
const NOW = 1_800_000_000;

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof KauriSignatureError ? err.code : 'other';
  }
  return undefined;
}

describe('verifyKauriWebhook', () => {
  it('accepts what Kauri signs and returns the event', () => {
    const header = signatureHeader(SECRET, body, NOW);
    expect(header).toMatch(/^t=1800000000,v1=[0-9a-f]{64}$/);
    expect(verifyKauriWebhook(body, header, SECRET, { nowS: NOW + 10 })).toMatchObject({
      id: 'evt_1',
      type: 'checkout.paid',
      data: { a: 1 },
    });
    expect(verifyKauriWebhook(Buffer.from(body), [header], SECRET, { nowS: NOW })).toMatchObject({ id: 'evt_1' });
  });

  it('is HMAC-SHA256 over "<t>.<body>" (a known vector)', () => {
    // echo -n '1800000000.{}' | openssl dgst -sha256 -hmac 'whsec_test_0123456789abcdef'
    expect(computeSignature(SECRET, NOW, '{}')).toBe(
      '7de8de2253f23ed2f1ee03677a5c8c84dffff5a5b29787873b2dc14cbb158539',
    );
    expect(computeSignature(SECRET, NOW, '{}')).not.toBe(computeSignature(SECRET, NOW + 1, '{}'));
  });

  it('says exactly what is wrong', () => {
    const header = signatureHeader(SECRET, body, NOW);
    expect(codeOf(() => verifyKauriWebhook(body, undefined, SECRET, { nowS: NOW }))).toBe('missing_header');
    expect(codeOf(() => verifyKauriWebhook(body, 'sha256=abc', SECRET, { nowS: NOW }))).toBe('malformed_header');
    expect(codeOf(() => verifyKauriWebhook(body, header, SECRET, { nowS: NOW + 301 }))).toBe(
      'timestamp_outside_tolerance',
    );
    expect(codeOf(() => verifyKauriWebhook(body.replace('"a":1', '"a":2'), header, SECRET, { nowS: NOW }))).toBe(
      'no_matching_signature',
    );
    expect(codeOf(() => verifyKauriWebhook(body, header, 'whsec_other', { nowS: NOW }))).toBe('no_matching_signature');
    expect(codeOf(() => verifyKauriWebhook(body, header, `${SECRET}\n`, { nowS: NOW }))).toBe('secret_invalid');
    expect(codeOf(() => verifyKauriWebhook(JSON.parse(body), header, SECRET, { nowS: NOW }))).toBe('body_not_raw');
    // Re-serialised JSON (a proxy or framework that parsed it) no longer matches.
    expect(
      codeOf(() => verifyKauriWebhook(JSON.stringify(JSON.parse(body), null, 2), header, SECRET, { nowS: NOW })),
    ).toBe('no_matching_signature');
  });

  it('accepts any one matching v1 among several (secret rotation)', () => {
    const good = signatureHeader(SECRET, body, NOW).split(',')[1];
    expect(verifyKauriWebhook(body, `t=${NOW},v1=${'0'.repeat(64)},${good}`, SECRET, { nowS: NOW }).id).toBe('evt_1');
  });
});

describe('webhook retry schedule', () => {
  it('retries with exponential backoff at least 16 times over at least 24 hours', () => {
    expect(MAX_ATTEMPTS).toBeGreaterThanOrEqual(16);
    const delays = Array.from({ length: MAX_ATTEMPTS - 1 }, (_, i) => retryDelayMs(i + 1));
    for (let i = 1; i < delays.length; i++) expect(delays[i]).toBeGreaterThanOrEqual(delays[i - 1]!);
    expect(delays[1]).toBe(2 * delays[0]!);
    expect(delays.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(24 * 3600_000);
  });
});
