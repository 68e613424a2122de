import type { Kysely, Transaction } from 'kysely';
import type { Store } from './db.js';
import { nowIso } from './db.js';
import { systemClock, type Clock } from '../../protocol/clock.js';
import type { Database, OrderTable, RefundTable } from './schema.js';
import { PAYMENT_STATUSES, REFUND_STATUSES, type PaymentStatus, type RefundStatus } from '../../protocol/payments.js';
import { KauriError } from '../../protocol/errors.js';
import { assertTransition, refundableMinor, statusAfterRefunds } from '../orders/state-machine.js';

/** An order as the domain sees it: a typed status and a boolean flag (the row keeps 0/1). */
export interface Order extends Omit<OrderTable, 'status' | 'flagged'> {
  status: PaymentStatus;
  flagged: boolean;
}
export interface Refund extends Omit<RefundTable, 'status'> {
  status: RefundStatus;
}

/** Maps a stored row to the domain; a status the code does not know is an error, not a cast. */
const isPaymentStatus = (s: string): s is PaymentStatus => (PAYMENT_STATUSES as readonly string[]).includes(s);
const isRefundStatus = (s: string): s is RefundStatus => (REFUND_STATUSES as readonly string[]).includes(s);

export function toOrder(row: OrderTable): Order {
  const status = row.status;
  if (!isPaymentStatus(status)) throw new KauriError('internal', `Order ${row.id} has an unknown status "${status}"`);
  return { ...row, status, flagged: Number(row.flagged) === 1 };
}

export function toRefund(row: RefundTable): Refund {
  const status = row.status;
  if (!isRefundStatus(status)) throw new KauriError('internal', `Refund ${row.id} has an unknown status "${status}"`);
  return { ...row, status };
}

function orderRow<T extends Partial<Order>>(o: T): Omit<T, 'flagged'> & { flagged?: number } {
  const { flagged, ...rest } = o;
  return flagged === undefined ? rest : { ...rest, flagged: flagged ? 1 : 0 };
}

const maybe =
  <R, D>(map: (r: R) => D) =>
  (r: R | undefined): D | undefined =>
    r === undefined ? undefined : map(r);
export interface OrderEvent {
  id: number;
  order_id: string;
  from_status: string | null;
  to_status: string;
  cause: string;
  data: unknown;
  created_at: string;
}

export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string } | undefined;
  return e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

export type Db = Kysely<Database> | Transaction<Database>;

