import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { sql, type Kysely, type RawBuilder, type Transaction } from 'kysely';
import type { Store } from '../store/db.js';
import type { Database, TaskTable } from '../store/schema.js';
import { nowIso } from '../store/db.js';
import type { Clock } from '../../protocol/clock.js';
import { newId } from '../../protocol/ids.js';

// One scheduler for everything periodic (order sync, expiry, rate pulls, statement
// downloads) and every delayed task (query this order in 5 s, retry this webhook).
// Work is claimed with conditional UPDATEs on rows in the shared database, so a job or
// task runs once across all bridge instances; a claim is a lease, so work held by an
// instance that died is picked up again when the lease runs out.

// A task's insert is written out rather than built with Kysely's insert builder: every
// payment queues two, and building and compiling that upsert took ~16 µs a time against
// ~2 µs for this template, where a whole payment costs the bridge ~0.6 ms of CPU
// (BENCHMARKS.md). The columns are checked against TaskTable, the values bound in order.
const TASK_COLUMNS = [
  'id',
  'kind',
  'dedupe_key',
  'payload',
  'run_at',
  'attempts',
  'max_attempts',
  'status',
  'locked_by',
  'locked_until',
  'last_error',
  'created_at',
  'updated_at',
] as const satisfies readonly (keyof TaskTable)[];
// Every column, or the compiler says which one is missing.
const _allTaskColumns: Record<Exclude<keyof TaskTable, (typeof TASK_COLUMNS)[number]>, never> = {};
void _allTaskColumns;
const TASK_COLUMN_LIST = sql.raw(TASK_COLUMNS.map((c) => `"${c}"`).join(', '));
const KEEP_QUEUED = sql.raw('on conflict ("dedupe_key") do nothing');
const BRING_FORWARD = sql.raw(
  'on conflict ("dedupe_key") do update set "run_at" = excluded."run_at", "updated_at" = excluded."updated_at"' +
    ` where "tasks"."status" = 'queued' and "tasks"."run_at" > excluded."run_at"`,
);

export interface TaskResult {
  /** Run again after this protocol duration (unscaled ms): polling, not failure. */
  readonly again?: number;
}

export interface TaskInfo {
  id: string;
  attempt: number;
  /** Aborted when the task's timeout passes: a handler doing I/O should pass it on. */
  signal: AbortSignal;
}

export type TaskHandler<P = any> = (payload: P, info: TaskInfo) => Promise<TaskResult | void>;

/**
 * Lanes keep one kind of work from starving another: each has its own limit of running
 * tasks, so receivers that hang (webhooks) or long runs (reconciliation) fill only their
 * own lane while order syncs keep their slots.
 */
export type Lane = 'payments' | 'refunds' | 'webhooks' | 'reconciliation' | 'other';

export const DEFAULT_LANE_LIMITS: Readonly<Record<Lane, number>> = {
  payments: 8,
  refunds: 4,
  webhooks: 8,
  reconciliation: 2,
  other: 4,
};

/** The lane a task kind runs in when its definition names none. */
export function laneOf(kind: string): Lane {
  if (kind.startsWith('order.')) return 'payments';
  if (kind.startsWith('refund.')) return 'refunds';
  if (kind.startsWith('webhook.')) return 'webhooks';
  if (kind.startsWith('reconcile.')) return 'reconciliation';
  return 'other';
}

interface PeriodicJob {
  name: string;
  everyMs: number;
  run: () => Promise<void>;
}

interface TaskKind {
  handler: TaskHandler;
  maxAttempts: number;
  backoffMs: (attempt: number) => number;
  lane: Lane;
  timeoutMs: number;
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

export interface SchedulerOptions {
  pollMs?: number;
  /** Running tasks per lane on this instance (defaults: DEFAULT_LANE_LIMITS). */
  lanes?: Partial<Record<Lane, number>>;
  /** How long a claim holds without renewal (real ms). A running task renews it every third of this. */
  leaseMs?: number;
  /** A task's time limit (real ms) when its definition gives none. */
  taskTimeoutMs?: number;
  /** @deprecated one limit for all lanes; use `lanes`. */
  concurrency?: number;
}

// Short, because running work renews it every third of it: work held by an instance that
// died (kill -9, a lost host) is taken over within 10 s instead of a minute.
const LEASE_MS = 10_000;
const TASK_TIMEOUT_MS = 120_000;

export class TaskTimeoutError extends Error {
  constructor(kind: string, ms: number) {
    super(`task ${kind} took longer than ${ms} ms`);
    this.name = 'TaskTimeoutError';
  }
}

export class Scheduler {
  readonly owner = `${hostname()}:${process.pid}:${newId()}`;
  private readonly jobs: PeriodicJob[] = [];
  private readonly kinds = new Map<string, TaskKind>();
  private timer: NodeJS.Timeout | undefined;
  private passing = false;
  private again = false;
  private stopped = true;
  private readonly inflight = new Set<Promise<void>>();
  /** Tasks (by id) and jobs (by name) running here now: never claimed twice by this instance. */
  private readonly runningTasks = new Map<string, Lane>();
  private readonly runningJobs = new Set<string>();
  private readonly limits: Record<Lane, number>;
  private readonly leaseMs: number;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly options: SchedulerOptions = {},
  ) {
    const base =
      options.concurrency !== undefined
        ? (Object.fromEntries(Object.keys(DEFAULT_LANE_LIMITS).map((l) => [l, options.concurrency])) as Record<
            Lane,
            number
          >)
        : { ...DEFAULT_LANE_LIMITS };
    this.limits = { ...base, ...options.lanes };
    this.leaseMs = options.leaseMs ?? LEASE_MS;
  }

