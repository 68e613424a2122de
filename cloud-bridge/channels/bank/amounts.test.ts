import { describe, expect, it } from 'vitest';
import { money } from '../../../protocol/money.js';
import { payableCny, refundCny } from './amounts.js';

const nzd = (minor: number) => money(minor, 'NZD');
const cny = (minor: number) => money(minor, 'CNY');

/** Refunds `parts` of `price` one after another, as the bridge asks: each with the total before it. */
function refundInParts(parts: number[], price: number, paid: number): number[] {
  let before = 0;
  return parts.map((part) => {
    const asked = refundCny(nzd(part), nzd(price), cny(paid), nzd(before)).minor;
    before += part;
    return asked;
  });
}

describe('bank refund amounts in CNY', () => {
  it('pays the quote in CNY, or the price when it is CNY, and refuses anything else', () => {
    expect(payableCny(nzd(100), cny(431))).toEqual(cny(431));
    expect(payableCny(cny(250))).toEqual(cny(250));
    expect(() => payableCny(nzd(100))).toThrow(/CNY only/);
  });

  it('gives back exactly what was paid for the whole price', () => {
    expect(refundCny(nzd(10001), nzd(10001), cny(43202))).toEqual(cny(43202));
    expect(refundCny(nzd(10001), nzd(10001), cny(43202), nzd(0))).toEqual(cny(43202));
  });

  it('takes a part of the price as the same part of the CNY, rounded half up to the fen', () => {
    // 101 fen for a price of 2: one cent of it is 50.5 fen, asked as 51.
    expect(refundCny(nzd(1), nzd(2), cny(101))).toEqual(cny(51));
    // 1/3 of 100 fen is 33.33…, asked as 33.
    expect(refundCny(nzd(1), nzd(3), cny(100))).toEqual(cny(33));
  });

  it('takes each later part from the running total, so halves of an odd amount add up to it', () => {
    // Rounded on their own, both halves of 101 fen would be 51: 102 asked of 101 paid.
    expect(refundInParts([1, 1], 2, 101)).toEqual([51, 50]);
  });

  it('never asks in all for more or less than was paid, however the price is split', () => {
    // Thirds whose shares all round up on their own (x.6, x.7, x.7): 3 fen too many without the running total.
    const price = 10;
    const paid = 1002; // 100.2 fen a cent
    expect(refundInParts([3, 3, 4], price, paid)).toEqual([301, 300, 401]);
    for (const parts of [
      [3, 3, 4],
      [1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
      [7, 3],
      [9, 1],
    ]) {
      const asked = refundInParts(parts, price, paid);
      expect(
        asked.reduce((a, b) => a + b, 0),
        String(parts),
      ).toBe(paid);
      asked.forEach((a, i) => expect(Math.abs(a - (paid * parts[i]!) / price)).toBeLessThanOrEqual(1));
    }
  });

  it('asks for nothing once the whole price is back, and ignores a total before it in another currency', () => {
    expect(refundCny(nzd(1), nzd(10), cny(1002), nzd(10))).toEqual(cny(0));
    expect(refundCny(nzd(5), nzd(10), cny(1002), cny(500))).toEqual(cny(501));
  });

  it('refunds a CNY price as given, and refuses a refund whose CNY is not known', () => {
    expect(refundCny(cny(77), cny(200), cny(200), cny(100))).toEqual(cny(77));
    expect(() => refundCny(nzd(1), nzd(2), null)).toThrow(/CNY amount of this bank payment is not known/);
    expect(() => refundCny(nzd(1), nzd(2), nzd(2))).toThrow(/not known/);
  });
});
