import { describe, expect, it } from 'vitest';
import { cd5220Protocol, epsonProtocol, fit, toAscii } from './protocol.js';
import { amountScreen, idleScreen, paidScreen, scanToPayScreen } from './screens.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('pole display', () => {
  it('speaks the Epson DM-D set', () => {
    const p = epsonProtocol();
    expect(hex(p.init(4))).toBe('1b401f011f5804');
    expect(hex(p.show('A', 'B'))).toBe(
      `1f240101${hex(Buffer.from(fit('A', 20)))}1f240102${hex(Buffer.from(fit('B', 20)))}`,
    );
  });

  it('speaks the CD5220 set', () => {
    const p = cd5220Protocol();
    expect(hex(p.init(9))).toBe('1b401b111b2a04');
    expect(hex(p.show('TOTAL', 'x'))).toBe(
      `1b5141${hex(Buffer.from(fit('TOTAL', 20)))}0d1b5142${hex(Buffer.from(fit('x', 20)))}0d`,
    );
  });

  it('puts only ASCII on the glass', () => {
    expect(toAscii('Café 考里 ￥12')).toBe('Cafe  Y12');
    for (const b of epsonProtocol().show('考里茶馆 Kauri', '￥107.26 — ok')) expect(b < 0x7f).toBe(true);
  });

  it('lays out the sale steps in 2×20', () => {
    const nzd = { minor: 2550, currency: 'NZD' } as const;
    expect(amountScreen(nzd, { minor: 10726, currency: 'CNY' })).toEqual([
      'TOTAL      NZD 25.50',
      'approx    CNY 107.26',
    ]);
    expect(scanToPayScreen(nzd)).toEqual(['TOTAL      NZD 25.50', '    Scan to pay']);
    expect(paidScreen(nzd)).toEqual(['PAID       NZD 25.50', '     Thank you']);
    expect(idleScreen('Kauri Tea House 考里茶馆')).toEqual(['  Kauri Tea House', 'WeChat Pay / Alipay']);
    for (const l of [...amountScreen({ minor: 123456789, currency: 'NZD' })]) expect(l.length).toBeLessThanOrEqual(20);
  });
});
