import type { Logger } from 'pino';
import type { Clock } from '../../protocol/clock.js';
import { KauriError } from '../../protocol/errors.js';
import { newId } from '../../protocol/ids.js';
import { isCurrency, money, type Money } from '../../protocol/money.js';
import type { ChannelName } from '../../protocol/payments.js';
import type { ChannelAccount, ChannelContext, ChannelRegistry, RateQuote } from '../channels/channel.js';
import { fetchBankRates } from '../channels/bank/channel.js';
import type { EventLog } from '../events/event-log.js';
import type { AccountsRepo } from '../store/accounts.js';
import { nowIso, type Store } from '../store/db.js';
import type { FxQuoteTable, FxRateTable } from '../store/schema.js';
import { estimateCnyMinor, isMarkup, isRate, payableCnyMinor } from './math.js';

// Rates, quotes and markup. Every rate fetched is kept with its source, channel,
// fetch and publication times. A quote turns a price into CNY from the current rate of a
// channel: for the bank channel the payable amount (markup, rounded up to the fen); for the
// wallets, which convert on their side, a display estimate. A rate older than its source's
// limit (by its published time and the bridge's clock) is never quoted.

export type FxChannel = ChannelName;

export interface FxOptions {
  /** Foreign currencies to pull (default NZD). */
  currencies?: string[];
  /** How often the rate job runs (protocol ms; default 10 minutes). */
  pullEveryMs?: number;
  /** Staleness limits by channel, from the rate's published time (defaults: wallets 26 h, bank 1 h). */
  maxAgeMs?: Partial<Record<FxChannel, number>>;
  /** How long a quote is honoured (default 10 minutes). */
  quoteTtlMs?: number;
  /** The bank rate source; when unset, the bank channel account's `rateUrl` (Kauri's rate adaptor: PayEase publishes none). */
  bankRateUrl?: string;
  /** A bank quote first refreshes the bank rate when the last fetch is older than this (default 0: every bank quote asks the source). */
  bankRefreshMs?: number;
  /** Per-source timeout of a pull (real ms, default 10 s). */
  pullTimeoutMs?: number;
}

export interface RateRow {
  id: string;
  channel: FxChannel;
  source: string;
  currency: string;
  rate: string;
  publishedAt: string;
  fetchedAt: string;
}

export interface PullReport {
  ok: Array<{ channel: FxChannel; source: string; currency: string; rate: string; published_at: string }>;
  failed: Array<{ channel: FxChannel; error: string }>;
  skipped: Array<{ channel: FxChannel; reason: string }>;
}

/** The answer of `GET /api/v1/fx/quote` (docs/CONTRACTS.md). */
export interface QuoteView {
  quote_id: string;
  channel: FxChannel;
  amount_minor: number;
  currency: string;
  cny_minor: number;
  rate: string;
  markup: string;
  source: string;
  rate_time: string;
  expires_at: string;
}

/** The channels whose payments are charged at a quote (the bank's, in CNY); the wallets convert themselves. */
export const QUOTED_CHANNELS: readonly ChannelName[] = ['bank'];

export const DEFAULT_MAX_AGE_MS: Record<FxChannel, number> = {
  wechat: 26 * 3_600_000,
  alipay: 26 * 3_600_000,
  bank: 3_600_000,
};
const FX_CHANNELS: FxChannel[] = ['wechat', 'alipay', 'bank'];

function toRow(r: FxRateTable): RateRow {
  return {
    id: r.id,
    channel: r.channel as FxChannel,
    source: r.source,
    currency: r.currency,
    rate: r.cny_per_unit,
    publishedAt: r.published_at,
    fetchedAt: r.fetched_at,
  };
}

function quoteView(q: FxQuoteTable): QuoteView {
  return {
    quote_id: q.id,
    channel: q.channel as FxChannel,
    amount_minor: Number(q.amount_minor),
    currency: q.currency,
    cny_minor: Number(q.cny_minor),
    rate: q.rate,
    markup: q.markup,
    source: q.source,
    rate_time: q.rate_time,
    expires_at: q.expires_at,
  };
}

function ago(ms: number): string {
  const m = Math.round(ms / 60_000);
  return m < 120 ? `${m} min` : `${Math.round(m / 60)} h`;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<T>((_, reject) => {
      t = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    }),
  ]);
}

