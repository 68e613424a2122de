import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VfdScreen } from './vfd.js';

const b = (...parts: (number[] | string)[]) =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));

describe('VFD simulator', () => {
  it('shows Epson DM-D positioned lines', () => {
    const s = new VfdScreen();
    s.feed(
      b(
        [0x1b, 0x40, 0x1f, 0x01],
        [0x1f, 0x24, 1, 1],
        'TOTAL      NZD 25.50',
        [0x1f, 0x24, 1, 2],
        'Scan to pay'.padEnd(20),
      ),
    );
    expect(s.lines()).toEqual(['TOTAL      NZD 25.50', 'Scan to pay']);
  });

  it('shows CD5220 string-mode lines', () => {
    const s = new VfdScreen();
    s.feed(b([0x1b, 0x40], [0x1b, 0x51, 0x41], 'PAID', [0x0d], [0x1b, 0x51, 0x42], 'Thank you', [0x0d]));
    expect(s.lines()).toEqual(['PAID', 'Thank you']);
    s.feed(b([0x0c]));
    expect(s.lines()).toEqual(['', '']);
  });

  it('wraps 40 characters over both lines in overwrite mode', () => {
    const s = new VfdScreen();
    s.feed(b([0x0c], 'Line one'.padEnd(20) + 'Line two'.padEnd(20)));
    expect(s.lines()).toEqual(['Line one', 'Line two']);
  });

  it('never throws on random bytes and keeps two lines of 20', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 100 }), { maxLength: 20 }), (chunks) => {
        const s = new VfdScreen();
        for (const c of chunks) s.feed(c);
        const l = s.lines();
        expect(l).toHaveLength(2);
        for (const line of l) expect(line.length).toBeLessThanOrEqual(20);
      }),
    );
  });
});
