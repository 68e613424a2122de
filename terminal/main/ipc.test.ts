import { describe, it, expect } from 'vitest';
import { checkIpcAction } from './ipc.js';

describe('IPC validation', () => {
  it("passes the counter's actions with well-formed arguments", () => {
    expect(checkIpcAction('charge', { amount: '12.50' })).toEqual({
      ok: true,
      action: 'charge',
      body: { amount: '12.50' },
    });
    expect(checkIpcAction('refund', { sale: 'K1', pin: '246813' })).toMatchObject({
      ok: true,
      body: { sale: 'K1', amount: '', pin: '246813' },
    });
  });
  it('refuses unknown channels, prototype names and bad arguments', () => {
    for (const name of ['exec', '__proto__', 'constructor', 42, undefined])
      expect(checkIpcAction(name, {}).ok).toBe(false);
    expect(checkIpcAction('charge', { amount: 12.5 }).ok).toBe(false);
    expect(checkIpcAction('scan', { code: 'x'.repeat(5000), amount: '1' }).ok).toBe(false);
  });
});
