import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { SimClock } from './clock.js';
import type { FaultRegistry } from './faults.js';

// Delivers asynchronous notifications the way a payment channel does: POST the body,
// and if the merchant's reply is not the expected acknowledgement (or the call fails or
// times out), try again on the channel's retry schedule until it is, or the schedule
// runs out. Jobs live in the simulator's state, so a restart resumes pending retries.

export interface NotifyJob {
  id: string;
  url: string;
  body: string;
  contentType: string;
  /** Free-form tags for the channel (e.g. out_trade_no), shown by /sim/orders. */
  meta: Record<string, string>;
  /** Deliveries made so far. */
  attempts: number;
  /** Real epoch ms of the next delivery. */
  nextAt: number;
  status: 'pending' | 'acked' | 'gave_up' | 'dropped';
  history: { at: string; status: number | null; ok: boolean; error?: string }[];
}

export interface NotifierOptions {
  clock: SimClock;
  faults: FaultRegistry;
  log: Logger;
  /** Delay before each retry (protocol ms, scaled by the clock): retry k waits schedule[k-1]. */
  schedule: readonly number[];
  /** Does the merchant's reply acknowledge the notification? */
  isAck: (status: number, body: string) => boolean;
  /** A body whose signature is wrong, for the `bad-signature` fault. */
  tamper?: (body: string) => string;
  /** Where the jobs are kept (part of the simulator's persisted state). */
  jobs: NotifyJob[];
  onChange: () => void;
  /** Per-delivery HTTP timeout, real ms. */
  requestTimeoutMs?: number;
  /** The fault target for notifications. */
  faultTarget?: string;
}

export class Notifier {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly inFlight = new Set<string>();

  constructor(private readonly opts: NotifierOptions) {}

  /** Queues a notification; the first delivery is immediate unless a late-notify fault says otherwise. */
  send(url: string, body: string, contentType: string, meta: Record<string, string> = {}): NotifyJob {
    const fault = this.opts.faults.take(this.opts.faultTarget ?? 'notify', [
      'duplicate-notify',
      'late-notify',
      'bad-signature',
      'drop-notify',
    ]);
    const job: NotifyJob = {
      id: randomUUID(),
      url,
      body: fault?.kind === 'bad-signature' && this.opts.tamper ? this.opts.tamper(body) : body,
      contentType,
      meta,
      attempts: 0,
      nextAt: Date.now() + (fault?.kind === 'late-notify' ? this.opts.clock.duration(fault.seconds * 1000) : 0),
      status: fault?.kind === 'drop-notify' ? 'dropped' : 'pending',
      history: [],
    };
    this.opts.jobs.push(job);
    this.opts.onChange();
    this.opts.log.info({ notify: job.id, url, meta, fault: fault?.kind }, 'notify queued');
    if (fault?.kind === 'duplicate-notify') {
      // Several WeChat servers may deliver the same notification at once.
      void this.deliverOnce(job, true);
    }
    this.schedule();
    return job;
  }

  start(): void {
    this.stopped = false;
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  pending(): NotifyJob[] {
    return this.opts.jobs.filter((j) => j.status === 'pending');
  }

  private schedule(): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const due = this.pending().filter((j) => !this.inFlight.has(j.id));
    if (due.length === 0) return;
    const next = Math.min(...due.map((j) => j.nextAt));
    this.timer = setTimeout(() => this.runDue(), Math.max(0, next - Date.now()));
    this.timer.unref?.();
  }

  private runDue(): void {
    this.timer = undefined;
    const now = Date.now();
    for (const job of this.pending()) {
      if (job.nextAt <= now && !this.inFlight.has(job.id)) void this.deliver(job);
    }
    this.schedule();
  }

  private async deliver(job: NotifyJob): Promise<void> {
    this.inFlight.add(job.id);
    try {
      const ok = await this.deliverOnce(job, false);
      if (this.stopped) return;
      if (ok) {
        job.status = 'acked';
      } else if (job.attempts > this.opts.schedule.length) {
        job.status = 'gave_up';
        this.opts.log.warn({ notify: job.id, attempts: job.attempts }, 'notify retries exhausted');
      } else {
        job.nextAt = Date.now() + this.opts.clock.duration(this.opts.schedule[job.attempts - 1]!);
      }
      this.opts.onChange();
    } finally {
      this.inFlight.delete(job.id);
      this.schedule();
    }
  }

  /** One POST; returns whether the reply acknowledged it. `extra` deliveries do not count as attempts. */
  private async deliverOnce(job: NotifyJob, extra: boolean): Promise<boolean> {
    if (!extra) job.attempts += 1;
    const at = new Date().toISOString();
    try {
      const res = await fetch(job.url, {
        method: 'POST',
        headers: { 'content-type': job.contentType },
        body: job.body,
        signal: AbortSignal.timeout(this.opts.requestTimeoutMs ?? 10_000),
      });
      const text = await res.text();
      const ok = this.opts.isAck(res.status, text);
      job.history.push({ at, status: res.status, ok });
      this.opts.log.info({ notify: job.id, attempt: job.attempts, status: res.status, ok, extra }, 'notify delivered');
      return ok;
    } catch (err) {
      const error = (err as Error).message;
      job.history.push({ at, status: null, ok: false, error });
      this.opts.log.info({ notify: job.id, attempt: job.attempts, error, extra }, 'notify failed');
      return false;
    } finally {
      if (job.history.length > 50) job.history.splice(0, job.history.length - 50);
      this.opts.onChange();
    }
  }
}
