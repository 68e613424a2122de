import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WechatChannel, NOTIFY_ACK, wechatDemoAccount } from '../../cloud-bridge/channels/wechat/index.js';
import { sign } from '../../cloud-bridge/channels/wechat/sign.js';
import { buildWechatXml } from '../../cloud-bridge/channels/wechat/xml.js';
import { money } from '../../protocol/money.js';
import { storeKinds } from '../support/stores.js';
import {
  METRICS_TOKEN,
  startBridgeForSim,
  startWechatSimProcess,
  uniqueNo,
  type BridgeUnderTest,
  type WechatSimProcess,
} from './wechat-support.js';

// The bridge's WeChat Pay client against `kauri sim wechat --tls`, over real HTTPS (and
// mutual TLS for refunds and reverses), through the merchant API.

const KEY = '192006250b4c09247ec02edce69f6a2d';

let sim: WechatSimProcess;

beforeAll(async () => {
  // The simulator runs 10× fast (codes expire in 6 s, refunds settle in 0.5 s, notify
  // retries every 1.5 s); the bridge 20× (micropay polls every 250 ms, gives up at 2 s).
  sim = await startWechatSimProcess({ KAURI_TIME_SCALE: '10' });
});

afterAll(async () => {
  await sim?.stop();
});

async function simOrder(outTradeNo: string): Promise<any> {
  const { orders } = await sim.get<{ orders: any[] }>('/sim/orders');
  return orders.find((o) => o.out_trade_no === outTradeNo);
}

