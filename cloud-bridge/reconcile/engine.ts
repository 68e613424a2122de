import { open, stat } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { ReconcileError, RowProblem } from './errors.js';
import { CHANNEL_STATUSES, KIND_PAYMENT, KIND_REFUND, platformStatusCode, type Channel } from './codes.js';
import { statementFormats } from './convertors/index.js';
import type { PartResult, StatementFormat } from './convertors/format.js';
import { Ledger, type Difference, type ReconcileSummary } from './ledger.js';
import { nextLineStart, text } from './lines.js';
import { currencyExponent } from './money.js';
import {
  convertStatement,
  headProblem,
  parsePlatformPart,
  parseStatementPart,
  PartFailed,
  readPlatformHead,
  type LocalProblem,
} from './parse.js';
import type { PlatformRow } from './platform-csv.js';
import { statementKeyRange, type StatementRowScratch } from './rows.js';
import { dayNumberOf, formatChinaTime } from './time.js';
import type { WorkerInput, WorkerMessage, WorkerTask } from './worker.js';

export interface ReconcileResult {
  summary: ReconcileSummary;
  differences: Difference[];
  /** The statement layout found ("wechat-en", "alipay-settlement", …). */
  layout: string;
}

export interface FileReconcileInput {
  channel: Channel;
  date: string;
  statementPath: string;
  platformPath: string;
  /** Minutes either side of the day's cut-off (default 15). */
  windowMinutes?: number;
  /** 1 or 2; by default 2 for files over 32 MB. */
  threads?: number;
  onProgress?: (doneBytes: number, totalBytes: number) => void;
}

export const DEFAULT_WINDOW_MINUTES = 15;
const HEAD_BYTES = 64 * 1024;
const PARALLEL_FROM_BYTES = 32 * 1024 * 1024;
/**
 * Share of all input bytes the main thread parses (the head of the statement); the worker
 * parses the platform CSV and the statement's tail. The main thread also inserts every row
 * into the ledger, yet measured with flow control both finish together at about half.
 */
const MAIN_SHARE = 0.5;

function dayOf(date: string): number {
  const day = dayNumberOf(date);
  if (Number.isNaN(day)) throw new ReconcileError('bad_argument', `--date must be YYYY-MM-DD, got "${date}"`);
  return day;
}

async function sizeOf(path: string, what: string): Promise<number> {
  try {
    const s = await stat(path);
    if (!s.isFile()) throw new ReconcileError('file_unreadable', `${what} ${path} is not a file`);
    return s.size;
  } catch (err) {
    if (err instanceof ReconcileError) throw err;
    throw new ReconcileError(
      'file_unreadable',
      `cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    );
  }
}

async function readHead(path: string, size: number): Promise<Uint8Array> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(Math.min(size, HEAD_BYTES));
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    // A whole file whose only line lacks its line break (a header-only export) still has a header.
    if (bytesRead === size && size > 0 && buf[size - 1] !== 10)
      return Buffer.concat([buf.subarray(0, bytesRead), Buffer.from('\n')]);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** Estimated number of lines from the head's average line length, to size the ledger once. */
function estimateRows(head: Uint8Array, size: number): number {
  let lines = 0;
  for (let i = head.indexOf(10); i >= 0; i = head.indexOf(10, i + 1)) lines++;
  if (lines < 2) return 1024;
  return Math.ceil((size / (head.length / lines)) * 1.02);
}

// The worker allocates little (rows go out in transferred column batches); a small young
// generation keeps its share of the 256 MB budget small.
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 4 };

function workerFor(input: WorkerInput): Worker {
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    // Run from source (tsx): the worker is TypeScript too, and module hooks are per
    // thread, so the worker registers tsx itself before importing its module.
    const api = import.meta.resolve('tsx/esm/api');
    const url = new URL('./worker.ts', here).href;
    const boot = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(url)}); })`;
    return new Worker(boot, { eval: true, workerData: input, resourceLimits: WORKER_LIMITS });
  }
  return new Worker(new URL('./worker.js', here), { workerData: input, resourceLimits: WORKER_LIMITS });
}

/** Offset where the last `k` lines of the file begin (a final line break does not start a line). */
async function lastLinesStart(path: string, size: number, k: number): Promise<number> {
  const from = Math.max(0, size - HEAD_BYTES);
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(size - from);
    await fh.read(buf, 0, buf.length, from);
    let end = buf.length;
    if (end > 0 && buf[end - 1] === 10) end--;
    for (let i = end - 1, seen = 0; i >= 0; i--) {
      if (buf[i] === 10 && ++seen === k) return from + i + 1;
    }
    return from;
  } finally {
    await fh.close();
  }
}

