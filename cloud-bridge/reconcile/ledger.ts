import { RowProblem } from './errors.js';
import {
  channelStatusName,
  KEY_PREFIX,
  KIND_PAYMENT,
  platformStatusName,
  type BillKind,
  type Category,
  type Channel,
  type ChannelStatus,
  type PlatformStatus,
} from './codes.js';
import {
  channelSign,
  classifyPair,
  classifyPlatformOnly,
  platformRole,
  platformSign,
  supersedes,
  ROLE_BEFORE,
  ROLE_CORE,
} from './classify.js';
import { text } from './lines.js';
import { formatChinaTime, channelDayStartMs } from './time.js';
import type { RowBatch } from './batch.js';

// The matcher's memory: one open-addressing hash table keyed by (kind, id) bytes, with
// both sides of every id in parallel typed arrays. A million ids cost about 100 bytes
// each, not the ~400 of a Map of objects, and inserting needs no string per row.
// Every decision is order-independent, so rows may arrive from several threads in any order.

export interface ReconcileSummary {
  channel: Channel;
  date: string;
  statementRows: number;
  platformRows: number;
  matched: number;
  amountMismatch: number;
  currencyMismatch: number;
  statusMismatch: number;
  channelOnly: number;
  platformOnly: number;
  duplicates: number;
  suspense: number;
  totals: { channelMinor: number; platformMinor: number; currency: string };
}

export interface Difference {
  category: Exclude<Category, 'matched'>;
  kind: BillKind;
  /** The id matched on: out_trade_no for payments, out_refund_no (bank: the bank refund id) for refunds. */
  id: string;
  channelTradeNo: string | null;
  channelStatus: ChannelStatus | null;
  channelAmountMinor: number | null;
  channelCurrency: string | null;
  channelTime: string | null;
  platformStatus: PlatformStatus | null;
  platformAmountMinor: number | null;
  platformCurrency: string | null;
  paidAt: string | null;
  /** How many times the statement has the row (duplicates only). */
  occurrences: number | null;
}

export interface LedgerOptions {
  channel: Channel;
  /** Days since epoch of the channel day (China time). */
  day: number;
  date: string;
  windowMs: number;
  /** Expected number of ids, to size the table once. */
  sizeHint?: number;
}

const EMPTY = 0;
const SLOT = 3;

export class Ledger {
  private cap: number;
  private n = 0;
  private slots: Int32Array;
  private mask: number;
  private keyArena: Uint8Array;
  private keyUsed = 0;
  /** Where entry i's key starts in keyArena: [kind, length low, length high, id bytes…]. */
  private keyOff: Int32Array;
  // platform side
  private pStatus: Uint8Array;
  private pRole: Uint8Array;
  private pCarried: Uint8Array;
  private pAmount: Int32Array;
  private pCur: Uint8Array;
  /** paid_at in whole epoch seconds (0 when unknown): half the memory of a Float64 of ms. */
  private pTime: Uint32Array;
  // channel side
  private cStatus: Uint8Array;
  private cCount: Int32Array;
  private cAmount: Int32Array;
  private cCur: Uint8Array;
  /**
   * Where the statement row can be found again (its file offset, or a caller's index):
   * the channel trade no and time are only needed for the few differences, so they are
   * read back from the file at the end instead of being kept for a million rows.
   */
  private cRef: Uint32Array;
  /** Amounts too big for an Int32 (over 21 million dollars), kept aside; the arrays hold -1. */
  private readonly bigAmounts = new Map<number, number>();

  private readonly currencies: string[] = [];
  private readonly currencyIndex = new Map<string, number>();
  private firstStatementCurrency = -1;
  statementRows = 0;
  private readonly dayStart: number;

  constructor(private readonly opts: LedgerOptions) {
    this.dayStart = channelDayStartMs(opts.day);
    let cap = 1024;
    while (cap < (opts.sizeHint ?? 0) * 1.05) cap *= 2;
    this.cap = cap;
    this.slots = new Int32Array(cap * 2 * SLOT);
    this.mask = cap * 2 - 1;
    this.keyArena = new Uint8Array(cap * 26);
    this.keyOff = new Int32Array(cap);
    this.pStatus = new Uint8Array(cap);
    this.pRole = new Uint8Array(cap);
    this.pCarried = new Uint8Array(cap);
    this.pAmount = new Int32Array(cap);
    this.pCur = new Uint8Array(cap);
    this.pTime = new Uint32Array(cap);
    this.cStatus = new Uint8Array(cap);
    this.cCount = new Int32Array(cap);
    this.cAmount = new Int32Array(cap);
    this.cCur = new Uint8Array(cap);
    this.cRef = new Uint32Array(cap);
  }

