import { describe, it, expect } from 'vitest';
import { ScanFilter, backoffDelay } from './scan.js';

describe('scan field', () => {
  it('recognises the wallet by prefix and refuses anything else', () => {
    const f = new ScanFilter();
    expect(f.check('134567890123456789\r\n')).toEqual({ ok: true, code: '134567890123456789', channel: 'wechat' });
    expect(f.check('2812345678901234')).toMatchObject({ ok: true, channel: 'alipay' });
    for (const bad of ['', 'hello', '1234', '164567890123456789', '13456789012345678a'])
      expect(f.check(bad)).toMatchObject({ ok: false, reason: 'not_a_payment_code' });
  });
  it('ignores the same code again within the window, and takes it after', () => {
    let now = 1000;
    const f = new ScanFilter(5000, () => now);
    expect(f.check('134567890123456789').ok).toBe(true);
    // Not yet taken (the scan was refused for its amount, say): the same code is still new.
    expect(f.check('134567890123456789').ok).toBe(true);
    f.took('134567890123456789');
    now += 4000;
    expect(f.check('134567890123456789')).toMatchObject({ ok: false, reason: 'duplicate' });
    expect(f.check('144567890123456789').ok).toBe(true);
    now += 1001;
    expect(f.check('134567890123456789').ok).toBe(true);
  });
});

describe('reconnect backoff', () => {
  it('grows exponentially to a cap, with jitter between half and all of it', () => {
    expect(backoffDelay(0, () => 0)).toBe(250);
    expect(backoffDelay(0, () => 1)).toBe(500);
    expect(backoffDelay(3, () => 1)).toBe(4000);
    expect(backoffDelay(50, () => 1)).toBe(30_000);
    expect(backoffDelay(50, () => 0)).toBe(15_000);
    const spread = new Set(Array.from({ length: 50 }, () => backoffDelay(4)));
    expect(spread.size).toBeGreaterThan(10);
  });
});
