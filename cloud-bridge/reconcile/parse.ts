import { ReconcileError, RowProblem } from './errors.js';
import type { Channel } from './codes.js';
import { LineSplitter, readRange } from './lines.js';
import { statementFormats } from './convertors/index.js';
import type { PartResult, StatementFormat } from './convertors/format.js';
import { materialize, type StandardBillRow, type StatementSink } from './rows.js';
import { PlatformPartParser, readPlatformHead, type PlatformLayout, type PlatformSink } from './platform-csv.js';

/** A problem inside one part, with the line counted from the part's start. */
export interface LocalProblem {
  code: RowProblem['code'];
  message: string;
  localLine: number;
}

function localProblem(err: unknown, line: number): LocalProblem {
  if (err instanceof RowProblem) {
    const l = (err as RowProblem & { line?: number }).line;
    return { code: err.code, message: err.message, localLine: l ?? line };
  }
  throw err;
}

export class PartFailed extends Error {
  constructor(readonly problem: LocalProblem) {
    super(problem.message);
  }
}

/** Parses [start, end) of a statement file (on line boundaries) with a fresh part parser. */
export async function parseStatementPart(
  format: StatementFormat<any>,
  layout: unknown,
  path: string,
  start: number,
  end: number,
  sink: StatementSink,
  onBytes?: (n: number) => void,
): Promise<{ result: PartResult; lastTerminated: boolean }> {
  const parser = format.createParser(layout, (r) => {
    r.offset = splitter.lineOffset;
    sink(r);
  });
  let current = 0;
  const splitter = new LineSplitter((buf, s, e, lineNo) => {
    current = lineNo;
    parser.line(buf, s, e, lineNo);
  }, start);
  try {
    await readRange(path, start, end, (chunk) => {
      splitter.push(chunk);
      onBytes?.(chunk.length);
    });
    splitter.end();
    return { result: parser.finish(), lastTerminated: splitter.lastTerminated };
  } catch (err) {
    throw new PartFailed(localProblem(err, current));
  }
}

export async function parsePlatformPart(
  layout: PlatformLayout,
  channel: Channel,
  path: string,
  start: number,
  end: number,
  sink: PlatformSink,
  onBytes?: (n: number) => void,
): Promise<{ rows: number; lines: number }> {
  const parser = new PlatformPartParser(layout, channel, sink);
  let current = 0;
  const splitter = new LineSplitter((buf, s, e, lineNo) => {
    current = lineNo;
    parser.line(buf, s, e, lineNo);
  });
  try {
    await readRange(path, start, end, (chunk) => {
      splitter.push(chunk);
      onBytes?.(chunk.length);
    });
    splitter.end();
    return { rows: parser.rows, lines: parser.lines };
  } catch (err) {
    throw new PartFailed(localProblem(err, current));
  }
}

export function headProblem(err: unknown, file: string): never {
  if (err instanceof RowProblem) {
    const line = (err as RowProblem & { line?: number }).line ?? 1;
    throw new ReconcileError(err.code, err.message, { file, line });
  }
  throw err;
}

/**
 * Converts a statement arriving as a byte stream (a download, the file store) into
 * standard bill rows, in bounded memory. Rows are yielded as they are parsed; the file's
 * own summary is checked at the end, so a consumer that stores rows must do it in one
 * transaction and roll back when the iterator throws (a bad file imports nothing).
 */
export async function* convertStatement(
  channel: Channel,
  chunks: AsyncIterable<Uint8Array>,
  opts: { date: string; file?: string },
): AsyncGenerator<StandardBillRow, { layoutName: string; rows: number }> {
  const format = statementFormats[channel];
  const file = opts.file ?? 'statement';
  const it = chunks[Symbol.asyncIterator]();
  // Gather enough of the start for the header line(s).
  let head: Uint8Array = new Uint8Array(0);
  let done = false;
  while (!done && head.length < 64 * 1024 && countLf(head) < 3) {
    const r = await it.next();
    if (r.done) done = true;
    else head = concat(head, r.value);
  }
  let parsedHead;
  try {
    parsedHead = format.readHead(head);
  } catch (err) {
    headProblem(err, file);
  }
  const out: StandardBillRow[] = [];
  const sink: StatementSink = (row) => out.push(materialize(channel, row));
  const parser = format.createParser(parsedHead.layout, sink);
  let current = 0;
  const splitter = new LineSplitter((buf, s, e, lineNo) => {
    current = lineNo;
    parser.line(buf, s, e, lineNo);
  });
  const global = (local: number): number => parsedHead.dataLine + local - 1;
  const fail = (err: unknown): never => {
    const p = localProblem(err, current);
    throw new ReconcileError(p.code, p.message, { file, line: global(p.localLine) });
  };
  try {
    splitter.push(head.subarray(parsedHead.dataOffset));
  } catch (err) {
    fail(err);
  }
  yield* out.splice(0);
  while (!done) {
    const r = await it.next();
    if (r.done) break;
    try {
      splitter.push(r.value);
    } catch (err) {
      fail(err);
    }
    yield* out.splice(0);
  }
  let result: PartResult;
  try {
    splitter.end();
    result = parser.finish();
  } catch (err) {
    fail(err);
  }
  yield* out.splice(0);
  try {
    format.check(parsedHead.layout, [result!], {
      date: opts.date,
      lastLineTerminated: splitter.lastTerminated,
      globalLine: (_p, l) => global(l),
    });
  } catch (err) {
    if (err instanceof RowProblem) {
      throw new ReconcileError(err.code, err.message, { file, line: (err as RowProblem & { line?: number }).line });
    }
    throw err;
  }
  return { layoutName: parsedHead.layoutName, rows: result!.rows };
}

function countLf(b: Uint8Array): number {
  let n = 0;
  for (let i = b.indexOf(10); i >= 0; i = b.indexOf(10, i + 1)) n++;
  return n;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

export { readPlatformHead };
