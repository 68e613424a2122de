import type { Logger } from 'pino';
import type { Store } from '../../store/db.js';
import type { AccountsRepo } from '../../store/accounts.js';
import type { ChannelAccount, ChannelContext, ChannelRegistry } from '../../channels/channel.js';
import type { FileStore } from '../../files/file-store.js';
import type { Clock } from '../../../protocol/clock.js';
import type { Kysely, Selectable } from 'kysely';
import type { Database } from '../../store/schema.js';
import type { ReconDifferenceTable } from '../../store/schema.js';

type DiffRow = Selectable<ReconDifferenceTable>;
import { CHANNELS, KIND_PAYMENT, KIND_REFUND, platformStatusCode, type Channel } from '../codes.js';
import { DEFAULT_WINDOW_MINUTES, reconcileStreams, type ReconcileResult } from '../engine.js';
import { ReconcileError } from '../errors.js';
import { Ledger, type Difference, type ReconcileSummary } from '../ledger.js';
import { convertStatement } from '../parse.js';
import { currencyExponent } from '../money.js';
import { roundMicroToMinor, type StandardBillRow } from '../rows.js';
import { dayNumberOf, dateOfDayNumber } from '../time.js';
import { platformCsv, platformRows } from './platform-source.js';
import { csvDocument } from '../../csv.js';
import { RunError } from './errors.js';
import { ReconRunsRepo } from './repo.js';
import { auditInsert, type AuditEntry } from '../../hq/audit.js';
import { isUniqueViolation } from '../../store/orders-repo.js';

// Reconciliation with the database: download each merchant's statement for a channel-day
// into the file store, match it against that merchant's orders and refunds, and keep the
// outcome: the run, the differences (as versions), the settlement lines. A day signed off
// is locked: nothing about it changes any more; corrections go on a later day.

export interface ReconcileDeps {
  store: Store;
  accounts: AccountsRepo;
  channels: ChannelRegistry;
  files: FileStore;
  clock: Clock;
  log: Logger;
  contextFor(account: ChannelAccount): ChannelContext;
  windowMinutes?: number;
}

export type DownloadState = 'ready' | 'not_ready' | 'empty' | 'failed';

export interface DownloadOutcome {
  merchantId: string;
  accountId: string;
  state: DownloadState;
  sha256: string | null;
  error: string | null;
}

export interface DayRun {
  channel: Channel;
  date: string;
  /** Every merchant's runs added up (the JSON of docs/CONTRACTS.md). */
  summary: ReconcileSummary;
  merchants: Array<{
    merchantId: string;
    runId: string;
    state: 'done' | 'failed' | 'no_statement';
    summary: ReconcileSummary | null;
    error: string | null;
  }>;
  downloads: DownloadOutcome[];
  differences: Difference[];
}

export type ResolveAction = 'accept' | 'adjust' | 'refund' | 'link';

/** The action of the version that hands a suspense item over to the next day's run. */
const CARRIED = 'carried';
/** What a version of a difference did: HQ's resolution, or the bridge handing suspense over to the next day. */
export type DifferenceAction = ResolveAction | typeof CARRIED;

export interface DifferenceView {
  key: string;
  version: number;
  channel: string;
  day: string;
  merchantId: string;
  category: string;
  kind: string;
  id: string;
  state: 'open' | 'resolved' | 'cleared';
  action: DifferenceAction | null;
  note: string | null;
  linkedOrder: string | null;
  adjustMinor: number | null;
  actor: string;
  at: string;
  data: Difference;
}

function view(r: DiffRow): DifferenceView {
  return {
    key: r.diff_key,
    version: r.version,
    channel: r.channel,
    day: r.day,
    merchantId: r.merchant_id,
    category: r.category,
    kind: r.kind,
    id: r.ref_id,
    state: r.state,
    action: r.action,
    note: r.note,
    linkedOrder: r.linked_order,
    adjustMinor: r.adjust_minor === null ? null : Number(r.adjust_minor),
    actor: r.actor,
    at: r.created_at,
    data: JSON.parse(r.data) as Difference,
  };
}

export function diffKey(
  channel: string,
  day: string,
  merchantId: string,
  d: { category: string; kind: string; id: string },
): string {
  return [channel, day, merchantId, d.category, d.kind, d.id].join('|');
}

export function checkDay(date: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(dayNumberOf(date)))
    throw new RunError('bad_argument', `a day is YYYY-MM-DD, got "${date}"`);
  return date;
}

export function checkChannel(c: string): Channel {
  if (!(CHANNELS as readonly string[]).includes(c))
    throw new RunError('bad_argument', `a channel is wechat, alipay or bank, got "${c}"`);
  return c as Channel;
}

function emptySummary(channel: Channel, date: string): ReconcileSummary {
  return {
    channel,
    date,
    statementRows: 0,
    platformRows: 0,
    matched: 0,
    amountMismatch: 0,
    currencyMismatch: 0,
    statusMismatch: 0,
    channelOnly: 0,
    platformOnly: 0,
    duplicates: 0,
    suspense: 0,
    totals: { channelMinor: 0, platformMinor: 0, currency: channel === 'bank' ? 'CNY' : 'NZD' },
  };
}

