import type { Insertable, Kysely, Selectable } from 'kysely';
import type { Clock } from '../../../protocol/clock.js';
import { newId } from '../../../protocol/ids.js';
import type { Store } from '../../store/db.js';
import { nowIso } from '../../store/dialect.js';
import { auditInsert, type AuditEntry } from '../../hq/audit.js';
import type {
  Database,
  ReconAdjustmentTable,
  ReconDifferenceTable,
  ReconDownloadTable,
  ReconRunTable,
  ReconSettlementTable,
  ReconSignoffTable,
} from '../../store/schema.js';

// The reconciliation runs' tables (downloads, runs, differences, sign-offs, settlements,
// adjustments): only this module's queries touch them. Times come from the injected clock.

export type DifferenceRow = Selectable<ReconDifferenceTable>;
export type NewDifference = Omit<ReconDifferenceTable, 'seq' | 'version' | 'created_at'>;
export interface SettlementLineRow {
  currency: string;
  payments: number;
  grossMinor: number;
  refunds: number;
  refundsMinor: number;
  feesMinor: number;
  cnyChargedMinor: number;
}
export type NewAdjustment = Omit<Insertable<ReconAdjustmentTable>, 'id' | 'created_at'>;

type Range = { from: string; to: string };

export class ReconRunsRepo {
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

  async signOff(channel: string, day: string): Promise<Selectable<ReconSignoffTable> | undefined> {
    return this.db
      .selectFrom('recon_signoffs')
      .selectAll()
      .where('channel', '=', channel)
      .where('day', '=', day)
      .executeTakeFirst();
  }

