import type { Channel } from './codes.js';
import { statementKeyRange, type StatementRowScratch } from './rows.js';
import type { PlatformRowScratch } from './platform-csv.js';

/**
 * Rows in columns, as a worker thread hands them to the main thread: a few typed arrays
 * moved (transferred, not copied) per 32k rows instead of a million cloned objects.
 */
export interface RowBatch {
  /** 0 statement, 1 platform */
  side: 0 | 1;
  n: number;
  kind: Uint8Array;
  keys: Uint8Array;
  keyEnds: Int32Array;
  status: Uint8Array;
  amount: Float64Array;
  cur: Uint8Array;
  currencies: string[];
  /** Platform rows: paid_at (epoch ms, NaN when empty). Statement rows: the line's file offset. */
  time: Float64Array;
  line: Int32Array;
  carried: Uint8Array;
}

export function batchTransferList(b: RowBatch): ArrayBuffer[] {
  return [b.kind, b.keys, b.keyEnds, b.status, b.amount, b.cur, b.time, b.line, b.carried].map(
    (a) => a.buffer as ArrayBuffer,
  );
}

export class BatchBuilder {
  private b!: RowBatch;
  private keyUsed = 0;
  private curIndex = new Map<string, number>();

  constructor(
    private readonly side: 0 | 1,
    private readonly channel: Channel,
    private readonly flush: (b: RowBatch) => void,
    private readonly rows = 8192,
  ) {
    this.reset();
  }

  private reset(): void {
    const n = this.rows;
    this.b = {
      side: this.side,
      n: 0,
      kind: new Uint8Array(n),
      keys: new Uint8Array(n * 24),
      keyEnds: new Int32Array(n),
      status: new Uint8Array(n),
      amount: new Float64Array(n),
      cur: new Uint8Array(n),
      currencies: [],
      time: new Float64Array(n),
      line: new Int32Array(n),
      carried: new Uint8Array(n),
    };
    this.keyUsed = 0;
    this.curIndex = new Map();
  }

  private cur(c: string): number {
    let i = this.curIndex.get(c);
    if (i === undefined) {
      i = this.b.currencies.length;
      this.b.currencies.push(c);
      this.curIndex.set(c, i);
    }
    return i;
  }

  private put(buf: Uint8Array, s: number, e: number): number {
    const used = this.keyUsed;
    let arena = this.b.keys;
    if (used + e - s > arena.length) {
      const bigger = new Uint8Array(Math.max(arena.length * 2, used + e - s));
      bigger.set(arena);
      arena = bigger;
      this.b.keys = arena;
    }
    for (let k = s, at = used; k < e; k++, at++) arena[at] = buf[k]!;
    this.keyUsed = used + e - s;
    return this.keyUsed;
  }

  statement = (r: StatementRowScratch): void => {
    const b = this.b;
    const i = b.n;
    const [ks, ke] = statementKeyRange(this.channel, r);
    b.kind[i] = r.kind;
    b.keyEnds[i] = this.put(r.buf, ks, ke);
    b.status[i] = r.status;
    b.amount[i] = r.amountMinor;
    b.cur[i] = this.cur(r.currency);
    b.time[i] = r.offset;
    b.line[i] = r.line;
    if (++b.n === this.rows) this.emit();
  };

  platform = (r: PlatformRowScratch): void => {
    const b = this.b;
    const i = b.n;
    b.kind[i] = r.kind;
    b.keyEnds[i] = this.put(r.buf, r.keyS, r.keyE);
    b.status[i] = r.status;
    b.amount[i] = r.amountMinor;
    b.cur[i] = this.cur(r.currency);
    b.time[i] = r.paidAtMs;
    b.line[i] = r.line;
    if (++b.n === this.rows) this.emit();
  };

  emit(): void {
    if (this.b.n === 0) return;
    const b = this.b;
    this.reset();
    this.flush(b);
  }
}
