// A 2×20 VFD pole display that understands both command sets almost every unit
// carries: Epson DM-D (US …) and CD5220 (ESC Q A/B string mode), per docs/protocols/pole-display.md.
// Characters wrap from the end of line 1 to line 2 and from the end of line 2 home,
// as in overwrite mode.

export class VfdScreen {
  readonly cols: number;
  readonly rows: number;
  private cells: string[][];
  private x = 0;
  private y = 0;
  private buf: number[] = [];
  /** CD5220 ESC Q A/B: text up to CR goes to that line. */
  private stringLine: number | undefined;
  private stringText = '';

  constructor(cols = 20, rows = 2) {
    this.cols = cols;
    this.rows = rows;
    this.cells = this.blank();
  }

  private blank(): string[][] {
    return Array.from({ length: this.rows }, () => Array<string>(this.cols).fill(' '));
  }

  lines(): string[] {
    return this.cells.map((r) => r.join('').trimEnd());
  }

  feed(chunk: Uint8Array): void {
    for (const b of chunk) this.buf.push(b);
    let consumed = 0;
    while (consumed < this.buf.length) {
      const n = this.step(consumed);
      if (n === 0) break;
      consumed += n;
    }
    this.buf = this.buf.slice(consumed);
    // Never let an unterminated command grow without bound.
    if (this.buf.length > 64) this.buf = [];
  }

  private put(ch: string): void {
    this.cells[this.y]![this.x] = ch;
    this.x += 1;
    if (this.x >= this.cols) {
      this.x = 0;
      this.y = (this.y + 1) % this.rows;
    }
  }

  private step(i: number): number {
    const b = this.buf;
    const c = b[i]!;
    const need = (n: number) => i + n <= b.length;
    if (this.stringLine !== undefined) {
      if (c === 0x0d) {
        const row = this.stringText.padEnd(this.cols).slice(0, this.cols);
        this.cells[this.stringLine] = [...row];
        this.stringLine = undefined;
        this.stringText = '';
      } else if (c === 0x0c || c === 0x18) {
        this.stringLine = undefined;
        this.stringText = '';
        this.cells = this.blank();
      } else if (c >= 0x20 && this.stringText.length < 40) this.stringText += String.fromCharCode(c);
      return 1;
    }
    if (c >= 0x20 && c < 0x7f) {
      this.put(String.fromCharCode(c));
      return 1;
    }
    switch (c) {
      case 0x0c: // clear
        this.cells = this.blank();
        this.x = 0;
        this.y = 0;
        return 1;
      case 0x18: // clear the cursor line
        this.cells[this.y] = Array<string>(this.cols).fill(' ');
        this.x = 0;
        return 1;
      case 0x0b: // home
        this.x = 0;
        this.y = 0;
        return 1;
      case 0x0d: // to the left end
        this.x = 0;
        return 1;
      case 0x0a: // down
        this.y = Math.min(this.rows - 1, this.y + 1);
        return 1;
      case 0x08:
        this.x = Math.max(0, this.x - 1);
        return 1;
      case 0x09:
        this.x = Math.min(this.cols - 1, this.x + 1);
        return 1;
      case 0x1b: {
        if (!need(2)) return 0;
        const cmd = b[i + 1]!;
        if (cmd === 0x40) {
          this.cells = this.blank();
          this.x = 0;
          this.y = 0;
          return 2;
        }
        if (cmd === 0x51) {
          // ESC Q A (upper) / B (lower) / D (scroll, shown on line 1 here)
          if (!need(3)) return 0;
          const which = b[i + 2]!;
          this.stringLine = which === 0x42 ? 1 : 0;
          this.stringText = '';
          return 3;
        }
        if (cmd === 0x6c) {
          // ESC l x y: cursor to (x, y), 1-based
          if (!need(4)) return 0;
          this.moveTo(b[i + 2]!, b[i + 3]!);
          return 4;
        }
        if (cmd === 0x5b) return need(3) ? 3 : 0; // ESC [ D/C/A/B/H/L/R/K cursor moves
        if ([0x11, 0x12, 0x13].includes(cmd)) return 2; // scroll modes
        if ([0x2a, 0x5f, 0x66, 0x63, 0x3d, 0x74, 0x52, 0x23].includes(cmd)) return need(3) ? 3 : 0;
        return 2;
      }
      case 0x1f: {
        if (!need(2)) return 0;
        const cmd = b[i + 1]!;
        if (cmd === 0x24) {
          // US $ x y
          if (!need(4)) return 0;
          this.moveTo(b[i + 2]!, b[i + 3]!);
          return 4;
        }
        if (cmd === 0x42) {
          this.x = 0;
          this.y = this.rows - 1;
          return 2;
        }
        if ([0x43, 0x58, 0x45, 0x72].includes(cmd)) return need(3) ? 3 : 0;
        return 2; // US MD1..3, US CR, US LF …
      }
      default:
        return 1;
    }
  }

  private moveTo(x: number, y: number): void {
    this.x = Math.min(this.cols, Math.max(1, x)) - 1;
    this.y = Math.min(this.rows, Math.max(1, y)) - 1;
  }
}