const COUNTS = [
  'statementRows',
  'platformRows',
  'matched',
  'amountMismatch',
  'currencyMismatch',
  'statusMismatch',
  'channelOnly',
  'platformOnly',
  'duplicates',
  'suspense',
] as const;

export function addSummaries(channel: Channel, date: string, parts: ReconcileSummary[]): ReconcileSummary {
  const out = emptySummary(channel, date);
  if (parts[0]) out.totals.currency = parts[0].totals.currency;
  for (const p of parts) {
    for (const k of COUNTS) out[k] += p[k];
    if (p.totals.currency === out.totals.currency) {
      out.totals.channelMinor += p.totals.channelMinor;
      out.totals.platformMinor += p.totals.platformMinor;
    }
  }
  return out;
}

interface SettlementLine {
  currency: string;
  payments: number;
  grossMinor: number;
  refunds: number;
  refundsMinor: number;
  feesMinor: number;
  cnyChargedMinor: number;
}

export class ReconcileService {
  readonly windowMs: number;

  private readonly repo: ReconRunsRepo;

  constructor(private readonly deps: ReconcileDeps) {
    this.windowMs = (deps.windowMinutes ?? DEFAULT_WINDOW_MINUTES) * 60_000;
    this.repo = new ReconRunsRepo(deps.store, deps.clock);
  }

  /** Active channel accounts of a channel, one per merchant. */
  private async accountsOf(channel: Channel, merchantId?: string): Promise<ChannelAccount[]> {
    const list = await this.deps.accounts.listChannelAccounts(merchantId);
    const out: ChannelAccount[] = [];
    const seen = new Set<string>();
    for (const a of list.reverse()) {
      if (!a.active || a.channel !== channel || seen.has(a.merchantId)) continue;
      seen.add(a.merchantId);
      const full = await this.deps.accounts.getChannelAccount(a.id);
      if (full) out.push(full);
    }
    return out.sort((a, b) => a.merchantId.localeCompare(b.merchantId));
  }

  async signOffOf(
    channel: string,
    day: string,
  ): Promise<{ signedBy: string; signedAt: string; note: string | null } | undefined> {
    const r = await this.repo.signOff(channel, day);
    return r ? { signedBy: r.signed_by, signedAt: r.signed_at, note: r.note } : undefined;
  }

  /** Whether the schedule still has work on a channel-day: not signed off, and some merchant without a finished run. */
  async needsRun(channel: Channel, day: string): Promise<boolean> {
    if (await this.signOffOf(channel, day)) return false;
    const accounts = await this.accountsOf(channel);
    if (accounts.length === 0) return false;
    const done = (await this.repo.runStates(channel, day)).filter((r) => r.state === 'done');
    const have = new Set(done.map((r) => r.merchant_id));
    return accounts.some((a) => !have.has(a.merchantId));
  }

  private async assertOpen(channel: string, day: string): Promise<void> {
    const s = await this.signOffOf(channel, day);
    if (s) {
      throw new RunError(
        'day_signed_off',
        `${channel} ${day} was signed off by ${s.signedBy} at ${s.signedAt}; it cannot change. Record a correction as an adjustment on a later day.`,
      );
    }
  }

  /**
   * Downloads one merchant's statement into the file store. A statement already downloaded
   * is not fetched again unless `force`; a new download with other content is a new file
   * (the old one stays: files are named by their content).
   */
  async download(
    channel: Channel,
    day: string,
    account: ChannelAccount,
    options: { force?: boolean } = {},
  ): Promise<DownloadOutcome> {
    const prev = await this.repo.download(channel, day, account.merchantId);
    if (prev && !options.force && (prev.state === 'ready' || prev.state === 'empty')) {
      return {
        merchantId: account.merchantId,
        accountId: prev.account_id,
        state: prev.state,
        sha256: prev.file_sha256,
        error: null,
      };
    }
    const impl = this.deps.channels.get(channel);
    let state: DownloadState;
    let sha256: string | null = prev?.file_sha256 ?? null;
    let error: string | null = null;
    try {
      if (!impl?.fetchStatement) throw new Error(`the ${channel} channel is not registered or has no statements`);
      const r = await impl.fetchStatement(this.deps.contextFor(account), day);
      if (r.state === 'ready') {
        const f = await this.deps.files.put(r.body, {
          kind: 'statement',
          channel,
          day,
          meta: {
            fileName: r.fileName,
            contentType: r.contentType ?? null,
            merchantId: account.merchantId,
            accountId: account.id,
          },
        });
        sha256 = f.sha256;
        state = 'ready';
      } else if (r.state === 'empty') {
        state = 'empty';
      } else {
        state = 'not_ready';
        error = r.reason;
      }
    } catch (err) {
      state = 'failed';
      error = (err as Error).message;
    }
    await this.repo.saveDownload({
      channel,
      day,
      merchantId: account.merchantId,
      accountId: account.id,
      state,
      sha256,
      attempts: (prev?.attempts ?? 0) + 1,
      error,
      createdAt: prev?.created_at,
    });
    this.deps.log.info({ channel, day, merchant: account.merchantId, state, sha256, error }, 'statement download');
    return { merchantId: account.merchantId, accountId: account.id, state, sha256, error };
  }