  /** A periodic job (interval is a protocol duration: it follows KAURI_TIME_SCALE). */
  every(name: string, everyMs: number, run: () => Promise<void>): this {
    this.jobs.push({ name, everyMs, run });
    return this;
  }

  defineTask<P>(
    kind: string,
    handler: TaskHandler<P>,
    options: { maxAttempts?: number; backoffMs?: (attempt: number) => number; lane?: Lane; timeoutMs?: number } = {},
  ): this {
    this.kinds.set(kind, {
      handler: handler as TaskHandler,
      maxAttempts: options.maxAttempts ?? 10,
      backoffMs: options.backoffMs ?? ((a) => Math.min(1000 * 2 ** a, 3_600_000)),
      lane: options.lane ?? laneOf(kind),
      timeoutMs: options.timeoutMs ?? this.options.taskTimeoutMs ?? TASK_TIMEOUT_MS,
    });
    return this;
  }

  /**
   * The statement that queues a task inside the caller's transaction, unexecuted: a
   * transition on PostgreSQL sends it together with the rest of its writes. A queued task
   * with the same dedupe key makes it a no-op (or brings that task forward, with `earlier`).
   */
  enqueueQuery(
    kind: string,
    payload: unknown,
    options: Omit<EnqueueOptions, 'db'> = {},
    id: string = newId('tsk'),
  ): RawBuilder<{ id: string }> {
    const now = this.clock.now();
    const runAt = this.runAt(now, options);
    const row: TaskTable = {
      id,
      kind,
      dedupe_key: options.dedupeKey ?? null,
      payload: JSON.stringify(payload),
      run_at: nowIso(runAt),
      attempts: 0,
      max_attempts: options.maxAttempts ?? this.kinds.get(kind)?.maxAttempts ?? 10,
      status: 'queued',
      locked_by: null,
      locked_until: null,
      last_error: null,
      created_at: nowIso(now),
      updated_at: nowIso(now),
    };
    const values = sql.join(TASK_COLUMNS.map((c) => row[c]));
    // Not a caught unique violation: on PostgreSQL that would abort the caller's transaction.
    // Bringing a queued task forward is part of the same statement (one round trip).
    const onConflict = options.earlier && options.dedupeKey ? BRING_FORWARD : KEEP_QUEUED;
    return sql<{
      id: string;
    }>`insert into "tasks" (${TASK_COLUMN_LIST}) values (${values}) ${onConflict} returning "id"`;
  }

  /** Queues a task; with a dedupe key, a second enqueue of the same key is a no-op. */
  async enqueue(kind: string, payload: unknown, options: EnqueueOptions = {}): Promise<string | undefined> {
    const id = newId('tsk');
    const db = options.db ?? this.store.db;
    const [inserted] = (await this.enqueueQuery(kind, payload, options, id).execute(db)).rows;
    // The id only when this task was inserted (a brought-forward task keeps its own).
    if (inserted?.id !== id) return undefined;
    // In the caller's transaction, the caller wakes the scheduler once it commits.
    const now = this.clock.now();
    if (!options.db && this.runAt(now, options).getTime() <= now.getTime()) this.kick();
    return id;
  }

  /** Whether a task with this dedupe key was ever queued (whatever became of it). */
  async hasTask(dedupeKey: string): Promise<boolean> {
    const row = await this.store.db
      .selectFrom('tasks')
      .select('id')
      .where('dedupe_key', '=', dedupeKey)
      .executeTakeFirst();
    return row !== undefined;
  }

