import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { Agent } from 'node:https';
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Wechatpay } from 'wechatpay-axios-plugin';
import { MERCHANT, readCa, simJson, startSim, type RunningSim } from './wechat-sim-harness.js';

// An independent client nobody here wrote, the npm package
// wechatpay-axios-plugin (its v2 API, with the simulator's client certificate)
// completes unifiedorder → pay → orderquery → refund → downloadbill against the
// simulator and accepts every response signature. The plugin verifies each v2
// response signature itself and rejects the promise when one does not match
// (EV2_RES_SIGNATURE_NOT_EQUAL); downloadbill is on its SIGNLESS list.

const state = mkdtempSync(join(tmpdir(), 'kauri-wxsim-axios-'));
let sim: RunningSim;
let wxpay: any;
let receiver: Server;
let notifyUrl: string;

beforeAll(async () => {
  receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () =>
      res.end('<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>'),
    );
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  notifyUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/notify`;

  sim = await startSim(['--tls', '--state', state, '--port', '0']);
  const ca = readCa(state);
  // The plugin builds its v3 client too, which insists on an RSA key and a platform
  // key; these placeholders are never used by the v2 calls below.
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  wxpay = new Wechatpay({
    mchid: MERCHANT.mch_id,
    serial: 'UNUSED_V3_SERIAL',
    privateKey,
    certs: { PUB_KEY_ID_UNUSED: publicKey },
    secret: MERCHANT.key,
    merchant: { pfx: readFileSync(join(state, 'apiclient_cert.p12')), passphrase: MERCHANT.mch_id, ca },
    baseURL: `${sim.url}/`,
    httpsAgent: new Agent({ ca }),
  } as any);
});

afterAll(async () => {
  await sim?.stop();
  receiver?.close();
});

describe('wechatpay-axios-plugin (v2) against kauri sim wechat', () => {
  it('completes unifiedorder → pay → orderquery → refund → downloadbill, verifying every signature', async () => {
    const base = { appid: MERCHANT.appid, mch_id: MERCHANT.mch_id };

    const order = await wxpay.v2.pay.unifiedorder({
      ...base,
      body: 'Independent client',
      out_trade_no: 'AXIOS-1',
      fee_type: 'NZD',
      total_fee: 2000,
      spbill_create_ip: '127.0.0.1',
      notify_url: notifyUrl,
      trade_type: 'NATIVE',
      product_id: 'P1',
      sign_type: 'HMAC-SHA256',
    });
    expect(order.data).toMatchObject({ return_code: 'SUCCESS', result_code: 'SUCCESS', trade_type: 'NATIVE' });
    expect(order.data.sign).toHaveLength(64); // HMAC-SHA256, verified by the plugin

    const paid = await simJson(sim.url, '/sim/pay', { code_url: order.data.code_url }, { ca: readCa(state) });
    expect(paid.status).toBe(200);

    const query = await wxpay.v2.pay.orderquery({ ...base, out_trade_no: 'AXIOS-1' });
    expect(query.data).toMatchObject({
      trade_state: 'SUCCESS',
      total_fee: '2000',
      fee_type: 'NZD',
      cash_fee_type: 'CNY',
    });

    const refund = await wxpay.v2.secapi.pay.refund(
      {
        ...base,
        out_trade_no: 'AXIOS-1',
        out_refund_no: 'AXIOS-1-R1',
        total_fee: 2000,
        refund_fee: 500,
        refund_fee_type: 'NZD',
      },
      { security: true },
    );
    expect(refund.data).toMatchObject({ result_code: 'SUCCESS', refund_fee: '500', out_refund_no: 'AXIOS-1-R1' });

    // Without the client certificate the same refund is refused.
    await expect(
      wxpay.v2.secapi.pay.refund({
        ...base,
        out_trade_no: 'AXIOS-1',
        out_refund_no: 'AXIOS-1-R2',
        total_fee: 2000,
        refund_fee: 100,
      }),
    ).rejects.toMatchObject({ response: { data: { return_code: 'FAIL' } } });

    const refunds = await wxpay.v2.pay.refundquery({ ...base, out_trade_no: 'AXIOS-1' });
    expect(refunds.data).toMatchObject({ refund_count: '1', out_refund_no_0: 'AXIOS-1-R1' });

    const rate = await wxpay.v2.pay.queryexchagerate(
      {
        ...base,
        fee_type: 'NZD',
        date: new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10).replaceAll('-', ''),
      },
      { nonceless: true },
    );
    expect(rate.data.rate).toMatch(/^\d+$/);

    // Statements are published from 09:00 (UTC+8) the next day: move the simulator's clock.
    const today = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10);
    await simJson(
      sim.url,
      '/sim/clock',
      { now: new Date(Date.parse(`${today}T10:00:00+08:00`) + 24 * 3600_000).toISOString() },
      { ca: readCa(state) },
    );
    // The statement is plain text, not XML: like any user of the plugin, keep the raw
    // body for this call (downloadbill is on the plugin's SIGNLESS list anyway).
    const bill = await wxpay.v2.pay.downloadbill(
      { ...base, bill_date: today.replaceAll('-', ''), bill_type: 'ALL', tar_type: 'GZIP' },
      { responseType: 'arraybuffer', transformResponse: [(d: Buffer) => d] },
    );
    const text = gunzipSync(Buffer.from(bill.data)).toString('utf8');
    expect(text).toContain('`AXIOS-1,');
    expect(text).toContain('`AXIOS-1-R1,');
    expect(text.trim().split(/\r?\n/).at(-1)).toMatch(/^`2,`20\.00,`5\.00,/);
  });

  it('accepts the signatures of closeorder, micropay and reverse too', async () => {
    const base = { appid: MERCHANT.appid, mch_id: MERCHANT.mch_id };
    await wxpay.v2.pay.unifiedorder({
      ...base,
      body: 'To close',
      out_trade_no: 'AXIOS-2',
      fee_type: 'NZD',
      total_fee: 100,
      spbill_create_ip: '127.0.0.1',
      notify_url: notifyUrl,
      trade_type: 'NATIVE',
      product_id: 'P2',
    });
    expect((await wxpay.v2.pay.closeorder({ ...base, out_trade_no: 'AXIOS-2' })).data).toMatchObject({
      result_code: 'SUCCESS',
    });

    const { json } = await simJson(sim.url, '/sim/paycode', { behaviour: 'success' }, { ca: readCa(state) });
    const mp = await wxpay.v2.pay.micropay({
      ...base,
      body: 'Quick',
      out_trade_no: 'AXIOS-3',
      fee_type: 'NZD',
      total_fee: 300,
      spbill_create_ip: '127.0.0.1',
      auth_code: json.auth_code,
    });
    expect(mp.data).toMatchObject({ result_code: 'SUCCESS', trade_type: 'MICROPAY' });
    // WeChat takes a reverse from 15 s after the order: move its clock on first.
    const { json: clock } = await simJson(sim.url, '/sim/clock', undefined, { ca: readCa(state) });
    await simJson(
      sim.url,
      '/sim/clock',
      { now: new Date(Date.parse(clock.now) + 16_000).toISOString() },
      { ca: readCa(state) },
    );
    const rev = await wxpay.v2.secapi.pay.reverse({ ...base, out_trade_no: 'AXIOS-3' }, { security: true });
    expect(rev.data).toMatchObject({ result_code: 'SUCCESS', recall: 'N' });
  });

  it('rejects a response whose signature is wrong (the check is real)', async () => {
    await simJson(sim.url, '/sim/faults', { target: '/pay/orderquery', mode: 'bad-signature' }, { ca: readCa(state) });
    await expect(
      wxpay.v2.pay.orderquery({ appid: MERCHANT.appid, mch_id: MERCHANT.mch_id, out_trade_no: 'AXIOS-1' }),
    ).rejects.toThrow(/sign/i);
  });
});
