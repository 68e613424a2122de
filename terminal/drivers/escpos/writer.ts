import ReceiptPrinterEncoder from '@point-of-sale/receipt-printer-encoder';
import iconv from 'iconv-lite';
import QRCode from 'qrcode';
import type { PrinterProfile } from '../../receipts/profiles.js';

// A thin layer over ReceiptPrinterEncoder. The encoder builds the ESC/POS commands
// (init, code page, bold, size, native QR, raster images, cut, drawer kick) but only
// knows single-byte code pages (its maintainer: "CodepageEncoder only supports
// single-byte", EscPosEncoder#103). So this layer does what it cannot:
//  - Chinese runs go out as FS & + GB18030 bytes + FS . (Kanji mode on, then off, so
//    the next ASCII run is read in the single-byte code page again);
//  - columns are measured by printed width (a GB double-byte glyph takes two cells),
//    and lines are padded/wrapped here, so the encoder never re-wraps them.

const FS_KANJI_ON = [0x1c, 0x26];
const FS_KANJI_OFF = [0x1c, 0x2e];

export type Align = 'left' | 'center' | 'right';

export interface LineStyle {
  bold?: boolean;
  underline?: boolean;
  invert?: boolean;
  /** 2 = double width and height. */
  size?: 1 | 2;
  align?: Align;
}

/** Characters a 2-byte GB font has no glyph for, or that would need 4-byte GB18030. */
const SUBSTITUTES: Record<string, string> = {
  '\u00a5': '\uffe5', // half-width ¥ is 4 bytes in GB18030; printers print garbage. Full-width ￥ is A3A4.
  '\u2019': "'",
  '\u2018': "'",
  '\u201c': '"',
  '\u201d': '"',
  '\u2013': '-',
  '\u00a0': ' ',
};

interface Run {
  text: string;
  cjk: boolean;
  width: number;
}

/** Splits text into printable runs (ASCII vs double-byte), normalised for the profile. */
export function textRuns(text: string, profile: Pick<PrinterProfile, 'cjk'>): Run[] {
  const runs: Run[] = [];
  for (const raw of text) {
    let ch = SUBSTITUTES[raw] ?? raw;
    let cjk = false;
    let width = 1;
    const cp = ch.codePointAt(0) ?? 0x3f;
    if (cp < 0x20 || cp === 0x7f) ch = ' ';
    else if (cp > 0x7e) {
      const bytes = profile.cjk === 'gb18030' ? iconv.encode(ch, 'gb18030') : undefined;
      if (bytes && bytes.length === 2) {
        cjk = true;
        width = 2;
      } else {
        ch = '?'; // 4-byte GB18030 (emoji, Ext-B) or no CJK font: one visible placeholder
      }
    }
    const last = runs.at(-1);
    if (last && last.cjk === cjk) {
      last.text += ch;
      last.width += width;
    } else runs.push({ text: ch, cjk, width });
  }
  return runs;
}

/** Printed width in cells (font A, size 1). */
export function textWidth(text: string, profile: Pick<PrinterProfile, 'cjk'>): number {
  return textRuns(text, profile).reduce((n, r) => n + r.width, 0);
}

/** Cuts text into pieces no wider than `width` cells, breaking at spaces where it can. */
export function wrapText(text: string, width: number, profile: Pick<PrinterProfile, 'cjk'>): string[] {
  const lines: string[] = [];
  let line = '';
  let lineWidth = 0;
  let lastSpace = -1;
  for (const ch of text) {
    const w = textWidth(ch, profile);
    if (lineWidth + w > width) {
      if (ch === ' ') {
        lines.push(line);
        line = '';
        lineWidth = 0;
        lastSpace = -1;
        continue;
      }
      if (lastSpace > 0) {
        const head = line.slice(0, lastSpace);
        const tail = line.slice(lastSpace + 1);
        lines.push(head);
        line = tail;
        lineWidth = textWidth(tail, profile);
      } else {
        lines.push(line);
        line = '';
        lineWidth = 0;
      }
      lastSpace = -1;
    }
    if (ch === ' ') lastSpace = line.length;
    line += ch;
    lineWidth += w;
  }
  if (line.length > 0 || lines.length === 0) lines.push(line);
  return lines.map((l) => l.trimEnd());
}

export class ReceiptWriter {
  readonly profile: PrinterProfile;
  private readonly enc: ReceiptPrinterEncoder;

  constructor(profile: PrinterProfile) {
    this.profile = profile;
    this.enc = new ReceiptPrinterEncoder({
      printerModel: profile.encoderModel as never,
      columns: profile.columns,
      newline: '\n',
      feedBeforeCut: profile.cut.feedLines,
      imageMode: 'raster',
    });
    this.enc.initialize().codepage(profile.codepage as never);
  }

