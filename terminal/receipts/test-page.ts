import { ReceiptWriter } from '../drivers/escpos/writer.js';
import type { PrinterProfile } from './profiles.js';

// `kauri print-test`: text, styles, Chinese, a native QR code and a cut, under 4 KB.

export function testPagePayload(profile: PrinterProfile): string {
  return `KAURI-PRINT-TEST:${profile.name}`;
}

export function testPage(profile: PrinterProfile, printedAt?: string): Uint8Array {
  const w = new ReceiptWriter(profile);
  w.line('KAURI PRINT TEST', { bold: true, size: 2, align: 'center' });
  w.line('打印测试', { bold: true, align: 'center' });
  w.rule();
  w.pair('Profile', profile.name);
  w.pair('Paper', `${profile.paperWidthMm} mm, ${profile.columns} columns`);
  w.pair('QR', profile.qr.native ? 'native (GS ( k)' : 'raster image');
  if (printedAt) w.pair('Printed', printedAt);
  w.line('1234567890'.repeat(Math.ceil(profile.columns / 10)).slice(0, profile.columns));
  w.line('Bold', { bold: true });
  w.line('Underline', { underline: true });
  w.line('Inverse', { invert: true });
  w.line('Chinese 中文: 收据 微信支付 支付宝 ￥12.50');
  w.rule();
  w.qr(testPagePayload(profile));
  w.line('Printer OK 打印机正常', { align: 'center' });
  return w.cut().encode();
}
