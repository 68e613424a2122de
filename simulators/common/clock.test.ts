import { describe, it, expect } from 'vitest';
import { SimClock, timeScale } from './clock.js';

describe('SimClock', () => {
  it('moves now by an offset and keeps running from there', () => {
    let real = Date.parse('2026-11-22T00:00:00Z');
    const clock = new SimClock({ scale: 1, realNow: () => real });
    clock.set(new Date('2026-11-20T01:00:00Z'));
    expect(clock.now().toISOString()).toBe('2026-11-20T01:00:00.000Z');
    real += 5000;
    expect(clock.now().toISOString()).toBe('2026-11-20T01:00:05.000Z');
    expect(() => clock.set(new Date('nope'))).toThrow(/invalid/);
  });

  it('scales durations and counts clock jumps as elapsed protocol time', () => {
    let real = 1_000_000;
    const clock = new SimClock({ scale: 100, realNow: () => real });
    expect(clock.duration(15_000)).toBe(150);
    const mark = clock.mark();
    real += 300; // 300 real ms = 30 s of protocol time at scale 100
    expect(clock.elapsedSince(mark)).toBe(30_000);
    clock.set(new Date(clock.nowMs() + 60_000));
    expect(clock.elapsedSince(mark)).toBe(90_000);
  });

  it('reads KAURI_TIME_SCALE and refuses nonsense', () => {
    expect(timeScale({})).toBe(1);
    expect(timeScale({ KAURI_TIME_SCALE: '50' })).toBe(50);
    expect(() => timeScale({ KAURI_TIME_SCALE: '-1' })).toThrow(/positive/);
    expect(() => timeScale({ KAURI_TIME_SCALE: 'fast' })).toThrow(/positive/);
  });
});
