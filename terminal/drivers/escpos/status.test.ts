import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { interpretStatus, isRealtimeStatus, StatusReplyParser, statusProblem } from './status.js';

describe('DLE EOT status', () => {
  it('reads the healthy, paper-out, cover-open and offline replies', () => {
    expect(statusProblem(interpretStatus([0x16, 0x12, 0x12, 0x12]))).toBeUndefined();
    const paper = interpretStatus([0x1a, 0x32, 0x12, 0x7e]);
    expect(paper).toMatchObject({ offline: true, paperEnd: true, paperNearEnd: true, coverOpen: false });
    expect(statusProblem(paper)).toBe('printer_paper_out');
    expect(statusProblem(interpretStatus([0x1a, 0x16, 0x12, 0x12]))).toBe('printer_cover_open');
    expect(statusProblem(interpretStatus([0x1a, 0x12, 0x12, 0x12]))).toBe('printer_offline');
    expect(statusProblem(interpretStatus([0x1a, 0x52, 0x1a, 0x12]))).toBe('printer_error');
    expect(interpretStatus([0x12, 0x12, 0x12, 0x1e]).paperNearEnd).toBe(true);
  });

  it('tells real-time replies, ASB frames and XON/XOFF apart', () => {
    const p = new StatusReplyParser();
    expect(p.feed(new Uint8Array([0x16, 0x14, 0x00, 0x0c]))).toEqual([{ type: 'realtime', byte: 0x16 }]);
    expect(p.feed(new Uint8Array([0x00, 0x11, 0x13, 0xff]))).toEqual([
      { type: 'asb', bytes: [0x14, 0x00, 0x0c, 0x00] },
      { type: 'xon' },
      { type: 'xoff' },
      { type: 'other', byte: 0xff },
    ]);
    // An ASB start followed by a byte that cannot continue it.
    expect(p.feed(new Uint8Array([0x10, 0x12]))).toEqual([
      { type: 'other', byte: 0x10 },
      { type: 'realtime', byte: 0x12 },
    ]);
  });

  it('survives any byte stream, in any chunking, and never invents a real-time reply', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 32 }), (chunks) => {
        const p = new StatusReplyParser();
        let consumed = 0;
        for (const c of chunks) {
          for (const e of p.feed(c)) {
            consumed += e.type === 'asb' ? 4 : 1;
            if (e.type === 'realtime') expect(isRealtimeStatus(e.byte)).toBe(true);
          }
        }
        const total = chunks.reduce((n, c) => n + c.length, 0);
        // Everything is accounted for except at most a pending 3-byte ASB prefix.
        expect(total - consumed).toBeGreaterThanOrEqual(0);
        expect(total - consumed).toBeLessThanOrEqual(3);
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(
        fc.tuple(
          fc.integer({ min: 0, max: 255 }),
          fc.integer({ min: 0, max: 255 }),
          fc.integer({ min: 0, max: 255 }),
          fc.integer({ min: 0, max: 255 }),
        ),
        (raw) => {
          const s = interpretStatus(raw);
          expect(typeof s.offline).toBe('boolean');
          statusProblem(s);
        },
      ),
    );
  });
});
