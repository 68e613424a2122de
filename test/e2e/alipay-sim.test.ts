import { createHash, generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import iconv from 'iconv-lite';
import { pino } from 'pino';
import { AlipayChannel, AlipayError } from '../../cloud-bridge/channels/alipay/index.js';
import type { ChannelContext } from '../../cloud-bridge/channels/channel.js';
import { convertStatement } from '../../cloud-bridge/reconcile/parse.js';
import { systemClock } from '../../protocol/clock.js';
import { money } from '../../protocol/money.js';
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

// `kauri sim alipay` on its own terms: what it refuses, how it retries notifies, that it
// survives a restart, its daily files, and a GBK + RSA2 merchant end to end.

function md5(fields: Record<string, string>, key = MD5_KEY): string {
  const pre = Object.keys(fields)
    .filter((k) => k !== 'sign' && k !== 'sign_type' && fields[k] !== '')
    .sort()
    .map((k) => `${k}=${fields[k]}`)
    .join('&');
  return createHash('md5')
    .update(pre + key)
    .digest('hex');
}

function signed(fields: Record<string, string>): Record<string, string> {
  return { ...fields, sign: md5(fields), sign_type: 'MD5' };
}

let sim: AlipaySimProcess;

async function gateway(
  body: string | Buffer,
  query = '_input_charset=UTF-8',
): Promise<{ status: number; text: string }> {
  const res = await fetch(`${sim.url}/gateway.do?${query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: typeof body === 'string' ? body : new Uint8Array(body),
  });
  return { status: res.status, text: await res.text() };
}

const form = (f: Record<string, string>) => new URLSearchParams(f).toString();
const errorOf = (xml: string) => /<error>([^<]+)<\/error>/.exec(xml)?.[1];

beforeAll(async () => {
  sim = await startAlipaySimProcess({ KAURI_TIME_SCALE: '60' });
});

afterAll(async () => {
  await sim?.stop();
});

describe('the gateway refuses bad input and changes nothing', () => {
  const base = {
    _input_charset: 'UTF-8',
    partner: PARTNER,
    service: 'alipay.acquire.precreate',
    out_trade_no: 'BAD1',
    subject: 'x',
    total_fee: '1.00',
    currency: 'NZD',
    timestamp: String(Date.now()),
  };

  it.each([
    ['unknown service', signed({ ...base, service: 'alipay.acquire.teleport' }), 'ILLEGAL_SERVICE'],
    ['no service', signed({ ...base, service: '' }), 'ILLEGAL_SERVICE'],
    ['unknown partner', signed({ ...base, partner: '2088000000000000' }), 'ILLEGAL_PARTNER'],
    ['wrong signature', { ...signed(base), total_fee: '100.00' }, 'ILLEGAL_SIGN'],
    ['no signature', { ...base, sign_type: 'MD5' }, 'ILLEGAL_SIGN'],
    ['unknown sign_type', { ...signed(base), sign_type: 'SHA1' }, 'ILLEGAL_SIGN_TYPE'],
    ['RSA without a registered merchant key', { ...signed(base), sign_type: 'RSA2' }, 'ILLEGAL_SIGN'],
    ['missing parameters', signed({ ...base, out_trade_no: '', total_fee: '' }), 'ILLEGAL_ARGUMENT'],
    ['malformed amount', signed({ ...base, total_fee: '1.005' }), 'ILLEGAL_ARGUMENT'],
    ['unknown charset', signed({ ...base, _input_charset: 'EBCDIC' }), 'ILLEGAL_CHARSET'],
  ])('%s', async (_name, fields, code) => {
    const before = (await sim.get('/sim/orders')).orders.length;
    const r = await gateway(form(fields), '');
    expect(r.status).toBe(200);
    expect(r.text).toContain('<is_success>F</is_success>');
    expect(errorOf(r.text)).toBe(code);
    expect((await sim.get('/sim/orders')).orders.length).toBe(before);
  });

  it('a GBK body declared as UTF-8', async () => {
    const f = signed({ ...base, subject: 'kiwi' });
    const body = Buffer.concat([
      Buffer.from(form({ ...f, subject: '' }).replace('subject=', 'subject=')),
      Buffer.from('&body='),
      iconv.encode('奇异果', 'gbk'),
    ]);
    const r = await gateway(body);
    expect(errorOf(r.text)).toBe('ILLEGAL_CHARSET');
  });

  it('a forged notify_id is not verified; an unsigned notify_verify is allowed', async () => {
    const r = await gateway(form({ service: 'notify_verify', partner: PARTNER, notify_id: 'f0rged' }));
    expect(r.text).toBe('false');
    expect((await gateway(form({ service: 'notify_verify', partner: PARTNER }))).text).toBe('invalid');
  });

  it('a create_forex_trade link with a bad signature shows an error page, not a cashier', async () => {
    const f = signed({
      _input_charset: 'UTF-8',
      partner: PARTNER,
      service: 'create_forex_trade',
      out_trade_no: 'BADWEB',
      subject: 'x',
      total_fee: '1.00',
      currency: 'NZD',
    });
    const res = await fetch(`${sim.url}/gateway.do?${form({ ...f, total_fee: '0.01' })}`, { redirect: 'manual' });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('ILLEGAL_SIGN');
    expect(await sim.trade('BADWEB')).toBeUndefined();
  });

  it('a create_forex_trade link asking for an order_valid_time above 21600 s is refused', async () => {
    const link = (out: string, valid: string) =>
      signed({
        _input_charset: 'UTF-8',
        partner: PARTNER,
        service: 'create_forex_trade',
        out_trade_no: out,
        subject: 'x',
        total_fee: '1.00',
        currency: 'NZD',
        product_code: 'NEW_OVERSEAS_SELLER',
        order_gmt_create: beijingNow(),
        order_valid_time: valid,
      });
    const over = await fetch(`${sim.url}/gateway.do?${form(link('LONGWEB', '21601'))}`, { redirect: 'manual' });
    expect(over.status).toBe(400);
    expect(await over.text()).toContain('order_valid_time is at most 21600 seconds');
    expect(await sim.trade('LONGWEB')).toBeUndefined();
    const within = await fetch(`${sim.url}/gateway.do?${form(link('SIXHOURS', '21600'))}`, { redirect: 'manual' });
    expect(within.status).toBe(302);
  });
});

/** Now as yyyy-MM-dd HH:mm:ss in Beijing time (GMT+8), as order_gmt_create is written. */
function beijingNow(): string {
  return new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 19).replace('T', ' ');
}

describe('notifies', () => {
  let hook: Server;
  let hookUrl: string;
  const replies: string[] = [];
  const received: Array<{ at: number; body: string }> = [];
  beforeAll(async () => {
    hook = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        received.push({ at: Date.now(), body });
        res.end(replies.shift() ?? 'success');
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    const a = hook.address();
    hookUrl = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/notify`;
  });
  afterAll(async () => {
    await new Promise((r) => hook.close(r));
  });

  it("retry on Alipay's schedule (2 min, then 10 min; time-compressed) until `success` (any case) is read, signed with _input_charset", async () => {
    replies.push('fail', 'oops');
    const out = uniqueNo('NTF');
    const r = await gateway(
      form(
        signed({
          _input_charset: 'UTF-8',
          partner: PARTNER,
          service: 'alipay.acquire.precreate',
          out_trade_no: out,
          subject: 'x',
          total_fee: '2.00',
          currency: 'NZD',
          timestamp: String(Date.now()),
          notify_url: hookUrl,
        }),
      ),
    );
    expect(r.text).toContain('<result_code>SUCCESS</result_code>');
    replies.splice(0, replies.length, 'fail', 'SUCCESS');
    expect((await sim.control('/sim/pay', { out_trade_no: out })).status).toBe(200);
    const deadline = Date.now() + 12_000;
    while (received.length < 2 && Date.now() < deadline) await sleep(100);
    expect(received).toHaveLength(2);
    const gap = received[1]!.at - received[0]!.at;
    expect(gap).toBeGreaterThan(1500); // 2 min at 60×
    expect(gap).toBeLessThan(6000); // slack for a loaded machine
    const fields = Object.fromEntries(new URLSearchParams(received[0]!.body));
    expect(fields).toMatchObject({
      out_trade_no: out,
      trade_status: 'TRADE_SUCCESS',
      total_fee: '2.00',
      currency: 'NZD',
      notify_type: 'trade_status_sync',
      _input_charset: 'utf-8',
      sign_type: 'MD5',
    });
    expect(fields.sign).toBe(md5(fields));
    // notify_verify knows this notify_id (shortly after the delivery).
    expect(
      (await gateway(form({ service: 'notify_verify', partner: PARTNER, notify_id: fields.notify_id! }))).text,
    ).toBe('true');
    await sleep(300);
    const job = (await sim.get('/sim/orders')).notifies.find((n: any) => n.meta.out_trade_no === out);
    expect(job).toMatchObject({ status: 'acked', attempts: 2 });
  });
});

