import { createHash, generateKeyPairSync, createSign } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../../protocol/clock.js';
import { NotifyRejectedError, type ChannelAccount, type ChannelContext, type OrderRef } from '../channel.js';
import { AlipayChannel } from './channel.js';
import { AlipayClient } from './client.js';
import { closeAlipayAgents } from './index.js';

// The Alipay client against the wire corpus (test/fixtures/wire/alipay/, SOURCES.md): each
// fixture is served over a real socket, as Alipay would answer, and must be read, verified and
// understood. A fixture Kauri cannot read fails here.

const dir = fileURLToPath(new URL('../../../test/fixtures/wire/alipay/', import.meta.url));
const fixture = (name: string) => readFileSync(dir + name);
const PARTNER = '2088101122136241';
const KEY = '760bdzec6y9goq7ctyx96ezkz78287de'; // Kaligo's published test key (docs/protocols/alipay.md, Signature)

const SERVICE_FILES: Record<string, string> = {
  single_trade_query: 'single_trade_query.response.xml',
  forex_refund: 'forex_refund.response.xml',
  'alipay.acquire.refund.query': 'refund_query.response.xml',
  'alipay.acquire.precreate': 'precreate.response.xml',
  'alipay.acquire.overseas.spot.pay': 'spot_pay.response.xml',
  'alipay.acquire.overseas.query': 'overseas_query.response.xml',
  'alipay.acquire.query': 'acquire_query.response.xml',
  'alipay.acquire.cancel': 'cancel.response.xml',
  'alipay.acquire.overseas.spot.refund': 'spot_refund.response.xml',
  notify_verify: 'notify_verify.response.txt',
  forex_rate_file: 'forex_rate_file.response.txt',
};

let server: Server;
let gateway: string;
/** Per test: a body to answer instead of the service's fixture. */
let override: { body: Buffer; type: string } | undefined;
/** The form bodies Kauri sent, by service. */
const sent = new Map<string, URLSearchParams>();

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      const service = form.get('service') ?? '';
      sent.set(service, form);
      if (override) {
        res.writeHead(200, { 'content-type': override.type }).end(override.body);
        return;
      }
      const file =
        /_input_charset=GBK/i.test(req.url ?? '') && service === 'single_trade_query'
          ? 'single_trade_query.response.gbk.xml'
          : SERVICE_FILES[service];
      if (!file)
        return void res
          .writeHead(200, { 'content-type': 'text/xml; charset=GBK' })
          .end(fixture('gateway_error.response.xml'));
      const body = fixture(file);
      const type = file.endsWith('.txt')
        ? 'text/plain; charset=UTF-8'
        : `text/xml; charset=${/encoding="GBK"/.test(body.subarray(0, 60).toString('latin1')) ? 'GBK' : 'UTF-8'}`;
      res.writeHead(200, { 'content-type': type }).end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  gateway = `http://127.0.0.1:${(server.address() as AddressInfo).port}/gateway.do`;
});

afterAll(async () => {
  await closeAlipayAgents();
  await new Promise((r) => server.close(r));
});

function context(
  config: Record<string, unknown> = {},
  secrets: Record<string, string> = { md5Key: KEY },
): ChannelContext {
  const account: ChannelAccount = {
    id: 'cha_wire',
    merchantId: 'mch_wire',
    channel: 'alipay',
    config: { gatewayUrl: gateway, partner: PARTNER, ...config },
    secrets,
  };
  return {
    account,
    clock: systemClock(),
    log: pino({ level: 'silent' }),
    notifyUrl: 'https://bridge.example.nz/notify/alipay/cha_wire',
    publicBaseUrl: 'https://bridge.example.nz',
    record: async () => {},
  };
}

const ch = new AlipayChannel();
const ref = (mode: OrderRef['mode'], channelOrderNo: string): OrderRef => ({
  orderId: 'pay_wire',
  channelOrderNo,
  mode,
  amount: { minor: 1250, currency: 'NZD' },
  createdAt: new Date(),
});

describe('the corpus', () => {
  it('cites every file in SOURCES.md, and every file is read by this test or the simulator comparison', () => {
    const sources = fixture('SOURCES.md').toString('utf8');
    const readers =
      readFileSync(fileURLToPath(import.meta.url), 'utf8') +
      readFileSync(fileURLToPath(new URL('../../../test/e2e/alipay-wire.test.ts', import.meta.url)), 'utf8');
    for (const name of readdirSync(dir).filter((n) => n !== 'SOURCES.md')) {
      expect(sources, name).toContain(`\`${name}\``);
      expect(readers, name).toContain(`'${name}'`);
    }
  });
});

