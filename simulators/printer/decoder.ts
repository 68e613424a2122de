import iconv from 'iconv-lite';

// An ESC/POS reader written from the Epson command tables, independently of the
// terminal's encoder (the simulator stands in for a printer, so it shares no code with
// Kauri). It reads a byte stream in any chunking, knows the length of every command it
// accepts, and reports each as an event; what it does not know is reported as unknown
// rather than guessed at. Real-time commands (DLE EOT/ENQ/DC4) are recognised only
// between commands, never inside another command's parameters.

export interface Style {
  bold: boolean;
  underline: boolean;
  invert: boolean;
  width: number;
  height: number;
  fontB: boolean;
}

export type Align = 'left' | 'center' | 'right';

export type PrinterEvent =
  | { t: 'init' }
  | { t: 'text'; text: string; style: Style }
  | { t: 'newline' }
  | { t: 'feed'; lines: number }
  | { t: 'align'; align: Align }
  | { t: 'cut'; mode: 'full' | 'partial' }
  | { t: 'qr'; payload: string }
  | { t: 'image'; width: number; height: number; bits: Buffer }
  | { t: 'barcode'; symbology: number; data: string }
  | { t: 'drawer'; pin: number; onMs: number; offMs: number }
  | { t: 'status-query'; n: number }
  | { t: 'recover'; n: number }
  | { t: 'unknown'; bytes: Buffer };

export interface DecodedCommand {
  event?: PrinterEvent;
  /** The bytes of the command; real-time commands are not part of a print job. */
  raw: Buffer;
  realtime: boolean;
}

const CODE_PAGES: Record<number, string> = {
  0: 'cp437',
  2: 'cp850',
  3: 'cp860',
  4: 'cp863',
  5: 'cp865',
  16: 'cp1252',
  17: 'cp866',
  18: 'cp852',
  19: 'cp858',
};

const NEED_MORE = -1;

export class EscPosDecoder {
  private buf: Buffer = Buffer.alloc(0);
  private style: Style = EscPosDecoder.plain();
  private kanji = false;
  private codePage = 0;
  private qrData = Buffer.alloc(0);

  private static plain(): Style {
    return { bold: false, underline: false, invert: false, width: 1, height: 1, fontB: false };
  }

