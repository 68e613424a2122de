import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KyselyPlugin } from 'kysely';
import type { Bridge } from '../bridge.js';
import { ChannelRegistry } from '../channels/channel.js';
import { TestGateway } from '../orders/test-gateway.fixture.js';
import { systemClock } from '../../protocol/clock.js';
import { storeKinds } from '../../test/support/stores.js';
import { openHq, type HqTest } from '../../test/support/hq-routes.js';
import { scopeOfUser } from './scope.js';
import { exportStream } from './exports.js';
import { localDayStart } from './payments-query.js';

// The back office's payments over HTTP, on both stores: who sees which payment, who may refund
// how much, paging over equal timestamps, store-local dates, and streamed exports.

describe.each(storeKinds())('back-office payments (%s)', (kind) => {
  let hq: HqTest;
  let bridge: Bridge;
  let hook: Server;
  let hookUrl: string;
  const hookHits: string[] = [];
  const gateway = new TestGateway(systemClock());
  const extras = new Map<string, { storeIds?: string[]; refundLimitMinor?: number }>();
  const ids: Record<string, string> = {};
  const pay: Record<string, { id: string; out: string; channelOrderNo: string }> = {};
  const sessions: Record<string, { cookie: string; csrf: string }> = {};

  beforeAll(async () => {
    hook = createServer((req, res) => {
      hookHits.push(req.url ?? '');
      req.resume();
      res.end('ok');
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    hookUrl = `http://127.0.0.1:${(hook.address() as { port: number }).port}/hook`;
    hq = await openHq(kind, { channels: new ChannelRegistry().register(gateway) });
    bridge = hq.bridge;
    const a = bridge.accounts;
    ids.A = (
      await a.createMerchant({ name: 'Aroha Books', allowPrivateWebhooks: true, allowedDomains: ['127.0.0.1'] })
    ).id;
    ids.B = (await a.createMerchant({ name: 'Bellbird Cafe' })).id;
    ids.C = (await a.createMerchant({ name: 'Paging Ltd' })).id;
    ids.A1 = (await a.createStore({ merchantId: ids.A, name: 'Ponsonby' })).id;
    ids.A2 = (await a.createStore({ merchantId: ids.A, name: 'Newmarket' })).id;
    ids.B1 = (await a.createStore({ merchantId: ids.B, name: 'Cuba St' })).id;
    ids.C1 = (await a.createStore({ merchantId: ids.C, name: 'Queen St' })).id;
    for (const m of ['A', 'B', 'C'])
      ids[`acct${m}`] = (
        await a.createChannelAccount({ merchantId: ids[m]!, channel: 'wechat', config: {}, secrets: {} })
      ).id;
    const users: Array<[string, string, string | undefined]> = [
      ['hq', 'hq_admin', undefined],
      ['fin', 'hq_finance', undefined],
      ['ma', 'merchant_admin', ids.A],
      ['mb', 'merchant_admin', ids.B],
      ['sm', 'store_manager', ids.A],
      ['vw', 'viewer', ids.A],
    ];
    extras.set('sm', { storeIds: [ids.A1], refundLimitMinor: 5000 });
    // Store assignments and the refund limit live with the user: the session's scope carries them.
    for (const [u, role, merchantId] of users)
      await hq.users([{ username: u, role: role as 'hq_admin', merchantId, ...extras.get(u) }]);

    const paid = async (key: string, merchant: string, store: string, out: string, amount: number, settle = true) => {
      const o = await bridge.payments.createPayment(
        ids[merchant]!,
        { out_trade_no: out, amount_minor: amount, currency: 'NZD', channel: 'wechat', mode: 'native' },
        { storeId: ids[store] },
      );
      if (settle) {
        gateway.pay(o.channel_order_no);
        await bridge.payments.checkOrder(o.id);
      }
      pay[key] = { id: o.id, out, channelOrderNo: o.channel_order_no };
    };
    await paid('a1', 'A', 'A1', 'INV-1001', 10000);
    await paid('a2', 'A', 'A2', 'INV-1002', 2000);
    await paid('b1', 'B', 'B1', 'INV-1001', 7000);
    await paid('open', 'A', 'A1', '=HYPERLINK("x")', 500, false);
    for (const u of Object.keys(Object.fromEntries(users.map((x) => [x[0], 1])))) sessions[u] = await hq.login(u);
  });

  afterAll(async () => {
    await hq?.close();
    await new Promise((r) => hook.close(r));
  });

  const get = async (who: string, path: string) => {
    const res = await fetch(`${bridge.url}${path}`, { headers: { cookie: sessions[who]!.cookie } });
    const text = await res.text();
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, json, text, headers: res.headers };
  };
  const post = async (who: string, path: string, body: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${bridge.url}${path}`, {
      method: 'POST',
      headers: {
        cookie: sessions[who]!.cookie,
        'x-csrf-token': sessions[who]!.csrf,
        'content-type': 'application/json',
        ...headers,
      },
      body: JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as any };
  };
  /** The audit log as the bridge wrote it (the refund's and close's rows in their own transactions). */
  const audited = async () =>
    (await bridge.store.db.selectFrom('audit_log').selectAll().orderBy('id').execute()).map((r) => ({
      action: r.action,
      actor: { username: r.actor, role: r.role },
      merchantId: r.merchant_id,
      target: r.target,
    }));
  const outs = (items: Array<{ outTradeNo: string; merchantId: string }>) =>
    items.map((i) => `${i.merchantId === ids.A ? 'A' : i.merchantId === ids.B ? 'B' : 'C'}:${i.outTradeNo}`).sort();

  it('lists only what the role may read, newest first, with totals per currency', async () => {
    const hq = await get('hq', `/hq/api/payments?merchant=${ids.A}`);
    expect(hq.status).toBe(200);
    expect(outs(hq.json.items)).toEqual(['A:=HYPERLINK("x")', 'A:INV-1001', 'A:INV-1002']);
    const all = await get('hq', '/hq/api/payments');
    expect(all.json.items.map((i: any) => i.createdAt)).toEqual(
      [...all.json.items.map((i: any) => i.createdAt)].sort().reverse(),
    );
    const ma = await get('ma', '/hq/api/payments');
    expect(outs(ma.json.items)).toEqual(['A:=HYPERLINK("x")', 'A:INV-1001', 'A:INV-1002']);
    expect(ma.json.totals).toEqual([{ currency: 'NZD', count: 3, amount: { minor: 12500, currency: 'NZD' } }]);
    const sm = await get('sm', '/hq/api/payments');
    expect(outs(sm.json.items)).toEqual(['A:=HYPERLINK("x")', 'A:INV-1001']);
    // Asking for another merchant or store widens nothing.
    expect((await get('ma', `/hq/api/payments?merchant=${ids.B}`)).json.items).toEqual([]);
    expect((await get('sm', `/hq/api/payments?store=${ids.A2}`)).json.items).toEqual([]);
    const mb = await get('mb', '/hq/api/payments?status=paid');
    expect(outs(mb.json.items)).toEqual(['B:INV-1001']);
    const row = mb.json.items[0];
    expect(row).toMatchObject({
      merchantName: 'Bellbird Cafe',
      storeName: 'Cuba St',
      timezone: 'Pacific/Auckland',
      channel: 'wechat',
      status: 'paid',
      amount: { minor: 7000, currency: 'NZD' },
      refunded: { minor: 0, currency: 'NZD' },
      flagged: false,
    });
    expect((await get('vw', '/hq/api/payments?min=1000&max=5000')).json.items.map((i: any) => i.outTradeNo)).toEqual([
      'INV-1002',
    ]);
  });

  it('finds a payment by order number, Kauri id or channel number, within the scope', async () => {
    expect(outs((await get('hq', '/hq/api/payments?q=INV-1001')).json.items)).toEqual(['A:INV-1001', 'B:INV-1001']);
    expect(outs((await get('ma', '/hq/api/payments?q=INV-1001')).json.items)).toEqual(['A:INV-1001']);
    expect(outs((await get('hq', `/hq/api/payments?q=${pay.a2!.id}`)).json.items)).toEqual(['A:INV-1002']);
    const trade = `T${pay.b1!.channelOrderNo}`;
    expect(outs((await get('hq', `/hq/api/payments?q=${trade}`)).json.items)).toEqual(['B:INV-1001']);
    expect((await get('ma', `/hq/api/payments?q=${trade}`)).json.items).toEqual([]);
  });

  it("answers another merchant's or store's payment with 404, and shows HQ the raw messages", async () => {
    const other = await get('ma', `/hq/api/payments/${pay.b1!.id}`);
    expect(other.status).toBe(404);
    expect(other.json.error.code).toBe('not_found');
    const missing = await get('ma', '/hq/api/payments/ord_nope');
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual(other.json);
    expect((await get('sm', `/hq/api/payments/${pay.a2!.id}`)).status).toBe(404);
    const mine = await get('ma', `/hq/api/payments/${pay.a1!.id}`);
    expect(mine.status).toBe(200);
    expect(mine.json).toMatchObject({ outTradeNo: 'INV-1001', source: 'api', status: 'paid' });
    expect(mine.json.history.map((h: any) => h.state)).toContain('paid');
    expect(mine.json.messages).toBeUndefined();
    const hq = await get('hq', `/hq/api/payments/${pay.a1!.id}`);
    expect(hq.json.messages.length).toBeGreaterThan(0);
    expect(hq.json.messages[0]).toMatchObject({ channel: 'wechat', direction: expect.any(String) });
  });

  it('refunds through the payment flow within role and limit, once per idempotency key, audited', async () => {
    const path = `/hq/api/payments/${pay.a1!.id}/refunds`;
    const otherStore = await post('sm', `/hq/api/payments/${pay.a2!.id}/refunds`, { amountMinor: 100, reason: 'x' });
    expect(otherStore.status).toBe(404);
    const viewer = await post('vw', path, { amountMinor: 100, reason: 'broken' });
    expect([viewer.status, viewer.json.error.code]).toEqual([403, 'forbidden']);
    const finance = await post('fin', path, { amountMinor: 100, reason: 'broken' });
    expect([finance.status, finance.json.error.code]).toEqual([403, 'forbidden']);
    const over = await post('sm', path, { amountMinor: 5001, reason: 'broken' });
    expect([over.status, over.json.error.code]).toEqual([403, 'refund_limit_exceeded']);
    const noReason = await post('sm', path, { amountMinor: 3000, reason: ' ' });
    expect(noReason.status).toBe(400);
    const noCsrf = await fetch(`${bridge.url}${path}`, {
      method: 'POST',
      headers: { cookie: sessions.sm!.cookie, 'content-type': 'application/json' },
      body: JSON.stringify({ amountMinor: 3000, reason: 'broken' }),
    });
    expect(noCsrf.status).toBe(403);
    expect(gateway.calls.refund).toBe(0);

    const ok = await post('sm', path, { amountMinor: 3000, reason: 'broken spine' }, { 'idempotency-key': 'k1' });
    expect(ok.status).toBe(201);
    expect(ok.json).toMatchObject({
      status: 'succeeded',
      amount: { minor: 3000, currency: 'NZD' },
      reason: 'broken spine',
    });
    const again = await post('sm', path, { amountMinor: 3000, reason: 'broken spine' }, { 'idempotency-key': 'k1' });
    expect(again.json.id).toBe(ok.json.id);
    expect(gateway.calls.refund).toBe(1);
    const detail = await get('sm', `/hq/api/payments/${pay.a1!.id}`);
    expect(detail.json).toMatchObject({ status: 'partially_refunded', refunded: { minor: 3000 } });
    expect(detail.json.refunds).toHaveLength(1);
    // One row: the repeated request found the refund made and changed nothing.
    expect((await audited()).filter((e) => e.action === 'payment.refund')).toEqual([
      expect.objectContaining({
        actor: expect.objectContaining({ username: 'sm', role: 'store_manager' }),
        merchantId: ids.A,
        target: pay.a1!.id,
      }),
    ]);
    // Above what is left of the payment: the flow's own refusal.
    const tooMuch = await post('ma', path, { amountMinor: 7001, reason: 'all of it' });
    expect(tooMuch.status).toBe(409);
  });

  it('closes an open payment, and refuses a paid one', async () => {
    expect((await post('vw', `/hq/api/payments/${pay.open!.id}/close`, {})).status).toBe(403);
    const closed = await post('ma', `/hq/api/payments/${pay.open!.id}/close`, {});
    expect(closed.status).toBe(200);
    expect(closed.json.status).toBe('closed');
    const paid = await post('ma', `/hq/api/payments/${pay.a2!.id}/close`, {});
    expect([paid.status, paid.json.error.code]).toEqual([409, 'order_not_closable']);
    expect((await audited()).some((e) => e.action === 'payment.close' && e.target === pay.open!.id)).toBe(true);
  });

  it('resends a webhook delivery of the payment, with the redelivery throttle', async () => {
    await bridge.webhooks.setEndpoint(ids.A!, hookUrl);
    const event = await bridge.store.db
      .selectFrom('events')
      .select(['id', 'seq', 'type'])
      .where('merchant_id', '=', ids.A!)
      .where('payload', 'like', `%"id":"${pay.a2!.id}"%`)
      .executeTakeFirstOrThrow();
    const now = new Date().toISOString();
    await bridge.store.db
      .insertInto('webhook_deliveries')
      .values({
        id: 'whd_test1',
        merchant_id: ids.A!,
        event_id: event.id,
        event_seq: Number(event.seq),
        event_type: event.type,
        url: hookUrl,
        status: 'failed',
        attempts: 3,
        last_status_code: 500,
        last_error: 'HTTP 500',
        next_attempt_at: null,
        delivered_at: null,
        created_at: now,
        updated_at: now,
      })
      .onConflict((oc) => oc.doNothing())
      .execute();
    const detail = await get('ma', `/hq/api/payments/${pay.a2!.id}`);
    expect(detail.json.deliveries.map((d: any) => d.id)).toContain('whd_test1');
    expect((await post('mb', '/hq/api/deliveries/whd_test1/resend', {})).status).toBe(404);
    expect((await post('vw', '/hq/api/deliveries/whd_test1/resend', {})).status).toBe(403);
    const ok = await post('ma', '/hq/api/deliveries/whd_test1/resend', {});
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ id: 'whd_test1', state: 'delivered' });
    expect(hookHits).toEqual(['/hook']);
    const soon = await post('hq', '/hq/api/deliveries/whd_test1/resend', {});
    expect([soon.status, soon.json.error.code]).toEqual([429, 'rate_limited']);
    expect((await audited()).filter((e) => e.action === 'webhook.resend')).toHaveLength(1);
  });

  it("gives each row its own store's time zone (New Zealand's without a store), as the console shows it", async () => {
    const a = bridge.accounts;
    const d = (await a.createMerchant({ name: 'Two Shores Ltd' })).id;
    const syd = (await a.createStore({ merchantId: d, name: 'Darling Harbour', timezone: 'Australia/Sydney' })).id;
    await a.createChannelAccount({ merchantId: d, channel: 'wechat', config: {}, secrets: {} });
    const there = await bridge.payments.createPayment(
      d,
      { out_trade_no: 'SYD-1', amount_minor: 900, currency: 'NZD', channel: 'wechat', mode: 'native' },
      { storeId: syd },
    );
    const none = await bridge.payments.createPayment(d, {
      out_trade_no: 'API-1',
      amount_minor: 800,
      currency: 'NZD',
      channel: 'wechat',
      mode: 'native',
    });
    const list = await get('hq', `/hq/api/payments?merchant=${d}`);
    expect(Object.fromEntries(list.json.items.map((i: any) => [i.outTradeNo, i.timezone]))).toEqual({
      'SYD-1': 'Australia/Sydney',
      'API-1': 'Pacific/Auckland',
    });
    expect((await get('hq', `/hq/api/payments/${there.id}`)).json.timezone).toBe('Australia/Sydney');
    expect((await get('hq', `/hq/api/payments/${none.id}`)).json.timezone).toBe('Pacific/Auckland');
  });

  it('pages across equal timestamps without skipping or repeating, and dates are store-local', async () => {
    const at = '2026-03-01T11:30:00.000Z'; // 2026-03-02 00:30 in Auckland (NZDT, UTC+13)
    const rows = Array.from({ length: 23 }, (_, i) => ({
      id: `ord_page_${String(i).padStart(3, '0')}`,
      merchant_id: ids.C!,
      store_id: ids.C1!,
      terminal_id: null,
      checkout_id: null,
      out_trade_no: `P-${i}`,
      channel: 'wechat',
      channel_account_id: ids.acctC!,
      mode: 'native',
      amount_minor: 100 + i,
      currency: 'NZD',
      status: 'paid',
      refunded_minor: 0,
      description: null,
      channel_order_no: `CPAGE${i}`,
      channel_trade_no: null,
      qr_code: null,
      redirect_url: null,
      openid: null,
      quote_id: null,
      cny_quote_minor: null,
      cny_charged_minor: 500 + i,
      rate: '4.1',
      rate_time: at,
      return_url: null,
      request_hash: 'x',
      flagged: i === 5 ? 1 : 0,
      flag_reason: null,
      expires_at: null,
      created_at: i < 20 ? at : '2026-03-01T10:59:59.999Z',
      updated_at: at,
      paid_at: at,
      channel_paid_at: null,
      version: 1,
    }));
    await bridge.store.db.insertInto('orders').values(rows).execute();
    const seen: string[] = [];
    let cursor: string | null = '';
    let pages = 0;
    while (cursor !== null) {
      const res = await get('hq', `/hq/api/payments?merchant=${ids.C}&limit=7${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      if (pages === 0) expect(res.json.totals).toEqual([{ currency: 'NZD', count: 23, amount: expect.any(Object) }]);
      else expect(res.json.totals).toBeNull();
      seen.push(...res.json.items.map((i: any) => i.id));
      cursor = res.json.nextCursor;
      pages++;
    }
    expect(pages).toBe(4);
    const expected = [
      ...rows
        .slice(0, 20)
        .map((r) => r.id)
        .sort()
        .reverse(),
      ...rows
        .slice(20)
        .map((r) => r.id)
        .sort()
        .reverse(),
    ];
    expect(seen).toEqual(expected);

    // 11:30Z is the 2nd in Auckland; 10:59:59.999Z is still the 1st (midnight is 11:00Z).
    expect(localDayStart('2026-03-02', 'Pacific/Auckland')).toBe(Date.parse('2026-03-01T11:00:00Z'));
    const second = await get('hq', `/hq/api/payments?merchant=${ids.C}&from=2026-03-02&to=2026-03-02&limit=100`);
    expect(second.json.items).toHaveLength(20);
    const first = await get('hq', `/hq/api/payments?merchant=${ids.C}&to=2026-03-01&limit=100`);
    expect(first.json.items).toHaveLength(3);
    expect(
      (await get('hq', `/hq/api/payments?merchant=${ids.C}&flagged=true`)).json.items.map((i: any) => i.id),
    ).toEqual(['ord_page_005']);
    expect((await get('hq', '/hq/api/payments?cursor=garbage')).status).toBe(400);

    const report = await get('hq', `/hq/api/reports?period=day&from=2026-03-01&to=2026-03-02&merchant=${ids.C}`);
    expect(report.status).toBe(200);
    expect(report.json.rows).toEqual([
      expect.objectContaining({ period: '2026-03-01', storeName: 'Queen St', channel: 'wechat', count: 3 }),
      expect.objectContaining({ period: '2026-03-02', count: 20, charged: { minor: 20 * 500 + 190, currency: 'CNY' } }),
    ]);
    const month = await get('hq', `/hq/api/reports?period=month&from=2026-03-01&to=2026-03-31&merchant=${ids.C}`);
    expect(month.json.rows).toEqual([
      expect.objectContaining({ period: '2026-03', count: 23, gross: { minor: 23 * 100 + 253, currency: 'NZD' } }),
    ]);
    expect((await get('ma', `/hq/api/reports?merchant=${ids.C}&from=2026-03-01&to=2026-03-31`)).json.rows).toEqual([]);
  });

  it('exports CSV for all but viewers, neutralising formulas; Xero gets a signed statement', async () => {
    expect((await get('vw', '/hq/api/exports/payments.csv')).status).toBe(403);
    const csv = await get('ma', '/hq/api/exports/payments.csv');
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    const lines = csv.text.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^id,out_trade_no,merchant_id/);
    expect(lines).toHaveLength(4);
    expect(csv.text).toContain(`"'=HYPERLINK(""x"")"`);
    expect(csv.text).not.toContain('Bellbird');
    const refunds = await get('sm', '/hq/api/exports/refunds.csv');
    expect(refunds.text.trimEnd().split('\n')).toHaveLength(2);
    expect(refunds.text).toContain('broken spine');
    const xero = await get('ma', '/hq/api/exports/xero.csv');
    const x = xero.text.trimEnd().split('\n');
    expect(x[0]).toBe('Date,Amount,Payee,Description,Reference');
    expect(x.some((l) => /^\d{2}\/\d{2}\/\d{4},100\.00,WeChat Pay,.*,INV-1001$/.test(l))).toBe(true);
    expect(x.some((l) => /^\d{2}\/\d{2}\/\d{4},-30\.00,WeChat Pay,WeChat Pay refund at Ponsonby/.test(l))).toBe(true);
    expect(x.some((l) => l.includes('HYPERLINK'))).toBe(false); // closed: no money came in
    expect((await audited()).filter((e) => e.action.startsWith('export.')).length).toBeGreaterThanOrEqual(3);
  });

  it('streams a large export a page at a time: the first bytes come before the rows are all read', async () => {
    const n = 12_000;
    const base = Date.parse('2026-04-10T00:00:00Z');
    for (let start = 0; start < n; start += 1000) {
      const batch = Array.from({ length: Math.min(1000, n - start) }, (_, k) => {
        const i = start + k;
        const at = new Date(base + Math.floor(i / 3) * 1000).toISOString();
        return {
          id: `ord_big_${String(i).padStart(6, '0')}`,
          merchant_id: ids.C!,
          store_id: ids.C1!,
          channel: 'alipay',
          channel_account_id: ids.acctC!,
          mode: 'native',
          out_trade_no: `BIG-${i}`,
          amount_minor: 1000,
          currency: 'NZD',
          status: 'paid',
          refunded_minor: 0,
          channel_order_no: `CBIG${i}`,
          request_hash: 'x',
          flagged: 0,
          created_at: at,
          updated_at: at,
          version: 1,
        };
      });
      await bridge.store.db
        .insertInto('orders')
        .values(batch as any)
        .execute();
    }
    let queries = 0;
    const counter: KyselyPlugin = {
      transformQuery: (a) => a.node,
      transformResult: async (a) => {
        queries++;
        return a.result;
      },
    };
    const scope = scopeOfUser({ id: 'u', username: 'hq', role: 'hq_admin', merchant_id: null });
    const stream = await exportStream(bridge.store.db.withPlugin(counter), scope, 'payments', {
      merchantId: ids.C,
      channel: ['alipay'],
    });
    const it = stream[Symbol.asyncIterator]();
    const firstChunk = String((await it.next()).value);
    expect(firstChunk.startsWith('id,out_trade_no')).toBe(true);
    // The stores' zones, the names of the first page's merchant and store, and the first page
    // or two of 2,000 rows: not the seven page queries there are in all.
    expect(queries).toBeLessThanOrEqual(5);
    let text = firstChunk;
    for (let r = await it.next(); !r.done; r = await it.next()) text += String(r.value);
    expect(text.trimEnd().split('\n')).toHaveLength(n + 1);
    expect(queries).toBeGreaterThanOrEqual(10);

    const http = await get('fin', `/hq/api/exports/payments.csv?merchant=${ids.C}&channel=alipay`);
    expect(http.text.trimEnd().split('\n')).toHaveLength(n + 1);
    expect(http.headers.get('content-length')).toBeNull();
  });

  // Last: these add refunds and a payment that the lists and exports above do not expect.
  it("caps what one user refunds of a payment in all at the user's limit, not each part of it", async () => {
    // sm (limit 5000) refunded 3000 of a1 above; parts under the limit stop at the limit.
    const path = `/hq/api/payments/${pay.a1!.id}/refunds`;
    const upTo = await post('sm', path, { amountMinor: 2000, reason: 'second part' });
    expect(upTo.status).toBe(201);
    const past = await post('sm', path, { amountMinor: 1, reason: 'third part' });
    expect([past.status, past.json.error.code]).toEqual([403, 'refund_limit_exceeded']);
    expect(past.json.error.message).toContain('5000 minor units you have already refunded');
    const before = gateway.calls.refund;
    // Another user's refunds are theirs: a merchant admin without a limit still refunds.
    expect((await post('ma', path, { amountMinor: 100, reason: 'by the admin' })).status).toBe(201);
    expect(gateway.calls.refund).toBe(before + 1);
    const detail = await get('ma', `/hq/api/payments/${pay.a1!.id}`);
    expect(detail.json.refunded).toMatchObject({ minor: 5100 });
    const rows = await bridge.store.db
      .selectFrom('refunds')
      .select(['requested_by', 'amount_minor'])
      .where('order_id', '=', pay.a1!.id)
      .orderBy('created_at')
      .execute();
    expect(rows.map((r) => Number(r.amount_minor))).toEqual([3000, 2000, 100]);
    expect(new Set(rows.slice(0, 2).map((r) => r.requested_by)).size).toBe(1);
    expect(rows[2]!.requested_by).not.toBe(rows[0]!.requested_by);
  });

  it('lets no two parts sent at once take a user past the limit', async () => {
    // sm's limit is 5000; a2 is in A2, outside sm's stores, so a fresh payment in A1.
    const o = await bridge.payments.createPayment(
      ids.A!,
      { out_trade_no: 'INV-LIMIT', amount_minor: 9000, currency: 'NZD', channel: 'wechat', mode: 'native' },
      { storeId: ids.A1 },
    );
    gateway.pay(o.channel_order_no);
    await bridge.payments.checkOrder(o.id);
    const path = `/hq/api/payments/${o.id}/refunds`;
    const answers = await Promise.all(
      [1, 2, 3].map((i) => post('sm', path, { amountMinor: 2000, reason: `part ${i}` })),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([201, 201, 403]);
    const refunded = await bridge.store.db
      .selectFrom('refunds')
      .select('amount_minor')
      .where('order_id', '=', o.id)
      .execute();
    expect(refunded.reduce((sum, r) => sum + Number(r.amount_minor), 0)).toBe(4000);
  });
});
