import { describe, expect, it } from 'vitest';
import { formatTime } from './time.js';

// A payment's times in its store's zone, whatever zone the browser is in.

describe('formatTime', () => {
  const at = '2026-11-15T01:30:00.000Z';

  it("shows an instant in the store's zone with its abbreviation", () => {
    // 01:30 UTC is 14:30 in Auckland (daylight time, +13) and 12:30 in Sydney (+11) that day.
    expect(formatTime(at, 'en-NZ', 'long', 'Pacific/Auckland')).toMatch(/15 Nov 2026.*14:30:00.*NZDT/);
    expect(formatTime(at, 'en-NZ', 'short', 'Pacific/Auckland')).toMatch(/15 Nov.*14:30.*NZDT/);
    expect(formatTime(at, 'en-NZ', 'short', 'Australia/Sydney')).toMatch(/15 Nov.*12:30.*AEDT/);
    // Winter in New Zealand: standard time.
    expect(formatTime('2026-07-01T00:00:00Z', 'en-NZ', 'short', 'Pacific/Auckland')).toMatch(/12:00.*NZST/);
  });

  it('keeps a store-local date across midnight UTC', () => {
    // 11:30 UTC on the 14th is already the 15th in Auckland.
    expect(formatTime('2026-11-14T11:30:00Z', 'en-NZ', 'short', 'Pacific/Auckland')).toMatch(/15 Nov.*00:30/);
  });

  it('answers empty, non-times and unknown zones plainly', () => {
    expect(formatTime(null, 'en-NZ', 'long', 'Pacific/Auckland')).toBe('');
    expect(formatTime('soon', 'en-NZ', 'long', 'Pacific/Auckland')).toBe('soon');
    expect(formatTime(at, 'en-NZ', 'short', 'Mars/Olympus')).toBe(formatTime(at, 'en-NZ', 'short'));
    expect(formatTime(at, 'zh-CN', 'long', 'Pacific/Auckland')).toContain('2026');
  });
});