  /**
   * Reconciles a channel-day for every merchant with an account on the channel: downloads
   * what is missing (unless a statement is given), matches, and records the outcome.
   * Running the same day again gives the same result and adds nothing new.
   */
  async reconcileDay(
    channel: Channel,
    date: string,
    options: {
      actor?: string;
      merchantId?: string;
      statement?: { body: Buffer; fileName: string };
      forceDownload?: boolean;
      /** Who started the run from the back office: commits with the run's first record. */
      audit?: AuditEntry;
    } = {},
  ): Promise<DayRun> {
    checkDay(date);
    // One run of a channel-day at a time in this process (the schedule and an HQ click
    // may meet); a second caller waits, then runs on what the first recorded.
    const key = `${channel}|${date}`;
    const before = this.running.get(key) ?? Promise.resolve();
    const mine = before.catch(() => undefined).then(() => this.reconcileDayNow(channel, date, options));
    const tail = mine.catch(() => undefined);
    this.running.set(key, tail);
    try {
      return await mine;
    } finally {
      if (this.running.get(key) === tail) this.running.delete(key);
    }
  }

  private readonly running = new Map<string, Promise<unknown>>();

  private async reconcileDayNow(
    channel: Channel,
    date: string,
    options: {
      actor?: string;
      merchantId?: string;
      statement?: { body: Buffer; fileName: string };
      forceDownload?: boolean;
      audit?: AuditEntry;
    },
  ): Promise<DayRun> {
    await this.assertOpen(channel, date);
    const actor = options.actor ?? 'system';
    const accounts = await this.accountsOf(channel, options.merchantId);
    if (options.statement && accounts.length !== 1) {
      throw new RunError(
        'bad_argument',
        `a given statement belongs to one merchant, but ${accounts.length} merchants have a ${channel} account: name the merchant`,
      );
    }
    // A day with no account on the channel records nothing but who asked.
    if (accounts.length === 0 && options.audit)
      await auditInsert(this.deps.store.db, options.audit, this.deps.clock.now()).execute();
    let audit = options.audit;
    const downloads: DownloadOutcome[] = [];
    const merchants: DayRun['merchants'] = [];
    const summaries: ReconcileSummary[] = [];
    const differences: Difference[] = [];
    for (const account of accounts) {
      let dl: DownloadOutcome;
      if (options.statement) {
        const f = await this.deps.files.put(options.statement.body, {
          kind: 'statement',
          channel,
          day: date,
          meta: { fileName: options.statement.fileName, merchantId: account.merchantId, given: true },
        });
        dl = { merchantId: account.merchantId, accountId: account.id, state: 'ready', sha256: f.sha256, error: null };
        const prev = await this.repo.download(channel, date, account.merchantId);
        await this.repo.saveDownload({
          channel,
          day: date,
          merchantId: account.merchantId,
          accountId: prev?.account_id ?? account.id,
          state: 'ready',
          sha256: f.sha256,
          attempts: prev?.attempts ?? 1,
          error: null,
          createdAt: prev?.created_at,
        });
      } else {
        dl = await this.download(channel, date, account, { force: options.forceDownload });
      }
      downloads.push(dl);
      const m = await this.runMerchant(channel, date, account.merchantId, dl, actor, audit);
      audit = undefined;
      merchants.push({
        merchantId: account.merchantId,
        runId: m.runId,
        state: m.state,
        summary: m.summary,
        error: m.error,
      });
      if (m.summary) summaries.push(m.summary);
      differences.push(...m.differences);
    }
    return { channel, date, summary: addSummaries(channel, date, summaries), merchants, downloads, differences };
  }

