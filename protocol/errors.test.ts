import { describe, it, expect } from 'vitest';
import { ERRORS, KauriError } from './errors.js';

describe('error catalogue', () => {
  it('gives every code an HTTP status and a message in English and Chinese', () => {
    for (const [code, spec] of Object.entries(ERRORS)) {
      expect(code, code).toMatch(/^[a-z]+(_[a-z]+)*$/);
      expect(spec.status, code).toBeGreaterThanOrEqual(400);
      expect(spec.en.length, code).toBeGreaterThan(3);
      expect(spec.zh, code).toMatch(/[\u4e00-\u9fff]/);
    }
  });
  it('carries code, status and a human message', () => {
    const e = new KauriError('refund_exceeds_remainder', 'Only NZD 2.00 remains refundable');
    expect(e.status).toBe(409);
    expect(e.toJSON()).toEqual({ code: 'refund_exceeds_remainder', message: 'Only NZD 2.00 remains refundable' });
    expect(new KauriError('rate_stale').message).toMatch(/out of date/);
  });
});
