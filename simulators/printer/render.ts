import type { Align, PrinterEvent, Style } from './decoder.js';

// Turns one job's events into the text a person reads in NNNN.txt:
//  - styles marked inline: {b,u,inv,2x2}text{/} (b bold, u underline, inv white on
//    black, WxH character size, fontB), closed at the end of each line;
//  - alignment set by ESC a marked at the start of the line: {center} / {right};
//  - Chinese decoded from GB18030; QR codes as [QR: payload]; [IMAGE WxH];
//  - [BARCODE m: data]; [CUT full|partial]; [DRAWER pin2 50ms/500ms]; [UNKNOWN 1b xx].

function styleKey(s: Style): string {
  const parts: string[] = [];
  if (s.bold) parts.push('b');
  if (s.underline) parts.push('u');
  if (s.invert) parts.push('inv');
  if (s.width !== 1 || s.height !== 1) parts.push(`${s.width}x${s.height}`);
  if (s.fontB) parts.push('fontB');
  return parts.join(',');
}

export class JobRenderer {
  private lines: string[] = [];
  private segments: { key: string; text: string }[] = [];
  private align: Align = 'left';
  /** Anything that would show on paper (text, a code, an image). */
  printed = false;

  add(e: PrinterEvent): void {
    switch (e.t) {
      case 'text': {
        const key = styleKey(e.style);
        const last = this.segments.at(-1);
        if (last && last.key === key) last.text += e.text;
        else this.segments.push({ key, text: e.text });
        if (e.text.trim()) this.printed = true;
        return;
      }
      case 'newline':
        this.flush(true);
        return;
      case 'feed':
        this.flush(false);
        for (let k = 0; k < e.lines; k++) this.lines.push('');
        return;
      case 'align':
        this.align = e.align;
        return;
      case 'init':
        this.align = 'left';
        return;
      case 'qr':
        this.block(`[QR: ${e.payload}]`);
        return;
      case 'image':
        this.block(`[IMAGE ${e.width}x${e.height}]`);
        return;
      case 'barcode':
        this.block(`[BARCODE ${e.symbology}: ${e.data}]`);
        return;
      case 'cut':
        this.block(`[CUT ${e.mode}]`);
        return;
      case 'drawer':
        this.block(`[DRAWER pin${e.pin} ${e.onMs}ms/${e.offMs}ms]`);
        return;
      case 'unknown':
        this.segments.push({
          key: '',
          text: `[UNKNOWN ${[...e.bytes].map((b) => b.toString(16).padStart(2, '0')).join(' ')}]`,
        });
        return;
      default:
        return;
    }
  }

  private block(text: string): void {
    this.flush(false);
    this.lines.push(text);
    if (!text.startsWith('[CUT') && !text.startsWith('[DRAWER')) this.printed = true;
  }

  private flush(always: boolean): void {
    // Software-aligned lines end in padding; it carries no meaning on paper.
    while (this.segments.length > 0) {
      const last = this.segments.at(-1)!;
      last.text = last.text.replace(/\s+$/, '');
      if (last.text) break;
      this.segments.pop();
    }
    if (this.segments.length === 0) {
      if (always) this.lines.push('');
      return;
    }
    const body = this.segments.map((s) => (s.key ? `{${s.key}}${s.text}{/}` : s.text)).join('');
    this.lines.push(this.align === 'left' ? body : `{${this.align}}${body}`);
    this.segments = [];
  }

  text(): string {
    this.flush(false);
    return this.lines.join('\n') + '\n';
  }
}