  currencyCode(cur: string): number {
    let i = this.currencyIndex.get(cur);
    if (i === undefined) {
      i = this.currencies.length;
      if (i > 255) throw new RowProblem('malformed_row', 'more than 256 currencies');
      this.currencies.push(cur);
      this.currencyIndex.set(cur, i);
    }
    return i;
  }

  /** A statement row: merges with an earlier sighting of the same id, or counts as a duplicate. */
  addStatement(
    kind: number,
    buf: Uint8Array,
    ks: number,
    ke: number,
    status: number,
    amountMinor: number,
    cur: number,
    ref: number,
  ): void {
    this.statementRows++;
    if (this.firstStatementCurrency < 0) this.firstStatementCurrency = cur;
    const i = this.entry(kind, buf, ks, ke);
    const prev = this.cStatus[i]!;
    if (prev !== EMPTY) {
      if (supersedes(status, prev)) {
        this.cStatus[i] = status;
        this.cRef[i] = ref;
      } else if (!supersedes(prev, status)) {
        this.cCount[i]!++;
      }
      return;
    }
    this.cStatus[i] = status;
    this.cCount[i] = 1;
    this.cAmount[i] = this.small(amountMinor, i * 2);
    this.cCur[i] = cur;
    this.cRef[i] = ref;
  }

  /**
   * A platform row. Rows of other days are dropped here; `carried` marks a row that was in
   * suspense after the previous day's run, so its absence now is a difference.
   */
  addPlatform(
    kind: number,
    buf: Uint8Array,
    ks: number,
    ke: number,
    status: number,
    amountMinor: number,
    cur: number,
    timeMs: number,
    line: number,
    carried = false,
  ): void {
    const role = platformRole(timeMs, this.dayStart, this.opts.windowMs);
    if (role === 0) return;
    const i = this.entry(kind, buf, ks, ke);
    if (this.pStatus[i] !== EMPTY) {
      throw Object.assign(
        new RowProblem(
          'malformed_row',
          `${kind === KIND_PAYMENT ? 'payment' : 'refund'} ${text(buf, ks, ke)} appears twice`,
        ),
        { line },
      );
    }
    this.pStatus[i] = status;
    this.pRole[i] = role;
    this.pCarried[i] = carried ? 1 : 0;
    this.pAmount[i] = this.small(amountMinor, i * 2 + 1);
    this.pCur[i] = cur;
    this.pTime[i] = Number.isNaN(timeMs) ? 0 : Math.floor(timeMs / 1000);
  }

  addBatch(b: RowBatch, lineOffset = 0): void {
    const map = b.currencies.map((c) => this.currencyCode(c));
    let ks = 0;
    for (let r = 0; r < b.n; r++) {
      const ke = b.keyEnds[r]!;
      if (b.side === 0) {
        this.addStatement(b.kind[r]!, b.keys, ks, ke, b.status[r]!, b.amount[r]!, map[b.cur[r]!]!, b.time[r]!);
      } else {
        this.addPlatform(
          b.kind[r]!,
          b.keys,
          ks,
          ke,
          b.status[r]!,
          b.amount[r]!,
          map[b.cur[r]!]!,
          b.time[r]!,
          b.line[r]! + lineOffset,
          b.carried[r] === 1,
        );
      }
      ks = ke;
    }
  }

  private entry(kind: number, buf: Uint8Array, ks: number, ke: number): number {
    const len = ke - ks;
    if (len > 0xffff) throw new RowProblem('malformed_row', 'an id longer than 65535 bytes');
    // FNV-1a over the kind byte and the id.
    let h = (0x811c9dc5 ^ KEY_PREFIX[kind]!) >>> 0;
    h = Math.imul(h, 0x01000193);
    for (let k = ks; k < ke; k++) h = Math.imul(h ^ buf[k]!, 0x01000193);
    // Slots hold (entry + 1, hash, key offset): a probe touches the slot's cache line and,
    // when the hash matches, the key's; nothing else.
    const slots = this.slots;
    const arena = this.keyArena;
    let s = h & this.mask;
    for (;;) {
      const at = s * SLOT;
      const e = slots[at]!;
      if (e === 0) break;
      if (slots[at + 1] === h) {
        const off = slots[at + 2]!;
        if (arena[off] === kind && arena[off + 1] === (len & 0xff) && arena[off + 2] === len >> 8) {
          let k = 0;
          const base = off + 3 - ks;
          for (k = ks; k < ke; k++) if (arena[base + k] !== buf[k]) break;
          if (k === ke) return e - 1;
        }
      }
      s = (s + 1) & this.mask;
    }
    if (this.n === this.cap) {
      this.growEntries();
      return this.entry(kind, buf, ks, ke);
    }
    const i = this.n++;
    if (this.keyUsed + len + 3 > this.keyArena.length) this.keyArena = grow(this.keyArena, this.keyUsed + len + 3);
    const off = this.keyUsed;
    const a = this.keyArena;
    a[off] = kind;
    a[off + 1] = len & 0xff;
    a[off + 2] = len >> 8;
    copyBytes(buf, ks, ke, a, off + 3);
    this.keyUsed += len + 3;
    this.keyOff[i] = off;
    const at = s * SLOT;
    slots[at] = i + 1;
    slots[at + 1] = h;
    slots[at + 2] = off;
    return i;
  }