describe('every Alipay answer in the corpus is read and its signature verified', () => {
  it('the XML answers: indented like the gateway examples, signed over every <response> child', async () => {
    const c = new AlipayClient(context());
    for (const [service, file] of Object.entries(SERVICE_FILES)) {
      if (!file.endsWith('.xml')) continue;
      const xml = await c.call(service, {});
      expect(xml.isSuccess, file).toBe(true);
      if (service === 'forex_refund') continue; // accepted: no <response>
      expect(xml.responseName, file).toMatch(/^(trade|alipay)$/);
      expect(Object.keys(xml.response).length, file).toBeGreaterThan(3);
      expect(xml.response, file).not.toHaveProperty('#text');
    }
  });

  it('a GBK answer (declared and sent as GBK) keeps its Chinese', async () => {
    const ctx = context({ charset: 'GBK' });
    const out = await ch.query(ctx, ref('web', 'K20131122002'));
    expect(out).toMatchObject({
      state: 'paid',
      channelTradeNo: '2013112211001004330000121601',
      amount: { minor: 3600, currency: 'NZD' },
      charged: { minor: 15176, currency: 'CNY' },
    });
    expect((out as { raw: Record<string, string> }).raw.subject).toBe('麦卢卡蜂蜜');
  });

  it('the channel understands each answer', async () => {
    const ctx = context();
    expect(await ch.query(ctx, ref('web', 'K20131122001'))).toMatchObject({
      state: 'paid',
      channelTradeNo: '2013112211001004330000121536',
      amount: { minor: 1250, currency: 'NZD' },
      rate: '4.2156',
    });
    expect(await ch.query(ctx, ref('spot', 'K20201207152001'))).toMatchObject({
      state: 'paid',
      amount: { minor: 450, currency: 'NZD' },
      charged: { minor: 1897, currency: 'CNY' },
    });
    expect(await ch.query(ctx, ref('precreate', 'K20181026207446'))).toMatchObject({
      state: 'paid',
      channelTradeNo: '2018102622001424330512345678',
    });
    expect(await ch.close(ctx, ref('precreate', 'K20181026207446'))).toMatchObject({ state: 'closed' });
    const refund = {
      order: ref('web', 'K20131122001'),
      channelRefundNo: 'R20131127001',
      amount: { minor: 500, currency: 'NZD' as const },
    };
    expect(await ch.refund(ctx, refund)).toEqual({ state: 'processing', channelRefundId: 'R20131127001' });
    expect(await ch.queryRefund(ctx, refund)).toMatchObject({ state: 'succeeded' });
    expect(
      await ch.refund(ctx, { ...refund, order: ref('spot', 'K20201207152001'), channelRefundNo: 'R20201207160000' }),
    ).toMatchObject({ state: 'succeeded' });
    const created = await ch.create(ctx, {
      orderId: 'pay_wire',
      channelOrderNo: 'K20181026207446',
      mode: 'precreate',
      amount: { minor: 450, currency: 'NZD' },
      description: 'Flat white',
      expiresAt: new Date(Date.now() + 900_000),
      createdAt: new Date(),
    });
    expect(created).toMatchObject({ state: 'pending', qrCode: 'https://qr.alipay.com/bax08616tgysbwsaty4o009b' });
    const spot = await ch.create(ctx, {
      orderId: 'pay_wire',
      channelOrderNo: 'K20201207152001',
      mode: 'spot',
      authCode: '281234567890123439',
      amount: { minor: 450, currency: 'NZD' },
      description: 'Flat white',
      expiresAt: new Date(Date.now() + 60_000),
      createdAt: new Date(),
    });
    expect(spot).toMatchObject({
      state: 'paid',
      channelTradeNo: '2020120722001424331441040522',
      amount: { minor: 450, currency: 'NZD' },
    });
    const rates = await ch.fetchRates(ctx, []);
    expect(rates).toEqual([expect.objectContaining({ currency: 'USD', cnyPerUnit: '6.5487' })]);
  });

  it("refusals in Alipay's own words (FAIL): a cancel of no trade closes; a precreate of a paid trade asks", async () => {
    const ctx = context();
    const serve = async <T>(file: string, call: () => Promise<T>) => {
      override = { body: fixture(file), type: 'text/xml; charset=UTF-8' };
      try {
        return await call();
      } finally {
        override = undefined;
      }
    };
    expect(
      await serve('cancel.fail.response.xml', () => ch.close(ctx, ref('precreate', 'K20181026207448'))),
    ).toMatchObject({ state: 'closed', reason: 'no such trade at Alipay' });
    const created = await serve('precreate.fail.response.xml', () =>
      ch.create(ctx, {
        orderId: 'pay_wire',
        channelOrderNo: 'K20181026207447',
        mode: 'precreate',
        amount: { minor: 450, currency: 'NZD' },
        description: 'Flat white',
        expiresAt: new Date(Date.now() + 900_000),
        createdAt: new Date(),
      }),
    );
    expect(created).toMatchObject({ state: 'unknown', reason: 'precreate result FAIL (TRADE_HAS_SUCCESS)' });
  });

  it('the gateway refusal (compact, GBK) is an is_success=F, not an outcome', async () => {
    const xml = await new AlipayClient(context()).call('no_such_service', {});
    expect(xml).toMatchObject({ isSuccess: false, error: 'ILLEGAL_SIGN' });
  });

  it('create_forex_trade: the client signs the published request exactly as the fixture does', () => {
    const published = Object.fromEntries(
      new URLSearchParams(fixture('create_forex_trade.request.txt').toString('utf8')),
    );
    const { sign, sign_type: _t, service, partner: _p, _input_charset: _c, ...params } = published;
    const link = new URL(new AlipayClient(context()).link(service!, params));
    expect(link.searchParams.get('sign')).toBe(sign);
    expect(Object.fromEntries(link.searchParams)).toEqual(published);
  });
});

