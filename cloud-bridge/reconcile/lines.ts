import { open } from 'node:fs/promises';

// Line splitting on bytes. A statement of a million rows is a few hundred MB; decoding
// it to strings and splitting (readline) costs about four times what the reconciliation
// itself does, so the parsers read fields straight out of the byte buffers.

/** end excludes the line break (LF or CRLF); lineNo counts from 1 within this splitter. */
export type LineHandler = (buf: Uint8Array, start: number, end: number, lineNo: number) => void;

export class LineSplitter {
  private carry: Uint8Array | null = null;
  lines = 0;
  /** False when the last line had no line break (often a sign of truncation). */
  lastTerminated = true;
  /** File offset of the line being handled (for going back to it later). */
  lineOffset = 0;
  private chunkBase: number;
  private carryOffset = 0;
  constructor(
    private readonly onLine: LineHandler,
    baseOffset = 0,
  ) {
    this.chunkBase = baseOffset;
  }

  push(chunk: Uint8Array): void {
    let pos = 0;
    const len = chunk.length;
    // Buffer#indexOf is memchr; TypedArray#indexOf is several times slower. The handler
    // still gets the plain Uint8Array, so its element access stays monomorphic.
    const find = Buffer.from(chunk.buffer, chunk.byteOffset, len);
    if (this.carry) {
      const nl = find.indexOf(10);
      if (nl < 0) {
        this.carry = concat(this.carry, chunk, len);
        this.chunkBase += len;
        return;
      }
      const joined = concat(this.carry, chunk, nl);
      this.carry = null;
      this.lineOffset = this.carryOffset;
      this.emit(joined, 0, joined.length);
      pos = nl + 1;
    }
    for (;;) {
      const nl = find.indexOf(10, pos);
      if (nl < 0) break;
      this.lineOffset = this.chunkBase + pos;
      this.emit(chunk, pos, nl);
      pos = nl + 1;
    }
    // A copy: the reader reuses its chunk buffer (and Buffer#slice would not copy).
    if (pos < len) {
      this.carry = Uint8Array.prototype.slice.call(chunk, pos);
      this.carryOffset = this.chunkBase + pos;
    }
    this.chunkBase += len;
  }

  end(): void {
    if (this.carry && this.carry.length > 0) {
      const c = this.carry;
      this.carry = null;
      this.lastTerminated = false;
      this.lineOffset = this.carryOffset;
      this.emit(c, 0, c.length);
    }
  }

  private emit(buf: Uint8Array, start: number, end: number): void {
    if (end > start && buf[end - 1] === 13) end--;
    this.lines++;
    this.onLine(buf, start, end, this.lines);
  }
}

function concat(a: Uint8Array, b: Uint8Array, bLen: number): Uint8Array {
  const out = new Uint8Array(a.length + bLen);
  out.set(a, 0);
  out.set(b.subarray(0, bLen), a.length);
  return out;
}

/** Reads [start, end) of a file in chunks; the chunk buffer is reused, so consume it synchronously. */
export async function readRange(
  path: string,
  start: number,
  end: number,
  onChunk: (chunk: Uint8Array) => void,
  chunkSize = 1 << 20,
): Promise<void> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(chunkSize);
    let pos = start;
    while (pos < end) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(chunkSize, end - pos), pos);
      if (bytesRead === 0) break;
      // A plain Uint8Array (not a Buffer) keeps the parsers' element access monomorphic.
      onChunk(new Uint8Array(buf.buffer, buf.byteOffset, bytesRead));
      pos += bytesRead;
    }
  } finally {
    await fh.close();
  }
}

/** Offset just after the first LF at or after `from` (or `size` if none). */
export async function nextLineStart(path: string, from: number, size: number): Promise<number> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(64 * 1024);
    let pos = from;
    while (pos < size) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) break;
      const nl = buf.subarray(0, bytesRead).indexOf(10);
      if (nl >= 0) return pos + nl + 1;
      pos += bytesRead;
    }
    return size;
  } finally {
    await fh.close();
  }
}

export function bytesEqual(buf: Uint8Array, start: number, end: number, lit: Uint8Array): boolean {
  if (end - start !== lit.length) return false;
  for (let i = 0; i < lit.length; i++) if (buf[start + i] !== lit[i]) return false;
  return true;
}

export const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

const utf8 = new TextDecoder('utf-8');
export function text(buf: Uint8Array, start: number, end: number): string {
  return utf8.decode(buf.subarray(start, end));
}

/** Interns 3-letter currency codes without allocating a string per row. */
export class CurrencyInterner {
  private readonly cache = new Map<number, string>();
  get(buf: Uint8Array, start: number, end: number): string | null {
    if (end - start !== 3) return null;
    const a = buf[start]!,
      b = buf[start + 1]!,
      c = buf[start + 2]!;
    const k = (a << 16) | (b << 8) | c;
    let s = this.cache.get(k);
    if (s === undefined) {
      if (![a, b, c].every((x) => x >= 65 && x <= 90)) return null;
      s = String.fromCharCode(a, b, c);
      this.cache.set(k, s);
    }
    return s;
  }
}
