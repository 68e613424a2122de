import { describe, expect, it } from 'vitest';
import { parseRateFile, timeoutRuleFor } from './outcomes.js';

describe('forex_rate_file', () => {
  it('parses yyyyMMdd|HHmmss|CUR|rate lines as decimal strings with Beijing times', () => {
    const r = parseRateFile('20131122|112537|USD|6.5487\n20131122|112537|NZD|4.21560000\n');
    expect(r).toEqual([
      {
        currency: 'USD',
        cnyPerUnit: '6.5487',
        publishedAt: new Date('2013-11-22T03:25:37Z'),
        source: 'alipay:forex_rate_file',
      },
      {
        currency: 'NZD',
        cnyPerUnit: '4.2156',
        publishedAt: new Date('2013-11-22T03:25:37Z'),
        source: 'alipay:forex_rate_file',
      },
    ]);
  });

  it('refuses error texts and malformed lines', () => {
    expect(() => parseRateFile('System exception')).toThrow(/System exception/);
    expect(() => parseRateFile('')).toThrow(/empty/);
    expect(() => parseRateFile('20131122|112537|USD|6,5487')).toThrow(/line 1/);
    expect(() => parseRateFile('20131122|112537|USD|6.5\n20131340|112537|NZD|4.2')).toThrow(/line 2/);
    expect(() => parseRateFile('20131122|112537|USD|0')).toThrow(/positive/);
  });
});

describe('timeout_rule', () => {
  it('is the longest allowed rule within the order lifetime', () => {
    expect(timeoutRuleFor(15 * 60_000)).toBe('15m');
    expect(timeoutRuleFor(20 * 60_000)).toBe('15m');
    expect(timeoutRuleFor(60_000)).toBe('5m');
    expect(timeoutRuleFor(3 * 86_400_000)).toBe('1d');
  });
});
