import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  add,
  compare,
  format,
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
});
