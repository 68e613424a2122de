import { createServer, type Server } from 'node:http';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, storeKinds, type TestDatabase } from '../../test/support/stores.js';
import type { Clock } from '../../protocol/clock.js';
import { KauriError } from '../../protocol/errors.js';
import { money } from '../../protocol/money.js';
import { ChannelRegistry, type ChannelAccount, type ChannelContext } from '../channels/channel.js';
import { EventLog } from '../events/event-log.js';
import { AccountsRepo } from '../store/accounts.js';
import type { Store } from '../store/db.js';
import { SecretBox } from '../store/secret-box.js';
import { FxService } from './service.js';

// The FX service on both stores, with a real HTTP rate source on loopback whose answers the
// test chooses (good, garbage, silent), and a clock the test moves.

const log = pino({ level: 'silent' });

function clockAt(start: number): Clock & { set(ms: number): void } {
  let now = start;
  return {
    now: () => new Date(now),
    duration: (ms) => ms,
    sleep: async () => undefined,
    set: (ms) => {
      now = ms;
    },
  };
}

describe.each(storeKinds())('FX service on %s', (kind) => {
  let db: TestDatabase;
  let store: Store;
  let server: Server;
  let url: string;
  let answer: () => { status: number; body: string } | 'hang';
  const t0 = Date.parse('2026-11-20T02:00:00Z');
  const clock = clockAt(t0);
  let fx: FxService;
  let merchantId: string;

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    store = await db.open();
    server = createServer((req, res) => {
      const a = answer();
      if (a === 'hang') return;
      res.writeHead(a.status, { 'content-type': 'application/json' }).end(a.body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/rate`;
    const accounts = new AccountsRepo(store, new SecretBox('fx-test-secret-key-0123456789'));
    merchantId = (await accounts.createMerchant({ name: 'FX test', fxMarkup: '0.035' })).id;
    fx = new FxService({
      store,
      accounts,
      channels: new ChannelRegistry(),
      events: new EventLog(store),
      clock,
      log,
      channelContext: (account: ChannelAccount) => ({ account, clock, log }) as unknown as ChannelContext,
      options: { bankRateUrl: url, pullTimeoutMs: 500 },
    });
  });

  afterAll(async () => {
    server?.closeAllConnections();
    server?.close();
    await store?.close();
    await db?.drop();
  });

  const rate = (v: string, publishedAt: number) => () => ({
    status: 200,
    body: JSON.stringify({ currency: 'NZD', cny_per_unit: v, published_at: new Date(publishedAt).toISOString() }),
  });

  it('keeps every fetch as history and uses the latest', async () => {
    answer = rate('4.2000', t0 - 5 * 60_000);
    expect((await fx.pullAll()).ok).toHaveLength(1);
    clock.set(t0 + 60_000);
    answer = rate('4.2500', t0);
    await fx.pullAll();
    const h = await fx.history({ channel: 'bank' });
    expect(h.map((r) => r.rate)).toEqual(['4.25', '4.2']);
    expect(h[0]).toMatchObject({
      channel: 'bank',
      source: 'bank',
      currency: 'NZD',
      publishedAt: new Date(t0).toISOString(),
      fetchedAt: new Date(t0 + 60_000).toISOString(),
    });
    expect((await fx.latest('bank', 'NZD'))!.rate).toBe('4.25');
  });

  it('the latest rate is the last one fetched, even after the clock steps back', async () => {
    // A fetch while the clock ran an hour ahead, then the clock corrected: the next fetch is
    // the current rate although its fetched_at is earlier.
    clock.set(t0 + 3_600_000);
    answer = rate('4.3000', t0 + 3_600_000);
    await fx.pullAll();
    clock.set(t0 + 120_000);
    answer = rate('4.3100', t0 + 60_000);
    await fx.pullAll();
    expect((await fx.latest('bank', 'NZD'))!.rate).toBe('4.31');
    clock.set(t0 + 60_000);
  });

  it("quotes with the merchant's markup, rounded up, and records it", async () => {
    answer = rate('4.2500', t0);
    const q = await fx.quote(merchantId, 'bank', money(1_234_567, 'NZD'));
    // 12,345.67 × 4.25 × 1.035 = 54,305.5159125 → 54,305.52
    expect(q).toMatchObject({
      cny_minor: 5_430_552,
      rate: '4.25',
      markup: '0.035',
      source: 'bank',
      rate_time: new Date(t0).toISOString(),
    });
    expect(Date.parse(q.expires_at) - clock.now().getTime()).toBe(600_000);
    const row = await store.db
      .selectFrom('fx_quotes')
      .selectAll()
      .where('id', '=', q.quote_id)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ exact_cny: '54305.5159125', rounding: 'up', cny_minor: 5_430_552 });
    const hook = await fx.quoteFor({
      merchantId,
      channel: 'bank',
      amount: money(1_234_567, 'NZD'),
      quoteId: q.quote_id,
    });
    expect(hook).toEqual({ quoteId: q.quote_id, pay: money(5_430_552, 'CNY'), rate: '4.25', rateTime: q.rate_time });
    expect(await fx.quoteFor({ merchantId, channel: 'wechat', amount: money(100, 'NZD') })).toBeUndefined();
  });

  it('keeps the last good rate when the source sends garbage or hangs, until it is stale', async () => {
    answer = () => ({ status: 200, body: '{"currency":"NZD","cny_per_unit":"abc"' });
    expect((await fx.pullAll()).failed[0]!.error).toMatch(/not JSON/);
    answer = () => ({ status: 200, body: JSON.stringify({ currency: 'NZD', cny_per_unit: '-4', published_at: 'x' }) });
    expect((await fx.pullAll()).failed[0]!.error).toMatch(/malformed/);
    answer = () => 'hang';
    expect((await fx.pullAll()).failed).toHaveLength(1);
    expect((await fx.quote(merchantId, 'bank', money(100, 'NZD'))).rate).toBe('4.25');
    clock.set(t0 + 3_600_001);
    const err = await fx.quote(merchantId, 'bank', money(100, 'NZD')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KauriError);
    expect((err as KauriError).code).toBe('rate_stale');
  });

  it('refuses expired or mismatched quotes', async () => {
    clock.set(t0 + 60_000);
    answer = rate('4.2500', t0);
    const q = await fx.quote(merchantId, 'bank', money(500, 'NZD'));
    await expect(
      fx.quoteFor({ merchantId, channel: 'bank', amount: money(501, 'NZD'), quoteId: q.quote_id }),
    ).rejects.toMatchObject({ code: 'invalid_request' });
    await expect(
      fx.quoteFor({ merchantId, channel: 'bank', amount: money(500, 'NZD'), quoteId: 'qt_other' }),
    ).rejects.toMatchObject({ code: 'invalid_request' });
    clock.set(t0 + 60_000 + 600_000);
    await expect(
      fx.quoteFor({ merchantId, channel: 'bank', amount: money(500, 'NZD'), quoteId: q.quote_id }),
    ).rejects.toMatchObject({ code: 'quote_expired' });
  });
});
