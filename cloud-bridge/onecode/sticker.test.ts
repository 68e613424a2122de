import { describe, it, expect } from 'vitest';
import { PNG } from 'pngjs';
import jsQRModule from 'jsqr';
import { findCjkFont, stickerPdf, stickerPng, stickerSvg } from './sticker.js';

const input = {
  url: 'http://127.0.0.1:7300/s/demo-queen-st',
  storeName: 'Queen Street 皇后街店',
  merchantName: 'Kauri Demo Shop 奇异果小店',
  wallets: ['wechat', 'alipay', 'bank'] as const,
};

// jsqr is CommonJS whose types declare an ES default export: take whichever is callable.
const decode = ((jsQRModule as unknown as { default?: unknown }).default ?? jsQRModule) as typeof jsQRModule.default;

describe('store sticker', () => {
  it('draws a PNG whose QR code reads back as the store URL', () => {
    const png = PNG.sync.read(stickerPng(input));
    expect(png.width).toBe(800);
    const code = decode(new Uint8ClampedArray(png.data), png.width, png.height);
    expect(code?.data).toBe(input.url);
  });

  it('names the store, the merchant and each wallet in the SVG it draws from', () => {
    const svg = stickerSvg(input, 'Noto Sans CJK SC');
    for (const s of [
      'Queen Street 皇后街店',
      'Kauri Demo Shop 奇异果小店',
      '微信支付 WeChat Pay',
      '支付宝 Alipay',
      '网银支付 Online banking (CNY)',
      input.url,
    ])
      expect(svg).toContain(s);
    expect(stickerSvg({ ...input, wallets: ['alipay'] }, 'x')).not.toContain('WeChat');
    expect(stickerSvg({ ...input, storeName: '<script>' }, 'x')).not.toContain('<script>');
  });

  it('makes a one-page A6 PDF, with a Chinese font embedded when the system has one', async () => {
    const { pdf, warning } = await stickerPdf(input);
    const text = pdf.toString('latin1');
    expect(text.startsWith('%PDF-')).toBe(true);
    expect(text.trimEnd().endsWith('%%EOF')).toBe(true);
    expect(text).toMatch(/\/MediaBox \[0 0 297\.6\d* 419\.5\d*\]/);
    expect((text.match(/\/Type \/Page\b/g) ?? []).length).toBe(1);
    if (findCjkFont()) {
      expect(warning).toBeUndefined();
      expect(text).toMatch(/\/FontFile[23]? /);
    } else {
      console.warn('no CJK font on this machine: the PDF falls back to Helvetica');
      expect(warning).toMatch(/Chinese/);
    }
  });
});
