import { describe, it, expect } from 'vitest';
import { newId, randomToken } from './ids.js';

describe('ids', () => {
  it('are unique and sort in creation order', () => {
    const ids = Array.from({ length: 2000 }, () => newId('ord'));
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    expect(ids[0]).toMatch(/^ord_[0-9A-HJKMNP-TV-Z]{26}$/);
  });
  it('tokens carry at least the requested randomness', () => {
    const t = randomToken(128);
    expect(Buffer.from(t, 'base64url').length).toBeGreaterThanOrEqual(16);
    expect(randomToken()).not.toBe(randomToken());
  });
});
