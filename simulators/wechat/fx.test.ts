import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { cashFee, cashRefund, formatMajor, rateToWechat } from './fx.js';

describe('simulator money', () => {
  it('shows major units by the currency exponent', () => {
    expect(formatMajor(888, 'NZD')).toBe('8.88');
    expect(formatMajor(5, 'NZD')).toBe('0.05');
    expect(formatMajor(1200, 'JPY')).toBe('1200');
    expect(formatMajor(1234, 'KWD')).toBe('1.234');
  });

  it('carries rates as integer × 10^8 and refuses nonsense', () => {
    expect(rateToWechat('4.15')).toBe('415000000');
    expect(rateToWechat('0.04712345')).toBe('4712345');
    expect(() => rateToWechat('4.123456789')).toThrow();
    expect(() => rateToWechat('0')).toThrow();
    expect(() => rateToWechat('-1')).toThrow();
    expect(() => rateToWechat('1e3')).toThrow();
  });

  it('converts to CNY fen, half up', () => {
    expect(cashFee(1000, 'NZD', '412345678')).toBe(4123);
    expect(cashFee(1, 'NZD', '450000000')).toBe(5); // 4.5 fen → 5
    expect(cashFee(100, 'JPY', '4700000')).toBe(470); // ¥100 × 0.047 = 4.70 CNY
    expect(cashFee(777, 'CNY', '100000000')).toBe(777);
  });

  it('splits the CNY of partial refunds so they add up to exactly what was paid', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000_000 }),
        fc.integer({ min: 1, max: 100_000_000 }),
        fc.array(fc.integer({ min: 1, max: 1000 }), { minLength: 1, maxLength: 50 }),
        (total, cash, parts) => {
          const sum = parts.reduce((a, b) => a + b, 0);
          // Scale the parts so they refund the whole order.
          const refunds = parts.map((p) => Math.floor((p * total) / sum));
          refunds[refunds.length - 1]! += total - refunds.reduce((a, b) => a + b, 0);
          let before = 0;
          let cny = 0;
          for (const r of refunds) {
            const c = cashRefund(cash, total, before, r);
            expect(c).toBeGreaterThanOrEqual(0);
            cny += c;
            before += r;
          }
          expect(cny).toBe(cash);
        },
      ),
    );
  });
});
