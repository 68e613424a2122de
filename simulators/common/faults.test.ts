import { describe, it, expect } from 'vitest';
import { FaultInputError, FaultRegistry, parseFaultMode, parseFaultRequest } from './faults.js';

describe('faults', () => {
  it('parses every mode and rejects unknown ones', () => {
    expect(parseFaultMode('late-notify:30')).toEqual({ kind: 'late-notify', seconds: 30 });
    expect(parseFaultMode('http500')).toEqual({ kind: 'http500' });
    expect(parseFaultMode('refund-fail')).toEqual({ kind: 'refund-fail' });
    expect(() => parseFaultMode('explode')).toThrow(FaultInputError);
    expect(() => parseFaultMode('late-notify:')).toThrow(FaultInputError);
  });

  it('validates a /sim/faults body', () => {
    expect(parseFaultRequest({ target: '/pay/micropay', mode: 'timeout' })).toEqual({
      target: '/pay/micropay',
      mode: 'timeout',
      remaining: 1,
    });
    expect(() => parseFaultRequest({ target: '', mode: 'timeout' })).toThrow(/target/);
    expect(() => parseFaultRequest({ target: 'notify', mode: 'drop-notify', count: 0 })).toThrow(/count/);
    expect(() => parseFaultRequest([])).toThrow(FaultInputError);
    expect(() => parseFaultRequest({ target: '/pay/micropay', mode: 'drop-notify' })).toThrow(/notify/);
    expect(() => parseFaultRequest({ target: 'notify', mode: 'http500' })).toThrow(/calls/);
    expect(parseFaultRequest({ target: 'notify', mode: 'bad-signature' }).mode).toBe('bad-signature');
    expect(parseFaultRequest({ target: 'forex_refund', mode: 'refund-fail' }).mode).toBe('refund-fail');
    expect(() => parseFaultRequest({ target: 'notify', mode: 'refund-fail' })).toThrow(/calls/);
  });

  it('consumes count uses per target and only of the asked kinds', () => {
    let changes = 0;
    const reg = new FaultRegistry([], () => changes++);
    reg.add({ target: 'notify', mode: 'drop-notify', remaining: 2 });
    reg.add({ target: '/pay/orderquery', mode: 'http500', remaining: 1 });
    expect(reg.take('/pay/micropay')).toBeUndefined();
    expect(reg.take('notify', ['http500'])).toBeUndefined();
    expect(reg.take('notify', ['drop-notify'])).toEqual({ kind: 'drop-notify' });
    expect(reg.take('notify')).toEqual({ kind: 'drop-notify' });
    expect(reg.take('notify')).toBeUndefined();
    expect(reg.take('/pay/orderquery')).toEqual({ kind: 'http500' });
    expect(reg.list()).toEqual([]);
    expect(changes).toBeGreaterThanOrEqual(5);
  });
});