export class FxService {
  readonly currencies: string[];
  private readonly maxAge: Record<FxChannel, number>;

  constructor(
    private readonly deps: {
      store: Store;
      accounts: AccountsRepo;
      channels: ChannelRegistry;
      events: EventLog;
      clock: Clock;
      log: Logger;
      /** A context for calling a channel with one of its accounts (PaymentService.channelContext). */
      channelContext: (account: ChannelAccount) => ChannelContext;
      options?: FxOptions;
    },
  ) {
    this.currencies = deps.options?.currencies ?? ['NZD'];
    this.maxAge = { ...DEFAULT_MAX_AGE_MS, ...deps.options?.maxAgeMs };
  }

  private get db() {
    return this.deps.store.db;
  }

  /** An account to ask a channel's rates with: any active one (rates are the channel's, not a merchant's). */
  private async anyAccount(channel: FxChannel): Promise<ChannelAccount | undefined> {
    const list = await this.deps.accounts.listChannelAccounts();
    const first = list.find((a) => a.channel === channel && a.active);
    return first ? this.deps.accounts.getChannelAccount(first.id) : undefined;
  }

  private async fetchFrom(channel: FxChannel, timeoutMs?: number): Promise<RateQuote[] | { skipped: string }> {
    const timeout = timeoutMs ?? this.deps.options?.pullTimeoutMs ?? 10_000;
    if (channel === 'bank' && this.deps.options?.bankRateUrl) {
      return withTimeout(
        fetchBankRates(this.deps.options.bankRateUrl, this.currencies, timeout),
        timeout + 1000,
        'bank rate source',
      );
    }
    const impl = this.deps.channels.get(channel);
    if (!impl?.fetchRates) return { skipped: `the ${channel} channel is not registered or has no rate source` };
    const account = await this.anyAccount(channel);
    if (!account) return { skipped: `no ${channel} channel account to ask` };
    return withTimeout(
      impl.fetchRates(this.deps.channelContext(account), this.currencies),
      timeout,
      `${channel} rate pull`,
    );
  }

  /** Pulls every source once; a source that fails keeps its last good rate (until that is stale). */
  async pullAll(only?: FxChannel[], timeoutMs?: number): Promise<PullReport> {
    const report: PullReport = { ok: [], failed: [], skipped: [] };
    await Promise.all(
      (only ?? FX_CHANNELS).map(async (channel) => {
        try {
          const got = await this.fetchFrom(channel, timeoutMs);
          if ('skipped' in got) {
            report.skipped.push({ channel, reason: got.skipped });
            return;
          }
          for (const q of got) {
            const row = await this.record(channel, q);
            report.ok.push({
              channel,
              source: row.source,
              currency: row.currency,
              rate: row.rate,
              published_at: row.publishedAt,
            });
          }
        } catch (err) {
          const error = (err as Error).message ?? String(err);
          this.deps.log.warn({ channel, err: error }, 'rate pull failed; the last good rate stays until it is stale');
          report.failed.push({ channel, error });
        }
      }),
    );
    return report;
  }

  /** Stores one fetched rate and announces a change of value. */
  async record(channel: FxChannel, q: RateQuote): Promise<RateRow> {
    if (!isCurrency(q.currency) || !isRate(q.cnyPerUnit) || Number.isNaN(q.publishedAt.getTime())) {
      throw new Error(`the ${channel} source gave an unusable rate (${q.currency} ${q.cnyPerUnit})`);
    }
    const previous = await this.latest(channel, q.currency);
    const now = this.deps.clock.now();
    let published = q.publishedAt;
    if (published.getTime() > now.getTime()) {
      // A source whose day starts before its publication hour dates the rate ahead of us;
      // it cannot be newer than the moment we got it.
      this.deps.log.info(
        { channel, published: published.toISOString() },
        'rate dated in the future; taken as published now',
      );
      published = now;
    }
    const row: FxRateTable = {
      id: newId('fxr'),
      channel,
      source: q.source,
      currency: q.currency,
      cny_per_unit: q.cnyPerUnit,
      published_at: nowIso(published),
      fetched_at: nowIso(now),
    };
    await this.db.insertInto('fx_rates').values(row).execute();
    if (!previous || previous.rate !== row.cny_per_unit) {
      await this.deps.events.append({
        type: 'fx.rate_changed',
        payload: {
          channel,
          source: row.source,
          currency: row.currency,
          rate: row.cny_per_unit,
          previous_rate: previous?.rate ?? null,
          published_at: row.published_at,
          fetched_at: row.fetched_at,
        },
      });
    }
    return toRow(row);
  }