describe("the mobile cashier (create_forex_trade_wap) and Alipay's signed return", () => {
  const published = () =>
    Object.fromEntries(new URLSearchParams(fixture('create_forex_trade_wap.request.txt').toString('utf8')));

  it('the client signs the request exactly as the fixture', () => {
    const want = published();
    const { sign, sign_type: _t, service, partner: _p, _input_charset: _c, ...params } = want;
    const link = new URL(new AlipayClient(context()).link(service!, params));
    expect(link.searchParams.get('sign')).toBe(sign);
    expect(Object.fromEntries(link.searchParams)).toEqual(want);
  });

  it('order_valid_time stays within the published maximum (21600 s) for an order that lives longer', async () => {
    const createdAt = new Date();
    const link = async (hours: number, mode: 'web' | 'wap') => {
      const out = await ch.create(context(), {
        orderId: 'pay_wire',
        channelOrderNo: 'K20261120000009',
        mode,
        amount: { minor: 1250, currency: 'NZD' },
        description: 'Flat white',
        returnUrl: 'https://bridge.example.nz/r/pay_wire',
        expiresAt: new Date(createdAt.getTime() + hours * 3600_000),
        createdAt,
      });
      return new URL((out as { redirectUrl: string }).redirectUrl).searchParams.get('order_valid_time');
    };
    // A one-code checkout may live 24 h; its link asks for no more than Alipay takes.
    expect(await link(8, 'web')).toBe('21600');
    expect(await link(24, 'wap')).toBe('21600');
    expect(await link(2, 'web')).toBe('7200');
  });

  it('mode wap: the link Kauri makes carries the fields of the fixture', async () => {
    const createdAt = new Date();
    const out = await ch.create(context(), {
      orderId: 'pay_demo',
      channelOrderNo: 'K20261120000003',
      mode: 'wap',
      amount: { minor: 1250, currency: 'NZD' },
      description: 'Flat white',
      returnUrl: 'https://bridge.example.nz/r/pay_demo',
      expiresAt: new Date(createdAt.getTime() + 900_000),
      createdAt,
    });
    const link = new URL((out as { redirectUrl: string }).redirectUrl);
    const got = Object.fromEntries(link.searchParams);
    const want = published();
    expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
    for (const k of [
      'service',
      'product_code',
      'currency',
      'total_fee',
      'timeout_rule',
      'order_valid_time',
      'return_url',
    ])
      expect(got[k], k).toBe(want[k]);
    expect(got.order_gmt_create).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  });

  it("the return's signed query string is read; a changed one is refused", () => {
    const query = Object.fromEntries(
      new URLSearchParams(fixture('create_forex_trade_wap.return.txt').toString('utf8')),
    );
    expect(ch.verifyReturn(context(), query)).toEqual({
      outTradeNo: 'K20261120000003',
      tradeNo: '2026112021001004330000000003',
      tradeStatus: 'TRADE_FINISHED',
    });
    expect(() => ch.verifyReturn(context(), { ...query, total_fee: '1.25' })).toThrow(/does not verify/);
  });
});