/** Orders, their append-only history, and refunds. Methods ending in `In` write inside the caller's transaction. */
export class OrdersRepo {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock = systemClock(),
  ) {}

  get db(): Kysely<Database> {
    return this.store.db;
  }

  get dialect(): Store['dialect'] {
    return this.store.dialect;
  }

  private now(): string {
    return nowIso(this.clock.now());
  }

  /** Inserts a new order with its first history row; returns false if (merchant, out_trade_no) exists. */
  async insert(order: Order, cause: string): Promise<boolean> {
    try {
      await this.db.transaction().execute((trx) => this.insertIn(trx, order, cause));
      return true;
    } catch (err) {
      if (isUniqueViolation(err)) return false;
      throw err;
    }
  }

  async insertIn(trx: Db, order: Order, cause: string): Promise<void> {
    for (const q of this.insertQueries(trx, order, cause)) await q.execute();
  }

  /** The statements of insertIn, unexecuted (a transition on PostgreSQL sends them as one). */
  insertQueries(trx: Db, order: Order, cause: string) {
    return [
      trx.insertInto('orders').values(orderRow(order) as OrderTable),
      trx.insertInto('order_events').values({
        order_id: order.id,
        from_status: null,
        to_status: order.status,
        cause,
        data: null,
        created_at: order.created_at,
      }),
    ] as const;
  }

  async byId(id: string, db: Db = this.db): Promise<Order | undefined> {
    return db.selectFrom('orders').selectAll().where('id', '=', id).executeTakeFirst().then(maybe(toOrder));
  }

  async byOutTradeNo(merchantId: string, outTradeNo: string): Promise<Order | undefined> {
    return this.db
      .selectFrom('orders')
      .selectAll()
      .where('merchant_id', '=', merchantId)
      .where('out_trade_no', '=', outTradeNo)
      .executeTakeFirst()
      .then(maybe(toOrder));
  }

  async byChannelOrderNo(channelOrderNo: string): Promise<Order | undefined> {
    return this.db
      .selectFrom('orders')
      .selectAll()
      .where('channel_order_no', '=', channelOrderNo)
      .executeTakeFirst()
      .then(maybe(toOrder));
  }

  async list(merchantId: string, options: { limit?: number; before?: string; status?: string } = {}): Promise<Order[]> {
    let q = this.db.selectFrom('orders').selectAll().where('merchant_id', '=', merchantId);
    if (options.before) q = q.where('id', '<', options.before);
    if (options.status) q = q.where('status', '=', options.status);
    return (
      await q
        .orderBy('id', 'desc')
        .limit(Math.min(options.limit ?? 50, 200))
        .execute()
    ).map(toOrder);
  }

  /** Open orders (created or pending), oldest first, at most `limit`: the order-sync job's work list. */
  async openOrders(limit = 100): Promise<Order[]> {
    return (
      await this.db
        .selectFrom('orders')
        .selectAll()
        .where('status', 'in', ['created', 'pending'])
        .orderBy('created_at')
        .limit(limit)
        .execute()
    ).map(toOrder);
  }

  async history(orderId: string): Promise<OrderEvent[]> {
    const rows = await this.db
      .selectFrom('order_events')
      .selectAll()
      .where('order_id', '=', orderId)
      .orderBy('id')
      .execute();
    return rows.map((r) => ({ ...r, data: r.data ? JSON.parse(r.data) : null }));
  }

  /** The orders made under a checkout, oldest first. */
  async ofCheckout(checkoutId: string): Promise<Order[]> {
    return (
      await this.db
        .selectFrom('orders')
        .selectAll()
        .where('checkout_id', '=', checkoutId)
        .orderBy('created_at')
        .execute()
    ).map(toOrder);
  }

  async patchIn(trx: Db, orderId: string, patch: Partial<Order>): Promise<void> {
    await trx
      .updateTable('orders')
      .set({ ...orderRow(patch), updated_at: this.now() })
      .where('id', '=', orderId)
      .execute();
  }

  /** Sets fields that are not state (the channel's QR code, trade number…) without a transition. */
  async patch(orderId: string, patch: Partial<Order>): Promise<void> {
    await this.db
      .updateTable('orders')
      .set({ ...orderRow(patch), updated_at: this.now() })
      .where('id', '=', orderId)
      .execute();
  }

  /**
   * Moves an order along `path` (each step checked by the state machine, each with its
   * history row) and applies `patch`, if the order is still at `order.version`. Returns
   * the new order, or undefined if someone else changed it first.
   */
  async advanceIn(
    trx: Db,
    order: Order,
    step: { path: readonly PaymentStatus[]; cause: string; data: unknown; patch: Partial<Order> },
  ): Promise<Order | undefined> {
    const { update, history } = this.advanceQueries(trx, order, step);
    // The row as it now is comes back with the update (no second read).
    const row = await update.executeTakeFirst();
    if (!row) return undefined;
    if (history) await history.execute();
    return toOrder(row);
  }

  /**
   * The statements of advanceIn, unexecuted: the update (only if the order is still at
   * `order.version`, answering the row as it now is) and the history rows of every step,
   * in order, in one insert (none when the state does not change).
   */
  advanceQueries(
    trx: Db,
    order: Order,
    step: { path: readonly PaymentStatus[]; cause: string; data: unknown; patch: Partial<Order> },
  ) {
    const now = this.now();
    let from = order.status;
    for (const to of step.path) {
      assertTransition(from, to);
      from = to;
    }
    const update = trx
      .updateTable('orders')
      .set({ ...orderRow(step.patch), status: from, updated_at: now, version: order.version + 1 })
      .where('id', '=', order.id)
      .where('version', '=', order.version)
      .returningAll();
    let prev = order.status;
    const rows = step.path.map((to, i) => {
      const last = i === step.path.length - 1;
      // The intermediate steps (created → pending on the way to paid) carry the cause, not the data.
      const data = last ? step.data : null;
      const h = {
        order_id: order.id,
        from_status: prev,
        to_status: to,
        cause: step.cause,
        data: data === undefined || data === null ? null : JSON.stringify(data),
        created_at: now,
      };
      prev = to;
      return h;
    });
    return {
      update,
      history: rows.length ? trx.insertInto('order_events').values(rows) : undefined,
      /** The order as the update leaves it (what it answers, known without asking). */
      after: { ...order, ...step.patch, status: from, updated_at: now, version: order.version + 1 } as Order,
    };
  }

  async noteIn(trx: Db, orderId: string, status: string, cause: string, data: unknown): Promise<void> {
    await trx
      .insertInto('order_events')
      .values({
        order_id: orderId,
        from_status: status,
        to_status: status,
        cause,
        data: JSON.stringify(data ?? null),
        created_at: this.now(),
      })
      .execute();
  }

  /**
   * Moves an order to `to` if it is still at `order.version`; records the history row in the
   * same transaction. Returns the new order, or undefined if someone else changed it first
   * (the caller reloads and decides again: this is how duplicate, concurrent notifies apply once).
   */
  async transition(
    order: Order,
    to: PaymentStatus,
    cause: string,
    data: unknown,
    patch: Partial<Order> = {},
  ): Promise<Order | undefined> {
    assertTransition(order.status, to);
    const now = this.now();
    return this.db.transaction().execute(async (trx) => {
      const res = await trx
        .updateTable('orders')
        .set({ ...orderRow(patch), status: to, updated_at: now, version: order.version + 1 })
        .where('id', '=', order.id)
        .where('version', '=', order.version)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) !== 1) return undefined;
      await trx
        .insertInto('order_events')
        .values({
          order_id: order.id,
          from_status: order.status,
          to_status: to,
          cause,
          data: data === undefined ? null : JSON.stringify(data),
          created_at: now,
        })
        .execute();
      return toOrder(await trx.selectFrom('orders').selectAll().where('id', '=', order.id).executeTakeFirstOrThrow());
    });
  }

  /** Records a note in the history without changing state (flags, channel errors). */
  async note(orderId: string, status: string, cause: string, data: unknown): Promise<void> {
    await this.noteIn(this.db, orderId, status, cause, data);
  }

  async refundsOf(orderId: string): Promise<Refund[]> {
    return (
      await this.db.selectFrom('refunds').selectAll().where('order_id', '=', orderId).orderBy('created_at').execute()
    ).map(toRefund);
  }

  async refundByOutRefundNo(merchantId: string, outRefundNo: string): Promise<Refund | undefined> {
    return this.db
      .selectFrom('refunds')
      .selectAll()
      .where('merchant_id', '=', merchantId)
      .where('out_refund_no', '=', outRefundNo)
      .executeTakeFirst()
      .then(maybe(toRefund));
  }

  /** A refund by the number the bridge sent the channel (unique per account's channel: a channel's refund notify names it). */
  async refundByChannelRefundNo(channelRefundNo: string): Promise<Refund | undefined> {
    return this.db
      .selectFrom('refunds')
      .selectAll()
      .where('channel_refund_no', '=', channelRefundNo)
      .executeTakeFirst()
      .then(maybe(toRefund));
  }

  async refundById(id: string, db: Db = this.db): Promise<Refund | undefined> {
    return db.selectFrom('refunds').selectAll().where('id', '=', id).executeTakeFirst().then(maybe(toRefund));
  }

  /**
   * Reserves a refund against the order's remainder, atomically: the refund row and the
   * order's refunded total change together, and a concurrent refund that would overdraw
   * the order loses the version race and is checked again. The order's status moves only
   * when a refund succeeds (settleRefund), so a failed refund never has to undo a state.
   */
  async reserveRefund(
    orderId: string,
    refund: Refund,
    cause: string,
  ): Promise<{ order: Order; refund: Refund } | 'exists'> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const order = await this.byId(orderId);
      if (!order) throw new KauriError('order_not_found');
      try {
        const result = await this.db.transaction().execute((trx) => this.reserveRefundIn(trx, order, refund, cause));
        if (result) return { order: result, refund };
      } catch (err) {
        if (isUniqueViolation(err)) return 'exists';
        throw err;
      }
    }
    throw new KauriError('internal', 'The payment is changing too fast to refund; try again');
  }

  /**
   * The refund row, the order's refunded total and a history row, inside `trx`, if the order
   * is still at its version (undefined: reload and try again). Refuses an order that cannot
   * be refunded or a refund past the remainder; a second refund of the same number is a
   * unique violation (the caller answers with the first).
   */
  async reserveRefundIn(trx: Db, order: Order, refund: Refund, cause: string): Promise<Order | undefined> {
    const status = order.status;
    if (status !== 'paid' && status !== 'partially_refunded') {
      throw new KauriError('order_not_refundable', `A ${status} payment cannot be refunded`);
    }
    const remainder = refundableMinor(order.amount_minor, order.refunded_minor);
    if (refund.amount_minor > remainder) {
      throw new KauriError(
        'refund_exceeds_remainder',
        `Only ${remainder} minor units of ${order.currency} remain refundable`,
        {
          details: { refundable_minor: remainder },
        },
      );
    }
    const now = this.now();
    const res = await trx
      .updateTable('orders')
      .set({ refunded_minor: order.refunded_minor + refund.amount_minor, updated_at: now, version: order.version + 1 })
      .where('id', '=', order.id)
      .where('version', '=', order.version)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) !== 1) return undefined;
    await trx.insertInto('refunds').values(refund).execute();
    await trx
      .insertInto('order_events')
      .values({
        order_id: order.id,
        from_status: order.status,
        to_status: order.status,
        cause,
        data: JSON.stringify({
          refund_id: refund.id,
          out_refund_no: refund.out_refund_no,
          amount_minor: refund.amount_minor,
        }),
        created_at: now,
      })
      .execute();
    return toOrder(await trx.selectFrom('orders').selectAll().where('id', '=', order.id).executeTakeFirstOrThrow());
  }

  /**
   * Settles a refund's outcome, once. Success moves the order to partially_refunded or
   * refunded (by the sum of succeeded refunds); failure gives the amount back to the remainder.
   */
  async settleRefund(
    refundId: string,
    status: RefundStatus,
    channelRefundId: string | null,
    data: unknown,
  ): Promise<Refund> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const refund = await this.refundById(refundId);
      if (!refund) throw new KauriError('not_found', 'No such refund');
      if (refund.status !== 'processing' || status === 'processing') return refund;
      const order = await this.byId(refund.order_id);
      if (!order) throw new KauriError('order_not_found');
      const done = await this.db
        .transaction()
        .execute((trx) => this.settleRefundIn(trx, refund, order, status, channelRefundId, data))
        .catch((err) => {
          if (err instanceof RetryRefund) return undefined;
          throw err;
        });
      if (done) return (await this.refundById(refund.id))!;
    }
    throw new KauriError('internal', 'Could not settle the refund; it will be retried');
  }

  /**
   * Settles `refund` (read at `order.version`) inside `trx`. Returns the order after it, or
   * undefined if the refund was settled by someone else; throws RetryRefund when the order
   * moved meanwhile (the transaction must roll back and the caller read again).
   */
  async settleRefundIn(
    trx: Db,
    refund: Refund,
    order: Order,
    status: 'succeeded' | 'failed',
    channelRefundId: string | null,
    data: unknown,
  ): Promise<Order | undefined> {
    const now = this.now();
    const r = await trx
      .updateTable('refunds')
      .set({ status, channel_refund_id: channelRefundId ?? refund.channel_refund_id, updated_at: now })
      .where('id', '=', refund.id)
      .where('status', '=', 'processing')
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) return undefined;
    let to = order.status;
    let refunded = order.refunded_minor;
    if (status === 'failed') {
      refunded -= refund.amount_minor;
    } else {
      const succeeded = await trx
        .selectFrom('refunds')
        .select((eb) => eb.fn.sum<number>('amount_minor').as('total'))
        .where('order_id', '=', order.id)
        .where('status', '=', 'succeeded')
        .executeTakeFirst();
      to = statusAfterRefunds(order.amount_minor, Number(succeeded?.total ?? 0));
      assertTransition(order.status, to);
    }
    const o = await trx
      .updateTable('orders')
      .set({ refunded_minor: refunded, status: to, updated_at: now, version: order.version + 1 })
      .where('id', '=', order.id)
      .where('version', '=', order.version)
      .executeTakeFirst();
    if (Number(o.numUpdatedRows) !== 1) throw new RetryRefund();
    await trx
      .insertInto('order_events')
      .values({
        order_id: order.id,
        from_status: order.status,
        to_status: to,
        cause: `refund_${status}`,
        data: JSON.stringify({ refund_id: refund.id, amount_minor: refund.amount_minor, channel: data ?? null }),
        created_at: now,
      })
      .execute();
    return toOrder(await trx.selectFrom('orders').selectAll().where('id', '=', order.id).executeTakeFirstOrThrow());
  }

  async processingRefunds(limit = 100): Promise<Refund[]> {
    return (
      await this.db
        .selectFrom('refunds')
        .selectAll()
        .where('status', '=', 'processing')
        .orderBy('created_at')
        .limit(limit)
        .execute()
    ).map(toRefund);
  }
}

/** The order moved while a refund settled: roll back and read again. */
export class RetryRefund extends Error {}
