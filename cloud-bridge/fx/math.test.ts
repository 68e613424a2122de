import fc from 'fast-check';
import { Decimal } from 'decimal.js';
import { describe, expect, it } from 'vitest';
import { estimateCnyMinor, exactCny, isMarkup, isRate, merchantReceives, payableCnyMinor } from './math.js';

const rateArb = fc
  .tuple(fc.integer({ min: 1, max: 99 }), fc.integer({ min: 0, max: 99_999_999 }))
  .map(([w, f]) => `${w}.${String(f).padStart(8, '0')}`.replace(/\.?0+$/, '') || '1');
const markupArb = fc.integer({ min: 0, max: 20_000 }).map((bp) => new Decimal(bp).div(100_000).toString());
const amountArb = fc.integer({ min: 1, max: 10_000_000_000 });

describe('bank payable CNY', () => {
  it('is exact for the school-fees example', () => {
    // 12,345.67 NZD × 4.2350 × 1.02 = 53,329.590699 yuan → rounded up to 53,329.60
    const q = payableCnyMinor(1_234_567, 'NZD', '4.2350', '0.02');
    expect(q.exact).toBe('53329.590699');
    expect(q.cnyMinor).toBe(5_332_960);
  });
  it('does not round an exact amount', () => {
    expect(payableCnyMinor(10_000, 'NZD', '4.5', '0').cnyMinor).toBe(45_000);
    expect(payableCnyMinor(1, 'NZD', '4.2350', '0.02').cnyMinor).toBe(5); // 0.0431970 → 0.05
  });
  it('never gives the merchant less than asked, and never adds a whole fen (property)', () => {
    fc.assert(
      fc.property(amountArb, rateArb, markupArb, (amount, rate, markup) => {
        const { cnyMinor } = payableCnyMinor(amount, 'NZD', rate, markup);
        const exactFen = exactCny(amount, 'NZD', rate, markup).mul(100);
        // at least the exact amount, and less than one fen above it
        expect(new Decimal(cnyMinor).gte(exactFen)).toBe(true);
        expect(new Decimal(cnyMinor).minus(exactFen).lt(1)).toBe(true);
        // converted back at the same rate and markup, the merchant gets at least the price
        expect(merchantReceives(cnyMinor, 'NZD', rate, markup).gte(amount)).toBe(true);
        expect(Number.isSafeInteger(cnyMinor)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
  it('rounding loses no fen across many amounts (property)', () => {
    fc.assert(
      fc.property(fc.array(amountArb, { minLength: 1, maxLength: 20 }), rateArb, markupArb, (amounts, rate, markup) => {
        const total = amounts.reduce((s, a) => s + payableCnyMinor(a, 'NZD', rate, markup).cnyMinor, 0);
        const exact = amounts.reduce((s, a) => s.plus(exactCny(a, 'NZD', rate, markup).mul(100)), new Decimal(0));
        expect(new Decimal(total).gte(exact)).toBe(true);
        expect(new Decimal(total).minus(exact).lt(amounts.length)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
  it('handles zero-decimal currencies', () => {
    expect(payableCnyMinor(1000, 'JPY', '0.048', '0.02').cnyMinor).toBe(4896);
  });
});

describe('wallet estimate', () => {
  it('rounds half up with no markup', () => {
    expect(estimateCnyMinor(1000, 'NZD', '4.23456789').cnyMinor).toBe(4235);
    expect(estimateCnyMinor(1, 'NZD', '4.25').cnyMinor).toBe(4);
  });
});

describe('validation', () => {
  it('accepts rates and markups', () => {
    expect(isRate('4.2350')).toBe(true);
    expect(isRate('0')).toBe(false);
    expect(isRate('-1')).toBe(false);
    expect(isRate('4.2e3')).toBe(false);
    expect(isMarkup('0.02')).toBe(true);
    expect(isMarkup('1')).toBe(false);
    expect(isMarkup('abc')).toBe(false);
  });
});
