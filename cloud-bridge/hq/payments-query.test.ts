import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor, localDate, localDayStart, parseFilter } from './payments-query.js';
import { redactForDisplay } from './redact.js';
import { CsvDecimal, csvLine } from '../csv.js';

describe('store-local days', () => {
  it('start at local midnight in UTC, on both sides of the daylight-saving changes', () => {
    // NZST (UTC+12) before 2026-09-27 02:00, NZDT (UTC+13) after; back on 2026-04-05 03:00.
    expect(new Date(localDayStart('2026-09-27', 'Pacific/Auckland')).toISOString()).toBe('2026-09-26T12:00:00.000Z');
    expect(new Date(localDayStart('2026-09-28', 'Pacific/Auckland')).toISOString()).toBe('2026-09-27T11:00:00.000Z');
    expect(new Date(localDayStart('2026-04-05', 'Pacific/Auckland')).toISOString()).toBe('2026-04-04T11:00:00.000Z');
    expect(new Date(localDayStart('2026-04-06', 'Pacific/Auckland')).toISOString()).toBe('2026-04-05T12:00:00.000Z');
    expect(new Date(localDayStart('2026-06-01', 'Pacific/Chatham')).toISOString()).toBe('2026-05-31T11:15:00.000Z');
    expect(localDate('2026-03-01T11:30:00.000Z', 'Pacific/Auckland')).toBe('2026-03-02');
    expect(localDate('2026-03-01T10:59:59.999Z', 'Pacific/Auckland')).toBe('2026-03-01');
  });
});

describe('the payments filter', () => {
  it('reads lists, amounts and flags, and refuses what it cannot read', () => {
    expect(parseFilter({ store: 'a,b', status: ['paid', 'refunded'], min: '100', flagged: 'true' })).toMatchObject({
      storeIds: ['a', 'b'],
      status: ['paid', 'refunded'],
      min: 100,
      flagged: true,
    });
    expect(() => parseFilter({ from: '2026-13-01' })).toThrow(/from must be a date/);
    expect(() => parseFilter({ min: '1.5' })).toThrow(/minor units/);
    expect(() => parseFilter({ from: '2026-02-02', to: '2026-02-01' })).toThrow(/after/);
    expect(() => parseFilter({ flagged: 'yes' })).toThrow(/flagged/);
  });

  it('cursors round-trip, and a forged one is refused', () => {
    const c = { at: '2026-03-01T11:30:00.000Z', id: 'ord_x' };
    expect(decodeCursor(encodeCursor(c))).toEqual(c);
    expect(() => decodeCursor('bm90IGpzb24')).toThrow(/cursor/);
  });
});

describe('raw channel messages shown to HQ', () => {
  it('lose signatures, card and account numbers, and what the recorder masks', () => {
    const xml =
      '<xml><sign>ABCDEF0123456789</sign><auth_code>134567890123456789</auth_code><total_fee>100</total_fee></xml>';
    const shown = redactForDisplay(xml);
    expect(shown).toContain('<sign>[redacted]</sign>');
    expect(shown).not.toContain('134567890123456789');
    expect(shown).toContain('<total_fee>100</total_fee>');
    expect(redactForDisplay('v_oid=1&v_sign=abc&v_md5info=def&v_amount=1.00')).toBe(
      'v_oid=1&v_sign=[redacted]&v_md5info=[redacted]&v_amount=1.00',
    );
    expect(redactForDisplay('{"card_no":"4111111111111111","note":"paid with 4111111111111111"}')).toBe(
      '{"card_no":"[redacted]","note":"paid with 4111…1111"}',
    );
    // A 28-digit WeChat transaction id is not a card number.
    expect(redactForDisplay('<transaction_id>4200001234202611301234567890</transaction_id>')).toContain(
      '4200001234202611301234567890',
    );
  });
});

describe('decimal cells', () => {
  it('are written as numbers, never neutralised, and only decimals get in', () => {
    expect(csvLine([new CsvDecimal('-12.50'), '-12.50'])).toBe(`-12.50,"'-12.50"`);
    expect(() => new CsvDecimal('=1+1')).toThrow(TypeError);
  });
});
