import { describe, expect, it } from 'vitest';
import { storeDay, TRADING_DAY_STARTS_HOUR } from './ledger.js';

// The trading day a counter closes: the store's date, or the day before until 04:00 store
// time, so a Z pressed just after midnight closes the evening's trade.

const AKL = 'Pacific/Auckland';

describe('the store trading day', () => {
  it('runs from 04:00 to 04:00 store time', () => {
    expect(TRADING_DAY_STARTS_HOUR).toBe(4);
    // Tue 10 March 2026 in Auckland (NZDT, UTC+13).
    expect(storeDay('2026-03-09T10:30:00Z', AKL)).toBe('2026-03-09'); // Mon 23:30
    expect(storeDay('2026-03-09T11:20:00Z', AKL)).toBe('2026-03-09'); // Tue 00:20: still Monday's trade
    expect(storeDay('2026-03-09T14:59:59Z', AKL)).toBe('2026-03-09'); // Tue 03:59:59
    expect(storeDay('2026-03-09T15:00:00Z', AKL)).toBe('2026-03-10'); // Tue 04:00
    expect(storeDay('2026-03-10T08:00:00Z', AKL)).toBe('2026-03-10'); // Tue 21:00
  });

  it('goes back across a month and a year, and keeps to the store clock over a daylight-saving change', () => {
    expect(storeDay('2026-02-28T12:30:00Z', AKL)).toBe('2026-02-28'); // Sun 1 March 01:30 NZDT
    expect(storeDay('2025-12-31T12:00:00Z', AKL)).toBe('2025-12-31'); // 1 January 01:00 NZDT
    // 27 Sep 2026: clocks go from 02:00 NZST to 03:00 NZDT. 03:30 NZDT is still Saturday's trade,
    // 04:30 NZDT is Sunday's (an hour sooner in UTC than the day before).
    expect(storeDay('2026-09-26T14:30:00Z', AKL)).toBe('2026-09-26');
    expect(storeDay('2026-09-26T15:30:00Z', AKL)).toBe('2026-09-27');
    expect(storeDay('2026-03-10T02:00:00Z', 'Asia/Shanghai')).toBe('2026-03-10'); // 10:00 there
    expect(storeDay('2026-03-09T17:00:00Z', 'Asia/Shanghai')).toBe('2026-03-09'); // 01:00 there
  });
});