describe('spot pay is priced in the settlement currency', () => {
  const spot = (currency: 'NZD' | 'CNY') => ({
    orderId: 'pay_wire',
    channelOrderNo: 'K20201207152001',
    mode: 'spot' as const,
    authCode: '281234567890123439',
    amount: { minor: 450, currency },
    description: 'Flat white',
    expiresAt: new Date(Date.now() + 60_000),
    createdAt: new Date(),
  });

  it('sends no trans_currency for an NZD price', async () => {
    await ch.create(context(), spot('NZD'));
    const form = sent.get('alipay.acquire.overseas.spot.pay')!;
    expect([form.get('currency'), form.get('trans_amount'), form.has('trans_currency')]).toEqual([
      'NZD',
      '4.50',
      false,
    ]);
  });

  it('sends trans_currency only when the account lists it as enabled by Alipay', async () => {
    await ch.create(context({ transCurrencies: ['CNY'] }), spot('CNY'));
    const form = sent.get('alipay.acquire.overseas.spot.pay')!;
    expect([form.get('currency'), form.get('trans_currency'), form.get('trans_amount')]).toEqual([
      'NZD',
      'CNY',
      '4.50',
    ]);
    expect(() =>
      ch.validateCreate(context().account, { mode: 'spot', amount: { minor: 450, currency: 'CNY' } }),
    ).toThrow(/CNY payment \(no trans_currency enabled/);
    expect(() =>
      ch.validateCreate(context({ transCurrencies: ['CNY'] }).account, {
        mode: 'precreate',
        amount: { minor: 450, currency: 'CNY' },
      }),
    ).toThrow(/settles in NZD/);
    expect(
      () =>
        context({ transCurrencies: 'CNY' }) &&
        ch.validateCreate(context({ transCurrencies: 'CNY' }).account, {
          mode: 'spot',
          amount: { minor: 1, currency: 'NZD' },
        }),
    ).toThrow(/transCurrencies/);
  });
});

describe('every notify in the corpus is verified and understood', () => {
  const notify = (name: string) => ({
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    query: {},
    body: fixture(name),
  });

  it("trade_status_sync: Kaligo's published notify, its real signature, confirmed by notify_verify", async () => {
    const v = await ch.verifyNotify(context(), notify('trade_status_sync.notify.txt'));
    expect(v.outcomes).toEqual([
      {
        channelOrderNo: '4028608899131221',
        outcome: expect.objectContaining({
          state: 'paid',
          channelTradeNo: '4061800001000100000574688',
          amount: { minor: 10, currency: 'HKD' },
        }),
      },
    ]);
  });

  it('the in-store payment notify (notify_action_type, trans_currency, forex_rate, trans_amount_cny)', async () => {
    const v = await ch.verifyNotify(context(), notify('trade_status_sync.instore.notify.txt'));
    expect(v.outcomes).toEqual([
      {
        channelOrderNo: 'K20181026207446',
        outcome: expect.objectContaining({
          state: 'paid',
          amount: { minor: 450, currency: 'NZD' },
          charged: { minor: 1897, currency: 'CNY' },
          rate: '4.2156',
        }),
      },
    ]);
  });

  it('the forex_refund notify: REFUND_SUCCESS and REFUND_FAIL become refund outcomes', async () => {
    const ok = await ch.verifyNotify(context(), notify('forex_refund.notify.txt'));
    expect(ok.outcomes).toEqual([]);
    expect(ok.refunds).toEqual([
      { channelRefundNo: 'R20131127001', outcome: expect.objectContaining({ state: 'succeeded' }) },
    ]);
    const fail = await ch.verifyNotify(context(), notify('forex_refund.notify.fail.txt'));
    expect(fail.refunds).toEqual([
      {
        channelRefundNo: 'R20131127002',
        outcome: expect.objectContaining({ state: 'failed', reason: 'REFUND_FAIL (MERCHANT_BALANCE_NOT_ENOUGH)' }),
      },
    ]);
  });
});

describe("answers are verified the way Alipay's SDK builds the string", () => {
  const reply = (fields: Array<[string, string]>, sign: string) =>
    Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>
<alipay>
  <is_success>T</is_success>
  <response>
    <alipay>
${fields.map(([k, v]) => `      <${k}>${v}</${k}>`).join('\n')}
    </alipay>
  </response>
  <sign>${sign}</sign>
  <sign_type>MD5</sign_type>
</alipay>`);
  const md5 = (s: string) =>
    createHash('md5')
      .update(s + KEY)
      .digest('hex');
  const fields: Array<[string, string]> = [
    ['alipay_trans_id', '2020120722001424331441040522'],
    ['error', ''],
    ['partner_trans_id', 'K1'],
    ['result_code', 'SUCCESS'],
  ];

  it('an empty <response> child is part of the signed string (k=)', async () => {
    override = {
      body: reply(
        fields,
        md5('alipay_trans_id=2020120722001424331441040522&error=&partner_trans_id=K1&result_code=SUCCESS'),
      ),
      type: 'text/xml; charset=UTF-8',
    };
    try {
      const xml = await new AlipayClient(context()).call('alipay.acquire.overseas.query', {});
      expect(xml.response).toMatchObject({ error: '', result_code: 'SUCCESS' });
    } finally {
      override = undefined;
    }
  });

  it('a signature that leaves the empty child out does not verify', async () => {
    override = {
      body: reply(fields, md5('alipay_trans_id=2020120722001424331441040522&partner_trans_id=K1&result_code=SUCCESS')),
      type: 'text/xml; charset=UTF-8',
    };
    try {
      await expect(new AlipayClient(context()).call('alipay.acquire.overseas.query', {})).rejects.toMatchObject({
        code: 'signature_invalid',
      });
    } finally {
      override = undefined;
    }
  });

  it('a signed refusal is verified over error=CODE', async () => {
    const body = (sign: string) =>
      Buffer.from(
        `<?xml version="1.0" encoding="UTF-8"?><alipay><is_success>F</is_success><error>TRADE_NOT_EXIST</error><sign>${sign}</sign><sign_type>MD5</sign_type></alipay>`,
      );
    override = { body: body(md5('error=TRADE_NOT_EXIST')), type: 'text/xml' };
    try {
      expect(await new AlipayClient(context()).call('single_trade_query', {})).toMatchObject({
        isSuccess: false,
        error: 'TRADE_NOT_EXIST',
      });
      override = { body: body(md5('error=ILLEGAL_SIGN')), type: 'text/xml' };
      await expect(new AlipayClient(context()).call('single_trade_query', {})).rejects.toMatchObject({
        code: 'signature_invalid',
      });
    } finally {
      override = undefined;
    }
  });
});

describe('a notify belongs to the account whose partner it names', () => {
  // Alipay signs every merchant's notifies with its one RSA key: the signature cannot tell them apart.
  const alipay = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const mine = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const OTHER = '2088000000000009';
  const ctx = () =>
    context(
      { signType: 'RSA2', alipayPublicKey: alipay.publicKey, notifyVerify: false },
      { privateKey: mine.privateKey },
    );
  function signed(fields: Record<string, string>) {
    const pre = Object.keys(fields)
      .sort()
      .map((k) => `${k}=${fields[k]}`)
      .join('&');
    const sign = createSign('RSA-SHA256').update(pre).sign(alipay.privateKey, 'base64');
    const body = new URLSearchParams({ ...fields, sign, sign_type: 'RSA2' }).toString();
    return {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      query: {},
      body: Buffer.from(body),
    };
  }
  const paid = {
    notify_id: 'n1',
    notify_time: '2026-11-22 10:00:00',
    notify_type: 'trade_status_sync',
    out_trade_no: 'K1',
    trade_no: '2026112222001',
    trade_status: 'TRADE_FINISHED',
    currency: 'NZD',
    total_fee: '1.00',
  };

  it("another merchant's signed notify (its seller_id) is refused at this account", async () => {
    await expect(ch.verifyNotify(ctx(), signed({ ...paid, seller_id: OTHER }))).rejects.toBeInstanceOf(
      NotifyRejectedError,
    );
    await expect(ch.verifyNotify(ctx(), signed({ ...paid, partner: OTHER }))).rejects.toThrow(
      /not this account's partner/,
    );
  });

  it('one naming no partner is refused when notify_verify cannot vouch for it', async () => {
    await expect(ch.verifyNotify(ctx(), signed(paid))).rejects.toThrow(/cannot be tied to this account/);
  });

  it('its own is applied', async () => {
    const v = await ch.verifyNotify(ctx(), signed({ ...paid, seller_id: PARTNER }));
    expect(v.outcomes[0]).toMatchObject({ channelOrderNo: 'K1', outcome: { state: 'paid' } });
  });
});