  get columns(): number {
    return this.profile.columns;
  }

  /** One logical line: wrapped to the paper, aligned by padding with spaces. */
  line(text: string, style: LineStyle = {}): this {
    const scale = style.size ?? 1;
    const cells = Math.floor(this.profile.columns / scale);
    for (const piece of wrapText(text, cells, this.profile)) {
      const pad = cells - textWidth(piece, this.profile);
      const align = style.align ?? 'left';
      const left = align === 'center' ? Math.floor(pad / 2) : align === 'right' ? pad : 0;
      this.styled(' '.repeat(left) + piece, style);
      this.enc.newline();
    }
    return this;
  }

  /** A label on the left and a value on the right; the value moves to its own line if both do not fit. */
  pair(label: string, value: string, style: LineStyle = {}): this {
    const scale = style.size ?? 1;
    const cells = Math.floor(this.profile.columns / scale);
    const lw = textWidth(label, this.profile);
    const vw = textWidth(value, this.profile);
    if (lw + 1 + vw <= cells) {
      this.styled(label + ' '.repeat(cells - lw - vw) + value, style);
      this.enc.newline();
      return this;
    }
    this.line(label, { ...style, align: 'left' });
    return this.line(value, { ...style, align: 'right' });
  }

  rule(ch = '-'): this {
    this.enc.text(ch.repeat(this.profile.columns)).newline();
    return this;
  }

  feed(lines = 1): this {
    this.enc.newline(lines);
    return this;
  }

  /**
   * A QR code, centred. The printer's own GS ( k when the profile has it (a few dozen
   * bytes); otherwise a GS v 0 raster image drawn here (kilobytes, slow at 9600 baud).
   */
  qr(payload: string): this {
    const q = this.profile.qr;
    if (q.native) {
      this.enc.align('center').qrcode(payload, { model: q.model, size: q.moduleSize, errorlevel: q.errorLevel });
      this.enc.align('left').newline();
      return this;
    }
    const image = rasterQr(payload, q.moduleSize, q.errorLevel, this.profile.dotsPerLine);
    this.enc.align('center').image(image as never, image.width, image.height, 'threshold', 128);
    this.enc.align('left').newline();
    return this;
  }

  drawerKick(): this {
    if (this.profile.drawer) this.enc.pulse(0, 50, 500);
    return this;
  }

  cut(): this {
    this.enc.cut(this.profile.cut.type);
    return this;
  }

  encode(): Uint8Array {
    const bytes = this.enc.encode();
    // The encoder ends a cut with a line feed, which would feed the next slip's first
    // line blank: a job ends at its cut.
    const n = bytes.length;
    if (n >= 4 && bytes[n - 1] === 0x0a && bytes[n - 4] === 0x1d && bytes[n - 3] === 0x56)
      return bytes.subarray(0, n - 1);
    return bytes;
  }

  private styled(text: string, style: LineStyle): void {
    const e = this.enc;
    if (style.bold) e.bold(true);
    if (style.underline) e.underline(true);
    if (style.invert) e.invert(true);
    if (style.size === 2) e.size(2, 2);
    for (const run of textRuns(text, this.profile)) {
      if (run.cjk) e.raw([...FS_KANJI_ON, ...iconv.encode(run.text, 'gb18030'), ...FS_KANJI_OFF]);
      else e.text(run.text);
    }
    if (style.size === 2) e.size(1, 1);
    if (style.invert) e.invert(false);
    if (style.underline) e.underline(false);
    if (style.bold) e.bold(false);
  }
}

/** An RGBA image of a QR code, width a multiple of 8, for printers without GS ( k. */
export function rasterQr(
  payload: string,
  moduleDots: number,
  errorLevel: 'l' | 'm' | 'q' | 'h',
  maxWidthDots: number,
): { data: Uint8ClampedArray; width: number; height: number } {
  const qr = QRCode.create(payload, { errorCorrectionLevel: errorLevel.toUpperCase() as 'L' | 'M' | 'Q' | 'H' });
  const n = qr.modules.size;
  const quiet = 4;
  let scale = moduleDots;
  while (scale > 1 && (n + 2 * quiet) * scale > maxWidthDots) scale -= 1;
  const side = (n + 2 * quiet) * scale;
  const width = Math.ceil(side / 8) * 8;
  const height = side;
  const data = new Uint8ClampedArray(width * height * 4).fill(255);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < side; x++) {
      const mx = Math.floor(x / scale) - quiet;
      const my = Math.floor(y / scale) - quiet;
      if (mx >= 0 && my >= 0 && mx < n && my < n && qr.modules.get(my, mx)) {
        const i = (y * width + x) * 4;
        data[i] = data[i + 1] = data[i + 2] = 0;
      }
    }
  }
  return { data, width, height };
}
