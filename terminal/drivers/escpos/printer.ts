import { EventEmitter } from 'node:events';
import { systemClock, type Clock } from '../../../protocol/clock.js';
import { DEVICE_ERRORS, DeviceError, isDeviceError, type DeviceErrorCode } from '../errors.js';
import type { ByteTransport } from '../transport-base.js';
import { chunkJob } from './frames.js';
import {
  DLE_ENQ_CLEAR,
  DLE_EOT,
  interpretStatus,
  StatusReplyParser,
  statusProblem,
  type PrinterStatus,
} from './status.js';

// An ESC/POS printer behind any transport: real-time status (DLE EOT 1..4) before a
// job, between its chunks and after it; and a watchdog that notices a printer that
// went away (a pty whose socat died says nothing until a write fails, so the watchdog
// keeps asking) and reopens it when it comes back.

export type PrinterState = 'ready' | 'held' | 'disconnected';

export interface PrinterHealth {
  state: PrinterState;
  /** Why it cannot print (held or disconnected). */
  code?: DeviceErrorCode;
  message?: string;
  messageZh?: string;
  paperNearEnd?: boolean;
  /** ISO time of the last change. */
  since: string;
}

export interface EscPosPrinterOptions {
  transport: ByteTransport;
  clock?: Clock;
  /** How long one status reply may take. A device timeout, not a protocol timer: not scaled. */
  statusTimeoutMs?: number;
  /** Bytes sent between two status checks; at 9600 baud 1 KB is about a second. */
  chunkSize?: number;
  /** Watchdog period (protocol time: shortened by KAURI_TIME_SCALE). */
  watchdogMs?: number;
}

export interface PrintOptions {
  /** Called after each chunk is on the wire (tests pull the paper here). */
  onChunk?: (sent: number, total: number) => void;
  /** A held job being sent again: clear whatever the printer still buffers first. */
  resume?: boolean;
}

export class EscPosPrinter extends EventEmitter<{ health: [PrinterHealth] }> {
  readonly transport: ByteTransport;
  private readonly clock: Clock;
  private readonly statusTimeoutMs: number;
  private readonly chunkSize: number;
  private readonly watchdogMs: number;
  private readonly parser = new StatusReplyParser();
  private waiter: ((b: number) => void) | undefined;
  private lock: Promise<unknown> = Promise.resolve();
  private watchdog: NodeJS.Timeout | undefined;
  private current: PrinterHealth;
  private stopped = false;

  constructor(opts: EscPosPrinterOptions) {
    super();
    this.transport = opts.transport;
    this.clock = opts.clock ?? systemClock();
    this.statusTimeoutMs = opts.statusTimeoutMs ?? 2000;
    this.chunkSize = opts.chunkSize ?? 1024;
    this.watchdogMs = opts.watchdogMs ?? 5000;
    this.current = { state: 'disconnected', code: 'printer_disconnected', since: new Date().toISOString() };
    this.transport.onData((chunk) => {
      for (const e of this.parser.feed(chunk)) {
        if (e.type === 'realtime' && this.waiter) {
          const w = this.waiter;
          this.waiter = undefined;
          w(e.byte);
        }
      }
    });
    this.transport.onClose(() => {
      if (!this.stopped) this.setHealth({ state: 'disconnected', code: 'printer_disconnected' });
    });
  }

  get health(): PrinterHealth {
    return this.current;
  }

  /** Opens the transport and reads the status once; with `watch`, keeps a watchdog running. */
  async start(watch = true): Promise<void> {
    this.stopped = false;
    await this.exclusive(() => this.reconnect()).catch(() => undefined);
    if (watch) this.scheduleWatchdog();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.watchdog) clearTimeout(this.watchdog);
    this.watchdog = undefined;
    await this.exclusive(() => this.transport.close());
  }

  /** Status now (opens the transport if needed). Throws printer_no_answer / printer_disconnected. */
  status(): Promise<PrinterStatus> {
    return this.exclusive(async () => {
      if (!this.transport.isOpen) await this.transport.open();
      return this.readStatus();
    });
  }

  /**
   * Sends one job. Throws a DeviceError when the printer cannot print it (paper out,
   * cover open, offline, error, no answer, gone); the caller holds the job and sends
   * it again later. Resolves only when the status after the job is clean.
   */
  print(job: Uint8Array, opts: PrintOptions = {}): Promise<void> {
    return this.exclusive(async () => {
      try {
        if (!this.transport.isOpen) await this.transport.open();
        this.check(await this.readStatus());
        if (opts.resume) await this.transport.write(DLE_ENQ_CLEAR);
        let sent = 0;
        for (const chunk of chunkJob(job, this.chunkSize)) {
          await this.transport.write(chunk);
          sent += chunk.length;
          opts.onChunk?.(sent, job.length);
          this.check(await this.readStatus());
        }
      } catch (err) {
        if (isDeviceError(err)) this.noteFailure(err);
        throw err;
      }
    });
  }

  private check(s: PrinterStatus): void {
    const problem = statusProblem(s);
    if (problem)
      throw new DeviceError(problem, `status ${s.raw.map((b) => b.toString(16).padStart(2, '0')).join(' ')}`);
    this.setHealth({ state: 'ready', paperNearEnd: s.paperNearEnd });
  }

  private noteFailure(err: DeviceError): void {
    if (err.code === 'printer_disconnected' || err.code === 'printer_no_answer' || err.code === 'usb_unavailable') {
      this.setHealth({ state: 'disconnected', code: err.code });
      // A silent printer may be a dead link: drop it so the watchdog reopens it.
      void this.transport.close().catch(() => undefined);
    } else this.setHealth({ state: 'held', code: err.code });
  }

  private async readStatus(): Promise<PrinterStatus> {
    const raw: number[] = [];
    for (const n of [1, 2, 3, 4] as const) raw.push(await this.query(n));
    return interpretStatus(raw as [number, number, number, number]);
  }

  private async query(n: 1 | 2 | 3 | 4): Promise<number> {
    const reply = new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new DeviceError('printer_no_answer', `no reply to DLE EOT ${n} within ${this.statusTimeoutMs} ms`));
      }, this.statusTimeoutMs);
      this.waiter = (b) => {
        clearTimeout(timer);
        resolve(b);
      };
    });
    try {
      await this.transport.write(DLE_EOT(n));
    } catch (err) {
      this.waiter = undefined;
      reply.catch(() => undefined);
      throw err;
    }
    return reply;
  }

  private async reconnect(): Promise<void> {
    try {
      if (!this.transport.isOpen) await this.transport.open();
      this.check(await this.readStatus());
    } catch (err) {
      if (isDeviceError(err)) this.noteFailure(err);
      throw err;
    }
  }

  private scheduleWatchdog(): void {
    if (this.stopped) return;
    this.watchdog = setTimeout(() => {
      void this.exclusive(() => this.reconnect())
        .catch(() => undefined)
        .finally(() => this.scheduleWatchdog());
    }, this.clock.duration(this.watchdogMs));
    this.watchdog.unref?.();
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => undefined);
    return run;
  }

  private setHealth(h: Omit<PrinterHealth, 'since' | 'message' | 'messageZh'>): void {
    const prev = this.current;
    if (prev.state === h.state && prev.code === h.code && prev.paperNearEnd === h.paperNearEnd) return;
    const text = h.code ? DEVICE_ERRORS[h.code] : undefined;
    this.current = { ...h, message: text?.en, messageZh: text?.zh, since: new Date().toISOString() };
    this.emit('health', this.current);
  }
}