  private growEntries(): void {
    const cap = this.cap * 2;
    this.cap = cap;
    this.keyOff = resize(this.keyOff, cap);
    this.pStatus = resize(this.pStatus, cap);
    this.pRole = resize(this.pRole, cap);
    this.pCarried = resize(this.pCarried, cap);
    this.pAmount = resize(this.pAmount, cap);
    this.pCur = resize(this.pCur, cap);
    this.pTime = resize(this.pTime, cap);
    this.cStatus = resize(this.cStatus, cap);
    this.cCount = resize(this.cCount, cap);
    this.cAmount = resize(this.cAmount, cap);
    this.cCur = resize(this.cCur, cap);
    this.cRef = resize(this.cRef, cap);
    const old = this.slots;
    this.slots = new Int32Array(cap * 2 * SLOT);
    this.mask = cap * 2 - 1;
    for (let at = 0; at < old.length; at += SLOT) {
      if (old[at] === 0) continue;
      let s = old[at + 1]! & this.mask;
      while (this.slots[s * SLOT] !== 0) s = (s + 1) & this.mask;
      this.slots.set(old.subarray(at, at + SLOT), s * SLOT);
    }
  }

  private small(amountMinor: number, slot: number): number {
    if (amountMinor <= 0x7fffffff) return amountMinor;
    this.bigAmounts.set(slot, amountMinor);
    return -1;
  }

  private amount(arr: Int32Array, i: number, side: number): number {
    const v = arr[i]!;
    return v === -1 ? this.bigAmounts.get(i * 2 + side)! : v;
  }

  private kindOf(i: number): number {
    return this.keyArena[this.keyOff[i]!]!;
  }

  private idOf(i: number): string {
    const off = this.keyOff[i]!;
    const len = this.keyArena[off + 1]! | (this.keyArena[off + 2]! << 8);
    return text(this.keyArena, off + 3, off + 3 + len);
  }

