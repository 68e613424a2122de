import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import iconv from 'iconv-lite';
import { pgUrl } from '../support/stores.js';
import { pollApi } from '../support/merchant-api.js';
import {
  MD5_KEY,
  PARTNER,
  sleep,
  startAlipaySimProcess,
  startBridgeForAlipay,
  uniqueNo,
  type AlipaySimProcess,
  type BridgeUnderTest,
} from './alipay-support.js';
import { skipUnless } from '../support/skip.js';

// The bridge's Alipay client against `kauri sim alipay` over real HTTP, through the
// merchant API: web (create_forex_trade), precreate and spot, notifies, queries, cancels,
// refunds, and the simulator misbehaving.

let sim: AlipaySimProcess;

beforeAll(async () => {
  // The simulator runs 60× fast: notify retries after 2 s, a payment code lives 1 s, a
  // 15-minute order 15 s. The bridge runs 20× (spot polls every 150 ms, gives up after 2.25 s).
  sim = await startAlipaySimProcess({ KAURI_TIME_SCALE: '60' });
});

afterAll(async () => {
  await sim?.stop();
});

const channelNo = (payment: { id: string }) => payment.id.replace(/^pay_/, 'K');
/** The refund number the bridge sends Alipay (out_return_no). */
const refundNo = (refund: { id: string }) => refund.id.replace(/^ref_/, 'R');

function md5Sign(fields: Record<string, string>, key = MD5_KEY): string {
  const pre = Object.keys(fields)
    .filter((k) => k !== 'sign' && k !== 'sign_type' && fields[k] !== '')
    .sort()
    .map((k) => `${k}=${fields[k]}`)
    .join('&');
  return createHash('md5')
    .update(pre + key)
    .digest('hex');
}