  private async runMerchant(
    channel: Channel,
    date: string,
    merchantId: string,
    dl: DownloadOutcome,
    actor: string,
    audit?: AuditEntry,
  ): Promise<{
    runId: string;
    state: 'done' | 'failed' | 'no_statement';
    summary: ReconcileSummary | null;
    error: string | null;
    differences: Difference[];
  }> {
    const runId = await this.repo.startRun({ channel, day: date, merchantId, sha256: dl.sha256, actor }, audit);
    const finish = async (
      state: 'done' | 'failed' | 'no_statement',
      set: { layout?: string | null; summary?: ReconcileSummary | null; error?: string | null },
    ): Promise<void> => {
      await this.repo.finishRun(runId, state, {
        layout: set.layout ?? null,
        summary: set.summary ? JSON.stringify(set.summary) : null,
        error: set.error ?? null,
      });
    };
    if (dl.state === 'not_ready' || dl.state === 'failed') {
      await finish('no_statement', { error: dl.error ?? dl.state });
      return { runId, state: 'no_statement', summary: null, error: dl.error, differences: [] };
    }
    const carried = await this.carriedSuspense(channel, date, merchantId);
    const rows = await platformRows(this.deps.store, {
      channel,
      date,
      merchantId,
      windowMs: this.windowMs,
      carried: new Set(carried.keys()),
    });
    let result: ReconcileResult;
    let settlement: SettlementLine[] = [];
    try {
      if (dl.state === 'empty') {
        result = this.reconcileWithoutStatement(channel, date, rows);
      } else {
        const name = `${channel}-${date}-${dl.sha256!.slice(0, 12)}`;
        settlement = await this.settlementOf(channel, date, dl.sha256!, name);
        result = await reconcileStreams({
          channel,
          date,
          statement: this.deps.files.stream(dl.sha256!),
          statementName: name,
          platform: (async function* () {
            yield* rows;
          })(),
          windowMinutes: this.windowMs / 60_000,
        });
      }
    } catch (err) {
      // The raw file stays in the file store (and the download row keeps pointing at it)
      // for a retry; the rejected run is recorded with its report.
      const msg = err instanceof ReconcileError ? `${err.code}: ${err.report()}` : (err as Error).message;
      await finish('failed', { error: msg });
      this.deps.log.warn({ channel, date, merchant: merchantId, err: msg }, 'reconciliation failed');
      if (err instanceof ReconcileError) throw new RunError('statement_rejected', msg);
      throw err;
    }
    try {
      // Another bridge instance may be recording the same day at this moment (the morning
      // schedule on one, "Reconcile again" on another): a version number taken under us is
      // read again and the step retried. Each step compares with what is recorded, so the
      // second run adds only what the first did not.
      for (let attempt = 1; ; attempt++) {
        try {
          // One transaction: the other run sees all of this run's versions or none of them.
          await this.deps.store.db.transaction().execute(async (trx) => {
            await this.recordDifferences(channel, date, merchantId, result.differences, runId, trx);
            await this.clearCarried(channel, date, merchantId, carried, result.differences, trx);
          });
          await this.recordSettlement(channel, date, merchantId, runId, settlement);
          break;
        } catch (err) {
          if (!isUniqueViolation(err) || attempt >= 5) throw err;
        }
      }
    } catch (err) {
      // The run never stays "running": it failed, and says why.
      await finish('failed', { error: (err as Error).message });
      throw err;
    }
    await finish('done', { layout: result.layout, summary: result.summary });
    return { runId, state: 'done', summary: result.summary, error: null, differences: result.differences };
  }

  /** A day the channel says had no transactions: every platform row of the day is examined alone. */
  private reconcileWithoutStatement(
    channel: Channel,
    date: string,
    rows: Awaited<ReturnType<typeof platformRows>>,
  ): ReconcileResult {
    const ledger = new Ledger({ channel, day: dayNumberOf(date), date, windowMs: this.windowMs });
    const enc = new TextEncoder();
    let n = 0;
    for (const p of rows) {
      n++;
      const kind = p.kind === 'payment' ? KIND_PAYMENT : KIND_REFUND;
      const key = enc.encode(
        (kind === KIND_PAYMENT ? p.outTradeNo : channel === 'bank' ? p.channelTradeNo : p.outRefundNo) ?? '',
      );
      ledger.addPlatform(
        kind,
        key,
        0,
        key.length,
        platformStatusCode(kind, p.status),
        p.amountMinor,
        ledger.currencyCode(p.currency),
        p.paidAt ? Date.parse(p.paidAt) : NaN,
        n,
        p.carriedSuspense === true,
      );
    }
    const { summary, differences } = ledger.finish({ totalsCurrency: channel === 'bank' ? 'CNY' : undefined });
    return { summary, differences, layout: 'empty' };
  }

  /**
   * What the channel will pay each merchant for the day: the statement's rows, per currency,
   * each payment as it ended (one cancelled the same day, its fee returned, adds nothing), and
   * the fees added up exactly as the file gives them and rounded once per currency, as the
   * file's own fee total is.
   */
  private async settlementOf(channel: Channel, date: string, sha256: string, name: string): Promise<SettlementLine[]> {
    const rows = convertStatement(channel, this.deps.files.stream(sha256), { date, file: name });
    // A row the statement repeats is one payment (the matcher reports it as a duplicate).
    const seen = new Set<string>();
    const payments = new Map<string, { paid?: StandardBillRow; cancelled: boolean }>();
    const refunds: StandardBillRow[] = [];
    for (;;) {
      const r = await rows.next();
      if (r.done) break;
      const row = r.value;
      const ref =
        row.kind === 'payment' ? row.channelTradeNo || row.outTradeNo : row.channelRefundNo || row.outRefundNo;
      const id = `${row.kind}|${ref}|${row.status}`;
      if (seen.has(id)) continue;
      seen.add(id);
      if (row.kind === 'payment') {
        const p = payments.get(ref ?? '') ?? { cancelled: false };
        if (row.status === 'paid') p.paid ??= row;
        else if (row.status === 'revoked') p.cancelled = true;
        payments.set(ref ?? '', p);
      } else if (row.status === 'refund_succeeded') refunds.push(row);
    }
    const lines = new Map<string, SettlementLine & { feeMicro: number }>();
    const line = (currency: string) => {
      let l = lines.get(currency);
      if (!l)
        lines.set(
          currency,
          (l = {
            currency,
            payments: 0,
            grossMinor: 0,
            refunds: 0,
            refundsMinor: 0,
            feesMinor: 0,
            cnyChargedMinor: 0,
            feeMicro: 0,
          }),
        );
      return l;
    };
    const fee = (row: StandardBillRow) =>
      row.feeMicro ?? (row.feeMinor ?? 0) * 10 ** (6 - currencyExponent(row.currency));
    for (const { paid, cancelled } of payments.values()) {
      if (!paid) continue;
      const l = line(paid.currency); // a day whose only payment went back still shows, at zero
      if (cancelled) continue;
      l.payments++;
      l.grossMinor += paid.amountMinor;
      l.cnyChargedMinor += paid.cnyChargedMinor ?? 0;
      l.feeMicro += fee(paid);
    }
    for (const row of refunds) {
      const l = line(row.currency);
      l.refunds++;
      l.refundsMinor += row.amountMinor;
      // A refund gives back its share of the fee where the channel says so (a negative fee).
      l.feeMicro += fee(row);
    }
    return [...lines.values()].map(({ feeMicro, ...l }) => ({
      ...l,
      feesMinor: roundMicroToMinor(feeMicro, currencyExponent(l.currency)),
    }));
  }