/** Reconciles one channel-day from a statement file and a platform orders CSV. */
export async function reconcileFiles(input: FileReconcileInput): Promise<ReconcileResult> {
  const { channel, date, statementPath, platformPath } = input;
  const day = dayOf(date);
  const windowMs = (input.windowMinutes ?? DEFAULT_WINDOW_MINUTES) * 60_000;
  const format = statementFormats[channel];
  const [sSize, pSize] = await Promise.all([sizeOf(statementPath, 'statement'), sizeOf(platformPath, 'platform file')]);
  // Statement rows are found again by a 32-bit file offset (see Ledger.cRef).
  if (sSize >= 2 ** 32)
    throw new ReconcileError(
      'file_unreadable',
      `statement ${statementPath} is over 4 GB, more than one channel-day can hold`,
    );
  const [sHeadBytes, pHeadBytes] = await Promise.all([readHead(statementPath, sSize), readHead(platformPath, pSize)]);
  let head;
  try {
    head = format.readHead(sHeadBytes);
  } catch (err) {
    headProblem(err, statementPath);
  }
  let pHead;
  try {
    pHead = readPlatformHead(pHeadBytes);
  } catch (err) {
    headProblem(err, platformPath);
  }
  const total = sSize + pSize;
  let done = 0;
  const progress = (n: number): void => {
    done += n;
    input.onProgress?.(done, total);
  };
  const ledger = new Ledger({
    channel,
    day,
    date,
    windowMs,
    sizeHint: Math.max(estimateRows(sHeadBytes, sSize), estimateRows(pHeadBytes, pSize)),
  });
  let lastCur = '';
  let lastCode = -1;
  const statementSink = (r: StatementRowScratch): void => {
    if (r.currency !== lastCur) {
      lastCur = r.currency;
      lastCode = ledger.currencyCode(r.currency);
    }
    if (r.kind === KIND_PAYMENT) {
      ledger.addStatement(r.kind, r.buf, r.outTradeNoS, r.outTradeNoE, r.status, r.amountMinor, lastCode, r.offset);
    } else {
      const [ks, ke] = statementKeyRange(channel, r);
      ledger.addStatement(r.kind, r.buf, ks, ke, r.status, r.amountMinor, lastCode, r.offset);
    }
  };

  const threads = input.threads ?? (total >= PARALLEL_FROM_BYTES ? 2 : 1);
  const parts: PartResult[] = [];
  let lastTerminated = true;
  const statementFail = (p: LocalProblem, base: number): never => {
    throw new ReconcileError(p.code, p.message, { file: statementPath, line: base + p.localLine - 1 });
  };
  const platformFail = (p: LocalProblem): never => {
    throw new ReconcileError(p.code, p.message, { file: platformPath, line: p.localLine + 1 });
  };
  const addPlatform = (fn: () => void): void => {
    try {
      fn();
    } catch (err) {
      if (err instanceof RowProblem)
        throw new ReconcileError(err.code, err.message, {
          file: platformPath,
          line: (err as RowProblem & { line?: number }).line,
        });
      throw err;
    }
  };

  if (threads < 2) {
    try {
      const r = await parseStatementPart(
        format,
        head.layout,
        statementPath,
        head.dataOffset,
        sSize,
        statementSink,
        progress,
      );
      parts.push(r.result);
      lastTerminated = r.lastTerminated;
    } catch (err) {
      if (err instanceof PartFailed) statementFail(err.problem, head.dataLine);
      throw err;
    }
    checkStatement(parts, lastTerminated);
    try {
      await parsePlatformPart(
        pHead.layout,
        channel,
        platformPath,
        pHead.dataOffset,
        pSize,
        (r) => {
          addPlatform(() =>
            ledger.addPlatform(
              r.kind,
              r.buf,
              r.keyS,
              r.keyE,
              r.status,
              r.amountMinor,
              ledger.currencyCode(r.currency),
              r.paidAtMs,
              r.line + 1,
            ),
          );
        },
        progress,
      );
    } catch (err) {
      if (err instanceof PartFailed) platformFail(err.problem);
      throw err;
    }
  } else {
    // The summary/trailer lines must stay in the last part, so the split never passes the
    // start of the file's last three lines.
    const tailStart = await lastLinesStart(statementPath, sSize, 3);
    const wanted = await nextLineStart(
      statementPath,
      Math.max(head.dataOffset, Math.floor(head.dataOffset + total * MAIN_SHARE)),
      sSize,
    );
    const split = Math.max(head.dataOffset, Math.min(wanted, tailStart));
    const tasks: WorkerTask[] = [
      { type: 'platform', channel, layout: pHead.layout, path: platformPath, start: pHead.dataOffset, end: pSize },
    ];
    if (split < sSize)
      tasks.push({ type: 'statement', channel, layout: head.layout, path: statementPath, start: split, end: sSize });
    const inflight = new Int32Array(new SharedArrayBuffer(4));
    const worker = workerFor({ tasks, inflight: inflight.buffer as SharedArrayBuffer });
    let failure: unknown = null;
    const results: { task: number; result: unknown; lastTerminated?: boolean }[] = [];
    let workerProblem: { task: number; problem: LocalProblem } | null = null;
    const finished = new Promise<void>((resolve, reject) => {
      worker.on('message', (m: WorkerMessage) => {
        if (failure) return;
        try {
          if (m.type === 'batch') {
            progress(m.bytes);
            try {
              if (m.batch.side === 0) ledger.addBatch(m.batch);
              else addPlatform(() => ledger.addBatch(m.batch, 1));
            } finally {
              Atomics.sub(inflight, 0, 1);
              Atomics.notify(inflight, 0);
            }
          } else if (m.type === 'done') {
            results.push(m);
            if (results.length === tasks.length) resolve();
          } else {
            workerProblem = { task: m.task, problem: m.problem as LocalProblem };
            resolve();
          }
        } catch (err) {
          failure = err;
          resolve();
        }
      });
      worker.on('error', reject);
      worker.on('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`reconcile worker exited with code ${code}`)),
      );
    });
    let mainResult: { result: PartResult; lastTerminated: boolean } | null = null;
    let mainProblem: LocalProblem | null = null;
    try {
      mainResult = await parseStatementPart(
        format,
        head.layout,
        statementPath,
        head.dataOffset,
        split,
        statementSink,
        progress,
      );
    } catch (err) {
      if (!(err instanceof PartFailed)) {
        await worker.terminate();
        throw err;
      }
      mainProblem = err.problem;
    }
    if (mainProblem) {
      await worker.terminate();
      statementFail(mainProblem, head.dataLine);
    }
    try {
      await finished;
    } finally {
      await worker.terminate();
    }
    if (failure) throw failure;
    const base2 = head.dataLine + mainResult!.result.lines;
    if (workerProblem) {
      const wp = workerProblem as { task: number; problem: LocalProblem };
      if (tasks[wp.task]!.type === 'platform') platformFail(wp.problem);
      statementFail(wp.problem, base2);
    }
    parts.push(mainResult!.result);
    lastTerminated = mainResult!.lastTerminated;
    const tail = results.find((r) => tasks[r.task]!.type === 'statement');
    if (tail) {
      parts.push(tail.result as PartResult);
      lastTerminated = tail.lastTerminated ?? true;
    }
    checkStatement(parts, lastTerminated);
  }

  function checkStatement(ps: PartResult[], terminated: boolean): void {
    const bases: number[] = [];
    let b = head!.dataLine;
    for (const p of ps) {
      bases.push(b);
      b += p.lines;
    }
    try {
      format.check(head!.layout, ps, {
        date,
        lastLineTerminated: terminated,
        globalLine: (part, local) => bases[part]! + local - 1,
      });
    } catch (err) {
      if (err instanceof RowProblem) {
        throw new ReconcileError(err.code, err.message, {
          file: statementPath,
          line: (err as RowProblem & { line?: number }).line,
        });
      }
      throw err;
    }
  }

  const { summary, differences, refs } = ledger.finish({ totalsCurrency: channel === 'bank' ? 'CNY' : undefined });
  await fillFromStatement(format, head.layout, statementPath, differences, refs);
  return { summary, differences, layout: head.layoutName };
}

