import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import type { SettlementSummary } from '../core/records.js';
import { sampleRefund, sampleSale, sampleSettlement } from './fixtures.js';
import { printerProfile, printerProfileNames } from './profiles.js';
import { refundReceipt, saleReceipt } from './sale-receipt.js';
import { canCloseDay, settlementReport } from './settlement-report.js';
import { testPage, testPagePayload } from './test-page.js';
import { channelDayOf, channelDayStartInStore, formatMoney, formatStoreTime } from './format.js';

// Golden bytes per profile: a layout change shows up as a diff of these hex files.
// Regenerate deliberately with UPDATE_GOLDEN=1 and review the diff.
const goldenDir = join(dirname(fileURLToPath(import.meta.url)), 'golden');

function hex(bytes: Uint8Array): string {
  const h = Buffer.from(bytes).toString('hex');
  return (h.match(/.{1,64}/g) ?? []).join('\n') + '\n';
}

function golden(name: string, bytes: Uint8Array): void {
  const file = join(goldenDir, `${name}.hex`);
  if (process.env.UPDATE_GOLDEN === '1') {
    mkdirSync(goldenDir, { recursive: true });
    writeFileSync(file, hex(bytes));
  }
  if (!existsSync(file)) throw new Error(`no golden file ${file}: run with UPDATE_GOLDEN=1 and review it`);
  expect(hex(bytes)).toBe(readFileSync(file, 'utf8'));
}

const has = (bytes: Uint8Array, needle: Uint8Array | number[]) => Buffer.from(bytes).includes(Buffer.from(needle));
const kanji = (s: string) =>
  Buffer.concat([Buffer.from([0x1c, 0x26]), iconv.encode(s, 'gb18030'), Buffer.from([0x1c, 0x2e])]);
function qrStore(payload: string): Buffer {
  const len = payload.length + 3;
  return Buffer.concat([
    Buffer.from([0x1d, 0x28, 0x6b, len & 0xff, len >> 8, 0x31, 0x50, 0x30]),
    Buffer.from(payload, 'ascii'),
  ]);
}

const xReport: SettlementSummary = {
  ...sampleSettlement,
  report: 'X',
  closeNumber: undefined,
  openPayments: [
    ...sampleSettlement.openPayments,
    {
      outTradeNo: 'K20261122A0050',
      channel: 'wechat',
      amount: { minor: 1999, currency: 'NZD' },
      status: 'unknown',
      createdAt: '2026-11-22T09:20:00Z',
    },
  ],
};

describe.each(printerProfileNames())('layouts on profile %s', (name) => {
  const profile = printerProfile(name);

  it('sale receipt', () => {
    const b = saleReceipt(sampleSale, profile);
    golden(`sale.${name}`, b);
    expect(b.slice(0, 2)).toEqual(new Uint8Array([0x1b, 0x40]));
    expect(has(b, kanji('合计'))).toBe(true);
    expect(has(b, Buffer.from('CNY 107.26'))).toBe(true);
    expect(has(b, Buffer.from('4200001234202611213456789012'))).toBe(true);
    expect(has(b, qrStore(sampleSale.lookupPayload!))).toBe(profile.qr.native);
    expect(has(b, [0x1d, 0x76, 0x30])).toBe(!profile.qr.native);
    expect(has(b, [0x1d, 0x56])).toBe(true);
  });

  it('refund receipt', () => {
    const b = refundReceipt(sampleRefund, profile);
    golden(`refund.${name}`, b);
    expect(has(b, kanji('退款成功'))).toBe(true);
    expect(has(b, Buffer.from('R20261121A0001-1'))).toBe(true);
  });

  it('Z and X settlement reports', () => {
    const z = settlementReport(sampleSettlement, profile);
    golden(`settlement-z.${name}`, z);
    expect(has(z, Buffer.from('NZD 2,439.90'))).toBe(true);
    expect(has(z, Buffer.from(sampleSettlement.journalHead.hash.slice(0, 20)))).toBe(true);
    expect(has(z, kanji('笔支付状态未知，不能日结'))).toBe(false);
    const x = settlementReport(xReport, profile);
    golden(`settlement-x.${name}`, x);
    expect(has(x, kanji('笔支付状态未知，不能日结'))).toBe(true);
    expect(has(x, kanji('未知'))).toBe(true);
  });

  it('test page has text, Chinese, a QR code and a cut, under 4 KB', () => {
    const b = testPage(profile);
    golden(`test-page.${name}`, b);
    if (profile.qr.native) expect(b.length).toBeLessThan(4096);
    expect(has(b, kanji('打印测试'))).toBe(true);
    expect(has(b, qrStore(testPagePayload(profile)))).toBe(profile.qr.native);
    expect(
      Buffer.from(b)
        .subarray(-8)
        .includes(Buffer.from([0x1d, 0x56])),
    ).toBe(true);
  });
});

describe('formatting', () => {
  it('formats integer minor units without floats', () => {
    expect(formatMoney({ minor: 243490, currency: 'NZD' })).toBe('NZD 2,434.90');
    expect(formatMoney({ minor: -5, currency: 'CNY' })).toBe('-CNY 0.05');
    expect(formatMoney({ minor: 1200, currency: 'JPY' })).toBe('JPY 1,200');
  });

  it('shows store time and the channel day boundary (summer and winter in Auckland)', () => {
    expect(formatStoreTime('2026-11-21T23:14:05Z', 'Pacific/Auckland')).toBe('2026-11-22 12:14 NZDT');
    expect(channelDayStartInStore('2026-11-22', 'Pacific/Auckland')).toBe('05:00 NZDT');
    expect(channelDayStartInStore('2026-06-15', 'Pacific/Auckland')).toBe('04:00 NZST');
    // 02:00 NZDT on the 22nd is 21:00 on the 21st in China.
    expect(channelDayOf('2026-11-21T13:00:00Z')).toBe('2026-11-21');
    expect(channelDayOf('2026-11-21T16:00:00Z')).toBe('2026-11-22');
  });

  it('refuses to close a day with an unknown payment', () => {
    expect(canCloseDay(sampleSettlement).ok).toBe(true);
    const c = canCloseDay(xReport);
    expect(c.ok).toBe(false);
    expect(c.reason?.en).toMatch(/1 payment with unknown outcome/);
  });

  it('says since when a report counts when an earlier Z exists', () => {
    const text = (s: SettlementSummary) =>
      iconv.decode(Buffer.from(settlementReport(s, printerProfile('tm-t88-80mm'))), 'gb18030');
    expect(text(sampleSettlement)).not.toContain('Since last Z');
    expect(text({ ...sampleSettlement, periodStart: '2026-11-21T09:05:00Z' })).toContain('Since last Z');
    expect(text({ ...sampleSettlement, periodStart: '2026-11-21T09:05:00Z' })).toContain('2026-11-21 22:05 NZDT');
  });

  it('rejects an unknown profile with a typed error', () => {
    expect(() => printerProfile('nope')).toThrow(expect.objectContaining({ code: 'printer_profile_unknown' }));
  });
});
