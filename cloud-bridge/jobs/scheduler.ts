import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Kysely, Transaction } from 'kysely';
import type { Store } from '../store/db.js';
import type { Database } from '../store/schema.js';
import { nowIso } from '../store/db.js';
import type { Clock } from '../../protocol/clock.js';
import { newId } from '../../protocol/ids.js';
import { isUniqueViolation } from '../store/orders-repo.js';

// One scheduler for everything periodic (order sync, expiry, rate pulls, statement
// downloads) and every delayed task (query this order in 5 s, retry this webhook).
// Work is claimed with conditional UPDATEs on rows in the shared database, so a job or
// task runs once across all bridge instances; a claim is a lease, so work held by an
// instance that died is picked up again when the lease runs out.

export interface TaskResult {
  /** Run again after this protocol duration (unscaled ms): polling, not failure. */
  readonly again?: number;
}

export type TaskHandler<P = any> = (payload: P, info: { id: string; attempt: number }) => Promise<TaskResult | void>;

interface PeriodicJob {
  name: string;
  everyMs: number;
  run: () => Promise<void>;
}

interface TaskKind {
  handler: TaskHandler;
  maxAttempts: number;
  backoffMs: (attempt: number) => number;
}

export interface EnqueueOptions {
  delayMs?: number;
  runAt?: Date;
  dedupeKey?: string;
  maxAttempts?: number;
  /**
   * Queue inside this transaction, so the task commits with the change that needs it (call
   * `kick()` after the commit). A queued task with the same dedupe key makes it a no-op.
   */
  db?: Kysely<Database> | Transaction<Database>;
  /** With a dedupe key: if that task is already queued to run later, bring it forward. */
  earlier?: boolean;
}

const LEASE_MS = 60_000;