  /** Classifies every id; deterministic whatever order the rows came in. */
  finish(opts: { totalsCurrency?: string; collectDifferences?: boolean } = {}): {
    summary: ReconcileSummary;
    differences: Difference[];
    refs: number[];
  } {
    const counts = {
      matched: 0,
      amountMismatch: 0,
      currencyMismatch: 0,
      statusMismatch: 0,
      channelOnly: 0,
      platformOnly: 0,
      duplicates: 0,
      suspense: 0,
    };
    const collect = opts.collectDifferences !== false;
    const differences: Difference[] = [];
    const refOf = new Map<Difference, number>();
    const diff = (i: number, category: Difference['category'], hasC: boolean, hasP: boolean): void => {
      const d = this.difference(i, category, hasC, hasP);
      if (hasC) refOf.set(d, this.cRef[i]!);
      differences.push(d);
    };
    const platformNet = new Map<number, number>();
    let platformRows = 0;
    const chSide = { status: 0, amountMinor: 0, currency: '' };
    const plSide = { status: 0, amountMinor: 0, currency: '' };
    // What moved at the channel, from each id's last state: a payment cancelled later the same
    // day, or a refund first listed in progress and then done, counts once, as it ended.
    // Repeated rows (duplicates) count as often as the file lists them.
    const channelNet = new Map<number, number>();
    for (let i = 0; i < this.n; i++) {
      if (this.cStatus[i] === EMPTY) continue;
      const sign = channelSign(this.cStatus[i]!);
      if (sign === 0) continue;
      const cur = this.cCur[i]!;
      channelNet.set(cur, (channelNet.get(cur) ?? 0) + sign * this.amount(this.cAmount, i, 0) * this.cCount[i]!);
    }
    for (let i = 0; i < this.n; i++) {
      const hasC = this.cStatus[i] !== EMPTY;
      const hasP = this.pStatus[i] !== EMPTY;
      let category: Exclude<Category, 'duplicates'> | null;
      if (hasC && hasP) {
        chSide.status = this.cStatus[i]!;
        chSide.amountMinor = this.amount(this.cAmount, i, 0);
        chSide.currency = this.currencies[this.cCur[i]!]!;
        plSide.status = this.pStatus[i]!;
        plSide.amountMinor = this.amount(this.pAmount, i, 1);
        plSide.currency = this.currencies[this.pCur[i]!]!;
        category = classifyPair(chSide, plSide);
      } else if (hasC) {
        category = 'channelOnly';
      } else if (this.pRole[i] === ROLE_CORE) {
        category = classifyPlatformOnly(this.pStatus[i]!, this.pTime[i]! * 1000, this.dayStart, this.opts.windowMs);
      } else if (this.pRole[i] === ROLE_BEFORE && this.pCarried[i] === 1) {
        category =
          classifyPlatformOnly(this.pStatus[i]!, NaN, this.dayStart, this.opts.windowMs) === null
            ? null
            : 'platformOnly';
      } else {
        continue; // a neighbouring day's row the statement does not have: not this day's business
      }
      if (hasP) {
        platformRows++;
        const sign = platformSign(this.pStatus[i]!);
        if (sign !== 0)
          platformNet.set(
            this.pCur[i]!,
            (platformNet.get(this.pCur[i]!) ?? 0) + sign * this.amount(this.pAmount, i, 1),
          );
      }
      if (category !== null) counts[category]++;
      if (collect && category !== null && category !== 'matched') diff(i, category, hasC, hasP);
      if (hasC && this.cCount[i]! > 1) {
        counts.duplicates += this.cCount[i]! - 1;
        if (collect) diff(i, 'duplicates', hasC, hasP);
      }
    }
    const currency =
      opts.totalsCurrency ??
      (this.firstStatementCurrency >= 0
        ? this.currencies[this.firstStatementCurrency]!
        : (this.currencies[0] ?? 'NZD'));
    const code = this.currencyIndex.get(currency) ?? -1;
    differences.sort(compareDifferences);
    const refs = differences.map((d) => refOf.get(d) ?? NaN);
    return {
      summary: {
        channel: this.opts.channel,
        date: this.opts.date,
        statementRows: this.statementRows,
        platformRows,
        ...counts,
        totals: { channelMinor: channelNet.get(code) ?? 0, platformMinor: platformNet.get(code) ?? 0, currency },
      },
      differences,
      refs,
    };
  }

  private difference(i: number, category: Difference['category'], hasC: boolean, hasP: boolean): Difference {
    return {
      category,
      kind: this.kindOf(i) === KIND_PAYMENT ? 'payment' : 'refund',
      id: this.idOf(i),
      channelTradeNo: null, // filled in from the statement row (see cRef)
      channelStatus: hasC ? channelStatusName(this.cStatus[i]!) : null,
      channelAmountMinor: hasC ? this.amount(this.cAmount, i, 0) : null,
      channelCurrency: hasC ? this.currencies[this.cCur[i]!]! : null,
      channelTime: null,
      platformStatus: hasP ? platformStatusName(this.pStatus[i]!) : null,
      platformAmountMinor: hasP ? this.amount(this.pAmount, i, 1) : null,
      platformCurrency: hasP ? this.currencies[this.pCur[i]!]! : null,
      paidAt: hasP && this.pTime[i] !== 0 ? formatChinaTime(this.pTime[i]! * 1000) : null,
      occurrences: category === 'duplicates' ? this.cCount[i]! : null,
    };
  }
}

const ORDER: Difference['category'][] = [
  'amountMismatch',
  'currencyMismatch',
  'statusMismatch',
  'channelOnly',
  'platformOnly',
  'duplicates',
  'suspense',
];
function compareDifferences(a: Difference, b: Difference): number {
  return (
    ORDER.indexOf(a.category) - ORDER.indexOf(b.category) ||
    a.kind.localeCompare(b.kind) ||
    (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  );
}

/** Short copies byte by byte: cheaper than a subarray view per row. */
function copyBytes(src: Uint8Array, s: number, e: number, dst: Uint8Array, at: number): void {
  for (let k = s; k < e; k++) dst[at++] = src[k]!;
}

function grow(a: Uint8Array, need: number): Uint8Array {
  let len = a.length * 2;
  while (len < need) len *= 2;
  const b = new Uint8Array(len);
  b.set(a);
  return b;
}

function resize<T extends Uint8Array | Int32Array | Uint32Array | Float64Array>(a: T, len: number): T {
  const b = new (a.constructor as new (n: number) => T)(len);
  b.set(a as never);
  return b;
}
