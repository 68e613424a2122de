import { describe, it, expect } from 'vitest';
import { newId, randomToken } from './ids.js';

describe('ids', () => {
  it('are unique and sort in creation order', () => {
    const ids = Array.from({ length: 2000 }, () => newId('ord'));
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    expect(ids[0]).toMatch(/^ord_[0-9A-HJKMNP-TV-Z]{26}$/);
  });
  it('draw their random part from the whole alphabet, afresh in each millisecond', async () => {
    const randomParts = new Set<string>();
    const chars = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const id = newId();
      randomParts.add(id.slice(10));
      for (const c of id.slice(10)) chars.add(c);
      await new Promise((r) => setTimeout(r, 2)); // a new millisecond: no monotonic increment
    }
    expect(randomParts.size).toBe(40);
    expect(chars.size).toBe(32); // 640 characters drawn: every one of the 32 comes up
  });
  it('tokens carry at least the requested randomness', () => {
    const t = randomToken(128);
    expect(Buffer.from(t, 'base64url').length).toBeGreaterThanOrEqual(16);
    expect(randomToken()).not.toBe(randomToken());
  });
});
