import { describe, expect, it } from 'vitest';
import { channelDay, channelDayNumber, channelDayStartMs, chinaWallIso } from './channel-day.js';

describe('channel day (UTC+8)', () => {
  it('turns over at midnight China time, not UTC or the store’s', () => {
    expect(channelDay('2026-11-20T15:59:59.999Z')).toBe('2026-11-20');
    expect(channelDay('2026-11-20T16:00:00.000Z')).toBe('2026-11-21');
    expect(channelDay(new Date('2026-11-20T16:00:00Z'))).toBe('2026-11-21');
    expect(channelDay(Date.parse('2026-12-31T16:00:00Z'))).toBe('2027-01-01');
  });
  it('numbers days so that a day starts where the previous one ends', () => {
    const ms = Date.parse('2026-11-20T16:00:00Z');
    const n = channelDayNumber(ms);
    expect(channelDayStartMs(n)).toBe(ms);
    expect(channelDayNumber(ms - 1)).toBe(n - 1);
  });
  it('reads wall-clock time in Beijing', () => {
    expect(chinaWallIso(Date.parse('2026-11-22T00:30:00Z'))).toBe('2026-11-22T08:30:00.000Z');
  });
});
