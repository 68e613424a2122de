import { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { KauriError, type ErrorCode } from '../../protocol/errors.js';
import type { Store } from '../store/db.js';
import { exportStream, type ExportKind } from './exports.js';
import type { ExportJob, ExportMessage } from './export-worker.js';
import type { PaymentFilter } from './payments-query.js';
import type { Scope } from './scope.js';

// The back office's CSV exports run in worker threads. A million-row export read on the main
// thread let V8 pile up old-generation garbage (pages live across database round trips) to
// well over the bridge's memory budget, and formatted every row on the event loop that answers
// payments. A worker's heap is capped by resourceLimits, so its memory is bounded by
// construction, and its CPU is off the main loop. At most `max` run at once per bridge.

/**
 * Heap caps of one export worker, chosen by measurement (BENCHMARKS.md, back-office export): a
 * page of 2,000 rows and its CSV need a few MB; 64/8 MB gave a bridge peak 17 MB higher than 32/4
 * for a million rows on SQLite, with no gain in speed.
 */
export const EXPORT_WORKER_LIMITS = { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 4 };
/** Exports at once per bridge: each holds a database connection and ~75–90 MB of RSS. */
export const EXPORT_WORKERS_MAX = 2;

function workerFor(job: ExportJob): Worker {
  const here = import.meta.url;
  const options = { workerData: job, resourceLimits: EXPORT_WORKER_LIMITS };
  if (here.endsWith('.ts')) {
    // Run from source (tsx, vitest): the worker is TypeScript too, and module hooks are per
    // thread, so the worker registers tsx itself before importing its module.
    const api = import.meta.resolve('tsx/esm/api');
    const url = new URL('./export-worker.ts', here).href;
    const boot = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(url)}); })`;
    return new Worker(boot, { ...options, eval: true });
  }
  return new Worker(new URL('./export-worker.js', here), options);
}

function errorOf(m: { code?: string; message: string }): Error {
  return m.code ? new KauriError(m.code as ErrorCode, m.message) : new Error(m.message);
}

export interface Exporter {
  /** The export as a stream; rejects (before any byte) on a bad filter or when too many run. */
  open(scope: Scope, kind: ExportKind, filter: PaymentFilter): Promise<Readable>;
}

export class ExportWorkers implements Exporter {
  #running = 0;
  constructor(
    private readonly store: Pick<Store, 'db' | 'url'>,
    readonly max = EXPORT_WORKERS_MAX,
  ) {}

  /** Export workers alive now (a finished or abandoned export's worker counts until it has exited). */
  get running(): number {
    return this.#running;
  }

  async open(scope: Scope, kind: ExportKind, filter: PaymentFilter): Promise<Readable> {
    const url = this.store.url;
    // An in-memory SQLite database exists only on this thread's connection: a worker cannot
    // open it, so such a store (a demo, some tests) exports on this thread as before.
    if (url === 'sqlite::memory:' || url.startsWith('sqlite::memory:') || url === 'sqlite:')
      return exportStream(this.store.db, scope, kind, filter);
    if (this.#running >= this.max)
      throw new KauriError('export_busy', `${this.max} exports are already running; try again in a minute`, {
        retryAfterS: 30,
      });
    this.#running++;
    const worker = workerFor({ url, scope, kind, filter });
    worker.once('exit', () => this.#running--);
    let asked = false;
    let ended = false;
    const stream = new Readable({
      highWaterMark: 64 * 1024,
      read() {
        // One ask outstanding at most: the worker sends one chunk per ask.
        if (asked) return;
        asked = true;
        worker.postMessage('more');
      },
      destroy(err, cb) {
        // The client went away (or the export failed): stop the worker and its connection.
        if (!ended) void worker.terminate();
        cb(err);
      },
    });
    return new Promise<Readable>((resolve, reject) => {
      let ready = false;
      const fail = (err: Error): void => {
        if (ended) return;
        ended = true;
        void worker.terminate();
        if (ready) stream.destroy(err);
        else reject(err);
      };
      worker.on('message', (m: ExportMessage) => {
        if (m.type === 'ready') {
          ready = true;
          resolve(stream);
        } else if (m.type === 'chunk') {
          asked = false;
          stream.push(m.text);
        } else if (m.type === 'end') {
          ended = true;
          stream.push(null);
        } else fail(errorOf(m));
      });
      // resourceLimits exceeded (ERR_WORKER_OUT_OF_MEMORY), or an uncaught error in the worker.
      worker.on('error', fail);
      worker.on('exit', (code) => {
        if (!stream.destroyed) fail(new Error(`the export worker stopped (exit code ${code}) before the export ended`));
      });
    });
  }
}