  private async recordSettlement(
    channel: Channel,
    date: string,
    merchantId: string,
    runId: string,
    lines: SettlementLine[],
  ): Promise<void> {
    await this.repo.replaceSettlement(channel, date, merchantId, runId, lines);
  }

  /** The latest version of every difference of a channel-day (all merchants, or one). */
  async differences(
    filter: { channel?: string; day?: string; merchantId?: string; key?: string } = {},
    db?: Kysely<Database>,
  ): Promise<DifferenceView[]> {
    const rows = await this.repo.differenceVersions(filter, db);
    const latest = new Map<string, DifferenceView>();
    for (const r of rows) latest.set(r.diff_key, view(r));
    return [...latest.values()];
  }

  /** Every version of one difference, oldest first. */
  async history(key: string): Promise<DifferenceView[]> {
    return (await this.repo.differenceVersions({ key })).map(view);
  }

  private async addVersion(
    prev: DifferenceView | undefined,
    row: Omit<ReconDifferenceTable, 'seq' | 'version' | 'created_at'>,
    db?: Kysely<Database>,
  ): Promise<void> {
    await this.repo.addDifferenceVersion(row, (prev?.version ?? 0) + 1, db);
  }

  private async recordDifferences(
    channel: Channel,
    date: string,
    merchantId: string,
    found: Difference[],
    runId: string,
    db?: Kysely<Database>,
  ): Promise<void> {
    const current = new Map((await this.differences({ channel, day: date, merchantId }, db)).map((d) => [d.key, d]));
    const seen = new Set<string>();
    for (const d of found) {
      const key = diffKey(channel, date, merchantId, d);
      seen.add(key);
      const prev = current.get(key);
      const data = JSON.stringify(d);
      // Unchanged: nothing to record. Changed since it was resolved (the channel sent a
      // corrected file): open again, so HQ looks at it once more.
      if (prev && prev.state !== 'cleared' && JSON.stringify(prev.data) === data) continue;
      // Still in suspense, and the next day's run has taken it over (found it on its
      // statement, or made it a difference of its own): that day's word stands.
      if (prev && prev.action === CARRIED && d.category === 'suspense') continue;
      await this.addVersion(
        prev,
        {
          diff_key: key,
          channel,
          day: date,
          merchant_id: merchantId,
          category: d.category,
          kind: d.kind,
          ref_id: d.id,
          state: 'open',
          action: null,
          note: !prev
            ? `found by run ${runId}`
            : prev.state === 'resolved'
              ? `changed since it was resolved (run ${runId})`
              : `found again by run ${runId}`,
          linked_order: null,
          adjust_minor: null,
          actor: 'system',
          data,
        },
        db,
      );
    }
    for (const prev of current.values()) {
      // Not found any more: an open difference is cleared, and so is suspense the next day
      // had taken over (a corrected statement of this day has it), so the next day stops
      // looking for it.
      if (seen.has(prev.key) || !(prev.state === 'open' || (prev.state === 'cleared' && prev.action === CARRIED)))
        continue;
      await this.addVersion(
        prev,
        {
          diff_key: prev.key,
          channel,
          day: date,
          merchant_id: merchantId,
          category: prev.category,
          kind: prev.kind,
          ref_id: prev.id,
          state: 'cleared',
          action: null,
          note: `no longer found by run ${runId}`,
          linked_order: null,
          adjust_minor: null,
          actor: 'system',
          data: JSON.stringify(prev.data),
        },
        db,
      );
    }
  }

  /**
   * The day before's suspense items, by the id they are matched on: still open, taken over by
   * an earlier run of this day, or accepted by HQ so the day before could be signed off (not
   * those a corrected statement of that day no longer has). Each is looked for on this day's
   * statement every time this day is reconciled, so a re-run finds what the first run found.
   */
  private async carriedSuspense(
    channel: Channel,
    date: string,
    merchantId: string,
  ): Promise<Map<string, DifferenceView>> {
    const before = dateOfDayNumber(dayNumberOf(date) - 1);
    const list = await this.differences({ channel, day: before, merchantId });
    return new Map(
      list
        .filter((d) => d.category === 'suspense' && (d.state !== 'cleared' || d.action === CARRIED))
        .map((d) => [d.id, d]),
    );
  }