describe.each(storeKinds())('WeChat Pay through the merchant API (%s)', (kind) => {
  let b: BridgeUnderTest;
  beforeAll(async () => {
    b = await startBridgeForSim(sim, kind);
  });
  afterAll(async () => {
    await b?.stop();
  });

  async function paidNative(amount = 888): Promise<{ no: string; payment: any }> {
    const no = uniqueNo('nat');
    const created = await b.api('POST', '/api/v1/payments', {
      out_trade_no: no,
      amount_minor: amount,
      currency: 'NZD',
      channel: 'wechat',
      mode: 'native',
      description: 'Manuka honey 麦卢卡蜂蜜',
    });
    expect(created.status).toBeLessThan(300);
    const pay = await sim.control('/sim/pay', { code_url: created.body.qr_code });
    expect(pay.status).toBe(200);
    const payment = await b.waitFor(no, (p) => p.status === 'paid');
    return { no, payment };
  }

  it('NATIVE: create → QR → customer pays → notify → paid, with the CNY charged and the rate', async () => {
    const no = uniqueNo('nat');
    const created = await b.api('POST', '/api/v1/payments', {
      out_trade_no: no,
      amount_minor: 888,
      currency: 'NZD',
      channel: 'wechat',
      mode: 'native',
    });
    expect(created.status).toBeLessThan(300);
    expect(created.body).toMatchObject({
      status: 'pending',
      amount_minor: 888,
      currency: 'NZD',
      channel: 'wechat',
      mode: 'native',
    });
    expect(created.body.qr_code).toMatch(/^weixin:\/\/wxpay\/bizpayurl\?pr=/);
    expect((await simOrder(created.body.id.replace(/^pay_/, 'K'))).trade_state).toBe('NOTPAY');

    expect((await sim.control('/sim/pay', { code_url: created.body.qr_code })).status).toBe(200);
    const paid = await b.waitFor(no, (p) => p.status === 'paid');
    expect(paid).toMatchObject({ status: 'paid', cny_charged_minor: 3685, rate: '4.15', refunded_minor: 0 });
    expect(paid.channel_trade_no).toMatch(/^42000\d+/);
    expect(paid.qr_code).toBeUndefined();

    // The notify was answered exactly as WeChat expects, and WeChat stopped sending it.
    let job: any;
    for (let i = 0; i < 100 && job?.status !== 'acked'; i++) {
      if (i) await new Promise((r) => setTimeout(r, 50));
      const { notifies } = await sim.get<{ notifies: any[] }>('/sim/orders');
      job = notifies.find((n) => n.meta.out_trade_no === created.body.id.replace(/^pay_/, 'K'));
    }
    expect(job.status).toBe('acked');
    const messages = await b.bridge.store.db
      .selectFrom('channel_messages')
      .selectAll()
      .where('order_id', 'is', null)
      .where('direction', '=', 'reply')
      .execute();
    expect(messages.some((m) => m.body === NOTIFY_ACK)).toBe(true);
  });

  it('micropay: USERPAYING → polled → paid', async () => {
    const { body: code } = await sim.control('/sim/paycode', { behaviour: 'userpaying:3' });
    const no = uniqueNo('mp');
    const created = await b.api('POST', '/api/v1/payments', {
      out_trade_no: no,
      amount_minor: 1250,
      currency: 'NZD',
      channel: 'wechat',
      mode: 'micropay',
      auth_code: code.auth_code,
    });
    expect(created.status).toBeLessThan(300);
    expect(created.body.status).toBe('pending');
    const paid = await b.waitFor(no, (p) => p.status === 'paid');
    expect(paid.cny_charged_minor).toBe(5188);
    expect((await simOrder(paid.id.replace(/^pay_/, 'K'))).trade_state).toBe('SUCCESS');
  });

  it('partial and full refunds over mutual TLS; an over-refund is refused', async () => {
    const { no } = await paidNative(888);
    const r1 = await b.api('POST', `/api/v1/payments/${no}/refunds`, {
      out_refund_no: `${no}-r1`,
      amount_minor: 300,
      reason: 'one jar broken',
    });
    expect(r1.status).toBe(201);
    expect(r1.body).toMatchObject({ amount_minor: 300, status: 'processing' });
    expect((await b.waitFor(no, (p) => p.status === 'partially_refunded')).refunded_minor).toBe(300);

    const over = await b.api('POST', `/api/v1/payments/${no}/refunds`, {
      out_refund_no: `${no}-r2`,
      amount_minor: 589,
    });
    expect(over.status).toBe(409);
    expect(over.body.error.code).toBe('refund_exceeds_remainder');

    const r2 = await b.api('POST', `/api/v1/payments/${no}/refunds`, { out_refund_no: `${no}-r3`, amount_minor: 588 });
    expect(r2.status).toBe(201);
    const done = await b.waitFor(no, (p) => p.status === 'refunded');
    expect(done.refunded_minor).toBe(888);
    const deadline = Date.now() + 15_000;
    let refunds: any[] = [];
    while (Date.now() < deadline) {
      refunds = (await b.api('GET', `/api/v1/payments/${no}/refunds`)).body.data;
      if (refunds.every((r) => r.status === 'succeeded')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(refunds.map((r) => [r.amount_minor, r.status]).sort()).toEqual([
      [300, 'succeeded'],
      [588, 'succeeded'],
    ]);
    const at = await simOrder(done.id.replace(/^pay_/, 'K'));
    expect(at.refunded_fee).toBe(888);
    expect(at.refunds.map((r: any) => r.refund_fee).sort()).toEqual([300, 588]);
  });
});

describe('WeChat Pay channel behaviour (SQLite)', () => {
  let b: BridgeUnderTest;
  beforeAll(async () => {
    b = await startBridgeForSim(sim, 'sqlite');
  });
  afterAll(async () => {
    await b?.stop();
  });

  const channelNo = (p: { id: string }) => p.id.replace(/^pay_/, 'K');

  async function createNative(amount = 500): Promise<any> {
    const no = uniqueNo('n');
    const created = await b.api('POST', '/api/v1/payments', {
      out_trade_no: no,
      amount_minor: amount,
      currency: 'NZD',
      channel: 'wechat',
      mode: 'native',
    });
    expect(created.status).toBeLessThan(300);
    return created.body;
  }

  async function micropay(behaviour: string, amount = 700): Promise<{ no: string; body: any; code: string }> {
    const { body: code } = await sim.control('/sim/paycode', { behaviour });
    const no = uniqueNo('m');
    const created = await b.api('POST', '/api/v1/payments', {
      out_trade_no: no,
      amount_minor: amount,
      currency: 'NZD',
      channel: 'wechat',
      mode: 'micropay',
      auth_code: code.auth_code,
    });
    return { no, body: created.body, code: code.auth_code };
  }

  async function notify(accountId: string, body: string | Buffer): Promise<{ status: number; text: string }> {
    const res = await fetch(`${b.bridge.url}/notify/wechat/${accountId}`, {
      method: 'POST',
      headers: { 'content-type': 'text/xml' },
      body: typeof body === 'string' ? body : new Uint8Array(body),
    });
    return { status: res.status, text: await res.text() };
  }

  async function accountId(): Promise<string> {
    return (await b.bridge.accounts.activeChannelAccount(b.merchantId, 'wechat'))!.id;
  }

  function signedNotify(fields: Record<string, string>, key = KEY): string {
    const f = {
      return_code: 'SUCCESS',
      return_msg: 'OK',
      appid: 'wx2421b1c4370ec43b',
      mch_id: '10000100',
      nonce_str: 'n0nce',
      sign_type: 'MD5',
      result_code: 'SUCCESS',
      ...fields,
    };
    return buildWechatXml({ ...f, sign: sign(f, key, 'MD5') });
  }

  async function eventsOf(paymentId: string, type: string): Promise<number> {
    const rows = await b.bridge.store.db.selectFrom('events').selectAll().where('type', '=', type).execute();
    return rows.filter((r: any) => String(r.payload).includes(paymentId)).length;
  }

  it('micropay: an immediate success is paid at once', async () => {
    const { body } = await micropay('success');
    expect(body.status).toBe('paid');
    expect(body.cny_charged_minor).toBe(2905);
  });

  it('micropay: USERPAYING that never resolves is reversed at the deadline', async () => {
    const { no, body } = await micropay('userpaying:1000');
    expect(body.status).toBe('pending');
    const after = await b.waitFor(no, (p) => p.status === 'reversed');
    expect(after.status).toBe('reversed');
    expect((await simOrder(channelNo(after))).trade_state).toBe('REVOKED');
  });

  it('micropay: SYSTEMERROR (the payment went through but the answer said otherwise) is settled by querying', async () => {
    await sim.control('/sim/faults', { target: '/pay/micropay', mode: 'unknown', count: 1 });
    const { no, body } = await micropay('success');
    expect(body.status).toBe('pending');
    const paid = await b.waitFor(no, (p) => p.status === 'paid');
    expect((await simOrder(channelNo(paid))).trade_state).toBe('SUCCESS');
  });

  it('micropay: an expired code and a reused code fail with the reason, nothing charged', async () => {
    const expired = await micropay('expired');
    expect(expired.body.status).toBe('failed');
    const first = await micropay('success');
    expect(first.body.status).toBe('paid');
    const no = uniqueNo('again');
    const reused = await b.api('POST', '/api/v1/payments', {
      out_trade_no: no,
      amount_minor: 700,
      currency: 'NZD',
      channel: 'wechat',
      mode: 'micropay',
      auth_code: first.code,
    });
    expect(reused.body.status).toBe('failed');
    const raw = await b.bridge.store.db
      .selectFrom('channel_messages')
      .selectAll()
      .where('order_id', '=', reused.body.id)
      .where('direction', '=', 'response')
      .execute();
    expect(raw.some((m) => m.body.includes('AUTH_CODE_ERROR'))).toBe(true);
    // A code that is not WeChat's is refused before anything is stored.
    const alien = await b.api('POST', '/api/v1/payments', {
      out_trade_no: uniqueNo('x'),
      amount_minor: 700,
      currency: 'NZD',
      channel: 'wechat',
      mode: 'micropay',
      auth_code: '280000000000000000',
    });
    expect(alien.status).toBe(400);
    expect(alien.body.error.code).toBe('auth_code_invalid');
  });

  it('a duplicate notify is applied once', async () => {
    const created = await createNative();
    await sim.control('/sim/faults', { target: 'notify', mode: 'duplicate-notify', count: 1 });
    await sim.control('/sim/pay', { code_url: created.qr_code });
    await b.waitFor(created.out_trade_no, (p) => p.status === 'paid');
    await new Promise((r) => setTimeout(r, 500));
    expect(await eventsOf(created.id, 'payment.paid')).toBe(1);
  });

  it('a late notify after the order was already settled by querying changes nothing', async () => {
    const created = await createNative();
    await sim.control('/sim/faults', { target: 'notify', mode: 'late-notify:20', count: 1 });
    await sim.control('/sim/pay', { code_url: created.qr_code });
    const paid = await b.waitFor(created.out_trade_no, (p) => p.status === 'paid');
    const before = await b.bridge.orders.byId(paid.id);
    // 20 s at the simulator's 10× is 2 s.
    const deadline = Date.now() + 10_000;
    let job: any;
    while (Date.now() < deadline) {
      const { notifies } = await sim.get<{ notifies: any[] }>('/sim/orders');
      job = notifies.find((n) => n.meta.out_trade_no === channelNo(paid));
      if (job?.status === 'acked') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(job.status).toBe('acked');
    const after = await b.bridge.orders.byId(paid.id);
    expect(after!.version).toBe(before!.version);
    expect(await eventsOf(created.id, 'payment.paid')).toBe(1);
  });

  it('concurrent deliveries of the same notify are applied exactly once, each acknowledged', async () => {
    const created = await createNative(420);
    const id = await accountId();
    const body = signedNotify({
      out_trade_no: channelNo(created),
      transaction_id: '4200000000000000000000000042',
      total_fee: '420',
      fee_type: 'NZD',
      cash_fee: '1743',
      cash_fee_type: 'CNY',
      rate: '415000000',
      time_end: '20261122101010',
      trade_type: 'NATIVE',
      openid: 'oY',
    });
    const replies = await Promise.all(Array.from({ length: 8 }, () => notify(id, body)));
    expect(replies.map((r) => r.text)).toEqual(Array(8).fill(NOTIFY_ACK));
    const paid = await b.waitFor(created.out_trade_no, (p) => p.status === 'paid');
    expect(paid).toMatchObject({
      channel_trade_no: '4200000000000000000000000042',
      cny_charged_minor: 1743,
      rate: '4.15',
    });
    expect(await eventsOf(created.id, 'payment.paid')).toBe(1);
  });

  it('a payment whose notify never arrives is found by querying', async () => {
    const created = await createNative(330);
    await sim.control('/sim/faults', { target: 'notify', mode: 'drop-notify', count: 1 });
    await sim.control('/sim/pay', { code_url: created.qr_code });
    const paid = await b.waitFor(created.out_trade_no, (p) => p.status === 'paid');
    expect(paid.channel_trade_no).toMatch(/^42000/);
    const { notifies } = await sim.get<{ notifies: any[] }>('/sim/orders');
    expect(notifies.find((n) => n.meta.out_trade_no === channelNo(created))?.status).toBe('dropped');
  });

  it('forged and mismatched notifies get FAIL and change nothing', async () => {
    const created = await createNative(500);
    const id = await accountId();
    const out = channelNo(created);
    const base = {
      out_trade_no: out,
      transaction_id: '4200000000000000000000000001',
      total_fee: '500',
      fee_type: 'NZD',
      cash_fee: '2075',
      cash_fee_type: 'CNY',
      time_end: '20261122101010',
      trade_type: 'NATIVE',
      openid: 'oX',
    };

    const wrongKey = await notify(id, signedNotify(base, 'f'.repeat(32)));
    expect(wrongKey.status).toBe(200);
    expect(wrongKey.text).toContain('<return_code><![CDATA[FAIL]]></return_code>');

    const tampered = signedNotify(base).replace('<total_fee><![CDATA[500]]>', '<total_fee><![CDATA[5]]>');
    expect((await notify(id, tampered)).text).toContain('FAIL');

    const noSignType = buildWechatXml(
      Object.fromEntries(Object.entries({ ...base }).filter(([k]) => k !== 'sign_type')),
    );
    expect((await notify(id, noSignType)).text).toContain('FAIL');

    // Authentic signatures, wrong money: refused (and the order flagged for a person), never paid.
    const wrongAmount = await notify(id, signedNotify({ ...base, total_fee: '400' }));
    expect(wrongAmount.text).toContain('FAIL');
    const wrongCurrency = await notify(id, signedNotify({ ...base, fee_type: 'USD' }));
    expect(wrongCurrency.text).toContain('FAIL');

    const now = await b.api('GET', `/api/v1/payments/${created.out_trade_no}`);
    expect(now.body.status).toBe('pending');
    expect(now.body.flagged).toBe(true);
    expect(await eventsOf(created.id, 'payment.paid')).toBe(0);

    // The genuine payment still goes through.
    await sim.control('/sim/pay', { code_url: created.qr_code });
    expect((await b.waitFor(created.out_trade_no, (p) => p.status === 'paid')).refunded_minor).toBe(0);
  });

  it('bad notify bodies: malformed XML, an XML bomb, oversized bodies, an unknown account', async () => {
    const id = await accountId();
    const malformed = await notify(id, '<xml><return_code>SUCCESS</xml>');
    expect(malformed.status).toBe(200);
    expect(malformed.text).toContain('FAIL');
    expect(malformed.text).toContain('xml_malformed');

    const bomb = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">]><xml><return_code>&lol2;</return_code></xml>`;
    const bombed = await notify(id, bomb);
    expect(bombed.text).toContain('xml_doctype');

    const big = await notify(id, `<xml><a>${'x'.repeat(100_000)}</a></xml>`);
    expect(big.text).toContain('xml_too_large');
    const huge = await notify(id, Buffer.alloc(2 * 1024 * 1024, 0x61));
    expect(huge.status).toBe(413);

    const unknown = await notify(
      'cha_doesnotexist',
      signedNotify({ out_trade_no: 'K1', transaction_id: '1', total_fee: '1', fee_type: 'NZD' }),
    );
    expect(unknown.status).toBe(404);

    // Nothing of an unverified notify is stored (anyone can post to this URL); each is counted.
    const kept = await b.bridge.store.db.selectFrom('channel_messages').select('body').execute();
    expect(
      kept.filter(
        (r) =>
          r.body.includes('lol1') ||
          r.body.includes('xxxxxxxxxx') ||
          r.body.includes('<return_code>SUCCESS</xml>') ||
          r.body.includes('xml_doctype'),
      ),
    ).toEqual([]);
    const metrics = await (
      await fetch(`${b.bridge.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
    ).text();
    expect(metrics).toMatch(/kauri_channel_notifies_total\{channel="wechat",result="unverified"\} [3-9]/);
  });

  it('a payment notified after the order was closed here is kept, refunded automatically and flagged', async () => {
    const created = await createNative(640);
    const closed = await b.api('POST', `/api/v1/payments/${created.out_trade_no}/close`);
    expect(closed.body.status).toBe('closed');
    expect((await simOrder(channelNo(created))).trade_state).toBe('CLOSED');
    // The customer's payment raced the close (forced at the simulator): WeChat notifies it.
    expect((await sim.control('/sim/pay', { out_trade_no: channelNo(created), force: true })).status).toBe(200);
    const after = await b.waitFor(created.out_trade_no, (p) => p.status === 'refunded', 30_000);
    expect(after).toMatchObject({ flagged: true, refunded_minor: 640 });
    const refunds = (await b.api('GET', `/api/v1/payments/${created.out_trade_no}/refunds`)).body.data;
    expect(refunds).toHaveLength(1);
    expect(refunds[0]).toMatchObject({ automatic: true, amount_minor: 640 });
    expect((await simOrder(channelNo(created))).refunded_fee).toBe(640);
  });

  it('bad merchant-API input: unknown API key, wrong currency — clear errors, nothing stored', async () => {
    const unknownKey = await b.api(
      'POST',
      '/api/v1/payments',
      { out_trade_no: uniqueNo('u'), amount_minor: 100, currency: 'NZD', channel: 'wechat', mode: 'native' },
      'kauri_nope',
    );
    expect(unknownKey.status).toBe(401);
    const no = uniqueNo('usd');
    const usd = await b.api('POST', '/api/v1/payments', {
      out_trade_no: no,
      amount_minor: 100,
      currency: 'USD',
      channel: 'wechat',
      mode: 'native',
    });
    expect(usd.status).toBe(400);
    expect(usd.body.error.code).toBe('currency_mismatch');
    expect(usd.body.error.message).toMatch(/prices in NZD/);
    expect((await b.api('GET', `/api/v1/payments/${no}`)).status).toBe(404);
  });

  it("an account WeChat does not know: payments fail with WeChat's reason, nothing pending", async () => {
    const m = await b.bridge.accounts.createMerchant({ name: 'Unknown mch shop' });
    const { key } = await b.bridge.accounts.createApiKey(m.id, 'test');
    const demo = wechatDemoAccount({ url: sim.url, stateDir: sim.stateDir });
    await b.bridge.accounts.createChannelAccount({
      merchantId: m.id,
      channel: 'wechat',
      config: { ...demo.config, mch_id: '99999999' },
      secrets: demo.secrets,
    });
    const no = uniqueNo('um');
    const native = await b.api(
      'POST',
      '/api/v1/payments',
      { out_trade_no: no, amount_minor: 300, currency: 'NZD', channel: 'wechat', mode: 'native' },
      key,
    );
    expect(native.body.status).toBe('failed');
    const { body: code } = await sim.control('/sim/paycode', { behaviour: 'success' });
    const mp = await b.api(
      'POST',
      '/api/v1/payments',
      {
        out_trade_no: uniqueNo('um'),
        amount_minor: 300,
        currency: 'NZD',
        channel: 'wechat',
        mode: 'micropay',
        auth_code: code.auth_code,
      },
      key,
    );
    expect(mp.body.status).toBe('failed');
    const raw = await b.bridge.store.db
      .selectFrom('channel_messages')
      .selectAll()
      .where('order_id', '=', native.body.id)
      .where('direction', '=', 'response')
      .execute();
    expect(raw[0]!.body).toMatch(/MCHID_NOT_EXIST|mch_id/);
  });

  it('a refund without the client certificate is refused by WeChat; nothing is refunded', async () => {
    // A second merchant on the same simulator merchant, whose account lacks the certificate.
    const m = await b.bridge.accounts.createMerchant({ name: 'No cert shop' });
    const { key } = await b.bridge.accounts.createApiKey(m.id, 'test');
    const demo = wechatDemoAccount({ url: sim.url, stateDir: sim.stateDir }, { signType: 'HMAC-SHA256' });
    const { clientCertP12Base64: _p, clientCertPassphrase: _pp, ...secrets } = demo.secrets;
    await b.bridge.accounts.createChannelAccount({ merchantId: m.id, channel: 'wechat', config: demo.config, secrets });
    const no = uniqueNo('nc');
    const created = await b.api(
      'POST',
      '/api/v1/payments',
      { out_trade_no: no, amount_minor: 300, currency: 'NZD', channel: 'wechat', mode: 'native' },
      key,
    );
    expect(created.status).toBeLessThan(300);
    await sim.control('/sim/pay', { code_url: created.body.qr_code });
    // The notify of an HMAC-SHA256 order carries sign_type=HMAC-SHA256 and verifies.
    await b.waitFor(no, (p) => p.status === 'paid', 20_000, key);
    const refund = await b.api(
      'POST',
      `/api/v1/payments/${no}/refunds`,
      { out_refund_no: `${no}-r`, amount_minor: 100 },
      key,
    );
    expect(refund.status).toBe(201);
    expect(refund.body.status).toBe('failed');
    const after = await b.waitFor(no, (p) => p.status === 'paid', 5_000, key);
    expect(after.refunded_minor).toBe(0);
    expect((await simOrder(channelNo(created.body))).refunds).toHaveLength(0);
    const raw = await b.bridge.store.db
      .selectFrom('channel_messages')
      .selectAll()
      .where('order_id', '=', created.body.id)
      .where('endpoint', '=', '/secapi/pay/refund')
      .where('direction', '=', 'response')
      .execute();
    expect(raw[0]!.body).toContain('FAIL');
  });

  it('closing an unpaid NATIVE order closes it at WeChat', async () => {
    const created = await createNative();
    const closed = await b.api('POST', `/api/v1/payments/${created.out_trade_no}/close`);
    expect(closed.status).toBe(200);
    expect(closed.body.status).toBe('closed');
    expect((await simOrder(channelNo(created))).trade_state).toBe('CLOSED');
    expect((await sim.control('/sim/pay', { code_url: created.qr_code })).status).toBe(409);
  });

  describe('the channel called directly', () => {
    async function ctx() {
      const account = (await b.bridge.accounts.activeChannelAccount(b.merchantId, 'wechat'))!;
      return b.bridge.payments.channelContext(account);
    }

    it('JSAPI: unifiedorder gives signed getBrandWCPayRequest parameters the wallet accepts', async () => {
      const ch = new WechatChannel();
      const c = await ctx();
      const no = uniqueNo('J');
      const out = await ch.create(c, {
        orderId: 'pay_jsapi',
        channelOrderNo: no,
        mode: 'jsapi',
        amount: money(990, 'NZD'),
        description: 'Flat white',
        openid: 'o-test-openid',
        expiresAt: new Date(Date.now() + 600_000),
        createdAt: new Date(),
      });
      expect(out.state).toBe('pending');
      const p = (out as { jsapiParams: Record<string, string> }).jsapiParams;
      expect(Object.keys(p).sort()).toEqual(['appId', 'nonceStr', 'package', 'paySign', 'signType', 'timeStamp']);
      expect(p.package).toMatch(/^prepay_id=wx/);
      const { paySign, ...unsigned } = p;
      expect(paySign).toBe(sign(unsigned, KEY, 'MD5'));
      const check = await sim.control('/sim/jsapi/check', p);
      expect(check.body).toMatchObject({ ok: true });
      // Another first character (a fixed '0' was no change at all for one signature in 16).
      const forged = (paySign!.startsWith('0') ? '1' : '0') + paySign!.slice(1);
      expect((await sim.control('/sim/jsapi/check', { ...p, paySign: forged })).body.ok).toBe(false);
    });

    it('an over-refund reaching WeChat is refused by it', async () => {
      const ch = new WechatChannel();
      const c = await ctx();
      const created = await createNative(200);
      await sim.control('/sim/pay', { code_url: created.qr_code });
      const paid = await b.waitFor(created.out_trade_no, (p) => p.status === 'paid');
      const order = {
        orderId: paid.id,
        channelOrderNo: channelNo(paid),
        channelTradeNo: paid.channel_trade_no,
        mode: 'native' as const,
        amount: money(200, 'NZD'),
        createdAt: new Date(),
      };
      const more = await ch.refund(c, { order, channelRefundNo: uniqueNo('R'), amount: money(201, 'NZD') });
      expect(more.state).toBe('failed');
      expect(await ch.refund(c, { order, channelRefundNo: uniqueNo('R'), amount: money(120, 'NZD') })).toMatchObject({
        state: 'processing',
      });
      // Together with the first, more than was paid: WeChat's own cumulative check.
      const r = await ch.refund(c, { order, channelRefundNo: uniqueNo('R'), amount: money(81, 'NZD') });
      expect(r).toMatchObject({ state: 'failed' });
      expect((r as { reason: string }).reason, (r as { reason: string }).reason).toMatch(/^INVALID_REQUEST/);
      expect((await simOrder(order.channelOrderNo)).refunded_fee).toBe(120);
    });

    it('a response with a bad signature is not believed', async () => {
      const ch = new WechatChannel();
      const c = await ctx();
      const created = await createNative(150);
      await sim.control('/sim/faults', { target: '/pay/orderquery', mode: 'bad-signature', count: 1 });
      const ref = {
        orderId: created.id,
        channelOrderNo: channelNo(created),
        mode: 'native' as const,
        amount: money(150, 'NZD'),
        createdAt: new Date(),
      };
      await expect(ch.query(c, ref)).rejects.toThrow(
        /signature does not verify \(sign does not match: MD5 over \d+ fields/,
      );
      await expect(ch.query(c, ref)).resolves.toMatchObject({ state: 'pending' });
    });

    it('rates: queryexchagerate gives CNY per unit as a decimal string', async () => {
      const ch = new WechatChannel();
      const rates = await ch.fetchRates(await ctx(), ['NZD', 'JPY']);
      expect(rates.map((r) => [r.currency, r.cnyPerUnit, r.source])).toEqual([
        ['NZD', '4.15', 'wechat'],
        ['JPY', '0.047', 'wechat'],
      ]);
      // rate_time is the day (the official example's 8 characters): published at 10:00 UTC+8 that day, or now if earlier.
      const day = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10);
      expect(rates[0]!.publishedAt.getTime()).toBe(
        Math.min(Date.parse(`${day}T10:00:00+08:00`), rates[0]!.publishedAt.getTime()),
      );
      // The answer is signed, and a bad signature is not believed.
      await sim.control('/sim/faults', { target: '/pay/queryexchagerate', mode: 'bad-signature', count: 1 });
      await expect(ch.fetchRates(await ctx(), ['NZD'])).rejects.toThrow(
        /queryexchagerate answer signature does not verify/,
      );
    });

    it("statements: not ready before 09:00 the next day, then the day's file; empty for a day without trades", async () => {
      const ch = new WechatChannel();
      const c = await ctx();
      const today = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10);
      expect(await ch.fetchStatement(c, today)).toMatchObject({ state: 'not_ready' });
      const old = new Date(Date.now() - 10 * 86_400_000 + 8 * 3600_000).toISOString().slice(0, 10);
      expect(await ch.fetchStatement(c, old)).toEqual({ state: 'empty' });
      // Move WeChat's clock to 10:30 the next day (UTC+8): today's statement now exists.
      const next = new Date(Date.parse(`${today}T10:30:00+08:00`) + 86_400_000);
      await sim.control('/sim/clock', { now: next.toISOString() });
      try {
        const s = await ch.fetchStatement({ ...c, clock: { ...c.clock, now: () => next } }, today);
        expect(s.state).toBe('ready');
        const text = (s as { body: Buffer }).body.toString('utf8');
        expect(text.split('\n').length).toBeGreaterThan(4);
        expect(text).toContain('`10000100');
      } finally {
        await sim.control('/sim/clock', { now: new Date().toISOString() });
      }
    });
  });
});