  /**
   * Inserts a sign-off and the audit entry of who made it, together; throws if the day was
   * signed off already (its primary key).
   */
  async insertSignOff(
    channel: string,
    day: string,
    actor: string,
    note: string | null,
    audit?: AuditEntry,
  ): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('recon_signoffs')
        .values({ channel, day, signed_by: actor, note, signed_at: this.now() })
        .execute();
      if (audit) await auditInsert(trx, audit, this.clock.now()).execute();
    });
  }

  async runStates(channel: string, day: string): Promise<Array<{ merchant_id: string; state: string }>> {
    return this.db
      .selectFrom('recon_runs')
      .select(['merchant_id', 'state'])
      .where('channel', '=', channel)
      .where('day', '=', day)
      .execute();
  }

  async download(
    channel: string,
    day: string,
    merchantId: string,
  ): Promise<Selectable<ReconDownloadTable> | undefined> {
    return this.db
      .selectFrom('recon_downloads')
      .selectAll()
      .where('channel', '=', channel)
      .where('day', '=', day)
      .where('merchant_id', '=', merchantId)
      .executeTakeFirst();
  }

  /** Records a download attempt's outcome (one row per channel, day and merchant). */
  async saveDownload(d: {
    channel: string;
    day: string;
    merchantId: string;
    accountId: string;
    state: string;
    sha256: string | null;
    attempts: number;
    error: string | null;
    createdAt?: string;
  }): Promise<void> {
    const now = this.now();
    await this.db
      .insertInto('recon_downloads')
      .values({
        channel: d.channel,
        day: d.day,
        merchant_id: d.merchantId,
        account_id: d.accountId,
        state: d.state as ReconDownloadTable['state'],
        file_sha256: d.sha256,
        attempts: d.attempts,
        last_error: d.error,
        created_at: d.createdAt ?? now,
        updated_at: now,
      })
      .onConflict((oc) =>
        oc.columns(['channel', 'day', 'merchant_id']).doUpdateSet({
          account_id: d.accountId,
          state: d.state as ReconDownloadTable['state'],
          file_sha256: d.sha256,
          attempts: d.attempts,
          last_error: d.error,
          updated_at: now,
        }),
      )
      .execute();
  }

  /** Records a run as started (failed until finished); `audit` commits with it. */
  async startRun(
    r: {
      channel: string;
      day: string;
      merchantId: string;
      sha256: string | null;
      actor: string;
    },
    audit?: AuditEntry,
  ): Promise<string> {
    const id = newId('rcr');
    await this.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('recon_runs')
        .values({
          id,
          channel: r.channel,
          day: r.day,
          merchant_id: r.merchantId,
          state: 'failed',
          file_sha256: r.sha256,
          layout: null,
          summary: null,
          error: 'running',
          actor: r.actor,
          started_at: this.now(),
          finished_at: null,
        })
        .execute();
      if (audit) await auditInsert(trx, audit, this.clock.now()).execute();
    });
    return id;
  }

  async finishRun(
    id: string,
    state: ReconRunTable['state'],
    set: { layout: string | null; summary: string | null; error: string | null },
  ): Promise<void> {
    await this.db
      .updateTable('recon_runs')
      .set({ state, ...set, finished_at: this.now() })
      .where('id', '=', id)
      .execute();
  }

  /** Replaces a merchant's settlement lines of a channel-day, in one transaction. */
  async replaceSettlement(
    channel: string,
    day: string,
    merchantId: string,
    runId: string,
    lines: readonly SettlementLineRow[],
  ): Promise<void> {
    const now = this.now();
    await this.db.transaction().execute(async (trx) => {
      await trx
        .deleteFrom('recon_settlements')
        .where('channel', '=', channel)
        .where('day', '=', day)
        .where('merchant_id', '=', merchantId)
        .execute();
      for (const l of lines) {
        await trx
          .insertInto('recon_settlements')
          .values({
            channel,
            day,
            merchant_id: merchantId,
            currency: l.currency,
            payments: l.payments,
            gross_minor: l.grossMinor,
            refunds: l.refunds,
            refunds_minor: l.refundsMinor,
            fees_minor: l.feesMinor,
            cny_charged_minor: l.cnyChargedMinor,
            run_id: runId,
            updated_at: now,
          })
          .execute();
      }
    });
  }

  /** Every version of the matching differences, by key then version. */
  async differenceVersions(
    filter: { channel?: string; day?: string; merchantId?: string; key?: string } = {},
    db: Kysely<Database> = this.db,
  ): Promise<DifferenceRow[]> {
    let q = db.selectFrom('recon_differences').selectAll();
    if (filter.channel) q = q.where('channel', '=', filter.channel);
    if (filter.day) q = q.where('day', '=', filter.day);
    if (filter.merchantId) q = q.where('merchant_id', '=', filter.merchantId);
    if (filter.key) q = q.where('diff_key', '=', filter.key);
    return q.orderBy('diff_key').orderBy('version').execute();
  }

  async addDifferenceVersion(row: NewDifference, version: number, db: Kysely<Database> = this.db): Promise<void> {
    await db
      .insertInto('recon_differences')
      .values({ ...row, version, created_at: this.now() })
      .execute();
  }

  /**
   * A resolution's new version of a difference, (for an adjustment) its booking and the audit
   * entry of who resolved it, together.
   */
  async resolveDifference(
    row: NewDifference,
    version: number,
    adjustment?: NewAdjustment,
    audit?: AuditEntry,
  ): Promise<void> {
    const now = this.now();
    await this.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('recon_differences')
        .values({ ...row, version, created_at: now })
        .execute();
      if (adjustment)
        await trx
          .insertInto('recon_adjustments')
          .values({ ...adjustment, id: newId('adj'), created_at: now })
          .execute();
      if (audit) await auditInsert(trx, audit, this.clock.now()).execute();
    });
  }

  /** An adjustment and the audit entry of who booked it (its target the new id), together. */
  async addAdjustment(a: NewAdjustment, audit?: AuditEntry): Promise<string> {
    const id = newId('adj');
    await this.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('recon_adjustments')
        .values({ ...a, id, created_at: this.now() })
        .execute();
      if (audit) await auditInsert(trx, { ...audit, target: id }, this.clock.now()).execute();
    });
    return id;
  }

  /** The id of a merchant's order named by its id, out_trade_no or channel order number. */
  async orderIdOf(merchantId: string, ref: string): Promise<string | undefined> {
    const order = await this.db
      .selectFrom('orders')
      .select(['id'])
      .where('merchant_id', '=', merchantId)
      .where((eb) => eb.or([eb('id', '=', ref), eb('out_trade_no', '=', ref), eb('channel_order_no', '=', ref)]))
      .executeTakeFirst();
    return order?.id;
  }

  /** Everything recorded for the days of a range (the overview's input). */
  async daysOf({ from, to }: Range) {
    const runs = await this.db
      .selectFrom('recon_runs')
      .selectAll()
      .where('day', '>=', from)
      .where('day', '<=', to)
      .orderBy('started_at')
      .execute();
    const downloads = await this.db
      .selectFrom('recon_downloads')
      .selectAll()
      .where('day', '>=', from)
      .where('day', '<=', to)
      .execute();
    const diffs = await this.db
      .selectFrom('recon_differences')
      .selectAll()
      .where('day', '>=', from)
      .where('day', '<=', to)
      .orderBy('diff_key')
      .orderBy('version')
      .execute();
    const signoffs = await this.db
      .selectFrom('recon_signoffs')
      .selectAll()
      .where('day', '>=', from)
      .where('day', '<=', to)
      .execute();
    const settlements = await this.db
      .selectFrom('recon_settlements')
      .selectAll()
      .where('day', '>=', from)
      .where('day', '<=', to)
      .execute();
    return { runs, downloads, diffs, signoffs, settlements };
  }

  /** Settlement lines and adjustments of a range, with the merchant's name, and the signed-off channel-days. */
  async settlementOf(filter: Range & { merchantId?: string; channel?: string }): Promise<{
    lines: Array<Selectable<ReconSettlementTable> & { merchant_name: string }>;
    adjustments: Array<Selectable<ReconAdjustmentTable> & { merchant_name: string }>;
    signed: Set<string>;
  }> {
    let q = this.db
      .selectFrom('recon_settlements')
      .innerJoin('merchants', 'merchants.id', 'recon_settlements.merchant_id')
      .selectAll('recon_settlements')
      .select('merchants.name as merchant_name')
      .where('recon_settlements.day', '>=', filter.from)
      .where('recon_settlements.day', '<=', filter.to);
    if (filter.merchantId) q = q.where('recon_settlements.merchant_id', '=', filter.merchantId);
    if (filter.channel) q = q.where('recon_settlements.channel', '=', filter.channel);
    let a = this.db
      .selectFrom('recon_adjustments')
      .innerJoin('merchants', 'merchants.id', 'recon_adjustments.merchant_id')
      .selectAll('recon_adjustments')
      .select('merchants.name as merchant_name')
      .where('recon_adjustments.day', '>=', filter.from)
      .where('recon_adjustments.day', '<=', filter.to);
    if (filter.merchantId) a = a.where('recon_adjustments.merchant_id', '=', filter.merchantId);
    if (filter.channel) a = a.where('recon_adjustments.channel', '=', filter.channel);
    const signed = new Set(
      (
        await this.db
          .selectFrom('recon_signoffs')
          .select(['channel', 'day'])
          .where('day', '>=', filter.from)
          .where('day', '<=', filter.to)
          .execute()
      ).map((s) => `${s.channel}|${s.day}`),
    );
    return { lines: await q.execute(), adjustments: await a.execute(), signed };
  }

  async downloads(limit: number): Promise<Array<Selectable<ReconDownloadTable>>> {
    return this.db
      .selectFrom('recon_downloads')
      .selectAll()
      .orderBy('day', 'desc')
      .orderBy('channel')
      .limit(limit)
      .execute();
  }

  async latestRun(
    channel: string,
    day: string,
    merchantId: string,
  ): Promise<{ state: string; error: string | null } | undefined> {
    return this.db
      .selectFrom('recon_runs')
      .select(['state', 'error'])
      .where('channel', '=', channel)
      .where('day', '=', day)
      .where('merchant_id', '=', merchantId)
      .orderBy('started_at', 'desc')
      .limit(1)
      .executeTakeFirst();
  }
}
