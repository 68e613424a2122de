import fc from 'fast-check';
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { EscPosDecoder, type PrinterEvent } from './decoder.js';
import { JobRenderer } from './render.js';

const b = (...parts: (number[] | string | Buffer)[]) =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));

function render(bytes: Buffer, chunk = bytes.length): string {
  const d = new EscPosDecoder();
  const r = new JobRenderer();
  for (let i = 0; i < bytes.length; i += chunk)
    for (const c of d.feed(bytes.subarray(i, i + chunk))) if (c.event) r.add(c.event);
  return r.text();
}

const qr = (payload: string) => {
  const n = payload.length + 3;
  return b(
    [0x1d, 0x28, 0x6b, 4, 0, 0x31, 0x41, 0x32, 0],
    [0x1d, 0x28, 0x6b, 3, 0, 0x31, 0x43, 6],
    [0x1d, 0x28, 0x6b, n & 255, n >> 8, 0x31, 0x50, 0x30],
    payload,
    [0x1d, 0x28, 0x6b, 3, 0, 0x31, 0x51, 0x30],
  );
};

describe('printer simulator decoder', () => {
  const job = b(
    [0x1b, 0x40, 0x1c, 0x2e],
    [0x1b, 0x45, 1],
    'TOTAL ',
    [0x1c, 0x26],
    iconv.encode('合计', 'gb18030'),
    [0x1c, 0x2e],
    [0x1b, 0x45, 0],
    '   ',
    [0x1d, 0x21, 0x11],
    'NZD 25.50',
    [0x1d, 0x21, 0],
    '\n',
    [0x1b, 0x61, 1],
    qr('https://kauri.example/r/1'),
    [0x1b, 0x61, 0],
    '\n',
    [0x1b, 0x70, 0, 25, 250],
    [0x1d, 0x56, 0x41, 3],
  );

  it('decodes text with styles, Chinese, QR payloads, drawer kicks and cuts', () => {
    expect(render(job)).toBe(
      [
        '{b}TOTAL 合计{/}   {2x2}NZD 25.50{/}',
        '[QR: https://kauri.example/r/1]',
        '',
        '[DRAWER pin2 50ms/500ms]',
        '[CUT full]',
        '',
      ].join('\n'),
    );
  });

  it('gives the same result in any chunking', () => {
    const whole = render(job);
    for (const size of [1, 2, 3, 7, 64]) expect(render(job, size)).toBe(whole);
  });

  it('answers real-time status between commands only', () => {
    const d = new EscPosDecoder();
    const ev = d.feed(b([0x10, 0x04, 0x01], [0x1d, 0x76, 0x30, 0, 1, 0, 2, 0], [0x10, 0x04], [0x10, 0x05, 0x02]));
    expect(ev.filter((c) => c.realtime).map((c) => c.event)).toEqual([
      { t: 'status-query', n: 1 },
      { t: 'recover', n: 2 },
    ]);
    expect(ev.find((c) => c.event?.t === 'image')?.event).toMatchObject({
      width: 8,
      height: 2,
      bits: Buffer.from([0x10, 0x04]),
    });
  });

  it('marks what it does not know instead of guessing', () => {
    expect(render(b('a', [0x1b, 0x99], 'b\n'))).toBe('a[UNKNOWN 1b 99]b\n');
  });

  it('survives random bytes in random chunks: no throw, no hang, bounded leftovers', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 128 }), { maxLength: 24 }), (chunks) => {
        const d = new EscPosDecoder();
        const r = new JobRenderer();
        for (const c of chunks) for (const cmd of d.feed(c)) if (cmd.event) r.add(cmd.event as PrinterEvent);
        r.text();
        // Only a command whose declared length has not arrived yet may be pending.
        expect(d.pending).toBeLessThanOrEqual(chunks.reduce((n, c) => n + c.length, 0));
      }),
      { numRuns: 2000 },
    );
  });
});
