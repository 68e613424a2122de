import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  add,
  compare,
  equals,
  format,
  isPositive,
  money,
  parseDecimal,
  subtract,
  sum,
  toDecimalString,
  CURRENCY_EXPONENTS,
  MoneyError,
  type Currency,
} from './money.js';

const currencies = Object.keys(CURRENCY_EXPONENTS) as Currency[];
const anyCurrency = fc.constantFrom(...currencies);
const anyMinor = fc.integer({ min: -1e12, max: 1e12 });

describe('money', () => {
  it('round-trips every amount through its decimal string', () => {
    fc.assert(
      fc.property(anyMinor, anyCurrency, (minor, c) => {
        const m = money(minor, c);
        expect(parseDecimal(toDecimalString(m), c)).toEqual(m);
      }),
    );
  });

  it('adds and subtracts exactly (associative, inverse)', () => {
    fc.assert(
      fc.property(anyMinor, anyMinor, anyMinor, anyCurrency, (a, b, c, cur) => {
        const [x, y, z] = [money(a, cur), money(b, cur), money(c, cur)];
        expect(add(add(x, y), z)).toEqual(add(x, add(y, z)));
        expect(subtract(add(x, y), y)).toEqual(x);
      }),
    );
  });

  it('refuses to mix currencies', () => {
    fc.assert(
      fc.property(anyMinor, anyCurrency, anyCurrency, (a, c1, c2) => {
        fc.pre(c1 !== c2);
        expect(() => add(money(a, c1), money(a, c2))).toThrow(MoneyError);
        expect(() => compare(money(a, c1), money(a, c2))).toThrow(/Cannot mix/);
      }),
    );
  });

  it('knows each currency exponent', () => {
    expect(toDecimalString(money(1250, 'NZD'))).toBe('12.50');
    expect(toDecimalString(money(5, 'CNY'))).toBe('0.05');
    expect(toDecimalString(money(-5, 'CNY'))).toBe('-0.05');
    expect(toDecimalString(money(1250, 'JPY'))).toBe('1250');
    expect(parseDecimal('12.5', 'NZD').minor).toBe(1250);
    expect(parseDecimal('1250', 'JPY').minor).toBe(1250);
  });

  it('rejects floats, excess precision, garbage and unknown currencies', () => {
    expect(() => money(12.5, 'NZD')).toThrow(/whole number/);
    expect(() => money(Number.NaN, 'NZD')).toThrow(MoneyError);
    expect(() => parseDecimal('12.505', 'NZD')).toThrow(/more than 2 decimal places/);
    expect(() => parseDecimal('1.5', 'JPY')).toThrow(/more than 0/);
    expect(() => parseDecimal('1e3', 'NZD')).toThrow(/not a decimal/);
    expect(() => parseDecimal('', 'NZD')).toThrow(/not a decimal/);
    expect(() => money(1, 'XYZ')).toThrow(/Unknown currency/);
    expect(() => parseDecimal('99999999999999999999', 'NZD')).toThrow(/too large/);
  });

  it('sums and formats for people', () => {
    expect(sum([money(100, 'NZD'), money(250, 'NZD')], 'NZD')).toEqual(money(350, 'NZD'));
    expect(format(money(123456789, 'NZD'))).toBe('NZD 1,234,567.89');
    expect(format(money(-50, 'NZD'))).toBe('-NZD 0.50');
  });

  it('says which rule an amount broke, by code and in words', () => {
    const fails = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e;
      }
      throw new Error('expected a MoneyError');
    };
    expect(fails(() => money(1, 'XYZ'))).toMatchObject({
      name: 'MoneyError',
      code: 'unknown_currency',
      message: 'Unknown currency "XYZ"',
    });
    expect(fails(() => money(12.5, 'NZD'))).toMatchObject({
      code: 'invalid_amount',
      message: 'Amount must be a whole number of minor units, got 12.5',
    });
    expect(fails(() => add(money(1, 'NZD'), money(1, 'CNY')))).toMatchObject({
      code: 'currency_mismatch',
      message: 'Cannot mix NZD and CNY',
    });
    expect(fails(() => parseDecimal('12,50', 'NZD'))).toMatchObject({
      code: 'invalid_amount',
      message: '"12,50" is not a decimal amount',
    });
    expect(fails(() => parseDecimal('1.005', 'NZD'))).toMatchObject({
      code: 'invalid_amount',
      message: '"1.005" has more than 2 decimal places for NZD',
    });
    expect(fails(() => parseDecimal('9007199254740992', 'JPY'))).toMatchObject({
      code: 'amount_overflow',
      message: '"9007199254740992" is too large',
    });
    // Sums past 2^53 - 1 are refused as an overflow, not passed on as an imprecise number.
    const max = money(Number.MAX_SAFE_INTEGER, 'JPY');
    const min = money(-Number.MAX_SAFE_INTEGER, 'JPY');
    expect(fails(() => add(max, money(1, 'JPY')))).toMatchObject({
      code: 'amount_overflow',
      message: 'Amount too large',
    });
    expect(fails(() => subtract(min, money(1, 'JPY')))).toMatchObject({
      code: 'amount_overflow',
      message: 'Amount too large',
    });
  });

  it('parses at the edges: spaces around, the largest safe amount, and minus zero as zero', () => {
    expect(parseDecimal(' 12.50\n', 'NZD')).toEqual(money(1250, 'NZD'));
    expect(parseDecimal('9007199254740991', 'JPY').minor).toBe(Number.MAX_SAFE_INTEGER);
    expect(parseDecimal('-0.00', 'NZD').minor).toBe(0);
    expect(Object.is(parseDecimal('-0', 'JPY').minor, 0)).toBe(true);
    expect(parseDecimal('-0.01', 'NZD').minor).toBe(-1);
  });

  it('writes zero without a sign, and an amount without a fraction without a point', () => {
    expect(toDecimalString(money(0, 'NZD'))).toBe('0.00');
    expect(format(money(0, 'NZD'))).toBe('NZD 0.00');
    expect(format(money(-1, 'NZD'))).toBe('-NZD 0.01');
    expect(format(money(1250, 'JPY'))).toBe('JPY 1,250');
    expect(format(money(-1250, 'JPY'))).toBe('-JPY 1,250');
  });

  it('compares, tests equality and positivity exactly at the boundary', () => {
    const nzd = (minor: number) => money(minor, 'NZD');
    expect(compare(nzd(1), nzd(2))).toBe(-1);
    expect(compare(nzd(2), nzd(1))).toBe(1);
    expect(compare(nzd(2), nzd(2))).toBe(0);
    expect(compare(nzd(-1), nzd(0))).toBe(-1);
    expect(equals(nzd(5), nzd(5))).toBe(true);
    expect(equals(nzd(5), nzd(6))).toBe(false);
    expect(equals(nzd(5), money(5, 'CNY'))).toBe(false);
    expect(equals(nzd(5), money(6, 'CNY'))).toBe(false);
    expect(isPositive(nzd(1))).toBe(true);
    expect(isPositive(nzd(0))).toBe(false);
    expect(isPositive(nzd(-1))).toBe(false);
  });
});