  /** Suspense of the day before is settled by this day's statement: found there, or now a difference of this day. */
  private async clearCarried(
    channel: Channel,
    date: string,
    merchantId: string,
    carried: Map<string, DifferenceView>,
    found: Difference[],
    db?: Kysely<Database>,
  ): Promise<void> {
    for (const s of carried.values()) {
      // Taken over once is enough; one HQ accepted keeps HQ's word.
      if (s.state !== 'open') continue;
      const now = found.find((d) => d.id === s.id && d.kind === s.kind);
      await this.addVersion(
        s,
        {
          diff_key: s.key,
          channel,
          day: s.day,
          merchant_id: merchantId,
          category: s.category,
          kind: s.kind,
          ref_id: s.id,
          state: 'cleared',
          action: CARRIED,
          note: now
            ? `not on ${date}'s statement either: now a ${now.category} difference of ${date}`
            : `found on ${date}'s statement`,
          linked_order: null,
          adjust_minor: null,
          actor: 'system',
          data: JSON.stringify(s.data),
        },
        db,
      );
    }
  }

  /** HQ's decision on a difference: a new version, with who, when and why. */
  async resolve(
    key: string,
    input: {
      action: string;
      note: string;
      actor: string;
      linkedOrder?: string;
      adjustMinor?: number;
      currency?: string;
    },
    /** Who resolved it, for the audit log: written in the resolution's transaction (its merchant filled in). */
    audit?: AuditEntry,
  ): Promise<DifferenceView> {
    const [prev] = await this.differences({ key });
    if (!prev) throw new RunError('not_found', `no difference ${key}`);
    await this.assertOpen(prev.channel, prev.day);
    if (!['accept', 'adjust', 'refund', 'link'].includes(input.action))
      throw new RunError('bad_argument', 'action must be accept, adjust, refund or link');
    const note = (input.note ?? '').trim();
    if (!note) throw new RunError('bad_argument', 'a resolution needs a note saying why');
    if (note.length > 2000) throw new RunError('bad_argument', 'a note is at most 2000 characters');
    if (prev.state === 'cleared')
      throw new RunError('conflict', 'this difference was cleared by a later run; there is nothing to resolve');
    let linked: string | null = null;
    let adjust: number | null = null;
    if (input.action === 'link') {
      const ref = (input.linkedOrder ?? '').trim();
      if (!ref) throw new RunError('bad_argument', 'link needs the order (its id, out_trade_no or channel order no)');
      const orderId = await this.repo.orderIdOf(prev.merchantId, ref);
      if (!orderId) throw new RunError('bad_argument', `merchant ${prev.merchantId} has no order "${ref}"`);
      linked = orderId;
    }
    if (input.action === 'adjust') {
      if (input.adjustMinor === undefined || !Number.isSafeInteger(input.adjustMinor) || input.adjustMinor === 0) {
        throw new RunError(
          'bad_argument',
          'adjust needs a whole, non-zero amount in minor units (negative takes from the merchant)',
        );
      }
      adjust = input.adjustMinor;
    }
    const currency = input.currency ?? prev.data.channelCurrency ?? prev.data.platformCurrency ?? 'NZD';
    await this.repo.resolveDifference(
      {
        diff_key: prev.key,
        channel: prev.channel,
        day: prev.day,
        merchant_id: prev.merchantId,
        category: prev.category,
        kind: prev.kind,
        ref_id: prev.id,
        state: 'resolved',
        action: input.action as ResolveAction,
        note,
        linked_order: linked,
        adjust_minor: adjust,
        actor: input.actor,
        data: JSON.stringify(prev.data),
      },
      prev.version + 1,
      adjust === null
        ? undefined
        : {
            channel: prev.channel,
            day: prev.day,
            merchant_id: prev.merchantId,
            currency,
            amount_minor: adjust,
            note,
            refers_to: prev.key,
            actor: input.actor,
          },
      audit && { ...audit, merchantId: prev.merchantId },
    );
    return (await this.differences({ key }))[0]!;
  }

  /**
   * A correction after a day was signed off: booked on an open (later) day. `audit` is written
   * in the booking's transaction, its target the new adjustment's id.
   */
  async addAdjustment(
    input: {
      channel: string;
      day: string;
      merchantId: string;
      currency: string;
      amountMinor: number;
      note: string;
      refersTo?: string;
      actor: string;
    },
    audit?: AuditEntry,
  ): Promise<string> {
    const channel = checkChannel(input.channel);
    checkDay(input.day);
    await this.assertOpen(channel, input.day);
    if (!Number.isSafeInteger(input.amountMinor) || input.amountMinor === 0)
      throw new RunError('bad_argument', 'an adjustment is a whole, non-zero amount in minor units');
    if (!/^[A-Z]{3}$/.test(input.currency)) throw new RunError('bad_argument', 'currency is an ISO code such as NZD');
    if (!input.note?.trim()) throw new RunError('bad_argument', 'an adjustment needs a note');
    if (!(await this.deps.accounts.getMerchant(input.merchantId)))
      throw new RunError('bad_argument', `no merchant ${input.merchantId}`);
    if (input.refersTo) {
      const [ref] = await this.differences({ key: input.refersTo });
      if (ref && ref.day >= input.day)
        throw new RunError('bad_argument', 'a correction goes on a day after the one it corrects');
    }
    return this.repo.addAdjustment(
      {
        channel,
        day: input.day,
        merchant_id: input.merchantId,
        currency: input.currency,
        amount_minor: input.amountMinor,
        note: input.note.trim(),
        refers_to: input.refersTo ?? null,
        actor: input.actor,
      },
      audit,
    );
  }

