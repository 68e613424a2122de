import { describe, it, expect } from 'vitest';
import { beijingDay, billTime, compactTime, parseCompactTime } from './time.js';

describe('Beijing time', () => {
  it('formats instants in UTC+8', () => {
    const t = Date.parse('2026-11-20T15:59:59Z');
    expect(compactTime(t)).toBe('20261120235959');
    expect(beijingDay(t + 1000)).toBe('20261121');
    expect(billTime(t)).toBe('2026-11-20 23:59:59');
  });

  it('parses yyyyMMdd and yyyyMMddHHmmss, refusing impossible dates', () => {
    expect(parseCompactTime('20261121')).toBe(Date.parse('2026-11-20T16:00:00Z'));
    expect(parseCompactTime('20261120235959')).toBe(Date.parse('2026-11-20T15:59:59Z'));
    expect(parseCompactTime('20261131')).toBeUndefined();
    expect(parseCompactTime('20261120246000')).toBeUndefined();
    expect(parseCompactTime('2026-11-20')).toBeUndefined();
  });
});