export class Scheduler {
  readonly owner = `${hostname()}:${process.pid}:${newId()}`;
  private readonly jobs: PeriodicJob[] = [];
  private readonly kinds = new Map<string, TaskKind>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private stopped = true;
  private readonly inflight = new Set<Promise<void>>();

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly options: { pollMs?: number; concurrency?: number } = {},
  ) {}

  /** A periodic job (interval is a protocol duration: it follows KAURI_TIME_SCALE). */
  every(name: string, everyMs: number, run: () => Promise<void>): this {
    this.jobs.push({ name, everyMs, run });
    return this;
  }

  defineTask<P>(kind: string, handler: TaskHandler<P>, options: { maxAttempts?: number; backoffMs?: (attempt: number) => number } = {}): this {
    this.kinds.set(kind, {
      handler: handler as TaskHandler,
      maxAttempts: options.maxAttempts ?? 10,
      backoffMs: options.backoffMs ?? ((a) => Math.min(1000 * 2 ** a, 3_600_000)),
    });
    return this;
  }

  /** Queues a task; with a dedupe key, a second enqueue of the same key is a no-op. */
  async enqueue(kind: string, payload: unknown, options: EnqueueOptions = {}): Promise<string | undefined> {
    const kindSpec = this.kinds.get(kind);
    const now = this.clock.now();
    const runAt = options.runAt ?? new Date(now.getTime() + this.clock.duration(options.delayMs ?? 0));
    const id = newId('tsk');
    if (options.db) {
      const inserted = await options.db
        .insertInto('tasks')
        .values({
          id, kind, dedupe_key: options.dedupeKey ?? null, payload: JSON.stringify(payload), run_at: nowIso(runAt),
          attempts: 0, max_attempts: options.maxAttempts ?? kindSpec?.maxAttempts ?? 10, status: 'queued',
          locked_by: null, locked_until: null, last_error: null, created_at: nowIso(now), updated_at: nowIso(now),
        })
        // Not a caught unique violation: on PostgreSQL that would abort the caller's transaction.
        .onConflict((oc) => oc.column('dedupe_key').doNothing())
        .executeTakeFirst();
      if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 1) return id;
      if (options.earlier && options.dedupeKey) {
        await options.db.updateTable('tasks').set({ run_at: nowIso(runAt), updated_at: nowIso(now) })
          .where('dedupe_key', '=', options.dedupeKey).where('status', '=', 'queued').where('run_at', '>', nowIso(runAt))
          .execute();
      }
      return undefined;
    }
    try {
      await this.store.db
        .insertInto('tasks')
        .values({
          id, kind, dedupe_key: options.dedupeKey ?? null, payload: JSON.stringify(payload), run_at: nowIso(runAt),
          attempts: 0, max_attempts: options.maxAttempts ?? kindSpec?.maxAttempts ?? 10, status: 'queued',
          locked_by: null, locked_until: null, last_error: null, created_at: nowIso(now), updated_at: nowIso(now),
        })
        .execute();
    } catch (err) {
      if (isUniqueViolation(err)) return undefined;
      throw err;
    }
    this.kick();
    return id;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await Promise.allSettled([...this.inflight]);
  }

  /** Runs one polling pass now (tests, and after an enqueue). */
  kick(): void {
    if (!this.stopped && !this.running) this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), ms);
    this.timer.unref?.();
  }

  private async tick(): Promise<void> {
    if (this.stopped || this.running) return;
    this.running = true;
    try {
      await this.runDueJobs();
      await this.runDueTasks();
    } catch (err) {
      this.log.error({ err }, 'scheduler pass failed');
    } finally {
      this.running = false;
      if (!this.stopped) this.schedule(this.options.pollMs ?? 100);
    }
  }

  private async runDueJobs(): Promise<void> {
    for (const job of this.jobs) {
      const now = this.clock.now();
      await this.store.db
        .insertInto('jobs')
        .values({ name: job.name, next_run_at: nowIso(now), locked_by: null, locked_until: null, last_started_at: null, last_finished_at: null, last_error: null, runs: 0 })
        .onConflict((oc) => oc.column('name').doNothing())
        .execute();
      const claim = await this.store.db
        .updateTable('jobs')
        .set((eb) => ({ locked_by: this.owner, locked_until: nowIso(new Date(now.getTime() + LEASE_MS)), last_started_at: nowIso(now), runs: eb('runs', '+', 1) }))
        .where('name', '=', job.name)
        .where('next_run_at', '<=', nowIso(now))
        .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<', nowIso(now))]))
        .executeTakeFirst();
      if (Number(claim.numUpdatedRows) !== 1) continue;
      let error: string | null = null;
      try {
        await job.run();
      } catch (err) {
        error = (err as Error).message ?? String(err);
        this.log.warn({ job: job.name, err }, 'job failed; it runs again at its next interval');
      }
      const done = this.clock.now();
      await this.store.db
        .updateTable('jobs')
        .set({ locked_by: null, locked_until: null, last_finished_at: nowIso(done), last_error: error, next_run_at: nowIso(new Date(done.getTime() + this.clock.duration(job.everyMs))) })
        .where('name', '=', job.name)
        .where('locked_by', '=', this.owner)
        .execute();
    }
  }

  private async runDueTasks(): Promise<void> {
    const now = nowIso(this.clock.now());
    const limit = this.options.concurrency ?? 8;
    const due = await this.store.db
      .selectFrom('tasks')
      .select(['id'])
      .where((eb) => eb.or([
        eb.and([eb('status', '=', 'queued'), eb('run_at', '<=', now)]),
        eb.and([eb('status', '=', 'running'), eb('locked_until', '<', now)]),
      ]))
      .orderBy('run_at')
      .limit(limit)
      .execute();
    const runs: Promise<void>[] = [];
    for (const { id } of due) {
      const p = this.claimAndRun(id).finally(() => this.inflight.delete(p));
      this.inflight.add(p);
      runs.push(p);
    }
    await Promise.all(runs);
  }

  private async claimAndRun(id: string): Promise<void> {
    const nowDate = this.clock.now();
    const now = nowIso(nowDate);
    const claim = await this.store.db
      .updateTable('tasks')
      .set((eb) => ({ status: 'running', locked_by: this.owner, locked_until: nowIso(new Date(nowDate.getTime() + LEASE_MS)), attempts: eb('attempts', '+', 1), updated_at: now }))
      .where('id', '=', id)
      .where((eb) => eb.or([
        eb.and([eb('status', '=', 'queued'), eb('run_at', '<=', now)]),
        eb.and([eb('status', '=', 'running'), eb('locked_until', '<', now)]),
      ]))
      .executeTakeFirst();
    if (Number(claim.numUpdatedRows) !== 1) return;
    const task = await this.store.db.selectFrom('tasks').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    const kind = this.kinds.get(task.kind);
    if (!kind) {
      // Another instance (a newer version) may know it: give it back.
      await this.release(id, { status: 'queued', run_at: nowIso(new Date(nowDate.getTime() + 5_000)), attempts: task.attempts - 1 });
      return;
    }
    try {
      const result = await kind.handler(JSON.parse(task.payload), { id, attempt: task.attempts });
      if (result?.again !== undefined) {
        // Polling is not failure: it does not use up attempts.
        const at = new Date(this.clock.now().getTime() + this.clock.duration(result.again));
        await this.release(id, { status: 'queued', run_at: nowIso(at), attempts: task.attempts - 1 });
      } else {
        await this.release(id, { status: 'done' });
      }
    } catch (err) {
      const message = (err as Error)?.message ?? String(err);
      if (task.attempts >= task.max_attempts) {
        this.log.error({ task: id, kind: task.kind, err }, 'task failed for the last time');
        await this.release(id, { status: 'dead', last_error: message });
      } else {
        const at = new Date(this.clock.now().getTime() + this.clock.duration(kind.backoffMs(task.attempts)));
        this.log.warn({ task: id, kind: task.kind, attempt: task.attempts, err: message }, 'task failed; retrying');
        await this.release(id, { status: 'queued', run_at: nowIso(at), last_error: message });
      }
    }
  }

  private async release(id: string, set: { status: 'queued' | 'done' | 'dead'; run_at?: string; attempts?: number; last_error?: string }): Promise<void> {
    await this.store.db
      .updateTable('tasks')
      // A finished task frees its dedupe key, so the same work can be queued again later.
      .set({ ...set, ...(set.status === 'queued' ? {} : { dedupe_key: null }), locked_by: null, locked_until: null, updated_at: nowIso(this.clock.now()) })
      .where('id', '=', id)
      .where('locked_by', '=', this.owner)
      .execute();
  }
}
