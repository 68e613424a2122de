import type { Kysely, Transaction } from 'kysely';
import type { Clock } from '../../protocol/clock.js';
import type { Store } from '../store/db.js';
import { nowIso } from '../store/dialect.js';
import type { Database, WebhookAttemptTable, WebhookDeliveryTable, WebhookEndpointTable } from '../store/schema.js';
import { auditInsert, type AuditEntry } from '../hq/audit.js';

// The webhook feature's tables (endpoints, deliveries, attempts), and only this module's
// queries touch them. Times come from the injected clock.

export type Delivery = WebhookDeliveryTable;
export type DeliveryAttempt = Omit<WebhookAttemptTable, 'id'> & { id: number };
export type Endpoint = WebhookEndpointTable;

type Db = Kysely<Database> | Transaction<Database>;

export class WebhooksRepo {
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

  transaction<T>(work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(work);
  }

  /** Sets a merchant's endpoint; on `db`, a transaction when the caller writes more with it. */
  async upsertEndpoint(
    merchantId: string,
    url: string,
    sealedSecret: string,
    db: Kysely<Database> = this.db,
  ): Promise<void> {
    const now = this.now();
    await db
      .insertInto('webhook_endpoints')
      .values({ merchant_id: merchantId, url, secret: sealedSecret, created_at: now, updated_at: now })
      .onConflict((oc) => oc.column('merchant_id').doUpdateSet({ url, secret: sealedSecret, updated_at: now }))
      .execute();
  }

  async endpoint(merchantId: string): Promise<Endpoint | undefined> {
    return this.db.selectFrom('webhook_endpoints').selectAll().where('merchant_id', '=', merchantId).executeTakeFirst();
  }

  async endpoints(): Promise<Array<Pick<Endpoint, 'merchant_id' | 'url'>>> {
    return this.db.selectFrom('webhook_endpoints').select(['merchant_id', 'url']).execute();
  }

  /** A delivery of an event, once per (merchant, event); nothing if it is there already. */
  async insertDeliveryIn(
    trx: Db,
    d: { id: string; merchantId: string; eventId: string; eventSeq: number; eventType: string; url: string },
  ): Promise<void> {
    const now = this.now();
    await trx
      .insertInto('webhook_deliveries')
      .values({
        id: d.id,
        merchant_id: d.merchantId,
        event_id: d.eventId,
        event_seq: d.eventSeq,
        event_type: d.eventType,
        url: d.url,
        status: 'pending',
        attempts: 0,
        last_status_code: null,
        last_error: null,
        next_attempt_at: now,
        delivered_at: null,
        created_at: now,
        updated_at: now,
      })
      .onConflict((oc) => oc.columns(['merchant_id', 'event_id']).doNothing())
      .execute();
  }

  async delivery(id: string, merchantId?: string): Promise<Delivery | undefined> {
    let q = this.db.selectFrom('webhook_deliveries').selectAll().where('id', '=', id);
    if (merchantId) q = q.where('merchant_id', '=', merchantId);
    return q.executeTakeFirst();
  }

  async markFailed(id: string): Promise<void> {
    await this.db
      .updateTable('webhook_deliveries')
      .set({ status: 'failed', next_attempt_at: null, updated_at: this.now() })
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .execute();
  }

  /**
   * Counts an attempt before it is made (so a crash mid-POST still counts it); returns its
   * number. `audit` (a resend's entry) commits with the count.
   */
  async startAttempt(id: string, url: string, audit?: AuditEntry): Promise<number> {
    return this.transaction(async (trx) => {
      const claimed = await trx
        .updateTable('webhook_deliveries')
        .set((eb) => ({ attempts: eb('attempts', '+', 1), url, updated_at: this.now() }))
        .where('id', '=', id)
        .returning('attempts')
        .executeTakeFirstOrThrow();
      if (audit) await auditInsert(trx, audit, this.clock.now()).execute();
      return Number(claimed.attempts);
    });
  }

  /** The attempt's record and the delivery's new state, together. */
  async finishAttempt(
    d: Delivery,
    a: {
      attempt: number;
      ok: boolean;
      statusCode?: number;
      error?: string;
      durationMs: number;
      manual: boolean;
      nextAttemptAt: string | null;
    },
  ): Promise<void> {
    const now = this.now();
    await this.transaction(async (trx) => {
      await trx
        .insertInto('webhook_attempts')
        .values({
          delivery_id: d.id,
          attempt: a.attempt,
          status_code: a.statusCode ?? null,
          error: a.error ?? (a.ok ? null : `HTTP ${a.statusCode}`),
          duration_ms: a.durationMs,
          manual: a.manual ? 1 : 0,
          created_at: now,
        })
        .execute();
      await trx
        .updateTable('webhook_deliveries')
        .set({
          last_status_code: a.statusCode ?? null,
          last_error: a.ok ? null : (a.error ?? `HTTP ${a.statusCode}`),
          updated_at: now,
          ...(a.ok
            ? { status: 'delivered', delivered_at: now, next_attempt_at: null }
            : { next_attempt_at: a.nextAttemptAt }),
        })
        .where('id', '=', d.id)
        .execute();
    });
  }

  async list(
    merchantId: string,
    options: { eventId?: string; status?: Delivery['status']; limit?: number } = {},
  ): Promise<Delivery[]> {
    let q = this.db.selectFrom('webhook_deliveries').selectAll().where('merchant_id', '=', merchantId);
    if (options.eventId) q = q.where('event_id', '=', options.eventId);
    if (options.status) q = q.where('status', '=', options.status);
    return q
      .orderBy('event_seq', 'desc')
      .limit(options.limit ?? 50)
      .execute();
  }

  async attemptsOf(deliveryId: string): Promise<DeliveryAttempt[]> {
    const rows = await this.db
      .selectFrom('webhook_attempts')
      .selectAll()
      .where('delivery_id', '=', deliveryId)
      .orderBy('id')
      .execute();
    return rows.map((a) => ({ ...a, id: Number(a.id) }));
  }

  /** Manual redeliveries of a merchant's events since `since` (the redelivery throttle). */
  async manualAttemptsSince(merchantId: string, since: Date): Promise<number> {
    const r = await this.db
      .selectFrom('webhook_attempts')
      .innerJoin('webhook_deliveries', 'webhook_deliveries.id', 'webhook_attempts.delivery_id')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('webhook_deliveries.merchant_id', '=', merchantId)
      .where('webhook_attempts.manual', '=', 1)
      .where('webhook_attempts.created_at', '>', nowIso(since))
      .executeTakeFirst();
    return Number(r?.n ?? 0);
  }
}
