import { sql, type OperationNodeSource, type Transaction } from 'kysely';
import type { Clock } from '../../protocol/clock.js';
import { newId } from '../../protocol/ids.js';
import { nowIso } from '../store/db.js';
import type { Database } from '../store/schema.js';
import type { Order, OrdersRepo, Refund } from '../store/orders-repo.js';
import type { EventLog } from '../events/event-log.js';
import type { Scheduler } from '../jobs/scheduler.js';
import type { MessageRecorder, RecordedMessage } from './recorder.js';
import type { Decision, DecidedTask } from './decide.js';
import { paymentView } from './views.js';
import { ORDER_MOVED_SQLSTATE } from './migration.js';
import { auditInsert, type AuditEntry } from '../hq/audit.js';
import { PREPARED_MARK } from '../store/pg-prepared.js';

// The one way an order changes: everything a transition implies commits in a single
// transaction, so a crash leaves either the whole change or none of it. Channel
// calls never happen in here; their raw messages are buffered and written with the outcome.

/**
 * Named points between the writes of a transition. A test (or KAURI_CRASH_AT in an
 * end-to-end test) fails there to show that no partial change survives.
 */
export type CrashPoint =
  | 'create:inserted'
  | 'create:answered'
  | 'apply:state'
  | 'apply:history'
  | 'apply:events'
  | 'apply:tasks'
  | 'apply:messages'
  | 'apply:committed'
  | 'refund:reserved'
  | 'refund:answered'
  | 'refund:settled'
  | 'refund:committed';

/** `detail` is the cause of the change being written, when there is one. */
export type CrashHook = (point: CrashPoint, detail?: string) => void;

export interface CommitDeps {
  orders: OrdersRepo;
  events: EventLog;
  scheduler: Scheduler;
  recorder: MessageRecorder;
  clock: Clock;
  publicBaseUrl: string;
  crash?: CrashHook;
}

/** What a transaction wrote besides rows: who to wake once it has committed. */
export interface Wakeups {
  events: boolean;
  tasks: boolean;
}

export class TransitionWriter {
  constructor(private readonly deps: CommitDeps) {}

  crash(point: CrashPoint, detail?: string): void {
    this.deps.crash?.(point, detail);
  }

  /** Runs `work` in one transaction, then wakes event readers and the scheduler if it wrote for them. */
  async transaction<T>(work: (trx: Transaction<Database>, wake: Wakeups) => Promise<T>): Promise<T> {
    const wake: Wakeups = { events: false, tasks: false };
    const result = await this.deps.orders.db.transaction().execute((trx) => work(trx, wake));
    if (wake.events) this.deps.events.poke();
    if (wake.tasks) this.deps.scheduler.kick();
    return result;
  }

  /** A new order, its first history row and the tasks it needs, committed together. */
  async insertOrder(order: Order, cause: string, tasks: readonly DecidedTask[]): Promise<void> {
    const { orders, scheduler } = this.deps;
    if (orders.dialect === 'postgres') {
      const db = orders.db;
      await this.oneStatement([...orders.insertQueries(db, order, cause), ...tasks.map((t) => this.taskQuery(t))]);
      if (tasks.length) scheduler.kick();
      return;
    }
    await this.transaction(async (trx, wake) => {
      await orders.insertIn(trx, order, cause);
      await this.enqueueIn(trx, wake, tasks);
    });
  }

  private taskQuery(t: DecidedTask) {
    return this.deps.scheduler.enqueueQuery(t.kind, t.payload, {
      dedupeKey: t.dedupeKey,
      delayMs: t.delayMs,
      earlier: t.earlier,
    });
  }

  /**
   * PostgreSQL: writes sent as ONE statement, each a data-modifying WITH clause. A single
   * statement is its own transaction (all of it commits or none), and it is one round trip
   * instead of one per write plus BEGIN and COMMIT, which is what a transition's time went
   * to. With `guard` (the order's version-checked update), the statement fails as a whole
   * unless the guard changed exactly one row.
   */
  private async oneStatement(
    writes: readonly (OperationNodeSource | undefined)[],
    guard?: OperationNodeSource,
  ): Promise<void> {
    const parts = writes
      .filter((w): w is OperationNodeSource => w !== undefined)
      .map((w, i) => sql`${sql.raw(`w${i}`)} as (${w})`);
    const db = this.deps.orders.db;
    // Prepared once per connection (its answer's type never changes: see pg-prepared.ts).
    const mark = sql.raw(PREPARED_MARK);
    if (!guard) {
      await sql`${mark}with ${sql.join(parts)} select 1`.execute(db);
      return;
    }
    // A FROM-less select always evaluates its one row, so the check runs whatever the guard found.
    await sql`${mark}with g as (${guard}), ${sql.join(parts)} select kauri_order_unmoved((select count(*) from g))`.execute(
      db,
    );
  }

  async enqueueIn(trx: Transaction<Database>, wake: Wakeups, tasks: readonly DecidedTask[]): Promise<void> {
    for (const t of tasks) {
      await this.deps.scheduler.enqueue(t.kind, t.payload, {
        db: trx,
        dedupeKey: t.dedupeKey,
        delayMs: t.delayMs,
        earlier: t.earlier,
      });
      wake.tasks = true;
    }
  }

  async recordIn(trx: Transaction<Database>, messages: readonly RecordedMessage[]): Promise<void> {
    await this.deps.recorder.recordAll(messages, trx);
  }

