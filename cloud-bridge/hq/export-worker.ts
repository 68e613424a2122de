import { parentPort, workerData } from 'node:worker_threads';
import { KauriError } from '../../protocol/errors.js';
import { openReader } from '../store/db.js';
import { exportSource, type ExportKind } from './exports.js';
import type { PaymentFilter } from './payments-query.js';
import type { Scope } from './scope.js';

// One back-office export in its own thread (started by export-workers.ts): it opens its own
// read connection, runs exports.ts's generators, and sends a chunk only when the main thread
// asks for one, so the rows are read no faster than the client downloads them.

export interface ExportJob {
  url: string;
  scope: Scope;
  kind: ExportKind;
  filter: PaymentFilter;
}

/** Main thread → worker: 'more' (send the next chunk). */
export type ExportMessage =
  | { type: 'ready' }
  | { type: 'chunk'; text: string }
  | { type: 'end' }
  | { type: 'error'; code?: string; message: string };

const port = parentPort!;
const job = workerData as ExportJob;
let asks = 0;
let wake: (() => void) | undefined;
const onMessage = (m: unknown): void => {
  if (m !== 'more') return;
  asks++;
  wake?.();
  wake = undefined;
};
port.on('message', onMessage);

async function asked(): Promise<void> {
  while (asks === 0) await new Promise<void>((r) => (wake = r));
  asks--;
}

const send = (m: ExportMessage): void => port.postMessage(m);

async function run(): Promise<void> {
  const store = await openReader(job.url);
  try {
    const source = await exportSource(store.db, job.scope, job.kind, job.filter);
    send({ type: 'ready' });
    for await (const text of source) {
      await asked();
      send({ type: 'chunk', text });
    }
    send({ type: 'end' });
  } finally {
    await store.close().catch(() => undefined);
  }
}

run()
  .catch((err: unknown) =>
    send({
      type: 'error',
      code: err instanceof KauriError ? err.code : undefined,
      message: err instanceof Error ? err.message : String(err),
    }),
  )
  // Nothing left to wait for: the thread ends by itself once its connection is closed.
  .finally(() => port.off('message', onMessage));