  /**
   * Locks a channel-day. Refused while differences are open or the day has not been reconciled.
   * `audit`, the back office's entry of who signed it off, commits with the sign-off.
   */
  async signOff(channel: string, day: string, actor: string, note?: string, audit?: AuditEntry): Promise<void> {
    checkChannel(channel);
    checkDay(day);
    await this.assertOpen(channel, day);
    const runs = await this.repo.runStates(channel, day);
    if (!runs.some((r) => r.state === 'done'))
      throw new RunError('conflict', `${channel} ${day} has not been reconciled yet`);
    const open = (await this.differences({ channel, day })).filter((d) => d.state === 'open');
    if (open.length > 0)
      throw new RunError(
        'conflict',
        `${channel} ${day} still has ${open.length} open difference${open.length === 1 ? '' : 's'}: resolve them first`,
      );
    try {
      await this.repo.insertSignOff(channel, day, actor, note?.trim() || null, audit);
    } catch (err) {
      // Signed off meanwhile (the primary key refused the second): say so. Any other failure
      // (the audit entry's insert among them) is not a conflict and stays what it was.
      await this.assertOpen(channel, day);
      throw err;
    }
  }

  /** Days × channels: state, counts, volume, fees, differences open and resolved. */
  async overview(from: string, to: string): Promise<DayCell[]> {
    checkDay(from);
    checkDay(to);
    const { runs, downloads, diffs, signoffs, settlements } = await this.repo.daysOf({ from, to });
    const cells = new Map<string, DayCell>();
    const cell = (channel: string, day: string): DayCell => {
      const k = `${day}|${channel}`;
      let c = cells.get(k);
      if (!c) {
        c = {
          channel,
          day,
          state: 'none',
          statementRows: 0,
          platformRows: 0,
          matched: 0,
          differences: 0,
          open: 0,
          resolved: 0,
          cleared: 0,
          channelMinor: 0,
          platformMinor: 0,
          feesMinor: 0,
          currency: channel === 'bank' ? 'CNY' : 'NZD',
          download: null,
          lastRunAt: null,
          signedBy: null,
          signedAt: null,
          error: null,
        };
        cells.set(k, c);
      }
      return c;
    };
    for (const d of downloads) {
      const c = cell(d.channel, d.day);
      c.download = worseDownload(c.download, d.state);
      if (d.state === 'failed' || d.state === 'not_ready') c.error = d.last_error;
    }
    // The latest run of each merchant counts.
    const latestRun = new Map<string, (typeof runs)[number]>();
    for (const r of runs) latestRun.set(`${r.channel}|${r.day}|${r.merchant_id}`, r);
    for (const r of latestRun.values()) {
      const c = cell(r.channel, r.day);
      c.lastRunAt = c.lastRunAt && c.lastRunAt > r.started_at ? c.lastRunAt : r.started_at;
      if (r.state === 'failed') {
        c.state = 'failed';
        c.error = r.error;
      } else if (r.state === 'no_statement') {
        if (c.state === 'none') c.state = 'waiting';
      } else if (c.state !== 'failed') {
        c.state = 'reconciled';
      }
      if (r.summary) {
        const s = JSON.parse(r.summary) as ReconcileSummary;
        c.statementRows += s.statementRows;
        c.platformRows += s.platformRows;
        c.matched += s.matched;
        c.currency = s.totals.currency;
        c.channelMinor += s.totals.channelMinor;
        c.platformMinor += s.totals.platformMinor;
      }
    }
    const latest = new Map<string, DiffRow>();
    for (const d of diffs) latest.set(d.diff_key, d);
    for (const d of latest.values()) {
      const c = cell(d.channel, d.day);
      if (d.state === 'open') c.open++;
      else if (d.state === 'resolved') c.resolved++;
      else c.cleared++;
      if (d.state !== 'cleared') c.differences++;
    }
    for (const s of settlements) cell(s.channel, s.day).feesMinor += Number(s.fees_minor);
    for (const s of signoffs) {
      const c = cell(s.channel, s.day);
      c.state = 'signed_off';
      c.signedBy = s.signed_by;
      c.signedAt = s.signed_at;
    }
    return [...cells.values()].sort((a, b) =>
      a.day === b.day ? a.channel.localeCompare(b.channel) : a.day < b.day ? 1 : -1,
    );
  }