describe('state survives a restart', () => {
  it('trades, keys and pending notify retries come back', async () => {
    // A merchant endpoint that is down at first: the notify's retry is pending across the restart.
    let up = false;
    const got: string[] = [];
    const hook = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        got.push(body);
        res.end(up ? 'success' : 'fail');
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    const a = hook.address();
    const hookUrl = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/n`;
    try {
      const out = uniqueNo('RST');
      await gateway(
        form(
          signed({
            _input_charset: 'UTF-8',
            partner: PARTNER,
            service: 'alipay.acquire.precreate',
            out_trade_no: out,
            subject: 'x',
            total_fee: '3.00',
            currency: 'NZD',
            timestamp: String(Date.now()),
            notify_url: hookUrl,
          }),
        ),
      );
      await sim.control('/sim/pay', { out_trade_no: out });
      const deadline = Date.now() + 5000;
      while (got.length < 1 && Date.now() < deadline) await sleep(50);
      expect(got).toHaveLength(1);
      const keys = await sim.get('/sim/keys');
      const stateDir = sim.stateDir;
      await sim.stop(true);
      up = true;
      sim = await startAlipaySimProcess({ KAURI_TIME_SCALE: '60' }, stateDir);
      expect(await sim.trade(out)).toMatchObject({ status: 'TRADE_SUCCESS', amount: '3.00' });
      expect((await sim.get('/sim/keys')).alipay_public_key).toBe(keys.alipay_public_key);
      const until = Date.now() + 10_000;
      let job: any;
      while (Date.now() < until) {
        job = (await sim.get('/sim/orders')).notifies.find((n: any) => n.meta.out_trade_no === out);
        if (job?.status === 'acked') break;
        await sleep(100);
      }
      expect(job).toMatchObject({ status: 'acked', attempts: 2 });
      expect(got[1]).toBe(got[0]);
    } finally {
      await new Promise((r) => hook.close(r));
    }
  });
});

describe('spot pay currencies and asynchronous refunds', () => {
  const valueOf = (xml: string, k: string) => new RegExp(`<${k}>([^<]*)</${k}>`).exec(xml)?.[1];

  it('spot pay refuses a trans_currency Alipay has not enabled for the merchant, and takes it once enabled', async () => {
    const pay = async (extra: Record<string, string>) => {
      const code = (await sim.control('/sim/paycode', { behaviour: 'success' })).body.auth_code as string;
      const at = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 19).replace(/[-T:]/g, '');
      return gateway(
        form(
          signed({
            _input_charset: 'UTF-8',
            partner: PARTNER,
            service: 'alipay.acquire.overseas.spot.pay',
            alipay_seller_id: PARTNER,
            partner_trans_id: uniqueNo('TC'),
            trans_name: 'x',
            currency: 'NZD',
            trans_amount: '10.00',
            buyer_identity_code: code,
            trans_create_time: at,
            notify_url: 'http://127.0.0.1:9/n',
            ...extra,
          }),
        ),
      );
    };
    expect(valueOf((await pay({})).text, 'result_code')).toBe('SUCCESS');
    const refused = await pay({ trans_currency: 'CNY' });
    expect([valueOf(refused.text, 'result_code'), valueOf(refused.text, 'error')]).toEqual([
      'FAILED',
      'HAS_NO_PRIVILEGE',
    ]);
    expect((await sim.control('/sim/merchant', { trans_currencies: ['CNY'] })).body).toEqual({
      partner: PARTNER,
      trans_currencies: ['CNY'],
    });
    const ok = await pay({ trans_currency: 'CNY' });
    expect([valueOf(ok.text, 'result_code'), valueOf(ok.text, 'trans_currency')]).toEqual(['SUCCESS', 'CNY']);
    expect((await sim.control('/sim/merchant', { trans_currencies: 'CNY' })).status).toBe(400);
    await sim.control('/sim/merchant', { trans_currencies: [] });
  });

  it('forex_refund: accepted, settled after its delay; is_sync=Y settles at once; refund-fail only when told; gmt_return is yyyy-MM-dd HH:mm:ss', async () => {
    const web = async () => {
      const out = uniqueNo('AR');
      const link = `${sim.url}/gateway.do?${form(signed({ _input_charset: 'UTF-8', partner: PARTNER, service: 'create_forex_trade', out_trade_no: out, subject: 'x', currency: 'NZD', total_fee: '9.00' }))}`;
      expect((await sim.control('/sim/pay', { redirect_url: link })).status).toBe(200);
      return out;
    };
    const refund = (out: string, extra: Record<string, string> = {}) =>
      gateway(
        form(
          signed({
            _input_charset: 'UTF-8',
            partner: PARTNER,
            service: 'forex_refund',
            out_trade_no: out,
            out_return_no: uniqueNo('RR'),
            return_amount: '9.00',
            currency: 'NZD',
            gmt_return: new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 19).replace('T', ' '),
            ...extra,
          }),
        ),
      );
    const a = await web();
    expect((await refund(a)).text).toContain('<is_success>T</is_success>');
    expect((await sim.trade(a)).refunds[0].status).toBe('PROCESSING');
    const deadline = Date.now() + 10_000;
    while ((await sim.trade(a)).refunds[0].status === 'PROCESSING' && Date.now() < deadline) await sleep(100);
    expect((await sim.trade(a)).refunds[0].status).toBe('SUCCESS');

    const b = await web();
    expect((await refund(b, { is_sync: 'Y' })).text).toContain('<is_success>T</is_success>');
    expect((await sim.trade(b)).refunds[0].status).toBe('SUCCESS');

    const c = await web();
    expect(
      (await sim.control('/sim/faults', { target: 'forex_refund', mode: 'refund-fail', count: 1 })).status,
    ).toBeLessThan(300);
    expect(errorOf((await refund(c, { is_sync: 'Y' })).text)).toBe('MERCHANT_BALANCE_NOT_ENOUGH');
    expect((await sim.trade(c)).refunds[0]).toMatchObject({
      status: 'FAIL',
      error_code: 'MERCHANT_BALANCE_NOT_ENOUGH',
    });
    // The fault was used up: the next refund succeeds, and the failed one gave its amount back.
    expect((await refund(c, { is_sync: 'Y' })).text).toContain('<is_success>T</is_success>');
    expect((await sim.trade(c)).refunds.map((r: any) => r.status)).toEqual(['FAIL', 'SUCCESS']);

    expect(errorOf((await refund(await web(), { gmt_return: '20131127154557' })).text)).toBe('ILLEGAL_ARGUMENT');
    expect((await sim.control('/sim/faults', { target: 'notify', mode: 'refund-fail' })).status).toBe(400);
  });
});

describe('a GBK merchant signing RSA2, through the bridge', () => {
  let b: BridgeUnderTest;
  let apiKey: string;
  beforeAll(async () => {
    b = await startBridgeForAlipay(sim, 'sqlite', { timeScale: 20 });
    const pair = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    // The merchant uploads its public key (bare base64, as Alipay's console takes it) and downloads Alipay's.
    const bare = pair.publicKey.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
    expect((await sim.control('/sim/keys', { merchant_public_key: bare })).status).toBe(200);
    const { alipay_public_key: alipayPublicKey } = await sim.get('/sim/keys');
    const m = await b.bridge.accounts.createMerchant({ name: 'GBK 商户' });
    apiKey = (await b.bridge.accounts.createApiKey(m.id, 'gbk')).key;
    await b.bridge.accounts.createChannelAccount({
      merchantId: m.id,
      channel: 'alipay',
      config: {
        gatewayUrl: `${sim.url}/gateway.do`,
        partner: PARTNER,
        signType: 'RSA2',
        charset: 'GBK',
        currency: 'NZD',
        alipayPublicKey,
      },
      secrets: { privateKey: pair.privateKey },
    });
  });
  afterAll(async () => {
    await b?.stop();
  });

  it('precreate, web and spot are paid; refunds go through', async () => {
    const q = await b.api(
      'POST',
      '/api/v1/payments',
      {
        out_trade_no: uniqueNo('gq'),
        amount_minor: 1288,
        currency: 'NZD',
        channel: 'alipay',
        mode: 'precreate',
        description: '麦卢卡蜂蜜 UMF10+',
      },
      apiKey,
    );
    expect(q.body.status).toBe('pending');
    const t = await sim.trade(q.body.id.replace(/^pay_/, 'K'));
    expect(t).toMatchObject({ status: 'WAIT_BUYER_PAY', amount: '12.88' });
    await sim.control('/sim/pay', { qr_code: q.body.qr_code });
    await b.waitFor(q.body.out_trade_no, (p) => p.status === 'paid', 20_000, apiKey);
    const r = await b.api(
      'POST',
      `/api/v1/payments/${q.body.out_trade_no}/refunds`,
      { out_refund_no: uniqueNo('r'), amount_minor: 288 },
      apiKey,
    );
    expect(r.body.status).toBe('succeeded');

    const w = await b.api(
      'POST',
      '/api/v1/payments',
      {
        out_trade_no: uniqueNo('gw'),
        amount_minor: 5000,
        currency: 'NZD',
        channel: 'alipay',
        mode: 'web',
        description: '羊毛被',
      },
      apiKey,
    );
    expect(new URL(w.body.redirect_url).search).toContain('_input_charset=GBK');
    expect(new URL(w.body.redirect_url).search).toContain('subject=%D1%F2%C3%AB%B1%BB'); // 羊毛被 in GBK
    expect((await sim.control('/sim/pay', { redirect_url: w.body.redirect_url })).status).toBe(200);
    await b.waitFor(w.body.out_trade_no, (p) => p.status === 'paid', 20_000, apiKey);
    const wr = await b.api(
      'POST',
      `/api/v1/payments/${w.body.out_trade_no}/refunds`,
      { out_refund_no: uniqueNo('r'), amount_minor: 5000 },
      apiKey,
    );
    // Accepted now; the GBK, RSA2-signed refund notify settles it.
    expect(wr.body.status).toBe('processing');
    await b.waitFor(w.body.out_trade_no, (p) => p.status === 'refunded', 20_000, apiKey);

    const code = (await sim.control('/sim/paycode', { behaviour: 'success' })).body.auth_code;
    const s = await b.api(
      'POST',
      '/api/v1/payments',
      {
        out_trade_no: uniqueNo('gs'),
        amount_minor: 300,
        currency: 'NZD',
        channel: 'alipay',
        mode: 'spot',
        auth_code: code,
        description: '咖啡',
      },
      apiKey,
    );
    expect(s.body.status).toBe('paid');
  });

  it('a reply whose signature does not verify is not believed', async () => {
    await sim.control('/sim/faults', { target: 'alipay.acquire.precreate', mode: 'bad-signature', count: 1 });
    const q = await b.api(
      'POST',
      '/api/v1/payments',
      { out_trade_no: uniqueNo('gbad'), amount_minor: 100, currency: 'NZD', channel: 'alipay', mode: 'precreate' },
      apiKey,
    );
    // The bridge could not trust the answer: no QR is shown; the order will be queried and closed.
    expect(q.status).toBe(503);
    expect(q.body.error.code).toBe('channel_unavailable');
  });
});

describe('the return URL', () => {
  it('is verified with the account key; a tampered one is refused', async () => {
    const b = await startBridgeForAlipay(sim, 'sqlite', { timeScale: 20 });
    try {
      const w = await b.api('POST', '/api/v1/payments', {
        out_trade_no: uniqueNo('ret'),
        amount_minor: 700,
        currency: 'NZD',
        channel: 'alipay',
        mode: 'web',
        return_url: 'http://127.0.0.1:9/back',
      });
      const pay = await sim.control('/sim/pay', { redirect_url: w.body.redirect_url });
      const query = Object.fromEntries(new URL(pay.body.return_url).searchParams);
      const { ctx } = await b.context();
      const channel = b.bridge.channels.get('alipay') as AlipayChannel;
      expect(channel.verifyReturn(ctx, query)).toEqual({
        outTradeNo: w.body.id.replace(/^pay_/, 'K'),
        tradeNo: pay.body.trade_no,
        tradeStatus: 'TRADE_FINISHED',
      });
      expect(() => channel.verifyReturn(ctx, { ...query, total_fee: '70.00' })).toThrow(AlipayError);
      expect(() => channel.verifyReturn(ctx, { ...query, sign_type: 'RSA2' })).toThrow(/not signed MD5/);
    } finally {
      await b.stop();
    }
  });
});

describe('the client against a broken gateway', () => {
  let fake: Server;
  let fakeUrl: string;
  let next = '';
  beforeAll(async () => {
    fake = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.end(next);
    });
    await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
    const a = fake.address();
    fakeUrl = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/gateway.do`;
  });
  afterAll(async () => {
    await new Promise((r) => fake.close(r));
  });

  const ctx = (): ChannelContext => ({
    account: {
      id: 'cha_x',
      merchantId: 'm',
      channel: 'alipay',
      config: { gatewayUrl: fakeUrl, partner: PARTNER },
      secrets: { md5Key: MD5_KEY },
    },
    clock: systemClock(),
    log: pino({ level: 'silent' }),
    notifyUrl: 'http://127.0.0.1:1/notify',
    publicBaseUrl: 'http://127.0.0.1:1',
    record: async () => {},
  });
  const ref = {
    orderId: 'pay_1',
    channelOrderNo: 'K1',
    mode: 'precreate' as const,
    amount: money(100, 'NZD'),
    createdAt: new Date(),
  };

  it.each([
    ['malformed XML', '<alipay><is_success>T</is_success><response><alipay>', 'MALFORMED_XML'],
    [
      'a DOCTYPE with entities',
      '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><alipay><is_success>T</is_success><error>&x;</error></alipay>',
      'MALFORMED_XML',
    ],
    [
      'a GBK body declared UTF-8',
      iconv
        .encode(
          '<?xml version="1.0" encoding="UTF-8"?><alipay><is_success>T</is_success><response><alipay><result_code>成功</result_code></alipay></response><sign>a</sign></alipay>',
          'gbk',
        )
        .toString('latin1'),
      'ILLEGAL_CHARSET',
    ],
    [
      'an unsigned response',
      '<alipay><is_success>T</is_success><response><alipay><result_code>SUCCESS</result_code><trade_status>TRADE_SUCCESS</trade_status></alipay></response></alipay>',
      'ILLEGAL_SIGN',
    ],
    [
      'a wrongly signed response',
      '<alipay><is_success>T</is_success><response><alipay><result_code>SUCCESS</result_code><trade_status>TRADE_SUCCESS</trade_status></alipay></response><sign>00000000000000000000000000000000</sign><sign_type>MD5</sign_type></alipay>',
      'ILLEGAL_SIGN',
    ],
  ])('%s is an error with a clear code, never an outcome', async (_name, body, code) => {
    next = body;
    if (_name === 'a GBK body declared UTF-8') {
      fake.removeAllListeners('request');
      fake.on('request', (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/xml' });
        res.end(Buffer.from(next, 'latin1'));
      });
    }
    const err = await new AlipayChannel().query(ctx(), ref).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AlipayError);
    expect((err as AlipayError).alipayCode).toBe(code);
  });
});