describe('Alipay through the merchant API (sqlite)', () => {
  let b: BridgeUnderTest;
  beforeAll(async () => {
    b = await startBridgeForAlipay(sim, 'sqlite', { timeScale: 20 });
  });
  afterAll(async () => {
    await b?.stop();
  });

  async function create(mode: 'web' | 'precreate' | 'spot', amount: number, extra: Record<string, unknown> = {}) {
    const no = uniqueNo(mode);
    const res = await b.api('POST', '/api/v1/payments', {
      out_trade_no: no,
      amount_minor: amount,
      currency: 'NZD',
      channel: 'alipay',
      mode,
      description: 'Manuka honey 麦卢卡蜂蜜',
      ...extra,
    });
    return { no, res };
  }

  it('web: a signed create_forex_trade link; the cashier opens, the customer pays, the notify makes it paid', async () => {
    const { no, res } = await create('web', 1250, { return_url: 'https://localhost/thanks' });
    expect(res.status).toBeLessThan(300);
    expect(res.body).toMatchObject({ status: 'pending', channel: 'alipay', mode: 'web', amount_minor: 1250 });
    const link = new URL(res.body.redirect_url);
    expect(`${link.origin}${link.pathname}`).toBe(`${sim.url}/gateway.do`);
    const q = Object.fromEntries(link.searchParams);
    expect(q).toMatchObject({
      service: 'create_forex_trade',
      partner: PARTNER,
      _input_charset: 'UTF-8',
      currency: 'NZD',
      total_fee: '12.50',
      product_code: 'NEW_OVERSEAS_SELLER',
      timeout_rule: '15m',
      return_url: 'https://localhost/thanks',
      out_trade_no: channelNo(res.body),
      subject: 'Manuka honey 麦卢卡蜂蜜',
      sign_type: 'MD5',
    });
    expect(q.notify_url).toMatch(new RegExp(`^${b.bridge.url}/notify/alipay/cha_`));
    expect(q.sign).toBe(md5Sign(q));
    // Before the customer opens the link Alipay knows no trade; the order stays pending.
    expect(await sim.trade(channelNo(res.body))).toBeUndefined();
    await sleep(100);
    expect((await b.api('GET', `/api/v1/payments/${no}`)).body.status).toBe('pending');

    const open = await fetch(res.body.redirect_url, { redirect: 'manual' });
    expect(open.status).toBe(302);
    expect(open.headers.get('location')).toMatch(new RegExp(`^${sim.url}/cashier/`));
    const cashier = await (await fetch(open.headers.get('location')!)).text();
    expect(cashier).toContain('data-testid="sim-pay"');
    expect(cashier).toContain('12.50 NZD');

    const pay = await sim.control('/sim/pay', { out_trade_no: channelNo(res.body) });
    expect(pay.status).toBe(200);
    expect(pay.body.return_url).toMatch(/^https:\/\/localhost\/thanks\?.*trade_status=TRADE_FINISHED/);
    const paid = await b.waitFor(no, (p) => p.status === 'paid');
    expect(paid.channel_trade_no).toBe(pay.body.trade_no);
    expect(paid.redirect_url).toBeUndefined();
    const t = await sim.trade(channelNo(res.body));
    expect(t.status).toBe('TRADE_SUCCESS');
    // The order is paid once the notify is applied; the simulator records the bridge's
    // "success" a moment later (or the bridge's own query got there first): wait for it.
    await expect
      .poll(
        async () => {
          const { notifies } = await sim.get('/sim/orders');
          return notifies.find((x: any) => x.meta.out_trade_no === channelNo(res.body))?.status;
        },
        { timeout: 15_000 },
      )
      .toBe('acked');
    expect(await b.paidTransitions(paid.id)).toBe(1);
  });

  const refundOf = async (no: string, outRefundNo: string, until: (r: any) => boolean) =>
    pollApi(
      b.api,
      `refund ${outRefundNo}`,
      `/api/v1/payments/${no}/refunds`,
      (body) => until(body.data.find((r: any) => r.out_refund_no === outRefundNo) ?? {}),
      20_000,
    ).then((body) => body.data.find((r: any) => r.out_refund_no === outRefundNo));

  it("web: forex_refund is accepted (processing), then settled by Alipay's refund notify; an over-refund is refused and changes nothing", async () => {
    const { no, res } = await create('web', 2000);
    expect((await sim.control('/sim/pay', { redirect_url: res.body.redirect_url })).status).toBe(200);
    await b.waitFor(no, (p) => p.status === 'paid');

    const n1 = uniqueNo('r');
    const r1 = await b.api('POST', `/api/v1/payments/${no}/refunds`, {
      out_refund_no: n1,
      amount_minor: 500,
      reason: 'one jar broken',
    });
    expect(r1.status).toBe(201);
    // is_success=T only says Alipay accepted it (is_sync defaults to N).
    expect(r1.body).toMatchObject({ amount_minor: 500, status: 'processing' });
    expect((await sim.trade(channelNo(res.body))).refunds).toEqual([
      expect.objectContaining({ amount: '5.00', status: 'PROCESSING' }),
    ]);
    expect(await refundOf(no, n1, (r) => r.status === 'succeeded')).toMatchObject({ status: 'succeeded' });
    expect((await b.api('GET', `/api/v1/payments/${no}`)).body).toMatchObject({
      status: 'partially_refunded',
      refunded_minor: 500,
    });
    const { notifies } = await sim.get('/sim/orders');
    expect(notifies.find((x: any) => x.meta.out_return_no === refundNo(r1.body))).toMatchObject({ status: 'acked' });

    const over = await b.api('POST', `/api/v1/payments/${no}/refunds`, {
      out_refund_no: uniqueNo('r'),
      amount_minor: 1501,
    });
    expect(over.status).toBe(409);
    expect(over.body.error.code).toBe('refund_exceeds_remainder');

    const n2 = uniqueNo('r');
    expect(
      (await b.api('POST', `/api/v1/payments/${no}/refunds`, { out_refund_no: n2, amount_minor: 1500 })).body.status,
    ).toBe('processing');
    await refundOf(no, n2, (r) => r.status === 'succeeded');
    expect((await b.api('GET', `/api/v1/payments/${no}`)).body).toMatchObject({
      status: 'refunded',
      refunded_minor: 2000,
    });
    const t = await sim.trade(channelNo(res.body));
    expect(t.refunds.map((r: any) => [r.amount, r.status])).toEqual([
      ['5.00', 'SUCCESS'],
      ['15.00', 'SUCCESS'],
    ]);

    // Straight to the channel: Alipay itself refuses a refund beyond what was paid.
    const { ctx } = await b.context();
    const channel = b.bridge.channels.get('alipay')!;
    const order = (await b.bridge.orders.byOutTradeNo(b.merchantId, no))!;
    const refused = await channel.refund(ctx, {
      order: {
        orderId: order.id,
        channelOrderNo: order.channel_order_no,
        channelTradeNo: order.channel_trade_no,
        mode: 'web',
        amount: { minor: 2000, currency: 'NZD' },
        createdAt: new Date(),
      },
      channelRefundNo: 'Rover1',
      amount: { minor: 1, currency: 'NZD' },
    });
    expect(refused).toMatchObject({ state: 'failed' });
    expect((refused as { reason: string }).reason).toMatch(/REFUND_AMT_RESTRICTION/);
    expect((await sim.trade(channelNo(res.body))).refunds).toHaveLength(2);
  });

  it('web: a refund Alipay accepts and later fails (REFUND_FAIL notify) is recorded failed; the money is refundable again', async () => {
    const { no, res } = await create('web', 1200);
    await sim.control('/sim/pay', { redirect_url: res.body.redirect_url });
    await b.waitFor(no, (p) => p.status === 'paid');
    expect(
      (await sim.control('/sim/faults', { target: 'forex_refund', mode: 'refund-fail', count: 1 })).status,
    ).toBeLessThan(300);
    const n1 = uniqueNo('r');
    const r1 = await b.api('POST', `/api/v1/payments/${no}/refunds`, { out_refund_no: n1, amount_minor: 1200 });
    expect(r1.body.status).toBe('processing');
    expect(await refundOf(no, n1, (r) => r.status === 'failed')).toMatchObject({ status: 'failed' });
    const t = await sim.trade(channelNo(res.body));
    expect(t.refunds).toEqual([expect.objectContaining({ status: 'FAIL', error_code: 'MERCHANT_BALANCE_NOT_ENOUGH' })]);
    const { notifies } = await sim.get('/sim/orders');
    expect(notifies.find((x: any) => x.meta.out_return_no === refundNo(r1.body))).toMatchObject({ status: 'acked' });
    expect((await b.api('GET', `/api/v1/payments/${no}`)).body).toMatchObject({ status: 'paid', refunded_minor: 0 });
    // The customer still gets their money: a new refund goes through.
    const n2 = uniqueNo('r');
    await b.api('POST', `/api/v1/payments/${no}/refunds`, { out_refund_no: n2, amount_minor: 1200 });
    await refundOf(no, n2, (r) => r.status === 'succeeded');
    expect((await b.api('GET', `/api/v1/payments/${no}`)).body).toMatchObject({
      status: 'refunded',
      refunded_minor: 1200,
    });
  });

  it('web: with the refund notify lost, the bridge finds the result with alipay.acquire.refund.query', async () => {
    const { no, res } = await create('web', 700);
    await sim.control('/sim/pay', { redirect_url: res.body.redirect_url });
    await b.waitFor(no, (p) => p.status === 'paid');
    await sim.control('/sim/faults', { target: 'notify', mode: 'drop-notify', count: 1 });
    const n1 = uniqueNo('r');
    const r1 = await b.api('POST', `/api/v1/payments/${no}/refunds`, { out_refund_no: n1, amount_minor: 700 });
    expect(r1.body.status).toBe('processing');
    expect(await refundOf(no, n1, (r) => r.status === 'succeeded')).toMatchObject({ status: 'succeeded' });
    const { notifies } = await sim.get('/sim/orders');
    expect(notifies.find((x: any) => x.meta.out_return_no === refundNo(r1.body))).toMatchObject({ status: 'dropped' });

    // And straight to the channel: what the query reports, by out_return_no.
    const { ctx } = await b.context();
    const channel = b.bridge.channels.get('alipay')!;
    const order = (await b.bridge.orders.byOutTradeNo(b.merchantId, no))!;
    const ref = {
      orderId: order.id,
      channelOrderNo: order.channel_order_no,
      channelTradeNo: order.channel_trade_no,
      mode: 'web' as const,
      amount: { minor: 700, currency: 'NZD' as const },
      createdAt: new Date(),
    };
    expect(
      await channel.queryRefund!(ctx, {
        order: ref,
        channelRefundNo: refundNo(r1.body),
        amount: { minor: 700, currency: 'NZD' as const },
      }),
    ).toMatchObject({ state: 'succeeded' });
  });

  it('a payment in a currency the account cannot price in is refused before anything is stored', async () => {
    for (const mode of ['web', 'spot'] as const) {
      const no = uniqueNo('usd');
      const usd = await b.api('POST', '/api/v1/payments', {
        out_trade_no: no,
        amount_minor: 100,
        currency: 'USD',
        channel: 'alipay',
        mode,
        ...(mode === 'spot' ? { auth_code: '281234567890123439' } : {}),
      });
      expect(usd.status).toBe(400);
      expect(usd.body.error.code).toBe('currency_mismatch');
      expect((await b.api('GET', `/api/v1/payments/${no}`)).status).toBe(404);
    }
  });

  it('precreate: a qr_code URL; paying it through /sim/pay {qr_code} makes the order paid; spot.refund refunds in part', async () => {
    const { no, res } = await create('precreate', 880);
    expect(res.status).toBeLessThan(300);
    expect(res.body.qr_code).toMatch(new RegExp(`^${sim.url}/qr/`));
    expect((await sim.trade(channelNo(res.body))).status).toBe('WAIT_BUYER_PAY');
    const page = await (await fetch(res.body.qr_code)).text();
    expect(page).toContain('data-testid="sim-pay"');
    const pay = await sim.control('/sim/pay', { qr_code: res.body.qr_code });
    expect(pay.status).toBe(200);
    const paid = await b.waitFor(no, (p) => p.status === 'paid');
    expect(paid).toMatchObject({ channel_trade_no: pay.body.trade_no, rate: '4.2156', cny_charged_minor: 3710 });
    const r = await b.api('POST', `/api/v1/payments/${no}/refunds`, { out_refund_no: uniqueNo('r'), amount_minor: 80 });
    expect(r.body.status).toBe('succeeded');
    expect((await b.api('GET', `/api/v1/payments/${no}`)).body).toMatchObject({
      status: 'partially_refunded',
      refunded_minor: 80,
    });
    expect((await sim.trade(channelNo(res.body))).refunds).toEqual([expect.objectContaining({ amount: '0.80' })]);
  });

  it('precreate: closing an unpaid order cancels it at Alipay; a payment that still arrives is kept, flagged and refunded', async () => {
    const { no, res } = await create('precreate', 450);
    const closed = await b.api('POST', `/api/v1/payments/${no}/close`);
    expect(closed.body.status).toBe('closed');
    expect(await sim.trade(channelNo(res.body))).toMatchObject({ status: 'TRADE_CLOSED', cancel: 'close' });
    expect((await sim.control('/sim/pay', { qr_code: res.body.qr_code })).status).toBe(409);
    // The customer's payment races the close (forced in the simulator): never lost, given back.
    expect((await sim.control('/sim/pay', { qr_code: res.body.qr_code, force: true })).status).toBe(200);
    const after = await b.waitFor(no, (p) => p.status === 'refunded');
    expect(after).toMatchObject({ flagged: true, refunded_minor: 450 });
    expect((await sim.trade(channelNo(res.body))).refunds).toEqual([expect.objectContaining({ amount: '4.50' })]);
  });

  it('spot: a payment code pays at once, with the CNY charged', async () => {
    const code = (await sim.control('/sim/paycode', { behaviour: 'success' })).body.auth_code;
    expect(code).toMatch(/^28\d{16}$/);
    const { no, res } = await create('spot', 1000, { auth_code: code });
    expect(res.status).toBeLessThan(300);
    expect(res.body).toMatchObject({ status: 'paid', cny_charged_minor: 4216, rate: '4.2156' });
    // A spot payment refunds through spot.refund, in full too.
    const r = await b.api('POST', `/api/v1/payments/${no}/refunds`, {
      out_refund_no: uniqueNo('r'),
      amount_minor: 1000,
    });
    expect(r.body.status).toBe('succeeded');
    expect((await b.api('GET', `/api/v1/payments/${no}`)).body.status).toBe('refunded');
  });

  it('spot: the customer still typing a password (UNKNOW) resolves by query', async () => {
    const code = (await sim.control('/sim/paycode', { behaviour: 'userpaying:3' })).body.auth_code;
    const { no, res } = await create('spot', 600, { auth_code: code });
    expect(res.body.status).toBe('pending');
    const paid = await b.waitFor(no, (p) => p.status === 'paid');
    expect(paid.channel_trade_no).toMatch(/^\d{28}$/);
  });

  it('spot: UNKNOW that never resolves is queried, then cancelled; nothing is charged', async () => {
    const code = (await sim.control('/sim/paycode', { behaviour: 'userpaying:100000' })).body.auth_code;
    await sim.control('/sim/faults', { target: 'alipay.acquire.overseas.spot.pay', mode: 'unknown', count: 1 });
    const { no, res } = await create('spot', 700, { auth_code: code });
    expect(res.body.status).toBe('pending');
    const reversed = await b.waitFor(no, (p) => p.status === 'reversed');
    expect(reversed.paid_at).toBeUndefined();
    expect(await sim.trade(channelNo(res.body))).toMatchObject({ status: 'TRADE_CLOSED', cancel: 'close' });
  });

  it('spot: UNKNOW for a payment that did go through is found paid by the query, charged once', async () => {
    const code = (await sim.control('/sim/paycode', { behaviour: 'success' })).body.auth_code;
    await sim.control('/sim/faults', { target: 'alipay.acquire.overseas.spot.pay', mode: 'unknown', count: 1 });
    const { no, res } = await create('spot', 710, { auth_code: code });
    expect(res.body.status).toBe('pending');
    const paid = await b.waitFor(no, (p) => p.status === 'paid');
    const { orders } = await sim.get('/sim/orders');
    expect(orders.filter((o: any) => o.out_trade_no === channelNo(res.body))).toHaveLength(1);
    expect(await b.paidTransitions(paid.id)).toBe(1);
  });

  it('spot: a timed-out spot pay (answer never comes) is settled by query', async () => {
    const code = (await sim.control('/sim/paycode', { behaviour: 'success' })).body.auth_code;
    await sim.control('/sim/faults', { target: 'alipay.acquire.overseas.spot.pay', mode: 'timeout', count: 1 });
    const { no } = await create('spot', 720, { auth_code: code });
    await b.waitFor(no, (p) => p.status === 'paid');
  });

  it('spot: expired, reused, insufficient and unknown codes fail and charge nothing', async () => {
    const expired = (await sim.control('/sim/paycode', { behaviour: 'expired' })).body.auth_code;
    const e = await create('spot', 100, { auth_code: expired });
    expect(e.res.body.status).toBe('failed');

    const old = (await sim.control('/sim/paycode', { behaviour: 'success' })).body.auth_code;
    await sleep(1300); // a code lives 60 s; the simulator runs 60× fast
    expect((await create('spot', 100, { auth_code: old })).res.body.status).toBe('failed');

    const once = (await sim.control('/sim/paycode', { behaviour: 'success' })).body.auth_code;
    expect((await create('spot', 100, { auth_code: once })).res.body.status).toBe('paid');
    expect((await create('spot', 100, { auth_code: once })).res.body.status).toBe('failed');

    const poor = (await sim.control('/sim/paycode', { behaviour: 'insufficient' })).body.auth_code;
    expect((await create('spot', 100, { auth_code: poor })).res.body.status).toBe('failed');
    expect((await create('spot', 100, { auth_code: '281234567890123456' })).res.body.status).toBe('failed');
  });

  it('notifies: a duplicate delivery is applied once; a late one after the query found it paid changes nothing', async () => {
    await sim.control('/sim/faults', { target: 'notify', mode: 'duplicate-notify', count: 1 });
    const a = await create('precreate', 300);
    await sim.control('/sim/pay', { qr_code: a.res.body.qr_code });
    const paidA = await b.waitFor(a.no, (p) => p.status === 'paid');
    await sleep(300);
    expect(await b.paidTransitions(paidA.id)).toBe(1);

    await sim.control('/sim/faults', { target: 'notify', mode: 'late-notify:180', count: 1 }); // 3 s at 60×
    const l = await create('precreate', 310);
    await sim.control('/sim/pay', { qr_code: l.res.body.qr_code });
    const paidL = await b.waitFor(l.no, (p) => p.status === 'paid'); // found by the bridge's own query
    const deadline = Date.now() + 10_000;
    let job: any;
    while (Date.now() < deadline) {
      job = (await sim.get('/sim/orders')).notifies.find((x: any) => x.meta.out_trade_no === channelNo(l.res.body));
      if (job?.status === 'acked') break;
      await sleep(200);
    }
    expect(job.status).toBe('acked');
    expect(await b.paidTransitions(paidL.id)).toBe(1);
  });

  it('notifies: a tampered signature is refused (and retried by Alipay); the order is still settled by query', async () => {
    await sim.control('/sim/faults', { target: 'notify', mode: 'bad-signature', count: 1 });
    const { no, res } = await create('precreate', 320);
    await sim.control('/sim/pay', { qr_code: res.body.qr_code });
    await b.waitFor(no, (p) => p.status === 'paid');
    await sleep(300);
    const job = (await sim.get('/sim/orders')).notifies.find((x: any) => x.meta.out_trade_no === channelNo(res.body));
    expect(job.status).toBe('pending');
    expect(job.history[0]).toMatchObject({ status: 400, ok: false });
  });

  it('notifies: forged ones (right key, invented notify_id; wrong key; GBK body declared UTF-8) change nothing', async () => {
    const { no, res } = await create('precreate', 330);
    const { account } = await b.context();
    const notifyUrl = `${b.bridge.url}/notify/alipay/${account.id}`;
    const fields: Record<string, string> = {
      _input_charset: 'utf-8',
      notify_id: 'f0rged0000000000000000000000000000',
      notify_time: '2026-11-22 10:00:00',
      notify_type: 'trade_status_sync',
      out_trade_no: channelNo(res.body),
      trade_no: '2026112222001000009999999999',
      trade_status: 'TRADE_SUCCESS',
      total_fee: '3.30',
      currency: 'NZD',
      trans_currency: 'NZD',
    };
    const post = async (
      f: Record<string, string>,
      body?: Buffer | string,
      contentType = 'application/x-www-form-urlencoded',
    ) => {
      const r = await fetch(notifyUrl, {
        method: 'POST',
        headers: { 'content-type': contentType },
        body:
          body === undefined
            ? new URLSearchParams(f).toString()
            : typeof body === 'string'
              ? body
              : new Uint8Array(body),
      });
      return { status: r.status, text: await r.text() };
    };
    const forgedId = await post({ ...fields, sign: md5Sign(fields), sign_type: 'MD5' });
    expect(forgedId.text).toBe('fail');
    const wrongKey = await post({ ...fields, sign: md5Sign(fields, 'not-the-key'), sign_type: 'MD5' });
    expect(wrongKey.text).toBe('fail');
    const noCharset = { ...fields };
    delete (noCharset as Record<string, string | undefined>)._input_charset;
    // Signed without _input_charset but sent with it: the signature must cover it.
    expect((await post({ ...fields, sign: md5Sign(noCharset), sign_type: 'MD5' })).text).toBe('fail');
    const gbk = Buffer.concat([
      Buffer.from(`${new URLSearchParams({ ...fields, sign: md5Sign(fields), sign_type: 'MD5' }).toString()}&subject=`),
      iconv.encode('奇异果', 'gbk'),
    ]);
    expect((await post(fields, gbk)).text).toBe('fail');
    expect((await b.api('GET', `/api/v1/payments/${no}`)).body.status).toBe('pending');
    expect((await sim.trade(channelNo(res.body))).status).toBe('WAIT_BUYER_PAY');
  });

  it('rates: forex_rate_file gives decimal CNY-per-unit strings', async () => {
    const { ctx } = await b.context();
    const rates = await b.bridge.channels.get('alipay')!.fetchRates!(ctx, ['NZD', 'AUD']);
    expect(rates.map((r) => [r.currency, r.cnyPerUnit])).toEqual([
      ['AUD', '4.6712'],
      ['NZD', '4.2156'],
    ]);
    expect(rates[0]!.source).toBe('alipay:forex_rate_file');
    expect(rates[0]!.publishedAt.getTime()).toBeLessThanOrEqual(Date.now());
    // The FX service takes them: a quote for Alipay uses Alipay's rate.
    const report = await b.bridge.fx.pullAll(['alipay']);
    expect(report.failed).toEqual([]);
    const quote = await b.api('GET', '/api/v1/fx/quote?channel=alipay&amount_minor=1000&currency=NZD');
    expect(quote.status).toBe(200);
    expect(quote.body).toMatchObject({ channel: 'alipay', rate: '4.2156', amount_minor: 1000, currency: 'NZD' });
  });
});

