import { parentPort, workerData } from 'node:worker_threads';
import type { Channel } from './codes.js';
import { BatchBuilder, batchTransferList, type RowBatch } from './batch.js';
import { statementFormats } from './convertors/index.js';
import { parsePlatformPart, parseStatementPart, PartFailed } from './parse.js';
import type { PlatformLayout } from './platform-csv.js';

// The second core's share of a reconciliation: it parses the byte ranges it is given and
// sends the rows back in column batches (see batch.ts). The main thread owns the ledger.

/** The worker's data: its tasks, and a counter of batches sent but not yet taken in by the main thread. */
export interface WorkerInput {
  tasks: WorkerTask[];
  inflight: SharedArrayBuffer;
}

/** Batches the worker may run ahead of the main thread (each a few hundred KB). */
export const MAX_INFLIGHT = 4;

export type WorkerTask =
  | { type: 'statement'; channel: Channel; layout: unknown; path: string; start: number; end: number }
  | { type: 'platform'; channel: Channel; layout: PlatformLayout; path: string; start: number; end: number };

export type WorkerMessage =
  | { type: 'batch'; batch: RowBatch; bytes: number }
  | { type: 'done'; task: number; result: unknown; lastTerminated?: boolean }
  | { type: 'error'; task: number; problem: { code: string; message: string; localLine: number } };

async function run({ tasks, inflight: shared }: WorkerInput): Promise<void> {
  const port = parentPort!;
  const inflight = new Int32Array(shared);
  let bytes = 0;
  const onBytes = (n: number): void => {
    bytes += n;
  };
  for (let t = 0; t < tasks.length; t++) {
    const task = tasks[t]!;
    const builder = new BatchBuilder(task.type === 'statement' ? 0 : 1, task.channel, (batch) => {
      // Flow control: parsing runs ahead of the main thread's ledger; without a bound the
      // queued batches would cost tens of MB.
      for (let n = Atomics.load(inflight, 0); n >= MAX_INFLIGHT; n = Atomics.load(inflight, 0))
        Atomics.wait(inflight, 0, n, 50);
      Atomics.add(inflight, 0, 1);
      port.postMessage({ type: 'batch', batch, bytes } satisfies WorkerMessage, batchTransferList(batch));
      bytes = 0;
    });
    try {
      if (task.type === 'statement') {
        const { result, lastTerminated } = await parseStatementPart(
          statementFormats[task.channel],
          task.layout,
          task.path,
          task.start,
          task.end,
          builder.statement,
          onBytes,
        );
        builder.emit();
        port.postMessage({ type: 'done', task: t, result, lastTerminated } satisfies WorkerMessage);
      } else {
        const result = await parsePlatformPart(
          task.layout,
          task.channel,
          task.path,
          task.start,
          task.end,
          builder.platform,
          onBytes,
        );
        builder.emit();
        port.postMessage({ type: 'done', task: t, result } satisfies WorkerMessage);
      }
    } catch (err) {
      if (err instanceof PartFailed) {
        port.postMessage({ type: 'error', task: t, problem: err.problem } satisfies WorkerMessage);
        return;
      }
      throw err;
    }
  }
}

await run(workerData as WorkerInput);