  async paymentEventIn(
    trx: Transaction<Database>,
    wake: Wakeups,
    type: string,
    order: Order,
    extra: Record<string, unknown> = {},
  ): Promise<void> {
    await this.deps.events.appendIn(trx, {
      type,
      merchantId: order.merchant_id,
      storeId: order.store_id,
      payload: { ...paymentView(order, { publicBaseUrl: this.deps.publicBaseUrl }), ...extra },
    });
    wake.events = true;
  }

  async refundEventIn(trx: Transaction<Database>, wake: Wakeups, refund: Refund, order: Order): Promise<void> {
    await this.deps.events.appendIn(trx, {
      type: `refund.${refund.status}`,
      merchantId: order.merchant_id,
      storeId: order.store_id,
      payload: {
        refund: {
          id: refund.id,
          out_refund_no: refund.out_refund_no,
          amount_minor: refund.amount_minor,
          currency: refund.currency,
          status: refund.status,
          automatic: refund.automatic === 1,
        },
        payment: paymentView(order),
      },
    });
    wake.events = true;
  }

  /**
   * Commits a decision about `order` (read at its version) with the raw messages it was
   * decided from. Returns the order after it, or undefined when the order moved meanwhile
   * (nothing was written; the caller reads again and decides again).
   */
  async commit(
    order: Order,
    decision: Decision,
    messages: readonly RecordedMessage[],
    audit?: AuditEntry,
  ): Promise<Order | undefined> {
    const { orders } = this.deps;
    const patch: Partial<Order> = { ...decision.patch };
    if (decision.flag) Object.assign(patch, { flagged: true, flag_reason: decision.flag });
    // Events wait for the event log's lock before they take a number, which one statement
    // cannot order; notes and reversals read what they wrote. Those commit as a transaction
    // of several statements; the rest (every create's answer, syncs, closes) as one.
    if (orders.dialect === 'postgres' && !decision.events.length && !decision.note && !decision.reverseRemainder) {
      return this.commitAsOneStatement(order, decision, patch, messages, audit);
    }
    return this.transaction(async (trx, wake) => {
      const after = await orders.advanceIn(trx, order, {
        path: decision.to,
        cause: decision.cause,
        data: decision.data,
        patch,
      });
      if (!after) return undefined;
      this.crash('apply:state', decision.cause);
      if (decision.note) await orders.noteIn(trx, order.id, order.status, decision.note.cause, decision.note.data);
      let current = after;
      if (decision.reverseRemainder)
        current = await this.bookReversalIn(trx, wake, after, decision.reverseRemainder, decision.cause, decision.data);
      this.crash('apply:history', decision.cause);
      for (const type of decision.events) {
        await this.paymentEventIn(
          trx,
          wake,
          type,
          current,
          type === 'payment.flagged' ? { flag_reason: current.flag_reason } : {},
        );
      }
      this.crash('apply:events', decision.cause);
      await this.enqueueIn(trx, wake, decision.tasks);
      this.crash('apply:tasks', decision.cause);
      await this.recordIn(trx, messages);
      this.crash('apply:messages', decision.cause);
      if (audit) await auditInsert(trx, audit, this.deps.clock.now()).execute();
      return current;
    });
  }

  private async commitAsOneStatement(
    order: Order,
    decision: Decision,
    patch: Partial<Order>,
    messages: readonly RecordedMessage[],
    audit?: AuditEntry,
  ): Promise<Order | undefined> {
    const { orders, recorder, scheduler } = this.deps;
    const db = orders.db;
    const { update, history, after } = orders.advanceQueries(db, order, {
      path: decision.to,
      cause: decision.cause,
      data: decision.data,
      patch,
    });
    // The crash points name the same steps; failing at any of them sends nothing.
    this.crash('apply:state', decision.cause);
    this.crash('apply:history', decision.cause);
    this.crash('apply:events', decision.cause);
    const tasks = decision.tasks.map((t) => this.taskQuery(t));
    this.crash('apply:tasks', decision.cause);
    const record = recorder.recordAllQuery(messages, db);
    this.crash('apply:messages', decision.cause);
    try {
      const logged = audit && auditInsert(db, audit, this.deps.clock.now());
      await this.oneStatement([history, ...tasks, record, logged], update);
    } catch (err) {
      if ((err as { code?: string }).code === ORDER_MOVED_SQLSTATE) return undefined;
      throw err;
    }
    if (tasks.length) scheduler.kick();
    return after;
  }

  /** A reversal of a paid order: a succeeded automatic refund of the remainder, booked at once. */
  private async bookReversalIn(
    trx: Transaction<Database>,
    wake: Wakeups,
    order: Order,
    remainder: number,
    cause: string,
    data: unknown,
  ): Promise<Order> {
    const now = nowIso(this.deps.clock.now());
    const id = newId('ref');
    const refund: Refund = {
      id,
      merchant_id: order.merchant_id,
      order_id: order.id,
      out_refund_no: `reversal-${order.id}`,
      channel_refund_no: id.replace(/^ref_/, 'R'),
      channel_refund_id: null,
      amount_minor: remainder,
      currency: order.currency,
      status: 'processing',
      reason: 'reversed by the channel after payment',
      automatic: 1,
      request_hash: 'reversal',
      created_at: now,
      updated_at: now,
    };
    const reserved = await this.deps.orders.reserveRefundIn(trx, order, refund, cause);
    if (!reserved) throw new Error('the order moved inside its own transaction');
    const settled = await this.deps.orders.settleRefundIn(trx, refund, reserved, 'succeeded', null, data);
    const after = settled ?? reserved;
    await this.refundEventIn(trx, wake, { ...refund, status: 'succeeded' }, after);
    return after;
  }
}
