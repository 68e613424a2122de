import type { Kysely } from 'kysely';
import type { Clock } from '../../protocol/clock.js';
import type { Store } from '../store/db.js';
import { nowIso } from '../store/dialect.js';
import { toOrder, type Order } from '../store/orders-repo.js';
import type { CheckoutTable, Database } from '../store/schema.js';

// The checkout feature's tables (checkouts, checkout_presentations): only this module's
// queries touch them. Times come from the injected clock.

export type CheckoutRow = CheckoutTable;

export class CheckoutsRepo {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
  ) {}

  private get db(): Kysely<Database> {
    return this.store.db;
  }

  private now(): string {
    return nowIso(this.clock.now());
  }

  /** Inserts a checkout, inside `trx` when given (a transaction that writes more beside it). */
  async insert(row: CheckoutRow, trx?: Kysely<Database>): Promise<void> {
    await (trx ?? this.db).insertInto('checkouts').values(row).execute();
  }

  /** Runs `fn` in one transaction (one commit on either store). */
  transaction<T>(fn: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(fn);
  }

  async byToken(token: string): Promise<CheckoutRow | undefined> {
    return this.db.selectFrom('checkouts').selectAll().where('token', '=', token).executeTakeFirst();
  }

  async byId(id: string): Promise<CheckoutRow | undefined> {
    return this.db.selectFrom('checkouts').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async list(
    merchantId: string,
    options: { limit?: number; before?: string; status?: CheckoutRow['status'] } = {},
  ): Promise<CheckoutRow[]> {
    let q = this.db.selectFrom('checkouts').selectAll().where('merchant_id', '=', merchantId);
    if (options.status) q = q.where('status', '=', options.status);
    if (options.before) q = q.where('id', '<', options.before);
    return q
      .orderBy('id', 'desc')
      .limit(options.limit ?? 50)
      .execute();
  }

  /** The channels a merchant has an active account on (without opening any sealed credentials). */
  async activeChannels(merchantId: string): Promise<Set<string>> {
    const rows = await this.db
      .selectFrom('channel_accounts')
      .select('channel')
      .where('merchant_id', '=', merchantId)
      .where('active', '=', 1)
      .execute();
    return new Set(rows.map((r) => r.channel));
  }

  async presentation(orderId: string): Promise<string | undefined> {
    return (
      await this.db
        .selectFrom('checkout_presentations')
        .select('data')
        .where('order_id', '=', orderId)
        .executeTakeFirst()
    )?.data;
  }

  async keepPresentation(orderId: string, checkoutId: string, data: string): Promise<void> {
    await this.db
      .insertInto('checkout_presentations')
      .values({ order_id: orderId, checkout_id: checkoutId, data, created_at: this.now() })
      .onConflict((oc) => oc.column('order_id').doNothing())
      .execute();
  }

  /** The first paid order claims an open checkout; false if it was not open. */
  async claimPaid(checkoutId: string, orderId: string): Promise<boolean> {
    const r = await this.db
      .updateTable('checkouts')
      .set({ status: 'paid', paid_order_id: orderId, updated_at: this.now() })
      .where('id', '=', checkoutId)
      .where('status', '=', 'open')
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async moveFromOpen(id: string, to: 'expired' | 'cancelled'): Promise<boolean> {
    const r = await this.db
      .updateTable('checkouts')
      .set({ status: to, updated_at: this.now() })
      .where('id', '=', id)
      .where('status', '=', 'open')
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /**
   * Paid orders since `since` whose checkout never heard of them: the open checkout they
   * settle, or the extra payment on an ended one that must be refunded and flagged.
   */
  async missedPaidOrders(since: Date, limit = 100): Promise<Order[]> {
    const rows = await this.db
      .selectFrom('orders')
      .innerJoin('checkouts', 'checkouts.id', 'orders.checkout_id')
      .selectAll('orders')
      .where('orders.status', 'in', ['paid', 'partially_refunded', 'refunded'])
      .where('orders.paid_at', '>', nowIso(since))
      .where((eb) =>
        // A flagged order is HQ's to settle (a late payment is refunded automatically): it
        // never settles an open checkout, and an extra payment is flagged once.
        eb.and([
          eb('orders.flagged', '=', 0),
          eb.or([
            eb('checkouts.status', '=', 'open'),
            eb('checkouts.paid_order_id', 'is', null),
            eb('checkouts.paid_order_id', '!=', eb.ref('orders.id')),
          ]),
        ]),
      )
      .limit(limit)
      .execute();
    return rows.map(toOrder);
  }

  async dueIds(limit = 200): Promise<string[]> {
    const rows = await this.db
      .selectFrom('checkouts')
      .select('id')
      .where('status', '=', 'open')
      .where('expires_at', '<=', this.now())
      .limit(limit)
      .execute();
    return rows.map((r) => r.id);
  }
}
