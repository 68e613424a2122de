import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import iconv from 'iconv-lite';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../protocol/clock.js';
import type { ChannelAccount, ChannelContext } from '../../cloud-bridge/channels/channel.js';
import { AlipayClient, closeAlipayAgents } from '../../cloud-bridge/channels/alipay/index.js';
import { startAlipaySim, type AlipaySim } from '../../simulators/alipay/server.js';
import { PARTNER, MD5_KEY, sleep } from './alipay-support.js';

// Every answer and notify the Alipay simulator sends, compared with the wire corpus fixture of
// the same call (test/fixtures/wire/alipay/, SOURCES.md): the same envelope and layout line by
// line, the same encoding declaration, the same fields (bar the ones that depend on the
// trade's state, listed per call). A simulator that drifts from the real messages fails here.

const dir = fileURLToPath(new URL('../fixtures/wire/alipay/', import.meta.url));
const fixtureText = (name: string) => {
  const bytes = readFileSync(dir + name);
  return /encoding="GBK"/.test(bytes.subarray(0, 60).toString('latin1'))
    ? iconv.decode(bytes, 'gbk')
    : bytes.toString('utf8');
};

/** The envelope and layout with values taken out: runs of <param> and of fields collapse to one line. */
function skeleton(xml: string): string[] {
  const out: string[] = [];
  for (const line of xml.split('\n')) {
    let s = line.replace(/<param name="[^"]*">.*<\/param>/, '<param/>').replace(/<(sign|error)>[^<]*<\/\1>/g, '<$1/>');
    const field = /^(\s*)<([a-z_]+)>[^<]*<\/\2>$/.exec(s);
    if (field && field[2] !== 'is_success' && field[2] !== 'sign_type') s = `${field[1]}<field/>`;
    if (out[out.length - 1] !== s) out.push(s);
  }
  return out;
}

/** The children of <response><NAME>. */
function fieldsOf(xml: string): string[] {
  const inner = /<response>\s*<(\w+)>([\s\S]*)<\/\1>\s*<\/response>/.exec(xml)?.[2] ?? '';
  return [...inner.matchAll(/<([a-z_]+)>/g)].map((m) => m[1]!).sort();
}

/** Fields the simulator may leave out or add against the fixture, because they follow the trade's state. */
const STATE_FIELDS: Record<string, string[]> = {
  'single_trade_query.response.xml': ['gmt_close'],
  'acquire_query.response.xml': [],
  'overseas_query.response.xml': ['forex_total_fee', 'trans_forex_rate'],
  'cancel.response.xml': [],
};

let sim: AlipaySim;
let hook: Server;
let hookUrl: string;
const notifies: Array<{ body: Buffer; contentType: string }> = [];

