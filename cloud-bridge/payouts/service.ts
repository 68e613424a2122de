import type { Transaction } from 'kysely';
import type { Logger } from 'pino';
import type { Clock } from '../../protocol/clock.js';
import { KauriError } from '../../protocol/errors.js';
import { newId } from '../../protocol/ids.js';
import type { EventLog } from '../events/event-log.js';
import type { FileStore } from '../files/file-store.js';
import type { ReconcileService, SettlementRow } from '../reconcile/runs/service.js';
import { channelDayNumber, dateOfDayNumber } from '../reconcile/time.js';
import type { AccountsRepo } from '../store/accounts.js';
import type { Store } from '../store/db.js';
import type { Database } from '../store/schema.js';
import { nowIso } from '../store/dialect.js';
import { auditInsert, type AuditEntry } from '../hq/audit.js';
import { checkNzAccount } from './account-number.js';
import { BANK_FILE_FORMATS, type BankFileFormat, type PayoutBatch } from './formats/index.js';
import { parseStatement, type StatementLine } from './statements/index.js';
import {
  businessDaysBetween,
  merchantPayout,
  nzDate,
  operatorFeeOf,
  PAYOUT_CURRENCY,
  scheduleDue,
  type OperatorFee,
  type PayoutAccount,
  type Schedule,
  type SettlementDay,
} from './arithmetic.js';
import type { Remittance } from './remittance.js';
import {
  payoutDb,
  type MerchantBankAccountTable,
  type OperatorFeeTable,
  type PayoutDatabase,
  type PayoutItemTable,
  type PayoutLineTable,
  type PayoutRunTable,
} from './schema.js';

// Paying merchants out. Every state change (an account set, proposed, approved; a fee; a run
// built, approved, cancelled, downloaded; a statement matched) commits in one transaction with
// its audit row (and, for a confirmed payout, the merchant's `payout.paid` event).

export interface PayoutDeps {
  store: Store;
  accounts: AccountsRepo;
  reconcile: ReconcileService;
  events: EventLog;
  files: FileStore;
  clock: Clock;
  log: Logger;
  /** Fails at a named step (tests), to show a crash there loses or repeats nothing. */
  crash?: (point: PayoutCrashPoint) => void;
}

/** The steps of the two writes that move money's paperwork: a statement import and a run's download. */
export type PayoutCrashPoint =
  | 'statement:stored'
  | 'statement:lines'
  | 'statement:events'
  | 'statement:audit'
  | 'statement:committed'
  | 'download:stored'
  | 'download:state'
  | 'download:audit'
  | 'download:committed';

export type BankAccount = MerchantBankAccountTable;
export type Run = PayoutRunTable;
export type Line = PayoutLineTable & { merchantName: string; flagged: boolean };
export type Item = PayoutItemTable;

export const DEFAULT_COOLING_OFF_HOURS = 24;
/** A payout line the statement has not shown this many NZ business days after its due date is flagged. */
export const MISSING_AFTER_BUSINESS_DAYS = 3;
const SCHEDULER = 'scheduler';

type Trx = Transaction<PayoutDatabase>;

export interface AccountInput {
  merchantId: string;
  accountNumber: string;
  accountName: string;
  schedule: Schedule;
  scheduleDay?: number | null;
  minimumMinor: number;
  actor: string;
}

export interface StatementImport {
  lines: number;
  matched: Array<{ lineId: string; runNumber: number; status: 'paid' | 'different'; amountMinor: number }>;
  missing: Array<{ lineId: string; runNumber: number; flagged: boolean }>;
  unmatched: number;
}

export function checkSchedule(schedule: string, day: number | null | undefined): number | null {
  if (schedule === 'daily') return null;
  if (schedule === 'weekly') {
    if (!Number.isInteger(day) || day! < 1 || day! > 7)
      throw new KauriError('invalid_request', 'a weekly payout names its weekday, 1 (Monday) to 7 (Sunday)');
    return day!;
  }
  if (schedule === 'monthly') {
    if (!Number.isInteger(day) || day! < 1 || day! > 28)
      throw new KauriError('invalid_request', 'a monthly payout names its day of the month, 1 to 28');
    return day!;
  }
  throw new KauriError('invalid_request', 'the payout schedule is daily, weekly or monthly');
}

/** The normalised account number, or bank_account_invalid with the reason. */
export function validAccountNumber(input: string): string {
  const c = checkNzAccount(input);
  if (!c.ok) throw new KauriError('bank_account_invalid', `${input}: ${c.message}`, { details: { reason: c.reason } });
  return c.normalised;
}

/** A payout line's reference: the run and line numbers at fixed width, so one never contains another. */
export function lineReference(run: number, line: number): string {
  return `P${String(run).padStart(5, '0')}-${String(line).padStart(4, '0')}`;
}

const upperAlnum = (s: string | undefined) => (s ?? '').toUpperCase().replace(/[^A-Z0-9]/g, '');

export class PayoutService {
  constructor(private readonly deps: PayoutDeps) {}

