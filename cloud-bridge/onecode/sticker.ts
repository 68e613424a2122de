import { existsSync } from 'node:fs';
import PDFDocument from 'pdfkit';
import QRCode from 'qrcode';
import { Resvg } from '@resvg/resvg-js';
import type { ChannelName } from '../../protocol/payments.js';

// The printed store sticker: the store's one-code QR (its /s/<code> URL), the store's
// name and the wallets it takes, as a PDF (A6, vector, for the print shop) or a PNG.

export interface StickerInput {
  url: string;
  storeName: string;
  merchantName: string;
  wallets: readonly ChannelName[];
}

const WALLET_NAMES: Record<ChannelName, string> = {
  wechat: '微信支付 WeChat Pay',
  alipay: '支付宝 Alipay',
  bank: '网银支付 Online banking (CNY)',
};

const CJK_FONTS: Array<{ path: string; family: string; postscript?: string }> = [
  {
    path: '/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc',
    family: 'Noto Sans CJK SC',
    postscript: 'NotoSansCJKsc-Regular',
  },
  {
    path: '/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc',
    family: 'Noto Sans CJK SC',
    postscript: 'NotoSansCJKsc-Regular',
  },
  { path: '/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf', family: 'Noto Sans CJK SC' },
  {
    path: '/usr/share/fonts/truetype/wqy/wqy-microhei.ttc',
    family: 'WenQuanYi Micro Hei',
    postscript: 'WenQuanYiMicroHei',
  },
  { path: '/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf', family: 'Droid Sans Fallback' },
];

/** A font that has Chinese glyphs (KAURI_CJK_FONT=PATH[#postscript-name] overrides), or undefined. */
export function findCjkFont(
  env: NodeJS.ProcessEnv = process.env,
): { path: string; family: string; postscript?: string } | undefined {
  if (env.KAURI_CJK_FONT) {
    const [path, postscript] = env.KAURI_CJK_FONT.split('#');
    if (path && existsSync(path)) return { path, family: 'custom', postscript };
  }
  return CJK_FONTS.find((f) => existsSync(f.path));
}

export function walletLine(wallets: readonly ChannelName[]): string[] {
  return wallets.map((w) => WALLET_NAMES[w]);
}

function qrMatrix(url: string): { size: number; dark: (x: number, y: number) => boolean } {
  const qr = QRCode.create(url, { errorCorrectionLevel: 'M' });
  const size = qr.modules.size;
  return { size, dark: (x, y) => qr.modules.get(y, x) === 1 };
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The sticker as SVG (the PNG is drawn from it). */
export function stickerSvg(input: StickerInput, fontFamily: string): string {
  const W = 800;
  const H = 1150;
  const m = qrMatrix(input.url);
  const quiet = 4;
  const cell = Math.floor(560 / (m.size + quiet * 2));
  const qrSize = cell * (m.size + quiet * 2);
  const qx = (W - qrSize) / 2;
  const qy = 250;
  let path = '';
  for (let y = 0; y < m.size; y++) {
    for (let x = 0; x < m.size; x++) {
      if (m.dark(x, y)) path += `M${qx + (x + quiet) * cell},${qy + (y + quiet) * cell}h${cell}v${cell}h-${cell}z`;
    }
  }
  const wallets = walletLine(input.wallets);
  const text = (y: number, size: number, s: string, weight = 'normal', fill = '#1a1a1a') =>
    `<text x="${W / 2}" y="${y}" font-size="${size}" font-weight="${weight}" fill="${fill}" text-anchor="middle" font-family="${esc(fontFamily)}">${esc(s)}</text>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">
<rect width="${W}" height="${H}" fill="#ffffff"/>
<rect x="20" y="20" width="${W - 40}" height="${H - 40}" rx="30" fill="none" stroke="#1677ff" stroke-width="6"/>
${text(110, 52, input.storeName, 'bold')}
${text(170, 30, input.merchantName, 'normal', '#555555')}
${text(225, 34, '扫码付款 · Scan to pay', 'bold', '#1677ff')}
<rect x="${qx}" y="${qy}" width="${qrSize}" height="${qrSize}" fill="#ffffff"/>
<path d="${path}" fill="#000000"/>
${wallets.map((w, i) => text(qy + qrSize + 70 + i * 50, 34, w)).join('\n')}
${text(H - 50, 20, input.url, 'normal', '#777777')}
</svg>`;
}

export function stickerPng(input: StickerInput): Buffer {
  const font = findCjkFont();
  const family = font?.family === 'custom' || !font ? 'sans-serif' : font.family;
  const resvg = new Resvg(stickerSvg(input, family), {
    background: '#ffffff',
    font: {
      loadSystemFonts: !font,
      fontFiles: font ? [font.path] : [],
      defaultFontFamily: family,
      sansSerifFamily: family,
    },
  });
  return resvg.render().asPng();
}

/** An A6 PDF, vector QR, with a font that has the Chinese glyphs when the system has one. */
export async function stickerPdf(input: StickerInput): Promise<{ pdf: Buffer; warning?: string }> {
  const font = findCjkFont();
  const doc = new PDFDocument({
    size: 'A6',
    margin: 18,
    info: { Title: `${input.storeName} — Kauri`, Creator: 'kauri sticker' },
  });
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<void>((resolve) => doc.on('end', () => resolve()));
  let warning: string | undefined;
  let write = (s: string) => s;
  if (font) {
    doc.registerFont('cjk', font.path, font.postscript);
    doc.font('cjk');
  } else {
    // Without a CJK font the Chinese text cannot be drawn: keep the Latin parts.
    warning =
      'no font with Chinese glyphs found (install fonts-noto-cjk or set KAURI_CJK_FONT); Chinese text is left out';
    doc.font('Helvetica');
    write = (s) =>
      s
        .replace(/[^\x20-\x7e]+/g, '')
        .replace(/\s+/g, ' ')
        .trim();
  }
  const W = doc.page.width;
  const line = (s: string, size: number, y: number, color = '#1a1a1a') => {
    doc
      .fontSize(size)
      .fillColor(color)
      .text(write(s), 18, y, { width: W - 36, align: 'center', lineBreak: false });
  };
  doc
    .roundedRect(8, 8, W - 16, doc.page.height - 16, 10)
    .lineWidth(2)
    .strokeColor('#1677ff')
    .stroke();
  line(input.storeName, 16, 24);
  line(input.merchantName, 10, 46, '#555555');
  line('扫码付款 · Scan to pay', 12, 64, '#1677ff');
  const m = qrMatrix(input.url);
  const quiet = 2;
  const size = 190;
  const cell = size / (m.size + quiet * 2);
  const x0 = (W - size) / 2;
  const y0 = 84;
  for (let y = 0; y < m.size; y++) {
    for (let x = 0; x < m.size; x++)
      if (m.dark(x, y)) doc.rect(x0 + (x + quiet) * cell, y0 + (y + quiet) * cell, cell + 0.01, cell + 0.01);
  }
  doc.fillColor('#000000').fill();
  walletLine(input.wallets).forEach((w, i) => line(w, 11, y0 + size + 12 + i * 16));
  line(input.url, 7, doc.page.height - 30, '#777777');
  doc.end();
  await done;
  return { pdf: Buffer.concat(chunks), warning };
}