describe('daily files', () => {
  it('transaction and settlement files from the ledger, ready at 09:30 the next Beijing day, read by the reconciliation convertor', async () => {
    const b = await startBridgeForAlipay(sim, 'sqlite', { timeScale: 20 });
    try {
      const q = await b.api('POST', '/api/v1/payments', {
        out_trade_no: uniqueNo('f'),
        amount_minor: 1500,
        currency: 'NZD',
        channel: 'alipay',
        mode: 'precreate',
      });
      await sim.control('/sim/pay', { qr_code: q.body.qr_code });
      await b.waitFor(q.body.out_trade_no, (p) => p.status === 'paid');
      await b.api('POST', `/api/v1/payments/${q.body.out_trade_no}/refunds`, {
        out_refund_no: uniqueNo('r'),
        amount_minor: 500,
      });
      const { ctx } = await b.context();
      const channel = b.bridge.channels.get('alipay') as AlipayChannel;
      const now = new Date((await sim.get('/sim/clock')).now);
      const day = new Date(now.getTime() + 8 * 3600_000).toISOString().slice(0, 10);
      expect((await channel.fetchStatement(ctx, day)).state).toBe('not_ready');

      const next = new Date(`${day}T10:00:00+08:00`);
      next.setUTCDate(next.getUTCDate() + 1);
      await sim.control('/sim/clock', { now: next.toISOString() });
      const tx = await channel.fetchStatement(ctx, day);
      expect(tx.state).toBe('ready');
      const text = tx.state === 'ready' ? tx.body.toString('utf8') : '';
      expect(tx.state === 'ready' && tx.fileName).toBe(`${PARTNER}_transaction_${day.replace(/-/g, '')}.txt`);
      const channelNo = q.body.id.replace(/^pay_/, 'K');
      expect(text).toMatch(
        new RegExp(`^${channelNo}\\|\\d{28}\\|15\\.00\\|0\\.27\\|NZD\\|${day} \\d\\d:\\d\\d:\\d\\d\\|PAYMENT\\|`, 'm'),
      );
      expect(text).toMatch(/\|5\.00\|0\.00\|NZD\|.*\|REFUND\|/);

      const rows = [];
      const it = convertStatement('alipay', Readable.from([tx.state === 'ready' ? tx.body : Buffer.alloc(0)]), {
        date: day,
      });
      for await (const row of it) rows.push(row);
      expect(rows.length).toBeGreaterThanOrEqual(2);

      const st = await channel.fetchSettlement(ctx, day);
      expect(st.state).toBe('ready');
      const srows = [];
      for await (const row of convertStatement(
        'alipay',
        Readable.from([st.state === 'ready' ? st.body : Buffer.alloc(0)]),
        { date: day },
      ))
        srows.push(row);
      expect(srows.length).toBe(rows.length);

      const d8 = day.replace(/-/g, '');
      const legacy = await channel.fetchLegacyFile(ctx, 'compare', d8, d8);
      expect(legacy.state).toBe('ready');
      expect(legacy.state === 'ready' && legacy.body.toString()).toMatch(
        new RegExp(`^${channelNo}\\|15\\.00\\|NZD\\|${d8}\\d{6}\\|\\|P\\|0\\.27\\|P\\|$`, 'm'),
      );
      const liq = await channel.fetchLegacyFile(ctx, 'liquidation', d8, d8);
      expect(liq.state === 'ready' && liq.body.toString()).toMatch(/\|R\|0\.00\|L\|$/m);
      expect((await channel.fetchLegacyFile(ctx, 'compare', '20200101', '20200105')).state).toBe('empty');
      expect(await channel.fetchLegacyFile(ctx, 'compare', '20200101', '20200201')).toEqual({
        state: 'not_ready',
        reason: 'File download failed:Over 10 days to Date period',
      });

      const rates = await channel.fetchRates!(ctx, ['NZD']);
      expect(rates[0]!.publishedAt.toISOString()).toBe(
        new Date(`${next.toISOString().slice(0, 10)}T09:30:00+08:00`).toISOString(),
      );
    } finally {
      await b.stop();
    }
  });
});