  private runAt(now: Date, options: Pick<EnqueueOptions, 'runAt' | 'delayMs'>): Date {
    return options.runAt ?? new Date(now.getTime() + this.clock.duration(options.delayMs ?? 0));
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    // A pass under way may still start what it claimed: wait for it too, so nothing runs
    // (a webhook sent, a channel called) once stop() has returned.
    while (this.passing || this.inflight.size) {
      if (this.inflight.size) await Promise.allSettled([...this.inflight]);
      else await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** Runs a polling pass now (tests, after an enqueue, when a slot frees). */
  kick(): void {
    if (this.stopped) return;
    if (this.passing) this.again = true;
    else this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.pass(), ms);
    this.timer.unref?.();
  }

  /**
   * One polling pass claims what is due and starts it, without waiting for it: a pass
   * takes milliseconds whatever the tasks do, so nothing due waits behind a slow task.
   */
  private async pass(): Promise<void> {
    if (this.stopped || this.passing) return;
    this.passing = true;
    this.again = false;
    try {
      await this.startDueJobs();
      await this.startDueTasks();
    } catch (err) {
      this.log.error({ err }, 'scheduler pass failed');
    } finally {
      this.passing = false;
      if (!this.stopped) this.schedule(this.again ? 0 : (this.options.pollMs ?? 100));
    }
  }

  private track(p: Promise<void>): void {
    const tracked = p
      .catch((err) => this.log.error({ err }, 'scheduler work failed'))
      .finally(() => {
        this.inflight.delete(tracked);
        this.kick();
      });
    this.inflight.add(tracked);
  }

  /** Keeps a claim alive while its work runs, so another instance never takes it over. */
  private renewWhile(table: 'tasks' | 'jobs', key: string): () => void {
    const every = Math.max(10, Math.floor(this.leaseMs / 3));
    const timer = setInterval(() => {
      const until = nowIso(new Date(this.clock.now().getTime() + this.leaseMs));
      const q =
        table === 'tasks'
          ? this.store.db
              .updateTable('tasks')
              .set({ locked_until: until })
              .where('id', '=', key)
              .where('locked_by', '=', this.owner)
              .where('status', '=', 'running')
          : this.store.db
              .updateTable('jobs')
              .set({ locked_until: until })
              .where('name', '=', key)
              .where('locked_by', '=', this.owner);
      q.executeTakeFirst().then(
        (r) => {
          if (Number(r.numUpdatedRows) !== 1)
            this.log.warn(
              { [table === 'tasks' ? 'task' : 'job']: key },
              'lease lost while running: another instance may take this work over',
            );
        },
        (err) => this.log.warn({ err, key }, 'lease renewal failed; retrying'),
      );
    }, every);
    timer.unref?.();
    return () => clearInterval(timer);
  }

  private async startDueJobs(): Promise<void> {
    for (const job of this.jobs) {
      if (this.stopped) return;
      if (this.runningJobs.has(job.name)) continue;
      const now = this.clock.now();
      await this.store.db
        .insertInto('jobs')
        .values({
          name: job.name,
          next_run_at: nowIso(now),
          locked_by: null,
          locked_until: null,
          last_started_at: null,
          last_finished_at: null,
          last_error: null,
          runs: 0,
        })
        .onConflict((oc) => oc.column('name').doNothing())
        .execute();
      const claim = await this.store.db
        .updateTable('jobs')
        .set((eb) => ({
          locked_by: this.owner,
          locked_until: nowIso(new Date(now.getTime() + this.leaseMs)),
          last_started_at: nowIso(now),
          runs: eb('runs', '+', 1),
        }))
        .where('name', '=', job.name)
        .where('next_run_at', '<=', nowIso(now))
        .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<', nowIso(now))]))
        .executeTakeFirst();
      if (Number(claim.numUpdatedRows) !== 1) continue;
      this.runningJobs.add(job.name);
      this.track(this.runJob(job).finally(() => this.runningJobs.delete(job.name)));
    }
  }

  private async runJob(job: PeriodicJob): Promise<void> {
    const stopRenewing = this.renewWhile('jobs', job.name);
    let error: string | null = null;
    try {
      await job.run();
    } catch (err) {
      error = (err as Error).message ?? String(err);
      this.log.warn({ job: job.name, err }, 'job failed; it runs again at its next interval');
    } finally {
      stopRenewing();
    }
    const done = this.clock.now();
    await this.store.db
      .updateTable('jobs')
      .set({
        locked_by: null,
        locked_until: null,
        last_finished_at: nowIso(done),
        last_error: error,
        next_run_at: nowIso(new Date(done.getTime() + this.clock.duration(job.everyMs))),
      })
      .where('name', '=', job.name)
      .where('locked_by', '=', this.owner)
      .execute();
  }

  private busy(lane: Lane): number {
    let n = 0;
    for (const l of this.runningTasks.values()) if (l === lane) n++;
    return n;
  }

  private async startDueTasks(): Promise<void> {
    const byLane = new Map<Lane, string[]>();
    for (const [kind, spec] of this.kinds) byLane.set(spec.lane, [...(byLane.get(spec.lane) ?? []), kind]);
    const now = nowIso(this.clock.now());
    for (const [lane, kinds] of byLane) {
      if (this.stopped) return;
      const free = this.limits[lane] - this.busy(lane);
      if (free <= 0) continue;
      const mine = [...this.runningTasks.keys()];
      const due = await this.store.db
        .selectFrom('tasks')
        .select(['id'])
        .where('kind', 'in', kinds)
        .where((eb) =>
          eb.or([
            eb.and([eb('status', '=', 'queued'), eb('run_at', '<=', now)]),
            eb.and([eb('status', '=', 'running'), eb('locked_until', '<', now)]),
          ]),
        )
        .$if(mine.length > 0, (q) => q.where('id', 'not in', mine))
        .orderBy('run_at')
        .limit(free)
        .execute();
      for (const { id } of due) {
        if (this.busy(lane) >= this.limits[lane]) break;
        this.runningTasks.set(id, lane);
        // The lane slot is freed when the task ends or overruns its time limit, whichever comes first.
        const freeSlot = () => {
          this.runningTasks.delete(id);
        };
        this.track(
          this.claimAndRun(id, () => {
            freeSlot();
            this.kick();
          }).finally(freeSlot),
        );
      }
    }
  }

  private async claimAndRun(id: string, overran: () => void): Promise<void> {
    const nowDate = this.clock.now();
    const now = nowIso(nowDate);
    const claim = await this.store.db
      .updateTable('tasks')
      .set((eb) => ({
        status: 'running',
        locked_by: this.owner,
        locked_until: nowIso(new Date(nowDate.getTime() + this.leaseMs)),
        attempts: eb('attempts', '+', 1),
        updated_at: now,
      }))
      .where('id', '=', id)
      .where((eb) =>
        eb.or([
          eb.and([eb('status', '=', 'queued'), eb('run_at', '<=', now)]),
          eb.and([eb('status', '=', 'running'), eb('locked_until', '<', now)]),
        ]),
      )
      .executeTakeFirst();
    if (Number(claim.numUpdatedRows) !== 1) return;
    const task = await this.store.db.selectFrom('tasks').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    const kind = this.kinds.get(task.kind);
    if (!kind) {
      // Another instance (a newer version) may know it: give it back.
      await this.release(id, {
        status: 'queued',
        run_at: nowIso(new Date(nowDate.getTime() + 5_000)),
        attempts: task.attempts - 1,
      });
      return;
    }
    const stopRenewing = this.renewWhile('tasks', id);
    const abort = new AbortController();
    let timedOut: TaskTimeoutError | undefined;
    // Past its time limit a task is told to stop (its signal) and its lane slot goes to
    // other work, so the lane never stalls; but its claim is kept, renewed, until the
    // handler really returns, so nobody runs the same task again while it still runs.
    const timer = setTimeout(() => {
      timedOut = new TaskTimeoutError(task.kind, kind.timeoutMs);
      this.log.warn(
        { task: id, kind: task.kind, timeoutMs: kind.timeoutMs },
        'task overran its time limit; told to stop',
      );
      abort.abort(timedOut);
      overran();
    }, kind.timeoutMs);
    try {
      // A handler that ignores its signal and succeeds late has still done the work.
      const result = await kind.handler(JSON.parse(task.payload), { id, attempt: task.attempts, signal: abort.signal });
      if (result?.again !== undefined) {
        // Polling is not failure: it does not use up attempts.
        const at = new Date(this.clock.now().getTime() + this.clock.duration(result.again));
        await this.release(id, { status: 'queued', run_at: nowIso(at), attempts: task.attempts - 1 });
      } else {
        await this.release(id, { status: 'done' });
      }
    } catch (caught) {
      const err = timedOut ?? caught;
      const message = (err as Error)?.message ?? String(err);
      if (task.attempts >= task.max_attempts) {
        this.log.error({ task: id, kind: task.kind, err }, 'task failed for the last time');
        await this.release(id, { status: 'dead', last_error: message });
      } else {
        const at = new Date(this.clock.now().getTime() + this.clock.duration(kind.backoffMs(task.attempts)));
        this.log.warn({ task: id, kind: task.kind, attempt: task.attempts, err: message }, 'task failed; retrying');
        await this.release(id, { status: 'queued', run_at: nowIso(at), last_error: message });
      }
    } finally {
      clearTimeout(timer);
      stopRenewing();
    }
  }

  private async release(
    id: string,
    set: { status: 'queued' | 'done' | 'dead'; run_at?: string; attempts?: number; last_error?: string },
  ): Promise<void> {
    await this.store.db
      .updateTable('tasks')
      // A finished task frees its dedupe key, so the same work can be queued again later.
      .set({
        ...set,
        ...(set.status === 'queued' ? {} : { dedupe_key: null }),
        locked_by: null,
        locked_until: null,
        updated_at: nowIso(this.clock.now()),
      })
      .where('id', '=', id)
      .where('locked_by', '=', this.owner)
      .execute();
  }
}
