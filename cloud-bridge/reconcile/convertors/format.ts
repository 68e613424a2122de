import type { Channel } from '../codes.js';
import type { StatementSink } from '../rows.js';

/**
 * How a convertor is driven. A file is split into parts (byte ranges on line boundaries,
 * possibly parsed on different threads): the head (header lines) is read once, every part
 * gets its own parser, and `check` validates the whole (counts, summary totals) from the
 * parts' results. Any problem rejects the whole file.
 */
export interface StatementFormat<L = unknown> {
  readonly channel: Channel;
  /** Reads the header line(s) from the first bytes of the file. */
  readHead(head: Uint8Array): Head<L>;
  createParser(layout: L, sink: StatementSink): PartParser;
  /** Checks the parts (in file order) against the file's own summary; throws RowProblem. */
  check(layout: L, parts: PartResult[], ctx: CheckContext): void;
}

export interface Head<L> {
  layout: L;
  /** A short name of the layout found, for reports ("wechat-en", "alipay-settlement"). */
  layoutName: string;
  /** Byte offset of the first data line and its 1-based line number. */
  dataOffset: number;
  dataLine: number;
}

export interface PartParser {
  /** lineNo is local to the part (1 = the part's first line). Throws RowProblem. */
  line(buf: Uint8Array, start: number, end: number, lineNo: number): void;
  finish(): PartResult;
}

/** Structured-clone friendly: parts may come back from a worker thread. */
export interface PartResult {
  rows: number;
  lines: number;
  /** Sums of the columns the summary may check, as exact scaled integers. */
  sums: Record<string, bigint>;
  currencies: string[];
  /** The summary/trailer lines as found, with their local line numbers. */
  trailer: { line: number; fields: string[] }[];
}

export interface CheckContext {
  /** Global line number of a part's local line. */
  globalLine(part: number, local: number): number;
  /** The day asked for (YYYY-MM-DD), for files that name their day. */
  date: string;
  lastLineTerminated: boolean;
}

export const SCALE_AMOUNT = 3; // covers currencies with 0, 2 and 3 decimals
export const SCALE_FEE = 6; // fees come with up to 5 decimals ("0.00600")

export function addSum(sums: Record<string, bigint>, key: string, v: bigint): void {
  sums[key] = (sums[key] ?? 0n) + v;
}