  private get db() {
    return payoutDb(this.deps.store);
  }
  private crash(point: PayoutCrashPoint): void {
    this.deps.crash?.(point);
  }
  private now(): string {
    return nowIso(this.deps.clock.now());
  }
  private async audit(
    trx: Trx,
    action: string,
    a: { merchantId?: string | null; runId?: string | null; actor: string; data?: unknown },
  ): Promise<void> {
    await trx
      .insertInto('payout_audit')
      .values({
        action,
        merchant_id: a.merchantId ?? null,
        run_id: a.runId ?? null,
        actor: a.actor,
        data: JSON.stringify(a.data ?? {}),
        created_at: this.now(),
      })
      .execute();
  }

  /**
   * The back office's audit entry of the person who asked for a change (hq/audit.ts), written
   * in the change's own transaction beside the payout audit row.
   */
  private async hqAudit(trx: Trx, entry: AuditEntry | undefined): Promise<void> {
    if (entry) await auditInsert(trx as unknown as Transaction<Database>, entry, this.deps.clock.now()).execute();
  }

  // ---- settings ------------------------------------------------------------------------

  async settings(): Promise<{
    originatorAccount: string | null;
    originatorName: string | null;
    coolingOffHours: number;
  }> {
    const rows = await this.db.selectFrom('payout_settings').selectAll().execute();
    const get = (k: string) => rows.find((r) => r.key === k)?.value ?? null;
    const hours = get('cooling_off_hours');
    return {
      originatorAccount: get('originator_account'),
      originatorName: get('originator_name'),
      coolingOffHours: hours === null ? DEFAULT_COOLING_OFF_HOURS : Number(hours),
    };
  }

  async setSettings(
    s: { originatorAccount?: string; originatorName?: string; coolingOffHours?: number },
    actor: string,
    audit?: AuditEntry,
  ): Promise<void> {
    const values: Record<string, string> = {};
    if (s.originatorAccount !== undefined) values.originator_account = validAccountNumber(s.originatorAccount);
    if (s.originatorName !== undefined) {
      const name = s.originatorName.trim();
      if (!name || name.length > 40) throw new KauriError('invalid_request', 'the originator name is 1–40 characters');
      values.originator_name = name;
    }
    if (s.coolingOffHours !== undefined) {
      if (!Number.isInteger(s.coolingOffHours) || s.coolingOffHours < 0 || s.coolingOffHours > 24 * 30)
        throw new KauriError('invalid_request', 'the cooling-off period is a whole number of hours, 0 to 720');
      values.cooling_off_hours = String(s.coolingOffHours);
    }
    const now = this.now();
    await this.db.transaction().execute(async (trx) => {
      for (const [key, value] of Object.entries(values))
        await trx
          .insertInto('payout_settings')
          .values({ key, value, updated_by: actor, updated_at: now })
          .onConflict((oc) => oc.column('key').doUpdateSet({ value, updated_by: actor, updated_at: now }))
          .execute();
      await this.audit(trx, 'settings.set', { actor, data: values });
      await this.hqAudit(trx, audit);
    });
  }

  async merchants(): Promise<Array<{ id: string; name: string }>> {
    return (await this.deps.accounts.listMerchants()).map((m) => ({ id: m.id, name: m.name }));
  }

  // ---- bank accounts -------------------------------------------------------------------

  private async checkAccountInput(input: AccountInput) {
    if (!(await this.deps.accounts.getMerchant(input.merchantId)))
      throw new KauriError('not_found', `no merchant "${input.merchantId}"`);
    const accountNumber = validAccountNumber(input.accountNumber);
    const accountName = input.accountName.trim();
    if (!accountName || accountName.length > 40)
      throw new KauriError('invalid_request', 'the account name is 1–40 characters, as the bank knows it');
    const scheduleDay = checkSchedule(input.schedule, input.scheduleDay);
    if (!Number.isSafeInteger(input.minimumMinor) || input.minimumMinor < 0)
      throw new KauriError('invalid_request', 'the minimum payout is a whole, non-negative number of cents');
    return { accountNumber, accountName, scheduleDay };
  }

  /**
   * HQ sets (`approve: true`) or a merchant admin proposes a merchant's account. A set account
   * replaces the active one; a replacement is paid only after the cooling-off period.
   */
  async setAccount(input: AccountInput, options: { approve: boolean; audit?: AuditEntry }): Promise<BankAccount> {
    const { accountNumber, accountName, scheduleDay } = await this.checkAccountInput(input);
    const id = newId('bac');
    const now = this.now();
    const row: BankAccount = {
      id,
      merchant_id: input.merchantId,
      account_number: accountNumber,
      account_name: accountName,
      schedule: input.schedule,
      schedule_day: scheduleDay,
      minimum_minor: input.minimumMinor,
      state: 'proposed',
      proposed_by: input.actor,
      decided_by: null,
      created_at: now,
      decided_at: null,
      payable_from: null,
    };
    const cooling = (await this.settings()).coolingOffHours;
    await this.db.transaction().execute(async (trx) => {
      await trx.insertInto('merchant_bank_accounts').values(row).execute();
      await this.audit(trx, 'bank_account.proposed', {
        merchantId: input.merchantId,
        actor: input.actor,
        data: {
          id,
          accountNumber,
          accountName,
          schedule: input.schedule,
          scheduleDay,
          minimumMinor: input.minimumMinor,
        },
      });
      if (options.approve) await this.activate(trx, row, input.actor, cooling);
      await this.hqAudit(trx, options.audit && { ...options.audit, target: id });
    });
    return (await this.account(id))!;
  }