  /**
   * The rate the source gave last (the latest fetch), whatever its age. "Last" is insertion
   * order (ids are monotonic ULIDs), not fetched_at: after the clock steps back, a row fetched
   * "in the future" must not hide the fresh ones behind it.
   */
  async latest(channel: FxChannel, currency: string): Promise<RateRow | undefined> {
    const r = await this.db
      .selectFrom('fx_rates')
      .selectAll()
      .where('channel', '=', channel)
      .where('currency', '=', currency)
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    return r ? toRow(r) : undefined;
  }

  async history(options: { channel?: FxChannel; currency?: string; limit?: number } = {}): Promise<RateRow[]> {
    let q = this.db.selectFrom('fx_rates').selectAll();
    if (options.channel) q = q.where('channel', '=', options.channel);
    if (options.currency) q = q.where('currency', '=', options.currency);
    return (
      await q
        .orderBy('fetched_at', 'desc')
        .orderBy('id', 'desc')
        .limit(options.limit ?? 100)
        .execute()
    ).map(toRow);
  }

  /** The current rate if it is fresh enough to quote; otherwise a typed error saying why. */
  async usableRate(channel: FxChannel, currency: string): Promise<RateRow> {
    const r = await this.latest(channel, currency);
    const limit = this.maxAge[channel];
    if (!r) {
      throw new KauriError(
        'rate_unavailable',
        channel === 'bank'
          ? `No ${currency} exchange rate has come from the bank rate source yet; no CNY amount can be quoted`
          : `rate unavailable: no ${channel} ${currency} rate yet`,
      );
    }
    const age = this.deps.clock.now().getTime() - Date.parse(r.publishedAt);
    if (age > limit) {
      if (channel === 'bank') {
        throw new KauriError(
          'rate_stale',
          `The bank's ${currency} exchange rate was published at ${r.publishedAt}, ${ago(age)} ago, beyond the ${ago(limit)} limit; no CNY amount can be quoted until a fresh rate arrives`,
        );
      }
      throw new KauriError(
        'rate_unavailable',
        `rate unavailable: the ${channel} ${currency} rate was published ${ago(age)} ago, beyond the ${ago(limit)} limit`,
      );
    }
    return r;
  }

  private async markupOf(merchantId: string): Promise<string> {
    const m = await this.deps.accounts.getMerchant(merchantId);
    if (!m) throw new KauriError('not_found', `No merchant "${merchantId}"`);
    if (!isMarkup(m.fx_markup))
      throw new KauriError('config_invalid', `The merchant's FX markup "${m.fx_markup}" is not a fraction below 1`);
    return m.fx_markup;
  }

  /** Makes (and keeps) a quote for `amount` on `channel`. */
  async quote(merchantId: string, channel: FxChannel, amount: Money): Promise<QuoteView> {
    if (amount.minor <= 0) throw new KauriError('invalid_amount');
    if (amount.currency === 'CNY')
      throw new KauriError('invalid_request', 'The amount is already in CNY: there is nothing to convert');
    if (channel === 'bank') await this.refreshBank(amount.currency);
    const rate = await this.usableRate(channel, amount.currency);
    const markup = channel === 'bank' ? await this.markupOf(merchantId) : '0';
    const calc =
      channel === 'bank'
        ? payableCnyMinor(amount.minor, amount.currency, rate.rate, markup)
        : estimateCnyMinor(amount.minor, amount.currency, rate.rate);
    const now = this.deps.clock.now();
    const row: FxQuoteTable = {
      id: newId('qt'),
      merchant_id: merchantId,
      channel,
      amount_minor: amount.minor,
      currency: amount.currency,
      cny_minor: calc.cnyMinor,
      rate: rate.rate,
      markup,
      exact_cny: calc.exact,
      rounding: channel === 'bank' ? 'up' : 'half_up',
      source: rate.source,
      rate_id: rate.id,
      rate_time: rate.publishedAt,
      created_at: nowIso(now),
      expires_at: nowIso(new Date(now.getTime() + this.deps.clock.duration(this.deps.options?.quoteTtlMs ?? 600_000))),
    };
    await this.db.insertInto('fx_quotes').values(row).execute();
    return quoteView(row);
  }