  /** Per merchant, channel, day and currency: what the channel pays out, net of fees and refunds, plus adjustments. */
  async settlement(filter: {
    from: string;
    to: string;
    merchantId?: string;
    channel?: string;
  }): Promise<SettlementRow[]> {
    checkDay(filter.from);
    checkDay(filter.to);
    const { lines, adjustments, signed } = await this.repo.settlementOf(filter);
    const out = new Map<string, SettlementRow>();
    const row = (r: {
      merchant_id: string;
      merchant_name: string;
      channel: string;
      day: string;
      currency: string;
    }): SettlementRow => {
      const k = [r.merchant_id, r.channel, r.day, r.currency].join('|');
      let s = out.get(k);
      if (!s) {
        s = {
          merchantId: r.merchant_id,
          merchantName: r.merchant_name,
          channel: r.channel,
          day: r.day,
          currency: r.currency,
          payments: 0,
          grossMinor: 0,
          refunds: 0,
          refundsMinor: 0,
          feesMinor: 0,
          adjustmentsMinor: 0,
          netMinor: 0,
          signedOff: signed.has(`${r.channel}|${r.day}`),
        };
        out.set(k, s);
      }
      return s;
    };
    for (const r of lines) {
      const s = row(r);
      s.payments += r.payments;
      s.grossMinor += Number(r.gross_minor);
      s.refunds += r.refunds;
      s.refundsMinor += Number(r.refunds_minor);
      s.feesMinor += Number(r.fees_minor);
    }
    for (const r of adjustments) row(r).adjustmentsMinor += Number(r.amount_minor);
    for (const s of out.values()) s.netMinor = s.grossMinor - s.refundsMinor - s.feesMinor + s.adjustmentsMinor;
    return [...out.values()].sort(
      (x, y) =>
        x.day.localeCompare(y.day) ||
        x.merchantId.localeCompare(y.merchantId) ||
        x.channel.localeCompare(y.channel) ||
        x.currency.localeCompare(y.currency),
    );
  }

  /** The platform side of a channel-day as the orders CSV of docs/CONTRACTS.md (every merchant on the channel). */
  async platformExport(channel: Channel, date: string): Promise<string> {
    checkDay(date);
    const rows = [];
    for (const a of await this.accountsOf(channel)) {
      rows.push(
        ...(await platformRows(this.deps.store, { channel, date, merchantId: a.merchantId, windowMs: this.windowMs })),
      );
    }
    return platformCsv(rows);
  }

  async files(limit = 200): Promise<FileRow[]> {
    const rows = await this.repo.downloads(limit);
    const out: FileRow[] = [];
    for (const r of rows) {
      const info = r.file_sha256 ? await this.deps.files.info(r.file_sha256) : undefined;
      const run = await this.repo.latestRun(r.channel, r.day, r.merchant_id);
      out.push({
        channel: r.channel,
        day: r.day,
        merchantId: r.merchant_id,
        state: r.state,
        sha256: r.file_sha256,
        size: info?.size ?? null,
        fileName: (info?.meta.fileName as string | undefined) ?? null,
        attempts: r.attempts,
        lastError: r.last_error,
        updatedAt: r.updated_at,
        runState: run?.state ?? null,
        runError: run?.error ?? null,
      });
    }
    return out;
  }
}

export interface DayCell {
  channel: string;
  day: string;
  state: 'none' | 'waiting' | 'reconciled' | 'failed' | 'signed_off';
  statementRows: number;
  platformRows: number;
  matched: number;
  differences: number;
  open: number;
  resolved: number;
  cleared: number;
  channelMinor: number;
  platformMinor: number;
  feesMinor: number;
  currency: string;
  download: DownloadState | null;
  lastRunAt: string | null;
  signedBy: string | null;
  signedAt: string | null;
  error: string | null;
}

export interface SettlementRow {
  merchantId: string;
  merchantName: string;
  channel: string;
  day: string;
  currency: string;
  payments: number;
  grossMinor: number;
  refunds: number;
  refundsMinor: number;
  feesMinor: number;
  adjustmentsMinor: number;
  netMinor: number;
  signedOff: boolean;
}

export interface FileRow {
  channel: string;
  day: string;
  merchantId: string;
  state: DownloadState;
  sha256: string | null;
  size: number | null;
  fileName: string | null;
  attempts: number;
  lastError: string | null;
  updatedAt: string;
  runState: string | null;
  runError: string | null;
}

const DOWNLOAD_ORDER: DownloadState[] = ['ready', 'empty', 'not_ready', 'failed'];
function worseDownload(a: DownloadState | null, b: DownloadState): DownloadState {
  if (a === null) return b;
  return DOWNLOAD_ORDER.indexOf(b) > DOWNLOAD_ORDER.indexOf(a) ? b : a;
}

export const SETTLEMENT_COLUMNS = [
  'merchant_id',
  'merchant_name',
  'channel',
  'day',
  'currency',
  'payments',
  'gross_minor',
  'refunds',
  'refunds_minor',
  'fees_minor',
  'adjustments_minor',
  'net_minor',
  'signed_off',
] as const;

export function settlementCsv(rows: readonly SettlementRow[]): string {
  return csvDocument(
    SETTLEMENT_COLUMNS,
    rows.map((r) => [
      r.merchantId,
      r.merchantName,
      r.channel,
      r.day,
      r.currency,
      r.payments,
      r.grossMinor,
      r.refunds,
      r.refundsMinor,
      r.feesMinor,
      r.adjustmentsMinor,
      r.netMinor,
      r.signedOff,
    ]),
  );
}
