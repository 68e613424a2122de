import { EventEmitter } from 'node:events';
import { systemClock, type Clock } from '../../../protocol/clock.js';
import { DEVICE_ERRORS, isDeviceError, type DeviceErrorCode } from '../errors.js';
import type { PrintJob, PrintJobStore } from './job-store.js';
import type { EscPosPrinter, PrintOptions } from './printer.js';

// Jobs go to the store first, then to the printer, one at a time, oldest first. A job
// the printer cannot take (paper out, cover open, offline, gone) is held, the screen
// is told why, and the queue asks the printer again until it can print; then the job
// is sent once more from its first byte (after DLE ENQ 2 clears what the printer
// still buffers), so it comes out whole, once.
//
// A job found "printing" at start-up was cut short by a crash: it is sent again
// (a duplicate slip is better than a missing one).

export interface HeldJob {
  id: string;
  kind: string;
  ref?: string;
  code: DeviceErrorCode;
  message: string;
  messageZh: string;
}

export interface PrintQueueOptions {
  printer: EscPosPrinter;
  store: PrintJobStore;
  clock?: Clock;
  /** How often a held job asks the printer again (protocol time). */
  retryMs?: number;
  /** Per-job hook, for tests. */
  printOptions?: (job: PrintJob) => PrintOptions;
}

export class PrintQueue extends EventEmitter<{ printed: [PrintJob]; held: [HeldJob]; resumed: [PrintJob] }> {
  private readonly printer: EscPosPrinter;
  private readonly store: PrintJobStore;
  private readonly clock: Clock;
  private readonly retryMs: number;
  private readonly printOptions?: (job: PrintJob) => PrintOptions;
  private running: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private stopped = false;
  private readonly abort = new AbortController();

  constructor(opts: PrintQueueOptions) {
    super();
    this.printer = opts.printer;
    this.store = opts.store;
    this.clock = opts.clock ?? systemClock();
    this.retryMs = opts.retryMs ?? 2000;
    this.printOptions = opts.printOptions;
    // A printer that comes back wakes a held job at once.
    this.printer.on('health', (h) => {
      if (h.state === 'ready') this.wake?.();
    });
  }

  /** Persists the job, then starts printing it (after the ones before it). */
  enqueue(kind: string, bytes: Uint8Array, ref?: string): PrintJob {
    const job = this.store.add({ kind, bytes, ref });
    this.kick();
    return job;
  }

  /** Prints whatever the store still holds (call at start-up). */
  kick(): void {
    if (this.stopped || this.running) return;
    this.running = this.drain().finally(() => {
      this.running = undefined;
      if (!this.stopped && this.store.next()) this.kick();
    });
  }

  /** Resolves when nothing is waiting (for tests and shutdown). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    this.wake?.();
    await this.running?.catch(() => undefined);
  }

  private async drain(): Promise<void> {
    for (let job = this.store.next(); job && !this.stopped; job = this.store.next()) {
      const resume = job.attempts > 0;
      this.store.markPrinting(job.id);
      try {
        await this.printer.print(job.bytes, { ...this.printOptions?.(job), resume });
        this.store.markPrinted(job.id);
        const done = this.store.get(job.id) ?? job;
        if (resume) this.emit('resumed', done);
        this.emit('printed', done);
      } catch (err) {
        const code: DeviceErrorCode = isDeviceError(err) ? err.code : 'printer_error';
        this.store.markHeld(job.id, code);
        const text = DEVICE_ERRORS[code];
        this.emit('held', { id: job.id, kind: job.kind, ref: job.ref, code, message: text.en, messageZh: text.zh });
        await this.waitForRetry();
      }
    }
  }

  private waitForRetry(): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        this.wake = undefined;
        resolve();
      };
      this.wake = done;
      this.clock.sleep(this.retryMs, this.abort.signal).then(done, done);
    });
  }
}
