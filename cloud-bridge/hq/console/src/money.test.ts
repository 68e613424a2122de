import { describe, expect, it } from 'vitest';
import { formatMinor, formatMoney, parseMinor } from './money.js';

describe('console money', () => {
  it('formats minor units with separators and sign', () => {
    expect(formatMinor(123456789, 'NZD')).toBe('1,234,567.89');
    expect(formatMinor(5, 'NZD')).toBe('0.05');
    expect(formatMinor(-1050, 'CNY')).toBe('-10.50');
    expect(formatMinor(1200, 'JPY')).toBe('1,200');
    expect(formatMoney({ minor: 2450, currency: 'NZD' })).toBe('NZD 24.50');
    expect(formatMoney(null)).toBe('');
  });

  it('parses typed decimals by their digits', () => {
    expect(parseMinor('12.3')).toBe(1230);
    expect(parseMinor('12.34')).toBe(1234);
    expect(parseMinor(' 1,000 ')).toBe(100000);
    expect(parseMinor('0.1')).toBe(10);
    // 0.29 * 100 is 28.999999999999996 as a float: the digits give 29.
    expect(parseMinor('0.29')).toBe(29);
    expect(parseMinor('12.345')).toBeNull();
    expect(parseMinor('-1')).toBeNull();
    expect(parseMinor('1e3')).toBeNull();
    expect(parseMinor('')).toBeNull();
    expect(parseMinor('7', 'JPY')).toBe(7);
    expect(parseMinor('7.5', 'JPY')).toBeNull();
  });
});