/** Reads the channel trade no and time of each difference back from its statement line. */
async function fillFromStatement(
  format: StatementFormat<any>,
  layout: unknown,
  path: string,
  differences: Difference[],
  refs: number[],
): Promise<void> {
  if (!refs.some((r) => !Number.isNaN(r))) return;
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(HEAD_BYTES);
    let found: { tradeNo: string | null; time: string } | null = null;
    const parser = format.createParser(layout, (r) => {
      found = {
        tradeNo: r.tradeNoE > r.tradeNoS ? text(r.buf, r.tradeNoS, r.tradeNoE) : null,
        time: formatChinaTime(r.timeMs),
      };
    });
    for (let k = 0; k < differences.length; k++) {
      const ref = refs[k]!;
      if (Number.isNaN(ref)) continue;
      const { bytesRead } = await fh.read(buf, 0, buf.length, ref);
      const view = new Uint8Array(buf.buffer, buf.byteOffset, bytesRead);
      let end = view.indexOf(10);
      if (end < 0) end = bytesRead;
      if (end > 0 && view[end - 1] === 13) end--;
      found = null;
      parser.line(view, 0, end, 1);
      const f = found as { tradeNo: string | null; time: string } | null;
      if (f) {
        differences[k]!.channelTradeNo = f.tradeNo;
        differences[k]!.channelTime = f.time;
      }
    }
  } finally {
    await fh.close();
  }
}