  /** Feeds bytes; returns every complete command. Incomplete trailing bytes wait for more. */
  feed(chunk: Uint8Array): DecodedCommand[] {
    this.buf = this.buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buf, chunk]);
    const out: DecodedCommand[] = [];
    let i = 0;
    while (i < this.buf.length) {
      const n = this.step(i, out);
      if (n === NEED_MORE) break;
      i += n;
    }
    this.buf = this.buf.subarray(i);
    return out;
  }

  /** Bytes waiting for the rest of a command. */
  get pending(): number {
    return this.buf.length;
  }

  private step(i: number, out: DecodedCommand[]): number {
    const b = this.buf;
    const c = b[i]!;
    const emit = (len: number, event?: PrinterEvent, realtime = false): number => {
      out.push({ event, raw: Buffer.from(b.subarray(i, i + len)), realtime });
      return len;
    };
    const need = (len: number) => i + len <= b.length;
    const p = (k: number) => b[i + k]!;

    if (c >= 0x20 || (this.kanji && c >= 0x80)) return this.text(i, out);
    switch (c) {
      case 0x0a:
        return emit(1, { t: 'newline' });
      case 0x0d:
      case 0x00:
        return emit(1);
      case 0x09:
        return emit(1, { t: 'text', text: '    ', style: { ...this.style } });
      case 0x0c:
        return emit(1, { t: 'newline' });
      case 0x10: {
        if (!need(3)) return NEED_MORE;
        if (p(1) === 0x04) return emit(3, { t: 'status-query', n: p(2) }, true);
        if (p(1) === 0x05) return emit(3, { t: 'recover', n: p(2) }, true);
        if (p(1) === 0x14) return need(5) ? emit(5, undefined, true) : NEED_MORE;
        return emit(1, { t: 'unknown', bytes: Buffer.from([c]) });
      }
      case 0x1b:
        return this.esc(i, emit, need, p);
      case 0x1d:
        return this.gs(i, emit, need, p);
      case 0x1c:
        return this.fs(emit, need, p);
      default:
        return emit(1, { t: 'unknown', bytes: Buffer.from([c]) });
    }
  }

  private text(i: number, out: DecodedCommand[]): number {
    const b = this.buf;
    let j = i;
    while (j < b.length) {
      const c = b[j]!;
      if (c < 0x20) break;
      if (this.kanji && c >= 0x81 && c <= 0xfe) {
        // GB18030: two bytes, or four when the second is a digit 0x30..0x39.
        if (j + 1 >= b.length) break;
        const d = b[j + 1]!;
        if (d >= 0x30 && d <= 0x39) {
          if (j + 3 >= b.length) break;
          j += 4;
        } else j += 2;
        continue;
      }
      j += 1;
    }
    if (j === i) return NEED_MORE; // a lead byte whose trail has not arrived
    const bytes = b.subarray(i, j);
    const text = this.kanji
      ? iconv.decode(bytes, 'gb18030')
      : iconv.decode(bytes, CODE_PAGES[this.codePage] ?? 'cp437');
    out.push({ event: { t: 'text', text, style: { ...this.style } }, raw: Buffer.from(bytes), realtime: false });
    return j - i;
  }

  private esc(
    i: number,
    emit: (len: number, e?: PrinterEvent) => number,
    need: (n: number) => boolean,
    p: (k: number) => number,
  ): number {
    if (!need(2)) return NEED_MORE;
    const cmd = p(1);
    const one = (apply: (n: number) => PrinterEvent | undefined): number =>
      need(3) ? emit(3, apply(p(2))) : NEED_MORE;
    switch (cmd) {
      case 0x40: // ESC @
        this.style = EscPosDecoder.plain();
        this.kanji = false;
        this.codePage = 0;
        return emit(2, { t: 'init' });
      case 0x45: // ESC E n
      case 0x47: // ESC G n (double strike)
        return one((n) => void (this.style.bold = (n & 1) === 1));
      case 0x2d: // ESC - n
        return one((n) => void (this.style.underline = (n & 3) !== 0 && n !== 0x30));
      case 0x21: // ESC ! n
        return one((n) => {
          this.style.fontB = (n & 0x01) !== 0;
          this.style.bold = (n & 0x08) !== 0;
          this.style.height = n & 0x10 ? 2 : 1;
          this.style.width = n & 0x20 ? 2 : 1;
          this.style.underline = (n & 0x80) !== 0;
          return undefined;
        });
      case 0x61: // ESC a n
        return one((n) => ({ t: 'align', align: n % 48 === 1 ? 'center' : n % 48 === 2 ? 'right' : 'left' }));
      case 0x4d: // ESC M n
        return one((n) => void (this.style.fontB = n % 48 === 1));
      case 0x74: // ESC t n
        return one((n) => void (this.codePage = n));
      case 0x64: // ESC d n
        return one((n) => ({ t: 'feed', lines: n }));
      case 0x4a: // ESC J n (dots)
        return one(() => ({ t: 'newline' }));
      case 0x70: // ESC p m t1 t2: five bytes, always
        return need(5)
          ? emit(5, { t: 'drawer', pin: p(2) % 48 === 0 ? 2 : 5, onMs: p(3) * 2, offMs: p(4) * 2 })
          : NEED_MORE;
      case 0x32: // ESC 2
      case 0x69: // ESC i
      case 0x6d: // ESC m
        return emit(2, cmd === 0x32 ? undefined : { t: 'cut', mode: cmd === 0x69 ? 'full' : 'partial' });
      case 0x33: // ESC 3 n
      case 0x52: // ESC R n
      case 0x56: // ESC V n
      case 0x7b: // ESC { n
      case 0x20: // ESC SP n
      case 0x55: // ESC U n
      case 0x65: // ESC e n
      case 0x3d: // ESC = n
      case 0x34: // ESC 4 n (italic on some models)
      case 0x72: // ESC r n
      case 0x25: // ESC % n
        return one(() => undefined);
      case 0x24: // ESC $ nL nH
      case 0x5c: // ESC \ nL nH
        return need(4) ? emit(4) : NEED_MORE;
      case 0x63: // ESC c x n
        return need(4) ? emit(4) : NEED_MORE;
      case 0x2a: {
        // ESC * m nL nH d…: 1 byte per column (8-dot modes) or 3 (24-dot modes)
        if (!need(5)) return NEED_MORE;
        const m = p(2);
        const cols = p(3) + 256 * p(4);
        const len = 5 + cols * (m === 32 || m === 33 ? 3 : 1);
        return need(len)
          ? emit(len, { t: 'image', width: cols, height: m === 32 || m === 33 ? 24 : 8, bits: Buffer.alloc(0) })
          : NEED_MORE;
      }
      default:
        return emit(2, { t: 'unknown', bytes: Buffer.from([0x1b, cmd]) });
    }
  }

  private gs(
    i: number,
    emit: (len: number, e?: PrinterEvent) => number,
    need: (n: number) => boolean,
    p: (k: number) => number,
  ): number {
    if (!need(2)) return NEED_MORE;
    const cmd = p(1);
    const one = (apply: (n: number) => PrinterEvent | undefined): number =>
      need(3) ? emit(3, apply(p(2))) : NEED_MORE;
    switch (cmd) {
      case 0x21: // GS ! n
        return one((n) => {
          this.style.width = ((n >> 4) & 7) + 1;
          this.style.height = (n & 7) + 1;
          return undefined;
        });
      case 0x42: // GS B n
        return one((n) => void (this.style.invert = (n & 1) === 1));
      case 0x56: {
        // GS V m [n]
        if (!need(3)) return NEED_MORE;
        const m = p(2);
        const mode = m === 0 || m === 48 || m === 65 || m === 97 || m === 103 ? 'full' : 'partial';
        if ([0, 1, 48, 49].includes(m)) return emit(3, { t: 'cut', mode });
        return need(4) ? emit(4, { t: 'cut', mode }) : NEED_MORE;
      }
      case 0x76: {
        // GS v 0 m xL xH yL yH d…
        if (!need(8)) return NEED_MORE;
        const x = p(4) + 256 * p(5);
        const y = p(6) + 256 * p(7);
        const len = 8 + x * y;
        if (!need(len)) return NEED_MORE;
        return emit(len, { t: 'image', width: x * 8, height: y, bits: Buffer.from(this.buf.subarray(i + 8, i + len)) });
      }
      case 0x28: {
        // GS ( fn pL pH …
        if (!need(5)) return NEED_MORE;
        const len = 5 + p(3) + 256 * p(4);
        if (!need(len)) return NEED_MORE;
        if (p(2) !== 0x6b) return emit(len);
        const cn = p(5);
        const fn = p(6);
        if (cn !== 0x31) return emit(len); // PDF417 and other symbols: framing only
        if (fn === 0x50) {
          this.qrData = Buffer.from(this.buf.subarray(i + 8, i + len));
          return emit(len);
        }
        if (fn === 0x51) return emit(len, { t: 'qr', payload: this.qrData.toString('latin1') });
        return emit(len);
      }
      case 0x6b: {
        // GS k m …: format A (m ≤ 6) ends with NUL; format B has a length byte
        if (!need(3)) return NEED_MORE;
        const m = p(2);
        if (m <= 6) {
          const end = this.buf.indexOf(0, i + 3);
          if (end < 0) return NEED_MORE;
          return emit(end + 1 - i, {
            t: 'barcode',
            symbology: m,
            data: this.buf.subarray(i + 3, end).toString('latin1'),
          });
        }
        if (!need(4)) return NEED_MORE;
        const len = 4 + p(3);
        return need(len)
          ? emit(len, { t: 'barcode', symbology: m, data: this.buf.subarray(i + 4, i + len).toString('latin1') })
          : NEED_MORE;
      }
      case 0x68: // GS h n
      case 0x77: // GS w n
      case 0x48: // GS H n
      case 0x66: // GS f n
      case 0x61: // GS a n
      case 0x72: // GS r n
      case 0x49: // GS I n
      case 0x62: // GS b n
      case 0x2f: // GS / m
        return one(() => undefined);
      case 0x4c: // GS L nL nH
      case 0x57: // GS W nL nH
      case 0x50: // GS P x y
      case 0x24: // GS $ nL nH
        return need(4) ? emit(4) : NEED_MORE;
      default:
        return emit(2, { t: 'unknown', bytes: Buffer.from([0x1d, cmd]) });
    }
  }

  private fs(
    emit: (len: number, e?: PrinterEvent) => number,
    need: (n: number) => boolean,
    p: (k: number) => number,
  ): number {
    if (!need(2)) return NEED_MORE;
    const cmd = p(1);
    switch (cmd) {
      case 0x26: // FS &: Kanji (double-byte) mode on
        this.kanji = true;
        return emit(2);
      case 0x2e: // FS .: off
        this.kanji = false;
        return emit(2);
      case 0x21: // FS ! n
      case 0x2d: // FS - n
      case 0x57: // FS W n
      case 0x43: // FS C n
        return need(3) ? emit(3) : NEED_MORE;
      case 0x53: // FS S n1 n2
      case 0x70: // FS p n m
        return need(4) ? emit(4) : NEED_MORE;
      case 0x28: {
        if (!need(5)) return NEED_MORE;
        const len = 5 + p(3) + 256 * p(4);
        return need(len) ? emit(len) : NEED_MORE;
      }
      default:
        return emit(2, { t: 'unknown', bytes: Buffer.from([0x1c, cmd]) });
    }
  }
}