  async getQuote(merchantId: string, quoteId: string): Promise<QuoteView & { expired: boolean }> {
    const q = await this.db
      .selectFrom('fx_quotes')
      .selectAll()
      .where('id', '=', quoteId)
      .where('merchant_id', '=', merchantId)
      .executeTakeFirst();
    if (!q) throw new KauriError('not_found', `No quote "${quoteId}"`);
    return { ...quoteView(q), expired: Date.parse(q.expires_at) <= this.deps.clock.now().getTime() };
  }

  /** A bank quote is made on the freshest rate: refresh the bank source when the last fetch is not recent. */
  private async refreshBank(currency: string): Promise<void> {
    const last = await this.latest('bank', currency);
    const maxMs = this.deps.options?.bankRefreshMs ?? 0;
    if (
      last &&
      maxMs > 0 &&
      this.deps.clock.now().getTime() - Date.parse(last.fetchedAt) < this.deps.clock.duration(maxMs)
    )
      return;
    // Kept short: a slow source must not hold the customer; the last good rate (if fresh) still serves.
    const report = await this.pullAll(['bank'], Math.min(3000, this.deps.options?.pullTimeoutMs ?? 3000));
    if (report.failed.length) this.deps.log.warn({ failed: report.failed }, 'bank rate refresh before a quote failed');
  }

  /**
   * PaymentService's `quoteFor` hook: a bank payment is made against a quote (the one named,
   * or a fresh one), so the customer is asked exactly the CNY they were shown. Wallets need none.
   */
  async quoteFor(input: {
    merchantId: string;
    channel: ChannelName;
    amount: Money;
    quoteId?: string;
  }): Promise<{ quoteId: string; pay: Money; rate: string; rateTime: string } | undefined> {
    if (!QUOTED_CHANNELS.includes(input.channel)) return undefined;
    if (input.amount.currency === 'CNY') {
      // Already CNY: charged as is; the "quote" records that no conversion happened.
      return { quoteId: 'none', pay: input.amount, rate: '1', rateTime: nowIso(this.deps.clock.now()) };
    }
    let q: QuoteView;
    if (input.quoteId) {
      const found = await this.getQuote(input.merchantId, input.quoteId).catch((err: unknown) => {
        if (err instanceof KauriError && err.code === 'not_found')
          throw new KauriError('invalid_request', `quote_id "${input.quoteId}" is not one of your quotes`);
        throw err;
      });
      if (found.channel !== 'bank')
        throw new KauriError(
          'invalid_request',
          `quote ${found.quote_id} is a ${found.channel} estimate, not a bank quote`,
        );
      if (found.amount_minor !== input.amount.minor || found.currency !== input.amount.currency) {
        throw new KauriError(
          'invalid_request',
          `quote ${found.quote_id} is for ${found.currency} ${found.amount_minor}, not ${input.amount.currency} ${input.amount.minor}`,
        );
      }
      if (found.expired)
        throw new KauriError('quote_expired', `Quote ${found.quote_id} expired at ${found.expires_at}; get a new one`);
      q = found;
    } else {
      q = await this.quote(input.merchantId, 'bank', input.amount);
    }
    return { quoteId: q.quote_id, pay: money(q.cny_minor, 'CNY'), rate: q.rate, rateTime: q.rate_time };
  }

  /** Display estimates for a counter's customer screen: one per wallet, or "rate unavailable". */
  async walletEstimates(
    amount: Money,
  ): Promise<
    Record<
      'wechat' | 'alipay',
      { cny_minor: number; rate: string; source: string; rate_time: string } | { unavailable: string }
    >
  > {
    const one = async (channel: 'wechat' | 'alipay') => {
      try {
        const r = await this.usableRate(channel, amount.currency);
        return {
          cny_minor: estimateCnyMinor(amount.minor, amount.currency, r.rate).cnyMinor,
          rate: r.rate,
          source: r.source,
          rate_time: r.publishedAt,
        };
      } catch (err) {
        if (err instanceof KauriError) return { unavailable: 'rate unavailable' };
        throw err;
      }
    };
    return { wechat: await one('wechat'), alipay: await one('alipay') };
  }
}