  private async activate(trx: Trx, row: BankAccount, actor: string, coolingHours: number): Promise<void> {
    const now = this.now();
    const previous = await trx
      .selectFrom('merchant_bank_accounts')
      .selectAll()
      .where('merchant_id', '=', row.merchant_id)
      .where('state', '=', 'active')
      .executeTakeFirst();
    // Only a change of account waits: a merchant's first account has nothing to be diverted from.
    const sameAccount = previous?.account_number === row.account_number;
    const payableFrom =
      !previous || sameAccount
        ? (previous?.payable_from ?? now)
        : nowIso(new Date(this.deps.clock.now().getTime() + coolingHours * 3_600_000));
    if (previous)
      await trx
        .updateTable('merchant_bank_accounts')
        .set({ state: 'replaced' })
        .where('id', '=', previous.id)
        .execute();
    const updated = await trx
      .updateTable('merchant_bank_accounts')
      .set({ state: 'active', decided_by: actor, decided_at: now, payable_from: payableFrom })
      .where('id', '=', row.id)
      .where('state', '=', 'proposed')
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) !== 1)
      throw new KauriError('payout_state', 'that account proposal was decided already');
    await this.audit(trx, 'bank_account.approved', {
      merchantId: row.merchant_id,
      actor,
      data: {
        id: row.id,
        accountNumber: row.account_number,
        replaces: previous ? { id: previous.id, accountNumber: previous.account_number } : null,
        payableFrom,
      },
    });
  }

  /** HQ approves or rejects a merchant admin's proposal. */
  async decideAccount(id: string, approve: boolean, actor: string, audit?: AuditEntry): Promise<BankAccount> {
    const row = await this.account(id);
    if (!row) throw new KauriError('not_found', `no bank account proposal "${id}"`);
    if (row.state !== 'proposed') throw new KauriError('payout_state', `that account is ${row.state}, not proposed`);
    const cooling = (await this.settings()).coolingOffHours;
    await this.db.transaction().execute(async (trx) => {
      await this.hqAudit(trx, audit && { ...audit, merchantId: row.merchant_id });
      if (approve) return this.activate(trx, row, actor, cooling);
      const r = await trx
        .updateTable('merchant_bank_accounts')
        .set({ state: 'rejected', decided_by: actor, decided_at: this.now() })
        .where('id', '=', id)
        .where('state', '=', 'proposed')
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) throw new KauriError('payout_state', 'that proposal was decided already');
      await this.audit(trx, 'bank_account.rejected', { merchantId: row.merchant_id, actor, data: { id } });
    });
    return (await this.account(id))!;
  }

  async account(id: string): Promise<BankAccount | undefined> {
    return this.db.selectFrom('merchant_bank_accounts').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Active and proposed accounts (all merchants, or one), newest first. */
  async bankAccounts(merchantId?: string): Promise<Array<BankAccount & { merchantName: string }>> {
    let q = this.db
      .selectFrom('merchant_bank_accounts')
      .innerJoin('merchants', 'merchants.id', 'merchant_bank_accounts.merchant_id')
      .selectAll('merchant_bank_accounts')
      .select('merchants.name as merchantName')
      .where('merchant_bank_accounts.state', 'in', ['active', 'proposed']);
    if (merchantId) q = q.where('merchant_bank_accounts.merchant_id', '=', merchantId);
    return q.orderBy('merchant_bank_accounts.created_at', 'desc').execute();
  }

  // ---- operator fees -------------------------------------------------------------------

  async setFee(
    merchantId: string,
    channel: string,
    fee: OperatorFee,
    actor: string,
    audit?: AuditEntry,
  ): Promise<void> {
    if (!(await this.deps.accounts.getMerchant(merchantId)))
      throw new KauriError('not_found', `no merchant "${merchantId}"`);
    if (!['wechat', 'alipay', 'bank'].includes(channel))
      throw new KauriError('invalid_request', 'the channel is wechat, alipay or bank');
    if (!/^\d{1,2}(\.\d{1,4})?$/.test(fee.percent))
      throw new KauriError('invalid_request', 'the percentage is a decimal such as 1.5 (below 100, up to 4 places)');
    if (!Number.isSafeInteger(fee.fixedMinor) || fee.fixedMinor < 0)
      throw new KauriError('invalid_request', 'the fixed fee is a whole, non-negative number of cents');
    const now = this.now();
    await this.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('operator_fees')
        .values({
          merchant_id: merchantId,
          channel,
          percent: fee.percent,
          fixed_minor: fee.fixedMinor,
          updated_by: actor,
          updated_at: now,
        })
        .onConflict((oc) =>
          oc
            .columns(['merchant_id', 'channel'])
            .doUpdateSet({ percent: fee.percent, fixed_minor: fee.fixedMinor, updated_by: actor, updated_at: now }),
        )
        .execute();
      await this.audit(trx, 'operator_fee.set', { merchantId, actor, data: { channel, ...fee } });
      await this.hqAudit(trx, audit);
    });
  }

  async fees(merchantId?: string): Promise<OperatorFeeTable[]> {
    let q = this.db.selectFrom('operator_fees').selectAll();
    if (merchantId) q = q.where('merchant_id', '=', merchantId);
    return q.orderBy('merchant_id').orderBy('channel').execute();
  }

  /** Settlement rows with the operator's fee on each and the net after it (what a payout would pay). */
  async withOperatorFees<R extends SettlementRow>(
    rows: readonly R[],
  ): Promise<Array<R & { operatorFeesMinor: number; netAfterOperatorMinor: number }>> {
    const fees = new Map((await this.fees()).map((f) => [`${f.merchant_id}|${f.channel}`, f]));
    return rows.map((r) => {
      const f = fees.get(`${r.merchantId}|${r.channel}`);
      const fee = f ? operatorFeeOf(r, { percent: f.percent, fixedMinor: f.fixed_minor }) : 0;
      return { ...r, operatorFeesMinor: fee, netAfterOperatorMinor: r.netMinor - fee };
    });
  }

  // ---- runs ----------------------------------------------------------------------------

  /**
   * Builds a run from the signed-off settlement days no run has taken yet. `dueOn` (a NZ date)
   * takes only the merchants whose schedule pays that day (the scheduled job); without it every
   * merchant with something waiting (the HQ button).
   */
  async buildRun(options: {
    actor: string;
    dueOn?: string;
    scheduledDay?: string;
    /** The person's audit entry (its target is set to the new run's id). */
    audit?: AuditEntry;
  }): Promise<Run> {
    const nowMs = this.deps.clock.now().getTime();
    const now = nowIso(new Date(nowMs));
    const open = await this.db
      .selectFrom('payout_runs')
      .select(['number'])
      .where('open_slot', '=', 'open')
      .executeTakeFirst();
    if (open)
      throw new KauriError(
        'payout_state',
        `run ${open.number} is still open: approve and download it, or cancel it, first`,
      );
    // Settlement days up to yesterday (China time): today's is not over.
    const to = dateOfDayNumber(channelDayNumber(nowMs) - 1);
    const rows = (await this.deps.reconcile.settlement({ from: '2000-01-01', to })).filter(
      (r) => r.signedOff && r.currency === PAYOUT_CURRENCY,
    );
    const taken = new Set(
      (await this.db.selectFrom('payout_items').select(['channel', 'day', 'merchant_id', 'currency']).execute()).map(
        (i) => `${i.merchant_id}|${i.channel}|${i.day}|${i.currency}`,
      ),
    );
    const days = new Map<string, SettlementDay[]>();
    for (const r of rows) {
      if (taken.has(`${r.merchantId}|${r.channel}|${r.day}|${r.currency}`)) continue;
      const list = days.get(r.merchantId) ?? [];
      list.push({
        channel: r.channel,
        day: r.day,
        currency: r.currency,
        payments: r.payments,
        grossMinor: r.grossMinor,
        refunds: r.refunds,
        refundsMinor: r.refundsMinor,
        channelFeesMinor: r.feesMinor,
        adjustmentsMinor: r.adjustmentsMinor,
      });
      days.set(r.merchantId, list);
    }
    const carried = await this.carriedBalances();
    const accounts = new Map(
      (await this.db.selectFrom('merchant_bank_accounts').selectAll().where('state', '=', 'active').execute()).map(
        (a) => [a.merchant_id, a],
      ),
    );
    const fees = await this.fees();
    const merchants = [...new Set([...days.keys(), ...[...carried].filter(([, v]) => v !== 0).map(([k]) => k)])]
      .filter((m) => {
        if (!options.dueOn) return true;
        const a = accounts.get(m);
        return a !== undefined && scheduleDue(a.schedule, a.schedule_day, options.dueOn);
      })
      .sort();
    if (merchants.length === 0) throw new KauriError('payout_nothing_to_pay');

    const runId = newId('por');
    const lines = merchants.map((merchantId) => {
      const a = accounts.get(merchantId);
      const account: PayoutAccount | null = a
        ? {
            id: a.id,
            accountNumber: a.account_number,
            accountName: a.account_name,
            minimumMinor: a.minimum_minor,
            payableFrom: a.payable_from ?? a.decided_at ?? now,
          }
        : null;
      return {
        account,
        payout: merchantPayout({
          merchantId,
          days: days.get(merchantId) ?? [],
          fees: new Map(
            fees
              .filter((f) => f.merchant_id === merchantId)
              .map((f) => [f.channel, { percent: f.percent, fixedMinor: f.fixed_minor }]),
          ),
          carriedInMinor: carried.get(merchantId) ?? 0,
          account,
          now,
        }),
      };
    });
    const total = lines.reduce((s, l) => s + l.payout.amountMinor, 0);

    try {
      await this.db.transaction().execute(async (trx) => {
        const last = await trx
          .selectFrom('payout_runs')
          .select((eb) => eb.fn.max('number').as('n'))
          .executeTakeFirst();
        const number = Number(last?.n ?? 0) + 1;
        await trx
          .insertInto('payout_runs')
          .values({
            id: runId,
            number,
            state: 'built',
            open_slot: 'open',
            scheduled_day: options.scheduledDay ?? null,
            currency: PAYOUT_CURRENCY,
            total_minor: total,
            built_by: options.actor,
            built_at: now,
            approved_by: null,
            approved_at: null,
            downloaded_by: null,
            downloaded_at: null,
            cancelled_by: null,
            cancelled_at: null,
            format: null,
            due_date: null,
            file_sha256: null,
            file_name: null,
          })
          .execute();
        let n = 0;
        for (const { account, payout: p } of lines) {
          n++;
          const lineId = newId('pol');
          const lastDay = p.items.at(-1)?.day ?? nzDate(new Date(nowMs));
          await trx
            .insertInto('payout_lines')
            .values({
              id: lineId,
              run_id: runId,
              line_no: n,
              merchant_id: p.merchantId,
              status: p.status,
              reason: p.reason,
              bank_account_id: account?.id ?? null,
              account_number: account?.accountNumber ?? null,
              account_name: account?.accountName ?? null,
              payments: p.payments,
              gross_minor: p.grossMinor,
              refunds_minor: p.refundsMinor,
              channel_fees_minor: p.channelFeesMinor,
              operator_fees_minor: p.operatorFeesMinor,
              adjustments_minor: p.adjustmentsMinor,
              carried_in_minor: p.carriedInMinor,
              balance_minor: p.balanceMinor,
              amount_minor: p.amountMinor,
              carried_out_minor: p.carriedOutMinor,
              // The run and the line (unique: the statement is matched by it) and the last day paid.
              particulars: 'KAURI PAYOUT',
              code: lastDay,
              reference: lineReference(number, n),
              bank_status: null,
              bank_amount_minor: null,
              bank_date: null,
              flagged_at: null,
              paid_at: null,
            })
            .execute();
          for (const i of p.items)
            await trx
              .insertInto('payout_items')
              .values({
                channel: i.channel,
                day: i.day,
                merchant_id: p.merchantId,
                currency: i.currency,
                run_id: runId,
                line_id: lineId,
                payments: i.payments,
                gross_minor: i.grossMinor,
                refunds: i.refunds,
                refunds_minor: i.refundsMinor,
                channel_fees_minor: i.channelFeesMinor,
                operator_fee_percent: i.operatorFee.percent,
                operator_fee_fixed_minor: i.operatorFee.fixedMinor,
                operator_fees_minor: i.operatorFeesMinor,
                adjustments_minor: i.adjustmentsMinor,
                net_minor: i.netMinor,
              })
              .execute();
        }
        await this.audit(trx, 'run.built', {
          runId,
          actor: options.actor,
          data: { number, totalMinor: total, lines: lines.length, dueOn: options.dueOn ?? null },
        });
        await this.hqAudit(trx, options.audit && { ...options.audit, target: runId });
      });
    } catch (err) {
      if (err instanceof KauriError) throw err;
      // Another instance built a run at the same moment (one open run, each day paid once).
      this.deps.log.warn({ err }, 'payout run build lost a race');
      throw new KauriError('payout_state', 'another payout run was built at the same moment: reload and look at it');
    }
    return (await this.run(runId))!;
  }

  /** Each merchant's balance carried out of their latest line in a run that was not cancelled. */
  private async carriedBalances(): Promise<Map<string, number>> {
    const rows = await this.db
      .selectFrom('payout_lines')
      .innerJoin('payout_runs', 'payout_runs.id', 'payout_lines.run_id')
      .select(['payout_lines.merchant_id', 'payout_lines.carried_out_minor', 'payout_runs.number'])
      .where('payout_runs.state', '!=', 'cancelled')
      .orderBy('payout_runs.number')
      .execute();
    const out = new Map<string, number>();
    for (const r of rows) out.set(r.merchant_id, Number(r.carried_out_minor));
    return out;
  }

  async scheduledRunOf(day: string): Promise<Run | undefined> {
    return this.db.selectFrom('payout_runs').selectAll().where('scheduled_day', '=', day).executeTakeFirst();
  }

  async run(id: string): Promise<Run | undefined> {
    return this.db.selectFrom('payout_runs').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async runs(limit = 50): Promise<Run[]> {
    return this.db.selectFrom('payout_runs').selectAll().orderBy('number', 'desc').limit(limit).execute();
  }

  private flaggedOf(run: Run | undefined, l: PayoutLineTable): boolean {
    if (l.flagged_at) return true;
    if (!run || run.state !== 'downloaded' || l.status !== 'pay' || l.bank_status === 'paid' || !run.due_date)
      return false;
    return businessDaysBetween(run.due_date, nzDate(this.deps.clock.now())) >= MISSING_AFTER_BUSINESS_DAYS;
  }

  async lines(filter: { runId?: string; merchantId?: string; lineId?: string }): Promise<Line[]> {
    let q = this.db
      .selectFrom('payout_lines')
      .innerJoin('merchants', 'merchants.id', 'payout_lines.merchant_id')
      .selectAll('payout_lines')
      .select('merchants.name as merchantName');
    if (filter.runId) q = q.where('payout_lines.run_id', '=', filter.runId);
    if (filter.merchantId) q = q.where('payout_lines.merchant_id', '=', filter.merchantId);
    if (filter.lineId) q = q.where('payout_lines.id', '=', filter.lineId);
    const rows = await q.orderBy('payout_lines.run_id').orderBy('payout_lines.line_no').execute();
    const runs = new Map<string, Run | undefined>();
    const out: Line[] = [];
    for (const r of rows) {
      if (!runs.has(r.run_id)) runs.set(r.run_id, await this.run(r.run_id));
      out.push({ ...r, flagged: this.flaggedOf(runs.get(r.run_id), r) });
    }
    return out;
  }

  async items(lineId: string): Promise<Item[]> {
    return this.db
      .selectFrom('payout_items')
      .selectAll()
      .where('line_id', '=', lineId)
      .orderBy('day')
      .orderBy('channel')
      .execute();
  }

  async auditOf(filter: { runId?: string; merchantId?: string }, limit = 200) {
    let q = this.db.selectFrom('payout_audit').selectAll();
    if (filter.runId) q = q.where('run_id', '=', filter.runId);
    if (filter.merchantId) q = q.where('merchant_id', '=', filter.merchantId);
    return (await q.orderBy('seq', 'desc').limit(limit).execute()).map((r) => ({
      ...r,
      seq: Number(r.seq),
      data: JSON.parse(r.data) as unknown,
    }));
  }

  private async transition(
    id: string,
    from: Run['state'][],
    set: Partial<PayoutRunTable>,
    action: string,
    actor: string,
    extra?: (trx: Trx) => Promise<void>,
    points?: { state: PayoutCrashPoint; audit: PayoutCrashPoint },
    hq?: AuditEntry,
  ): Promise<Run> {
    await this.db.transaction().execute(async (trx) => {
      const r = await trx
        .updateTable('payout_runs')
        .set(set)
        .where('id', '=', id)
        .where('state', 'in', from)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) {
        const run = await trx.selectFrom('payout_runs').select('state').where('id', '=', id).executeTakeFirst();
        if (!run) throw new KauriError('not_found', `no payout run "${id}"`);
        throw new KauriError('payout_state', `the run is ${run.state}; this needs it ${from.join(' or ')}`);
      }
      if (points) this.crash(points.state);
      await extra?.(trx);
      await this.audit(trx, action, { runId: id, actor, data: set });
      await this.hqAudit(trx, hq);
      if (points) this.crash(points.audit);
    });
    return (await this.run(id))!;
  }

  /** Four eyes: a second HQ user approves (the scheduler's runs by any one). */
  async approve(id: string, actor: string, audit?: AuditEntry): Promise<Run> {
    const run = await this.run(id);
    if (!run) throw new KauriError('not_found', `no payout run "${id}"`);
    if (run.built_by === actor) throw new KauriError('payout_self_approval');
    if (actor === SCHEDULER) throw new KauriError('forbidden', 'a person approves a payout run');
    return this.transition(
      id,
      ['built'],
      { state: 'approved', approved_by: actor, approved_at: this.now() },
      'run.approved',
      actor,
      undefined,
      undefined,
      audit,
    );
  }

  /** Gives the run's days back, so the next run takes them again. */
  async cancel(id: string, actor: string, audit?: AuditEntry): Promise<Run> {
    return this.transition(
      id,
      ['built', 'approved'],
      { state: 'cancelled', open_slot: null, cancelled_by: actor, cancelled_at: this.now() },
      'run.cancelled',
      actor,
      async (trx) => {
        await trx.deleteFrom('payout_items').where('run_id', '=', id).execute();
      },
      undefined,
      audit,
    );
  }

  /** The batch a format is given: the run's paid lines, the operator's account, the due date. */
  async batchOf(run: Run, dueDate: string): Promise<PayoutBatch> {
    const s = await this.settings();
    if (!s.originatorAccount || !s.originatorName)
      throw new KauriError(
        'payout_file_refused',
        "the operator's own account is not set: set the originator account and name in the payout settings",
      );
    const lines = (await this.lines({ runId: run.id })).filter((l) => l.status === 'pay' && l.amount_minor > 0);
    return {
      originator: { accountNumber: s.originatorAccount, name: s.originatorName },
      dueDate,
      createdOn: nzDate(this.deps.clock.now()),
      batchReference: `KAURI P${String(run.number).padStart(5, '0')}`,
      lines: lines.map((l) => ({
        accountNumber: l.account_number!,
        accountName: l.account_name!,
        amountMinor: l.amount_minor,
        particulars: l.particulars,
        code: l.code,
        reference: l.reference,
      })),
    };
  }

  /** Why a format cannot carry the run (empty: it can). */
  async problems(id: string, formatId: string, dueDate?: string): Promise<string[]> {
    const run = await this.run(id);
    if (!run) throw new KauriError('not_found', `no payout run "${id}"`);
    const format = formatOf(formatId);
    return format.problems(await this.batchOf(run, dueDate ?? run.due_date ?? nzDate(this.deps.clock.now())));
  }

  /**
   * The bank file of an approved run. The first download fixes the run (format, due date, file)
   * for good; later downloads give the same file.
   */
  async download(
    id: string,
    formatId: string,
    actor: string,
    dueDate?: string,
    audit?: AuditEntry,
  ): Promise<{ fileName: string; contentType: string; body: Buffer }> {
    const run = await this.run(id);
    if (!run) throw new KauriError('not_found', `no payout run "${id}"`);
    const format = formatOf(formatId);
    if (run.state === 'downloaded') {
      if (run.format !== format.id)
        throw new KauriError('payout_state', `the run's file was made as ${run.format}; it cannot change any more`);
      // Nothing changes: the entry only says who took the file again.
      if (audit) await auditInsert(this.deps.store.db, audit, this.deps.clock.now()).execute();
      return {
        fileName: run.file_name!,
        contentType: format.contentType,
        body: await this.deps.files.read(run.file_sha256!),
      };
    }
    if (run.state !== 'approved') throw new KauriError('payout_not_approved');
    const due = dueDate ?? nzDate(this.deps.clock.now());
    if (!/^\d{4}-\d{2}-\d{2}$/.test(due)) throw new KauriError('invalid_request', 'the due date is YYYY-MM-DD');
    const batch = await this.batchOf(run, due);
    if (batch.lines.length === 0) throw new KauriError('payout_file_refused', 'the run pays nobody: no file to make');
    const problems = format.problems(batch);
    if (problems.length > 0)
      throw new KauriError('payout_file_refused', `${format.name} cannot carry this run: ${problems.join('; ')}`, {
        details: { problems },
      });
    const body = format.render(batch);
    const fileName = `kauri-payout-${run.number}-${format.id}.${format.extension}`;
    const stored = await this.deps.files.put(body, {
      kind: 'payout_file',
      meta: { runId: id, format: format.id, fileName },
    });
    this.crash('download:stored');
    const done = await this.transition(
      id,
      ['approved'],
      {
        state: 'downloaded',
        open_slot: null,
        format: format.id,
        due_date: due,
        file_sha256: stored.sha256,
        file_name: fileName,
        downloaded_by: actor,
        downloaded_at: this.now(),
      },
      'run.downloaded',
      actor,
      undefined,
      { state: 'download:state', audit: 'download:audit' },
      audit,
    ).catch(async (err) => {
      // Downloaded by someone else meanwhile: theirs is the file.
      const again = await this.run(id);
      if (again?.state === 'downloaded' && again.format === format.id) return again;
      throw err;
    });
    this.crash('download:committed');
    return {
      fileName: done.file_name!,
      contentType: format.contentType,
      body: await this.deps.files.read(done.file_sha256!),
    };
  }

  // ---- back from the bank --------------------------------------------------------------

  /**
   * Matches the operator's statement against every downloaded run's unpaid lines: by the
   * particulars and code the file gave the payment, else by payee name and amount. A line
   * confirmed paid gets its `payout.paid` event in the same transaction.
   */
  async importStatement(
    body: Buffer,
    kind: 'csv' | 'ofx',
    actor: string,
    audit?: AuditEntry,
  ): Promise<StatementImport> {
    const parsed = parseStatement(body, kind);
    const debits = parsed.map((l, i) => ({ l, i })).filter(({ l }) => l.amountMinor < 0);
    const latest = parsed.reduce((m, l) => (l.date > m ? l.date : m), '');
    const stored = await this.deps.files.put(body, { kind: 'bank_statement', meta: { kind, lines: parsed.length } });
    const runs = await this.db.selectFrom('payout_runs').selectAll().where('state', '=', 'downloaded').execute();
    const byRun = new Map(runs.map((r) => [r.id, r]));
    const open = (await this.lines({})).filter(
      (l) => byRun.has(l.run_id) && l.status === 'pay' && l.amount_minor > 0 && l.bank_status !== 'paid',
    );
    const used = new Set<number>();
    const result: StatementImport = { lines: parsed.length, matched: [], missing: [], unmatched: 0 };
    const matchOf = (line: Line): { l: StatementLine; i: number } | undefined => {
      const ref = upperAlnum(line.reference);
      const byRef = debits.find(
        ({ l, i }) =>
          !used.has(i) && [l.reference, l.particulars, l.code, l.description].some((f) => upperAlnum(f).includes(ref)),
      );
      if (byRef) return byRef;
      const name = upperAlnum(line.account_name ?? '');
      return debits.find(
        ({ l, i }) =>
          !used.has(i) &&
          -l.amountMinor === line.amount_minor &&
          name !== '' &&
          (upperAlnum(l.payee) === name || upperAlnum(l.description).includes(name)) &&
          l.date >= (byRun.get(line.run_id)!.due_date ?? ''),
      );
    };
    const now = this.now();
    const today = nzDate(this.deps.clock.now());
    const updates: Array<{
      id: string;
      set: Partial<PayoutLineTable>;
      event?: Parameters<EventLog['appendIn']>[1];
      matched?: StatementImport['matched'][number];
      missing?: StatementImport['missing'][number];
    }> = [];
    for (const line of open) {
      const run = byRun.get(line.run_id)!;
      const m = matchOf(line);
      if (m) {
        used.add(m.i);
        const status = -m.l.amountMinor === line.amount_minor ? 'paid' : 'different';
        updates.push({
          id: line.id,
          set: {
            bank_status: status,
            bank_amount_minor: -m.l.amountMinor,
            bank_date: m.l.date,
            paid_at: status === 'paid' ? now : null,
            flagged_at: status === 'different' ? now : null,
          },
          event: status === 'paid' ? await this.paidEvent(line, run, m.l.date) : undefined,
          matched: { lineId: line.id, runNumber: run.number, status, amountMinor: -m.l.amountMinor },
        });
      } else if (line.bank_status !== 'different' && run.due_date && latest >= run.due_date) {
        // A debit seen earlier with another amount stays what it was; a later statement without it says nothing new.
        const flagged = businessDaysBetween(run.due_date, today) >= MISSING_AFTER_BUSINESS_DAYS;
        updates.push({
          id: line.id,
          set: { bank_status: 'missing', flagged_at: flagged ? now : null },
          missing: { lineId: line.id, runNumber: run.number, flagged },
        });
      }
    }
    result.unmatched = debits.filter(({ i }) => !used.has(i)).length;
    this.crash('statement:stored');
    let paid = 0;
    await this.db.transaction().execute(async (trx) => {
      result.matched = [];
      result.missing = [];
      const events: Array<Parameters<EventLog['appendIn']>[1]> = [];
      for (const u of updates) {
        const r = await trx
          .updateTable('payout_lines')
          .set(u.set)
          .where('id', '=', u.id)
          .where((eb) => eb.or([eb('bank_status', 'is', null), eb('bank_status', '!=', 'paid')]))
          .executeTakeFirst();
        // Another import confirmed the line since it was read: it has its event already, and only one.
        if (Number(r.numUpdatedRows) !== 1) continue;
        if (u.matched) result.matched.push(u.matched);
        if (u.missing) result.missing.push(u.missing);
        if (u.event) events.push(u.event);
      }
      this.crash('statement:lines');
      for (const e of events) await this.deps.events.appendIn(trx as unknown as Transaction<Database>, e);
      paid = events.length;
      this.crash('statement:events');
      await this.audit(trx, 'statement.imported', {
        actor,
        data: {
          sha256: stored.sha256,
          kind,
          lines: parsed.length,
          paid: result.matched.filter((m) => m.status === 'paid').length,
          different: result.matched.filter((m) => m.status === 'different').length,
          missing: result.missing.length,
        },
      });
      await this.hqAudit(trx, audit);
      this.crash('statement:audit');
    });
    this.crash('statement:committed');
    if (paid > 0) this.deps.events.poke();
    return result;
  }

  private async paidEvent(line: Line, run: Run, bankDate: string) {
    const items = await this.items(line.id);
    return {
      type: 'payout.paid',
      merchantId: line.merchant_id,
      payload: {
        payout_id: line.id,
        run_number: run.number,
        amount_minor: line.amount_minor,
        currency: run.currency,
        account_number: maskAccount(line.account_number ?? ''),
        paid_on: bankDate,
        particulars: line.particulars,
        code: line.code,
        reference: line.reference,
        payments: line.payments,
        gross_minor: line.gross_minor,
        refunds_minor: line.refunds_minor,
        channel_fees_minor: line.channel_fees_minor,
        operator_fees_minor: line.operator_fees_minor,
        adjustments_minor: line.adjustments_minor,
        carried_in_minor: line.carried_in_minor,
        days: items.map((i) => ({ channel: i.channel, day: i.day, net_minor: i.net_minor })),
      },
    };
  }

  /** A payout line's remittance: its run, days and payments (merchant users: their own only, checked by the caller). */
  async remittance(lineId: string): Promise<Remittance> {
    const [line] = await this.lines({ lineId });
    if (!line) throw new KauriError('not_found', `no payout "${lineId}"`);
    const run = (await this.run(line.run_id))!;
    return { line, run, items: await this.items(line.id), payments: await this.paymentsOf(line) };
  }

  /** The payments of a line's settlement days (what the remittance lists). */
  async paymentsOf(line: Line): Promise<
    Array<{
      channel: string;
      day: string;
      outTradeNo: string;
      amountMinor: number;
      refundedMinor: number;
      paidAt: string;
    }>
  > {
    const out = [];
    for (const i of await this.items(line.id)) {
      const start = Date.parse(`${i.day}T00:00:00+08:00`);
      const rows = await this.db
        .selectFrom('orders')
        .select(['out_trade_no', 'amount_minor', 'refunded_minor', 'paid_at', 'channel_paid_at'])
        .where('merchant_id', '=', line.merchant_id)
        .where('channel', '=', i.channel)
        .where('currency', '=', i.currency)
        .where('paid_at', 'is not', null)
        .where('paid_at', '>=', nowIso(new Date(start)))
        .where('paid_at', '<', nowIso(new Date(start + 86_400_000)))
        .orderBy('paid_at')
        .execute();
      for (const r of rows)
        out.push({
          channel: i.channel,
          day: i.day,
          outTradeNo: r.out_trade_no,
          amountMinor: Number(r.amount_minor),
          refundedMinor: Number(r.refunded_minor),
          paidAt: r.paid_at!,
        });
    }
    return out;
  }
}

export function formatOf(id: string): BankFileFormat {
  const f = (BANK_FILE_FORMATS as Record<string, BankFileFormat | undefined>)[id];
  if (!f)
    throw new KauriError(
      'invalid_request',
      `no bank file format "${id}": ${Object.keys(BANK_FILE_FORMATS).join(', ')}`,
    );
  return f;
}

/** The account number with the middle digits hidden, for the webhook. */
export function maskAccount(n: string): string {
  const m = /^(\d{2})-(\d{4})-(\d{7})-(\d{2,3})$/.exec(n);
  return m ? `${m[1]}-${m[2]}-•••${m[3]!.slice(-4)}-${m[4]}` : '';
}