describe.skipIf(
  skipUnless(pgUrl, 'KAURI_TEST_PG_URL is not set: the Alipay PostgreSQL tests are skipped (.ci/run sets it)'),
)('Alipay on PostgreSQL', () => {
  let b: BridgeUnderTest;
  beforeAll(async () => {
    b = await startBridgeForAlipay(sim, 'postgres');
  });
  afterAll(async () => {
    await b?.stop();
  });

  it('web and precreate paid, one refunded in part', async () => {
    const web = await b.api('POST', '/api/v1/payments', {
      out_trade_no: uniqueNo('pgw'),
      amount_minor: 1999,
      currency: 'NZD',
      channel: 'alipay',
      mode: 'web',
    });
    const qr = await b.api('POST', '/api/v1/payments', {
      out_trade_no: uniqueNo('pgq'),
      amount_minor: 999,
      currency: 'NZD',
      channel: 'alipay',
      mode: 'precreate',
    });
    expect((await sim.control('/sim/pay', { redirect_url: web.body.redirect_url })).status).toBe(200);
    expect((await sim.control('/sim/pay', { qr_code: qr.body.qr_code })).status).toBe(200);
    await b.waitFor(web.body.out_trade_no, (p) => p.status === 'paid');
    await b.waitFor(qr.body.out_trade_no, (p) => p.status === 'paid');
    const r = await b.api('POST', `/api/v1/payments/${web.body.out_trade_no}/refunds`, {
      out_refund_no: uniqueNo('r'),
      amount_minor: 999,
    });
    // Accepted by forex_refund, then settled on PostgreSQL by the refund notify.
    expect(r.body.status).toBe('processing');
    await pollApi(
      b.api,
      'refund',
      `/api/v1/payments/${web.body.out_trade_no}/refunds`,
      (body) => body.data[0]?.status === 'succeeded',
    );
    expect((await b.api('GET', `/api/v1/payments/${web.body.out_trade_no}`)).body).toMatchObject({
      status: 'partially_refunded',
      refunded_minor: 999,
    });
  });
});