beforeAll(async () => {
  process.env.KAURI_TIME_SCALE = '600'; // a forex_refund settles after 60 s of protocol time: 0.1 s here
  sim = await startAlipaySim({ port: 0, log: pino({ level: 'silent' }) });
  delete process.env.KAURI_TIME_SCALE;
  hook = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      notifies.push({ body: Buffer.concat(chunks), contentType: String(req.headers['content-type']) });
      res.end('success');
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/notify`;
});

afterAll(async () => {
  await closeAlipayAgents();
  await sim?.close();
  await new Promise((r) => hook?.close(r));
});

function client(charset: 'UTF-8' | 'GBK' = 'UTF-8', md5Key = MD5_KEY) {
  const replies = new Map<string, string>();
  const account: ChannelAccount = {
    id: 'cha_wire',
    merchantId: 'mch_wire',
    channel: 'alipay',
    config: { gatewayUrl: `${sim.url}/gateway.do`, partner: PARTNER, charset },
    secrets: { md5Key },
  };
  const ctx: ChannelContext = {
    account,
    clock: systemClock(),
    log: pino({ level: 'silent' }),
    notifyUrl: hookUrl,
    publicBaseUrl: 'http://127.0.0.1',
    record: async (m) => {
      if (m.direction === 'response') replies.set(m.endpoint, m.body);
    },
  };
  return { c: new AlipayClient(ctx), replies };
}

/** The raw answer as text in its declared charset (the recorder keeps GBK bytes as latin1). */
const asText = (recorded: string) =>
  /encoding="GBK"/.test(recorded.slice(0, 60)) ? iconv.decode(Buffer.from(recorded, 'latin1'), 'gbk') : recorded;

function expectSameShape(answer: string, fixture: string) {
  const want = fixtureText(fixture);
  expect(answer.split('\n')[0], `${fixture}: declaration`).toBe(want.split('\n')[0]);
  expect(skeleton(answer), `${fixture}: layout`).toEqual(skeleton(want));
  const extra = STATE_FIELDS[fixture] ?? [];
  const got = fieldsOf(answer).filter((f) => !extra.includes(f));
  expect(got, `${fixture}: fields`).toEqual(fieldsOf(want).filter((f) => !extra.includes(f)));
}

const keysOf = (fixture: string) => Object.keys(Object.fromEntries(new URLSearchParams(fixtureText(fixture)))).sort();
const no = (p: string) => `${p}${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
const now = () => new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 19).replace('T', ' ');

describe('the simulator answers as the corpus shows', () => {
  it('online: single_trade_query, forex_refund, alipay.acquire.refund.query and their notifies', async () => {
    const { c, replies } = client();
    const out = no('KW');
    const link = c.link('create_forex_trade', {
      out_trade_no: out,
      subject: 'Flat white',
      currency: 'NZD',
      total_fee: '12.50',
      product_code: 'NEW_OVERSEAS_SELLER',
      notify_url: hookUrl,
    });
    sim.gateway.simPay(sim.gateway.openLink(link, sim.url));
    await c.call('single_trade_query', { out_trade_no: out });
    expectSameShape(replies.get('single_trade_query')!, 'single_trade_query.response.xml');

    const refundNo = no('RW');
    await c.call('forex_refund', {
      out_return_no: refundNo,
      out_trade_no: out,
      return_amount: '5.00',
      currency: 'NZD',
      gmt_return: now(),
      reason: 'spilt',
      notify_url: hookUrl,
    });
    expect(replies.get('forex_refund')).toBe(fixtureText('forex_refund.response.xml'));
    const deadline = Date.now() + 10_000;
    while (notifies.length < 2 && Date.now() < deadline) await sleep(50);
    await c.call('alipay.acquire.refund.query', { out_trade_no: out, out_return_no: refundNo });
    expectSameShape(replies.get('alipay.acquire.refund.query')!, 'refund_query.response.xml');

    const forms = notifies.map((n) => Object.fromEntries(new URLSearchParams(n.body.toString('utf8'))));
    const paidNotify = forms.find((f) => f.notify_type === 'trade_status_sync' && f.out_trade_no === out)!;
    const published = Object.keys(Object.fromEntries(new URLSearchParams(fixtureText('trade_status_sync.notify.txt'))));
    // Every field of the published notify; besides them only fields Alipay documents for it.
    expect(Object.keys(paidNotify)).toEqual(expect.arrayContaining(published));
    expect(
      Object.keys(paidNotify)
        .filter((k) => !published.includes(k))
        .sort(),
    ).toEqual(['buyer_email', 'buyer_id', 'gmt_payment', 'seller_id', 'subject']);
    const refundNotify = forms.find((f) => f.out_return_no === refundNo)!;
    expect(Object.keys(refundNotify).sort()).toEqual(keysOf('forex_refund.notify.txt'));

    // A refund Alipay accepts and then fails.
    const failed = no('KF');
    sim.gateway.simPay(
      sim.gateway.openLink(
        c.link('create_forex_trade', {
          out_trade_no: failed,
          subject: 'x',
          currency: 'NZD',
          total_fee: '3.00',
          product_code: 'NEW_OVERSEAS_SELLER',
        }),
        sim.url,
      ),
    );
    await fetch(`${sim.url}/sim/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ target: 'forex_refund', mode: 'refund-fail' }),
    });
    const failNo = no('RF');
    await c.call('forex_refund', {
      out_return_no: failNo,
      out_trade_no: failed,
      return_amount: '3.00',
      currency: 'NZD',
      gmt_return: now(),
      notify_url: hookUrl,
    });
    const until = Date.now() + 10_000;
    let failNotify: Record<string, string> | undefined;
    while (!failNotify && Date.now() < until) {
      await sleep(50);
      failNotify = notifies
        .map((n) => Object.fromEntries(new URLSearchParams(n.body.toString('utf8'))))
        .find((f) => f.out_return_no === failNo);
    }
    expect(failNotify).toMatchObject({ refund_status: 'REFUND_FAIL' });
    expect(Object.keys(failNotify!).sort()).toEqual(keysOf('forex_refund.notify.fail.txt'));
  });

  it("the mobile cashier: the corpus request opens it, and Alipay's signed return has the fields of the corpus", async () => {
    const { c } = client();
    const {
      sign: _s,
      sign_type: _t,
      service,
      partner: _p,
      _input_charset: _c,
      ...params
    } = Object.fromEntries(new URLSearchParams(fixtureText('create_forex_trade_wap.request.txt')));
    const out = no('KH');
    const trade = sim.gateway.openLink(
      c.link(service!, { ...params, out_trade_no: out, order_gmt_create: now(), notify_url: hookUrl }),
      sim.url,
    );
    expect(trade).toMatchObject({ out_trade_no: out, wap: true, return_url: params.return_url });
    sim.gateway.simPay(trade);
    const back = new URL(sim.gateway.returnUrl(trade)!);
    expect(back.origin + back.pathname).toBe(params.return_url);
    expect([...back.searchParams.keys()].sort()).toEqual(keysOf('create_forex_trade_wap.return.txt'));
    expect(back.searchParams.get('trade_status')).toBe('TRADE_FINISHED');
  });

  it('in store: the payment notify has the fields of the corpus', async () => {
    const { c } = client();
    const qr = no('KN');
    const pre = await c.call(
      'alipay.acquire.precreate',
      {
        out_trade_no: qr,
        subject: 'Flat white',
        product_code: 'OVERSEAS_MBARCODE_PAY',
        total_fee: '4.50',
        currency: 'NZD',
        trans_currency: 'NZD',
        timestamp: now(),
        notify_url: hookUrl,
      },
      'instore',
    );
    sim.gateway.simPay(sim.gateway.findForSim({ qr_code: pre.response.qr_code! }));
    const until = Date.now() + 10_000;
    let paid: Record<string, string> | undefined;
    while (!paid && Date.now() < until) {
      await sleep(50);
      paid = notifies
        .map((n) => Object.fromEntries(new URLSearchParams(n.body.toString('utf8'))))
        .find((f) => f.out_trade_no === qr);
    }
    expect(Object.keys(paid!).sort()).toEqual(keysOf('trade_status_sync.instore.notify.txt'));
  });

  it('a GBK request gets its answer in GBK, laid out the same', async () => {
    const { c, replies } = client('GBK');
    const out = no('KG');
    sim.gateway.simPay(
      sim.gateway.openLink(
        c.link('create_forex_trade', {
          out_trade_no: out,
          subject: '麦卢卡蜂蜜',
          currency: 'NZD',
          total_fee: '36.00',
          product_code: 'NEW_OVERSEAS_SELLER',
        }),
        sim.url,
      ),
    );
    const xml = await c.call('single_trade_query', { out_trade_no: out });
    expect(xml.response.subject).toBe('麦卢卡蜂蜜');
    expectSameShape(asText(replies.get('single_trade_query')!), 'single_trade_query.response.gbk.xml');
  });

  it('in store: precreate, acquire.query, cancel, spot.pay, overseas.query, spot.refund', async () => {
    const { c, replies } = client();
    const qr = no('KQ');
    const pre = await c.call(
      'alipay.acquire.precreate',
      {
        out_trade_no: qr,
        subject: 'Flat white',
        product_code: 'OVERSEAS_MBARCODE_PAY',
        total_fee: '4.50',
        currency: 'NZD',
        timestamp: now(),
        notify_url: hookUrl,
        it_b_pay: '15m',
      },
      'instore',
    );
    expectSameShape(replies.get('alipay.acquire.precreate')!, 'precreate.response.xml');
    sim.gateway.simPay(sim.gateway.findForSim({ qr_code: pre.response.qr_code! }));
    await c.call('alipay.acquire.query', { out_trade_no: qr }, 'instore');
    expectSameShape(replies.get('alipay.acquire.query')!, 'acquire_query.response.xml');

    const unpaid = no('KC');
    await c.call(
      'alipay.acquire.precreate',
      {
        out_trade_no: unpaid,
        subject: 'Flat white',
        product_code: 'OVERSEAS_MBARCODE_PAY',
        total_fee: '4.50',
        currency: 'NZD',
        timestamp: now(),
      },
      'instore',
    );
    await c.call('alipay.acquire.cancel', { out_trade_no: unpaid, timestamp: now() }, 'instore');
    expectSameShape(replies.get('alipay.acquire.cancel')!, 'cancel.response.xml');

    const spot = no('KS');
    const code = sim.gateway.mintPaycode('success').code;
    await c.call(
      'alipay.acquire.overseas.spot.pay',
      {
        alipay_seller_id: PARTNER,
        partner_trans_id: spot,
        trans_name: 'Flat white',
        currency: 'NZD',
        trans_amount: '4.50',
        buyer_identity_code: code,
        identity_code_type: 'barcode',
        trans_create_time: now().replace(/[- :]/g, ''),
        biz_product: 'OVERSEAS_MBARCODE_PAY',
        notify_url: hookUrl,
      },
      'instore',
    );
    expectSameShape(replies.get('alipay.acquire.overseas.spot.pay')!, 'spot_pay.response.xml');
    await c.call('alipay.acquire.overseas.query', { partner_trans_id: spot }, 'instore');
    expectSameShape(replies.get('alipay.acquire.overseas.query')!, 'overseas_query.response.xml');
    await c.call(
      'alipay.acquire.overseas.spot.refund',
      {
        partner_trans_id: spot,
        partner_refund_id: no('RS'),
        refund_amount: '2.00',
        currency: 'NZD',
        refund_reason: 'spilt',
        is_sync: 'Y',
      },
      'instore',
    );
    expectSameShape(replies.get('alipay.acquire.overseas.spot.refund')!, 'spot_refund.response.xml');
  });

  it("a refusal is the compact envelope, in the request's charset", async () => {
    const { c, replies } = client('GBK', 'x'.repeat(32));
    const xml = await c.call('single_trade_query', { out_trade_no: 'K1' });
    expect(xml).toMatchObject({ isSuccess: false, error: 'ILLEGAL_SIGN' });
    expect(asText(replies.get('single_trade_query')!)).toBe(fixtureText('gateway_error.response.xml'));
  });

  it('notify_verify and forex_rate_file answer plain text laid out as the corpus', async () => {
    const { c } = client();
    expect(await c.text('notify_verify', { notify_id: 'nope' })).toMatch(/^(true|false|invalid)$/);
    const rates = await c.text('forex_rate_file', {});
    const line = /^(\d{8})\|(\d{6})\|([A-Z]{3})\|([\d.]+)$/;
    expect(fixtureText('forex_rate_file.response.txt').trim()).toMatch(line);
    for (const l of rates.trim().split('\n')) expect(l).toMatch(line);
  });
});
