import { sql, type Transaction } from 'kysely';
import type { Database } from '../store/schema.js';
import type { Store } from '../store/db.js';
import { nowIso } from '../store/db.js';
import { newId } from '../../protocol/ids.js';
import { systemClock, type Clock } from '../../protocol/clock.js';

// The domain event log: every change someone outside must hear of is appended here.
// Readers (merchant webhooks, terminal links) keep their own cursor, so delivery
// survives restarts and works across bridge instances.

export interface DomainEvent<P = unknown> {
  seq: number;
  id: string;
  type: string;
  merchantId: string | null;
  storeId: string | null;
  payload: P;
  createdAt: string;
}

export interface AppendInput {
  type: string;
  merchantId?: string | null;
  storeId?: string | null;
  payload: unknown;
}

type Listener = () => void;

// On PostgreSQL, sequence numbers are taken in one order and committed in another, so a
// reader that read up to N could miss an N-1 that commits afterwards. Appenders hold this
// advisory lock SHARED until they commit (they never wait for each other, so their commits
// overlap and group); a reader takes it EXCLUSIVE for an instant, which waits out the
// appends in flight, and reads only up to the highest number committed at that moment
// (its horizon). Every number below the horizon is committed or rolled back for good.
// Before, appenders took it exclusive: every append in the cluster waited for the one
// before to fsync, which capped a bridge at one commit per event.
const APPEND_LOCK = 727274;

export class EventLog {
  private readonly listeners = new Set<Listener>();
  constructor(
    private readonly store: Store,
    private readonly clock: Clock = systemClock(),
  ) {}

  async append(input: AppendInput): Promise<DomainEvent> {
    const event = await this.store.db.transaction().execute((trx) => this.appendIn(trx, input));
    this.poke();
    return event;
  }

  /**
   * Appends inside the caller's transaction, so the event commits with the change it reports
   * (call `poke()` after the commit to wake this process's readers).
   */
  async appendIn(trx: Transaction<Database>, input: AppendInput): Promise<DomainEvent> {
    const row = {
      id: newId('evt'),
      type: input.type,
      merchant_id: input.merchantId ?? null,
      store_id: input.storeId ?? null,
      payload: JSON.stringify(input.payload),
      created_at: nowIso(this.clock.now()),
    };
    // Held to the end of the caller's transaction (keep channel calls out of it), but
    // shared: appends never wait for each other, only a reader's horizon waits for them.
    if (this.store.dialect === 'postgres') await sql`select pg_advisory_xact_lock_shared(${APPEND_LOCK})`.execute(trx);
    const inserted = await trx.insertInto('events').values(row).returning('seq').executeTakeFirstOrThrow();
    return {
      seq: Number(inserted.seq),
      id: row.id,
      type: row.type,
      merchantId: row.merchant_id,
      storeId: row.store_id,
      payload: input.payload,
      createdAt: row.created_at,
    };
  }

  /** Events after `afterSeq`, oldest first, optionally for one merchant or store. */
  async read(
    afterSeq: number,
    options: { limit?: number; merchantId?: string; storeId?: string; types?: string[] } = {},
  ): Promise<DomainEvent[]> {
    let q = this.store.db.selectFrom('events').selectAll().where('seq', '>', afterSeq);
    if (this.store.dialect === 'postgres') q = q.where('seq', '<=', await this.horizon());
    if (options.merchantId) q = q.where('merchant_id', '=', options.merchantId);
    if (options.storeId) q = q.where('store_id', '=', options.storeId);
    if (options.types?.length) q = q.where('type', 'in', options.types);
    const rows = await q
      .orderBy('seq')
      .limit(options.limit ?? 500)
      .execute();
    return rows.map((r) => ({
      seq: Number(r.seq),
      id: r.id,
      type: r.type,
      merchantId: r.merchant_id,
      storeId: r.store_id,
      payload: JSON.parse(r.payload),
      createdAt: r.created_at,
    }));
  }

  async byId(id: string): Promise<DomainEvent | undefined> {
    const r = await this.store.db.selectFrom('events').selectAll().where('id', '=', id).executeTakeFirst();
    return (
      r && {
        seq: Number(r.seq),
        id: r.id,
        type: r.type,
        merchantId: r.merchant_id,
        storeId: r.store_id,
        payload: JSON.parse(r.payload),
        createdAt: r.created_at,
      }
    );
  }

  async hasCursor(reader: string): Promise<boolean> {
    return (
      (await this.store.db
        .selectFrom('event_cursors')
        .select('reader')
        .where('reader', '=', reader)
        .executeTakeFirst()) !== undefined
    );
  }

  async head(): Promise<number> {
    if (this.store.dialect === 'postgres') return this.horizon();
    const r = await this.store.db
      .selectFrom('events')
      .select((eb) => eb.fn.max('seq').as('seq'))
      .executeTakeFirst();
    return Number(r?.seq ?? 0);
  }

  /** PostgreSQL: the highest sequence number below which nothing can still commit. */
  private async horizon(): Promise<number> {
    return this.store.db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(${APPEND_LOCK})`.execute(trx);
      const r = await trx
        .selectFrom('events')
        .select((eb) => eb.fn.max('seq').as('seq'))
        .executeTakeFirst();
      return Number(r?.seq ?? 0);
    });
  }

  async cursor(reader: string): Promise<number> {
    const r = await this.store.db
      .selectFrom('event_cursors')
      .select('position')
      .where('reader', '=', reader)
      .executeTakeFirst();
    return Number(r?.position ?? 0);
  }

  /** Moves a reader's cursor forward (never back). */
  async advance(reader: string, position: number): Promise<void> {
    const now = nowIso(this.clock.now());
    await this.store.db
      .insertInto('event_cursors')
      .values({ reader, position, updated_at: now })
      .onConflict((oc) =>
        oc.column('reader').doUpdateSet({
          position: sql`case when event_cursors.position < excluded.position then excluded.position else event_cursors.position end`,
          updated_at: now,
        }),
      )
      .execute();
  }

  /** Local wake-ups after an append in this process (other instances hear PostgreSQL NOTIFY). */
  onAppend(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * After events committed: wakes this process's readers, and on PostgreSQL the other
   * instances'. The NOTIFY is sent once per turn of the event loop and outside any
   * append's transaction: PostgreSQL serialises the commits of notifying transactions,
   * so inside it would undo the overlap.
   */
  private notifyQueued = false;
  poke(): void {
    for (const l of this.listeners) l();
    if (this.store.dialect !== 'postgres' || this.notifyQueued) return;
    this.notifyQueued = true;
    setImmediate(() => {
      this.notifyQueued = false;
      sql`select pg_notify('kauri_events', '')`.execute(this.store.db).catch(() => undefined);
    });
  }
}
