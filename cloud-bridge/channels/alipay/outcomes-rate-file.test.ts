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

  it("tells Alipay's own error texts (no rates to be had) from a file Kauri cannot read", () => {
    // The gateway answers these instead of a file; they say the rates are unavailable, not wrong.
    for (const text of ['System exception', 'Merchant ID incorrect', 'File empty', 'file empty.', '  \n  '])
      expect(() => parseRateFile(text)).toThrow(expect.objectContaining({ code: 'rate_unavailable' }));
    expect(() => parseRateFile('Merchant ID incorrect')).toThrow(/rate file: Merchant ID incorrect/);
    expect(() => parseRateFile(' \n')).toThrow(/rate file: empty/);
    // The same words inside a line are a malformed line, not the gateway's answer.
    expect(() => parseRateFile('20131122|112537|USD|6.5487 System exception')).toThrow(
      expect.objectContaining({ code: 'channel_error' }),
    );
  });

  it('reads every line of the published shape, and only that shape', () => {
    // Rates of several integer digits (CNY per Kuwaiti dinar), whole rates, CRLF line ends, padded lines.
    expect(
      parseRateFile('20131122|112537|KWD|23.45678901\r\n  20131122|235959|USD|7  \r\n20131123|000000|HKD|0.83').map(
        (q) => [q.currency, q.cnyPerUnit, q.publishedAt.toISOString()],
      ),
    ).toEqual([
      ['KWD', '23.45678901', '2013-11-22T03:25:37.000Z'],
      ['USD', '7', '2013-11-22T15:59:59.000Z'],
      ['HKD', '0.83', '2013-11-22T16:00:00.000Z'],
    ]);
    for (const bad of [
      'x20131122|112537|USD|6.5487',
      '20131122|112537|USD|6.5487x',
      '2013112|112537|USD|6.5487',
      '20131122|11253|USD|6.5487',
      '20131122|112537|US|6.5487',
      '20131122|112537|usd|6.5487',
      '20131122|112537|USD|123456.5',
      '20131122|112537|USD|6.123456789',
      '20131122|112537|USD|6.',
      '20131122|112537|USD|.5',
    ])
      expect(() => parseRateFile(bad), bad).toThrow(expect.objectContaining({ code: 'channel_error' }));
  });

  it('names the line that is wrong, and shows at most 60 characters of it', () => {
    const good = '20131122|112537|USD|6.5487';
    expect(() => parseRateFile(`${good}\n${good}\n20131122|112537|NZD|0.0`)).toThrow(
      "Alipay's rate file line 3: rate must be positive",
    );
    expect(() => parseRateFile(`${good}\n20131122|256100|NZD|4.2`)).toThrow(
      "Alipay's rate file line 2: bad date or time",
    );
    const long = `<html>${'x'.repeat(200)}</html>`;
    expect(() => parseRateFile(`${good}\n${long}`)).toThrow(
      `Alipay's rate file line 2 is not yyyyMMdd|HHmmss|CUR|rate: "${long.slice(0, 60)}"`,
    );
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
