import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { printerProfile } from '../../receipts/profiles.js';
import { ReceiptWriter, textRuns, textWidth, wrapText } from './writer.js';

const gb = { cjk: 'gb18030' as const };

describe('CJK layer over the encoder', () => {
  it('measures double-byte glyphs as two cells and keeps 2-byte GB18030 only', () => {
    expect(textWidth('合计 NZD', gb)).toBe(8);
    // Half-width ¥ would be a 4-byte GB18030 code that 2-byte printers print as garbage.
    expect(textRuns('¥5', gb)).toEqual([
      { text: '￥', cjk: true, width: 2 },
      { text: '5', cjk: false, width: 1 },
    ]);
    expect(
      textRuns('ok 😀', gb)
        .map((r) => r.text)
        .join(''),
    ).toBe('ok ?');
    expect(
      textRuns('收据', { cjk: 'none' })
        .map((r) => r.text)
        .join(''),
    ).toBe('??');
    expect(
      textRuns('a\tb\u0007', gb)
        .map((r) => r.text)
        .join(''),
    ).toBe('a b ');
  });

  it('wraps by printed width, at spaces where it can', () => {
    expect(wrapText('Scan for refunds 扫码查询退款', 20, gb)).toEqual(['Scan for refunds', '扫码查询退款']);
    for (const line of wrapText('微信支付'.repeat(10), 15, gb)) expect(textWidth(line, gb)).toBeLessThanOrEqual(15);
  });

  it('wraps Chinese in FS & … FS . and pads lines to the paper', () => {
    const w = new ReceiptWriter(printerProfile('generic-58mm-cn'));
    const bytes = Buffer.from(w.pair('合计', 'NZD 1.00').encode());
    const kanji = Buffer.concat([
      Buffer.from([0x1c, 0x26]),
      iconv.encode('合计', 'gb18030'),
      Buffer.from([0x1c, 0x2e]),
    ]);
    const at = bytes.indexOf(kanji);
    expect(at).toBeGreaterThan(0);
    // 32 columns: 4 cells of Chinese + 20 spaces + 8 of amount.
    expect(bytes.subarray(at + kanji.length).toString('latin1')).toMatch(/^(\x1bt\x00)? {20}NZD 1\.00\n$/);
  });
});
