import { closeSync, fsyncSync, openSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { privateFile } from '../../protocol/private-files.js';
import { GENESIS, journalHash, type JournalEntry } from './journal.js';

// The counter's own store. Everything that must survive a power cut is here, written
// with synchronous=FULL before anyone is told: the outbox of commands for the bridge, the
// sales and refunds as this counter saw them, receipts, the last bridge event applied,
// device settings, the days closed (Z-reports), and the hash-chained journal.

export type SaleStatus =
  | 'creating'
  | 'waiting'
  | 'pending'
  | 'paid'
  | 'failed'
  | 'expired'
  | 'closed'
  | 'unknown'
  | 'refunded'
  | 'partially_refunded';

export interface SaleRow {
  id: string;
  kind: 'checkout' | 'scan' | 'static';
  out_trade_no: string | null;
  checkout_id: string | null;
  checkout_url: string | null;
  channel: string | null;
  amount_minor: number;
  currency: string;
  status: SaleStatus;
  refunded_minor: number;
  cny_charged_minor: number | null;
  rate: string | null;
  payment_id: string | null;
  channel_trade_no: string | null;
  message: string | null;
  expires_at: string | null;
  cancel_requested: number;
  created_at: string;
  updated_at: string;
  paid_at: string | null;
  /** The Z-report that counted this payment (null: the next one will). */
  z_close_no?: number | null;
}

export interface RefundRow {
  out_refund_no: string;
  sale_id: string;
  amount_minor: number;
  currency: string;
  status: 'queued' | 'processing' | 'succeeded' | 'failed';
  message: string | null;
  created_at: string;
  updated_at: string;
  /** The Z-report that counted this refund (null: the next one will). */
  z_close_no?: number | null;
}

export interface DayCloseRow {
  close_no: number;
  store_day: string;
  generated_at: string;
  /** The SettlementSummary printed, as JSON. */
  summary: string;
  journal_seq: number;
  journal_hash: string;
}

export interface OutboxRow {
  seq: number;
  key: string;
  name: string;
  args: string;
  /** The local record the command is about (a sale id or a refund number). */
  ref: string | null;
  created_at: string;
}

const SCHEMA = `
create table if not exists settings (key text primary key, value text not null);
create table if not exists outbox (
  seq integer primary key autoincrement, key text not null unique, name text not null, args text not null,
  ref text, created_at text not null
);
create table if not exists sales (
  id text primary key, kind text not null, out_trade_no text unique, checkout_id text unique, checkout_url text,
  channel text, amount_minor integer not null, currency text not null, status text not null,
  refunded_minor integer not null default 0, cny_charged_minor integer, rate text, payment_id text, channel_trade_no text,
  message text, expires_at text, cancel_requested integer not null default 0,
  created_at text not null, updated_at text not null, paid_at text
);
create index if not exists sales_created on sales (created_at);
create table if not exists refunds (
  out_refund_no text primary key, sale_id text not null references sales(id), amount_minor integer not null, currency text not null,
  status text not null, message text, created_at text not null, updated_at text not null
);
create table if not exists receipts (
  id integer primary key autoincrement, kind text not null, ref text not null, data text not null, created_at text not null,
  printed_at text, unique (kind, ref)
);
create table if not exists day_closes (
  close_no integer primary key, store_day text not null unique, generated_at text not null, summary text not null,
  journal_seq integer not null, journal_hash text not null
);
create table if not exists journal (
  seq integer primary key, at text not null, kind text not null, data text not null, prev_hash text not null, hash text not null
);
`;

export class TerminalDb {
  readonly raw: Database.Database;

  constructor(dataDir: string) {
    // The device secret lives here: this user's only (0600 in a 0700 folder).
    privateFile(join(dataDir, 'terminal.db'), { sqlite: true });
    this.raw = new Database(join(dataDir, 'terminal.db'));
    this.raw.pragma('journal_mode = WAL');
    // FULL: a sale, a refund or a queued command is on disk before the screen says so.
    this.raw.pragma('synchronous = FULL');
    this.raw.pragma('foreign_keys = ON');
    this.raw.pragma('busy_timeout = 5000');
    this.raw.exec(SCHEMA);
    // Columns that came after the first counters were installed: added in place, once.
    for (const table of ['sales', 'refunds']) {
      const cols = this.raw.prepare(`pragma table_info(${table})`).all() as Array<{ name: string }>;
      if (!cols.some((c) => c.name === 'z_close_no'))
        this.raw.exec(`alter table ${table} add column z_close_no integer`);
    }
  }

  close(): void {
    if (this.walFd !== undefined) closeSync(this.walFd);
    this.walFd = undefined;
    this.raw.close();
  }

  private walFd: number | undefined;
  private readonly syncNormal = () => this.raw.pragma('synchronous = NORMAL');
  private readonly syncFull = () => this.raw.pragma('synchronous = FULL');

  /**
   * A transaction as durable as tx() by the time this returns, whose fsync overlaps with
   * `meanwhile` (sending the command it queued). The commit is written to the WAL without
   * waiting for the disk (synchronous = NORMAL): from then on it is in the database for
   * every reader and survives this process dying. `meanwhile` runs, and then the WAL is
   * fsynced, which is what synchronous = FULL does at COMMIT, so nobody is told before
   * the data is on disk. Only a power cut inside that window can lose it, and then the
   * bridge holds at most a command the counter forgot: its checkout was never shown to
   * anyone and expires unpaid.
   */
  txThen<T>(fn: () => T, meanwhile: () => void): T {
    const wal = this.wal();
    if (wal === undefined) {
      const r = this.tx(fn);
      meanwhile();
      return r;
    }
    this.syncNormal();
    let r: T;
    try {
      r = this.tx(fn);
    } finally {
      this.syncFull();
    }
    try {
      meanwhile();
    } finally {
      // The WAL holds this commit's frames (and any before it): one fsync of the file makes
      // them all durable, exactly the sync FULL would have done inside COMMIT.
      fsyncSync(wal);
    }
    return r;
  }

  /** The WAL file, kept open while the database is (SQLite deletes it only at the last close). */
  private wal(): number | undefined {
    if (this.walFd === undefined) {
      try {
        this.walFd = openSync(`${this.raw.name}-wal`, 'r');
      } catch {
        return undefined; // no WAL yet: the plain transaction
      }
    }
    return this.walFd;
  }

  // Statements are prepared once and kept: preparing one per call had cost more than running
  // it when an outbox of thousands of answers is applied.
  private readonly statements = new Map<string, Database.Statement>();
  private sql(text: string): Database.Statement {
    let st = this.statements.get(text);
    if (!st) this.statements.set(text, (st = this.raw.prepare(text)));
    return st;
  }

  tx<T>(fn: () => T): T {
    return this.raw.transaction(fn)();
  }

  // ---- settings ----
  getSetting(key: string): string | undefined {
    return (this.sql('select value from settings where key = ?').get(key) as { value: string } | undefined)?.value;
  }

  setSetting(key: string, value: string): void {
    this.sql(
      'insert into settings (key, value) values (?, ?) on conflict(key) do update set value = excluded.value',
    ).run(key, value);
  }

  get lastEventSeq(): number {
    return Number(this.getSetting('last_event_seq') ?? 0);
  }

  // ---- outbox ----
  enqueue(key: string, name: string, args: unknown, ref: string | null = null): void {
    this.sql('insert into outbox (key, name, args, ref, created_at) values (?, ?, ?, ?, ?)').run(
      key,
      name,
      JSON.stringify(args),
      ref,
      new Date().toISOString(),
    );
  }

  outbox(limit = 100_000): OutboxRow[] {
    return this.sql('select * from outbox order by seq limit ?').all(limit) as OutboxRow[];
  }

  outboxCount(): number {
    return (this.sql('select count(*) as n from outbox').get() as { n: number }).n;
  }

  outboxEntry(key: string): OutboxRow | undefined {
    return this.sql('select * from outbox where key = ?').get(key) as OutboxRow | undefined;
  }

  /** Leaves the outbox: true if it was there (a duplicate answer finds nothing). */
  dequeue(key: string): boolean {
    return this.sql('delete from outbox where key = ?').run(key).changes === 1;
  }

  // ---- sales and refunds ----
  insertSale(row: SaleRow): void {
    const cols = Object.keys(row);
    this.sql(`insert into sales (${cols.join(', ')}) values (${cols.map((c) => `@${c}`).join(', ')})`).run(row);
  }

  updateSale(id: string, patch: Partial<SaleRow>): SaleRow | undefined {
    const cols = Object.keys(patch).filter((k) => k !== 'id');
    if (cols.length) {
      this.sql(
        `update sales set ${cols.map((c) => `${c} = @${c}`).join(', ')}, updated_at = @__now where id = @__id`,
      ).run({ ...patch, __now: new Date().toISOString(), __id: id });
    }
    return this.sale(id);
  }

  sale(id: string): SaleRow | undefined {
    return this.sql('select * from sales where id = ?').get(id) as SaleRow | undefined;
  }

  saleBy(column: 'out_trade_no' | 'checkout_id', value: string): SaleRow | undefined {
    return this.sql(`select * from sales where ${column} = ?`).get(value) as SaleRow | undefined;
  }

  salesSince(iso: string): SaleRow[] {
    return this.sql('select * from sales where created_at >= ? order by created_at desc').all(iso) as SaleRow[];
  }

  insertRefund(row: RefundRow): void {
    this.sql(
      `insert into refunds (out_refund_no, sale_id, amount_minor, currency, status, message, created_at, updated_at)
      values (@out_refund_no, @sale_id, @amount_minor, @currency, @status, @message, @created_at, @updated_at)`,
    ).run(row);
  }

  updateRefund(outRefundNo: string, status: RefundRow['status'], message: string | null = null): void {
    this.sql(
      'update refunds set status = ?, message = coalesce(?, message), updated_at = ? where out_refund_no = ?',
    ).run(status, message, new Date().toISOString(), outRefundNo);
  }

  refundsOf(saleId: string): RefundRow[] {
    return this.sql('select * from refunds where sale_id = ? order by created_at').all(saleId) as RefundRow[];
  }

  refundsSince(iso: string): RefundRow[] {
    return this.sql('select * from refunds where created_at >= ? order by created_at').all(iso) as RefundRow[];
  }

  refund(outRefundNo: string): RefundRow | undefined {
    return this.sql('select * from refunds where out_refund_no = ?').get(outRefundNo) as RefundRow | undefined;
  }

  // ---- receipts ----
  saveReceipt(kind: 'sale' | 'refund', ref: string, data: unknown): void {
    this.sql(
      'insert into receipts (kind, ref, data, created_at) values (?, ?, ?, ?) on conflict(kind, ref) do nothing',
    ).run(kind, ref, JSON.stringify(data), new Date().toISOString());
  }

  receipt(kind: 'sale' | 'refund', ref: string): unknown {
    const r = this.sql('select data from receipts where kind = ? and ref = ?').get(kind, ref) as
      { data: string } | undefined;
    return r ? JSON.parse(r.data) : undefined;
  }

  // ---- what the next Z-report counts ----
  /** Settled payments no Z-report has counted yet, whichever day they began. */
  unreportedSales(): SaleRow[] {
    return this.sql(
      `select * from sales where z_close_no is null and status in ('paid', 'partially_refunded', 'refunded') order by coalesce(paid_at, updated_at)`,
    ).all() as SaleRow[];
  }

  /** Refunds that succeeded and no Z-report has counted yet, with their payment's channel. */
  unreportedRefunds(): Array<RefundRow & { channel: string | null }> {
    return this.sql(
      `select r.*, s.channel from refunds r join sales s on s.id = r.sale_id
      where r.z_close_no is null and r.status = 'succeeded' order by r.updated_at`,
    ).all() as Array<RefundRow & { channel: string | null }>;
  }

  /** Payments not settled either way, whichever day they began. */
  openSales(): SaleRow[] {
    return this.sql(
      `select * from sales where status in ('creating', 'waiting', 'pending', 'unknown') order by created_at`,
    ).all() as SaleRow[];
  }

  markReported(closeNo: number, saleIds: readonly string[], refundNos: readonly string[]): void {
    const sale = this.sql('update sales set z_close_no = ? where id = ? and z_close_no is null');
    const refund = this.sql('update refunds set z_close_no = ? where out_refund_no = ? and z_close_no is null');
    for (const id of saleIds) sale.run(closeNo, id);
    for (const no of refundNos) refund.run(closeNo, no);
  }

  lastDayClose(): DayCloseRow | undefined {
    return this.sql('select * from day_closes order by close_no desc limit 1').get() as DayCloseRow | undefined;
  }

  // ---- day closes (Z-reports): one per store day, numbered per terminal ----
  dayClose(storeDay: string): DayCloseRow | undefined {
    return this.sql('select * from day_closes where store_day = ?').get(storeDay) as DayCloseRow | undefined;
  }

  nextCloseNumber(): number {
    return (this.sql('select coalesce(max(close_no), 0) + 1 as n from day_closes').get() as { n: number }).n;
  }

  insertDayClose(row: DayCloseRow): void {
    this.sql(
      `insert into day_closes (close_no, store_day, generated_at, summary, journal_seq, journal_hash)
      values (@close_no, @store_day, @generated_at, @summary, @journal_seq, @journal_hash)`,
    ).run(row);
  }

  // ---- journal ----
  journal(kind: string, data: unknown): JournalEntry {
    const head = this.journalHead();
    const seq = head.sequence + 1;
    const at = new Date().toISOString();
    const text = JSON.stringify(data);
    const hash = journalHash(head.hash, seq, at, kind, text);
    this.sql('insert into journal (seq, at, kind, data, prev_hash, hash) values (?, ?, ?, ?, ?, ?)').run(
      seq,
      at,
      kind,
      text,
      head.hash,
      hash,
    );
    return { seq, at, kind, data: text, prevHash: head.hash, hash };
  }

  journalHead(): { sequence: number; hash: string } {
    const r = this.sql('select seq, hash from journal order by seq desc limit 1').get() as
      { seq: number; hash: string } | undefined;
    return r ? { sequence: r.seq, hash: r.hash } : { sequence: 0, hash: GENESIS };
  }

  journalEntries(): JournalEntry[] {
    return (
      this.sql('select * from journal order by seq').all() as Array<{
        seq: number;
        at: string;
        kind: string;
        data: string;
        prev_hash: string;
        hash: string;
      }>
    ).map((r) => ({ seq: r.seq, at: r.at, kind: r.kind, data: r.data, prevHash: r.prev_hash, hash: r.hash }));
  }
}
