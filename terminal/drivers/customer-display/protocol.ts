// The two command sets almost every 2×20 VFD pole display carries (docs/protocols/pole-display.md):
// Epson DM-D ("US" commands) and CD5220 (ESC Q A/B string mode). Which one a unit
// speaks is a DIP switch, so it is a setting here. Both get plain ASCII only.

export type CommandSet = 'epson' | 'cd5220';

export interface PoleDisplayProtocol {
  readonly name: CommandSet;
  /** Reset, overwrite mode, brightness. */
  init(brightness: number): Uint8Array;
  /** Both lines, each padded to the width, so nothing of the previous text stays. */
  show(line1: string, line2: string): Uint8Array;
  clear(): Uint8Array;
}

const bytes = (...parts: (number[] | string)[]) =>
  new Uint8Array(parts.flatMap((p) => (typeof p === 'string' ? [...Buffer.from(p, 'ascii')] : p)));

export function epsonProtocol(columns = 20): PoleDisplayProtocol {
  return {
    name: 'epson',
    init: (b) => bytes([0x1b, 0x40], [0x1f, 0x01], [0x1f, 0x58, clampBrightness(b)]),
    // US $ x y positions the cursor explicitly: no reliance on line wrap.
    show: (l1, l2) => bytes([0x1f, 0x24, 1, 1], fit(l1, columns), [0x1f, 0x24, 1, 2], fit(l2, columns)),
    clear: () => bytes([0x0c]),
  };
}

export function cd5220Protocol(columns = 20): PoleDisplayProtocol {
  return {
    name: 'cd5220',
    init: (b) => bytes([0x1b, 0x40], [0x1b, 0x11], [0x1b, 0x2a, clampBrightness(b)]),
    // ESC Q A … CR / ESC Q B … CR: each line in string mode, ended by CR.
    show: (l1, l2) => bytes([0x1b, 0x51, 0x41], fit(l1, columns), [0x0d], [0x1b, 0x51, 0x42], fit(l2, columns), [0x0d]),
    clear: () => bytes([0x0c]),
  };
}

export function displayProtocol(set: CommandSet, columns = 20): PoleDisplayProtocol {
  return set === 'cd5220' ? cd5220Protocol(columns) : epsonProtocol(columns);
}

function clampBrightness(b: number): number {
  return Math.min(4, Math.max(1, Math.round(b)));
}

/** Exactly `columns` printable ASCII characters. */
export function fit(text: string, columns: number): string {
  return toAscii(text).slice(0, columns).padEnd(columns, ' ');
}

const ASCII_FOR: Record<string, string> = {
  '¥': 'Y',
  '￥': 'Y',
  '€': 'E',
  '£': 'L',
  '–': '-',
  '—': '-',
  '‘': "'",
  '’': "'",
  '“': '"',
  '”': '"',
  '…': '...',
};

/** A VFD shows no Chinese: accents are stripped, known symbols replaced, anything else dropped. */
export function toAscii(text: string): string {
  let out = '';
  for (const ch of text.normalize('NFKD')) {
    const cp = ch.codePointAt(0)!;
    if (cp >= 0x20 && cp < 0x7f) out += ch;
    else if (ASCII_FOR[ch]) out += ASCII_FOR[ch];
    else if (cp >= 0x300 && cp < 0x370) continue; // combining accents after NFKD
  }
  return out;
}
