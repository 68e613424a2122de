import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BaseTransport } from '../transport-base.js';
import { checkScannedCode, looksScanned, type ScanResult } from './payment-code.js';
import { SerialScanner } from './serial-scanner.js';

/** Bytes pushed in by the test, as a serial port would deliver them. */
class PushTransport extends BaseTransport {
  readonly description = 'push';
  isOpen = false;
  async open() {
    this.isOpen = true;
  }
  async write() {}
  async close() {
    this.isOpen = false;
  }
  push(b: Uint8Array) {
    this.emitData(Buffer.from(b));
  }
}

async function scan(chunks: Uint8Array[]): Promise<ScanResult[]> {
  const t = new PushTransport();
  const s = new SerialScanner(t);
  const got: ScanResult[] = [];
  s.on('scan', (r) => got.push(r));
  await s.start();
  for (const c of chunks) t.push(c);
  await new Promise((r) => setImmediate(r));
  await s.stop();
  return got;
}

describe('payment codes', () => {
  it('accepts WeChat and Alipay codes and says which', () => {
    expect(checkScannedCode('134567890123456789\r')).toEqual({
      ok: true,
      channel: 'wechat',
      code: '134567890123456789',
    });
    expect(checkScannedCode(' 2845678901234567 ')).toEqual({ ok: true, channel: 'alipay', code: '2845678901234567' });
  });

  it.each([
    ['', 'empty scan'],
    ['abc', 'not digits only'],
    ['1345678901234567890', '18 digits, this has 19'],
    ['2912', '16-24 digits, this has 4'],
    ['1934', 'prefix 19'],
    ['934567890123456789', 'prefix 93'],
    ['16456789012345678', 'prefix 16'],
  ])('refuses %j (%s)', (raw, why) => {
    const r = checkScannedCode(raw);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe('scan_code_invalid');
      expect(r.error.message).toContain(why);
      expect(r.error.messageZh).toBeTruthy();
    }
  });

  it('tells a wedge burst from typing', () => {
    expect(looksScanned([0, 5, 9, 14, 20, 24, 30, 33, 40])).toBe(true);
    expect(looksScanned([0, 120, 260, 380, 500, 640, 800, 950, 1100])).toBe(false);
  });
});

describe('serial scanner', () => {
  it('reads codes ended by CR, LF or CRLF, split anywhere', async () => {
    const enc = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));
    const got = await scan([
      enc('13456789012'),
      enc('3456789\r'),
      enc('2845678901234567\n285678901234567890\r'),
      enc('\n'),
    ]);
    expect(got.map((r) => (r.ok ? `${r.channel}:${r.code}` : 'bad'))).toEqual([
      'wechat:134567890123456789',
      'alipay:2845678901234567',
      'alipay:285678901234567890',
    ]);
  });

  it('rejects garbage, never passes it on, and never hangs or grows without bound', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 20 }), async (chunks) => {
        const got = await scan(chunks);
        for (const r of got) {
          if (r.ok) expect(checkScannedCode(r.code).ok).toBe(true);
          else expect(r.shown.length).toBeLessThanOrEqual(32);
        }
        const total = chunks.reduce((n, c) => n + c.length, 0);
        expect(got.length).toBeLessThanOrEqual(total);
      }),
      { numRuns: 300 },
    );
    // A line with no end is cut off, not buffered forever.
    const long = await scan([new Uint8Array(1000).fill(0x37)]);
    expect(long.length).toBeGreaterThan(10);
    expect(long.every((r) => !r.ok)).toBe(true);
  });
});
