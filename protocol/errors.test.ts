import { STATUS_CODES } from 'node:http';
import { describe, it, expect } from 'vitest';
import { ERRORS, KauriError } from './errors.js';

describe('error catalogue', () => {
  it('gives every code an HTTP status and a message in English and Chinese', () => {
    for (const [code, spec] of Object.entries(ERRORS)) {
      expect(code, code).toMatch(/^[a-z]+(_[a-z]+)*$/);
      // An error status HTTP defines: a client's fault (4xx) or ours (5xx).
      expect(Number.isInteger(spec.status), code).toBe(true);
      expect(spec.status >= 400 && spec.status <= 599, `${code}: ${spec.status}`).toBe(true);
      expect(STATUS_CODES[spec.status], `${code}: ${spec.status}`).toBeDefined();
      // Both languages, each in its own script.
      expect(spec.en.trim().length, code).toBeGreaterThan(3);
      expect(spec.en, code).not.toMatch(/[\u4e00-\u9fff]/);
      expect(spec.zh.trim().length, code).toBeGreaterThan(1);
      expect(spec.zh, code).toMatch(/[\u4e00-\u9fff]/);
    }
  });
  it('carries code, status and a human message', () => {
    const e = new KauriError('refund_exceeds_remainder', 'Only NZD 2.00 remains refundable');
    expect(e.status).toBe(409);
    expect(e.toJSON()).toEqual({ code: 'refund_exceeds_remainder', message: 'Only NZD 2.00 remains refundable' });
    expect(new KauriError('rate_stale').message).toMatch(/out of date/);
  });
  it('gives every thrown error class its code, status and Chinese from the catalogue', () => {
    const e = new KauriError('too_many_logins', 'wait 4 s', { retryAfterS: 4 });
    expect(e.status).toBe(429);
    expect(e.retryAfterS).toBe(4);
    expect(e.zh).toBe(ERRORS.too_many_logins.zh);
  });
});