/**
 * The same reconciliation from streams: statement bytes (a download or the file store)
 * and platform rows (the database). For the database-backed mode; slower per row than
 * the file path, which never makes objects.
 */
export async function reconcileStreams(input: {
  channel: Channel;
  date: string;
  statement: AsyncIterable<Uint8Array>;
  statementName?: string;
  platform: AsyncIterable<PlatformRow & { carriedSuspense?: boolean }>;
  windowMinutes?: number;
}): Promise<ReconcileResult> {
  const { channel, date } = input;
  const ledger = new Ledger({
    channel,
    day: dayOf(date),
    date,
    windowMs: (input.windowMinutes ?? DEFAULT_WINDOW_MINUTES) * 60_000,
  });
  const enc = new TextEncoder();
  const seen: { tradeNo: string; time: string }[] = [];
  const rows = convertStatement(channel, input.statement, { date, file: input.statementName });
  let layout = '';
  for (;;) {
    const r = await rows.next();
    if (r.done) {
      layout = r.value.layoutName;
      break;
    }
    const row = r.value;
    const key = row.kind === 'payment' ? row.outTradeNo : channel === 'bank' ? row.channelRefundNo : row.outRefundNo;
    const k = enc.encode(key ?? '');
    const status = CHANNEL_STATUSES.indexOf(row.status) + 1;
    seen.push({ tradeNo: row.channelTradeNo, time: row.channelTime });
    ledger.addStatement(
      row.kind === 'payment' ? KIND_PAYMENT : KIND_REFUND,
      k,
      0,
      k.length,
      status,
      row.amountMinor,
      ledger.currencyCode(row.currency),
      seen.length - 1,
    );
  }
  let n = 0;
  for await (const p of input.platform) {
    n++;
    if (p.channel !== channel) continue;
    const kind = p.kind === 'payment' ? KIND_PAYMENT : KIND_REFUND;
    const status = platformStatusCode(kind, p.status);
    if (status === 0)
      throw new ReconcileError('malformed_row', `platform row ${n}: unknown ${p.kind} status "${p.status}"`);
    if (!Number.isSafeInteger(p.amountMinor))
      throw new ReconcileError('malformed_row', `platform row ${n}: amount_minor must be an integer`);
    currencyExponent(p.currency);
    const key = kind === KIND_PAYMENT ? p.outTradeNo : channel === 'bank' ? p.channelTradeNo : p.outRefundNo;
    const k = enc.encode(key ?? '');
    try {
      ledger.addPlatform(
        kind,
        k,
        0,
        k.length,
        status,
        p.amountMinor,
        ledger.currencyCode(p.currency),
        p.paidAt ? Date.parse(p.paidAt) : NaN,
        n,
        p.carriedSuspense === true,
      );
    } catch (err) {
      if (err instanceof RowProblem) throw new ReconcileError(err.code, `platform row ${n}: ${err.message}`);
      throw err;
    }
  }
  const { summary, differences, refs } = ledger.finish({ totalsCurrency: channel === 'bank' ? 'CNY' : undefined });
  refs.forEach((ref, k) => {
    if (Number.isNaN(ref)) return;
    differences[k]!.channelTradeNo = seen[ref]!.tradeNo || null;
    differences[k]!.channelTime = seen[ref]!.time;
  });
  return { summary, differences, layout };
}
