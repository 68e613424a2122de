import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { X509Certificate, createDecipheriv, createHash } from 'node:crypto';
import {
  MERCHANT,
  call,
  fromXml,
  rawPost,
  readCa,
  signFields,
  simJson,
  startSim,
  toXml,
  type RunningSim,
  type TlsClient,
} from './wechat-sim-harness.js';

// `kauri sim wechat --tls --state DIR --port 0` as a process, over real HTTPS with the
// CA and client certificate it generated.

const state = mkdtempSync(join(tmpdir(), 'kauri-wxsim-e2e-'));
let sim: RunningSim;
let tls: TlsClient;
let withCert: TlsClient;
let receiver: Server;
let notifyUrl: string;
const notifies: Record<string, string>[] = [];

const base = { appid: MERCHANT.appid, mch_id: MERCHANT.mch_id };
const native = (out: string, fee = '1234') => ({
  ...base,
  body: 'Kauri e2e',
  out_trade_no: out,
  total_fee: fee,
  fee_type: 'NZD',
  spbill_create_ip: '127.0.0.1',
  notify_url: notifyUrl,
  trade_type: 'NATIVE',
  product_id: 'P1',
});

async function until<T>(fn: () => T | undefined, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      notifies.push(fromXml(body));
      res.end('<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  notifyUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/wechat/notify`;
  sim = await startSim(['--tls', '--state', state, '--port', '0']);
  tls = { ca: readCa(state) };
  withCert = { ...tls, pfx: readFileSync(join(state, 'apiclient_cert.p12')), passphrase: MERCHANT.mch_id };
});

afterAll(async () => {
  await sim?.stop();
  receiver?.close();
});

describe('kauri sim wechat --tls', () => {
  it('prints an https URL and writes the CA, server and merchant certificates into --state', () => {
    expect(sim.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    for (const f of ['ca.pem', 'apiclient_cert.p12', 'apiclient_cert.pem', 'apiclient_key.pem'])
      expect(existsSync(join(state, f))).toBe(true);
    const cert = new X509Certificate(readFileSync(join(state, 'apiclient_cert.pem')));
    expect(cert.verify(new X509Certificate(readCa(state)).publicKey)).toBe(true);
  });

  it('refuses a client that does not trust its CA (real TLS)', async () => {
    await expect(rawPost(`${sim.url}/pay/orderquery`, '<xml/>', {})).rejects.toThrow(/self.signed|certificate/i);
  });

  it('runs a NATIVE order: unifiedorder → /sim/pay → signed notify → orderquery → refunds', async () => {
    const u = await call(sim.url, '/pay/unifiedorder', native('E2E-1'), { tls, signType: 'HMAC-SHA256' });
    expect(u).toMatchObject({ return_code: 'SUCCESS', result_code: 'SUCCESS', trade_type: 'NATIVE' });
    expect(u.sign).toBe(signFields(u, MERCHANT.key, 'HMAC-SHA256'));

    const paid = await simJson(sim.url, '/sim/pay', { code_url: u.code_url }, tls);
    expect(paid.status).toBe(200);
    const n = await until(() => notifies.find((x) => x.out_trade_no === 'E2E-1'));
    expect(n).toMatchObject({
      return_code: 'SUCCESS',
      result_code: 'SUCCESS',
      sign_type: 'HMAC-SHA256',
      total_fee: '1234',
      fee_type: 'NZD',
      cash_fee_type: 'CNY',
    });
    expect(n.sign).toBe(signFields(n, MERCHANT.key, 'HMAC-SHA256'));

    const q = await call(sim.url, '/pay/orderquery', { ...base, out_trade_no: 'E2E-1' }, { tls });
    expect(q).toMatchObject({
      result_code: 'SUCCESS',
      trade_state: 'SUCCESS',
      transaction_id: n.transaction_id,
      rate: expect.stringMatching(/^\d+$/),
    });
    expect(q.sign).toBe(signFields(q, MERCHANT.key, 'MD5'));

    const refund = {
      ...base,
      out_trade_no: 'E2E-1',
      out_refund_no: 'E2E-1-R1',
      total_fee: '1234',
      refund_fee: '234',
      refund_fee_type: 'NZD',
      notify_url: notifyUrl,
    };
    const noCert = await call(sim.url, '/secapi/pay/refund', refund, { tls });
    expect(noCert.return_code).toBe('FAIL');
    expect(noCert.return_msg).toMatch(/证书|certificate/);
    const r = await call(sim.url, '/secapi/pay/refund', refund, { tls: withCert });
    expect(r).toMatchObject({
      return_code: 'SUCCESS',
      result_code: 'SUCCESS',
      refund_fee: '234',
      out_refund_no: 'E2E-1-R1',
    });
    expect(r.sign).toBe(signFields(r, MERCHANT.key, 'MD5'));
    const over = await call(
      sim.url,
      '/secapi/pay/refund',
      { ...refund, out_refund_no: 'E2E-1-R2', refund_fee: '1001' },
      { tls: withCert },
    );
    expect(over).toMatchObject({ return_code: 'SUCCESS', result_code: 'FAIL', err_code: 'INVALID_REQUEST' }); // 1001 > the 1000 left
    const rq = await call(sim.url, '/pay/refundquery', { ...base, out_trade_no: 'E2E-1' }, { tls });
    expect(rq).toMatchObject({ result_code: 'SUCCESS', refund_count: '1', out_refund_no_0: 'E2E-1-R1' });
  });

  it('answers bad input clearly and changes nothing', async () => {
    const before = (await simJson(sim.url, '/sim/orders', undefined, tls)).json.orders.length;
    const f = { ...native('E2E-BAD'), nonce_str: 'abc' };
    const badSign = await rawPost(
      `${sim.url}/pay/unifiedorder`,
      toXml({ ...f, sign: signFields(f, 'x'.repeat(32)) }),
      tls,
    );
    expect(fromXml(badSign.text)).toEqual({ return_code: 'FAIL', return_msg: '签名错误' });
    const bomb =
      '<!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><xml><body>&c;</body></xml>';
    expect(fromXml((await rawPost(`${sim.url}/pay/unifiedorder`, bomb, tls)).text)).toMatchObject({
      return_code: 'FAIL',
      return_msg: 'XML格式错误',
    });
    expect(fromXml((await rawPost(`${sim.url}/pay/unifiedorder`, '<xml><a>1</b></xml>', tls)).text).return_code).toBe(
      'FAIL',
    );
    expect(
      (await rawPost(`${sim.url}/pay/unifiedorder`, `<xml><body>${'x'.repeat(70_000)}</body></xml>`, tls)).status,
    ).toBe(413);
    const stranger = { ...f, mch_id: '999' };
    expect(
      fromXml(
        (
          await rawPost(
            `${sim.url}/pay/unifiedorder`,
            toXml({ ...stranger, sign: signFields(stranger, MERCHANT.key) }),
            tls,
          )
        ).text,
      ),
    ).toMatchObject({ return_code: 'FAIL', return_msg: expect.stringContaining('MCHID_NOT_EXIST') });
    const usd = await call(sim.url, '/pay/unifiedorder', { ...native('E2E-USD'), fee_type: 'USD' }, { tls });
    expect(usd).toMatchObject({ return_code: 'SUCCESS', result_code: 'FAIL', err_code: 'PARAM_ERROR' });
    const get = await rawPost(`${sim.url}/pay/orderquery`, '', tls, {}, 'GET');
    expect(fromXml(get.text).return_code).toBe('FAIL');
    expect((await simJson(sim.url, '/sim/orders', undefined, tls)).json.orders.length).toBe(before);
  });

  it('accepts XML whatever the Content-Type says', async () => {
    const f = { ...base, out_trade_no: 'E2E-1', nonce_str: 'ct' };
    const body = toXml({ ...f, sign: signFields(f, MERCHANT.key) });
    for (const ct of ['application/json', 'application/x-www-form-urlencoded', 'text/plain']) {
      const res = await rawPost(`${sim.url}/pay/orderquery`, body, tls, { 'content-type': ct });
      expect(fromXml(res.text)).toMatchObject({ result_code: 'SUCCESS', trade_state: 'REFUND' });
    }
  });

  it('pays a Quick Pay code once; a second use and an expired code are refused', async () => {
    const { json } = await simJson(sim.url, '/sim/paycode', { behaviour: 'success' }, tls);
    const mp = (out: string) => ({
      ...base,
      body: 'Lunch',
      out_trade_no: out,
      total_fee: '500',
      fee_type: 'NZD',
      spbill_create_ip: '127.0.0.1',
      auth_code: json.auth_code,
    });
    expect(await call(sim.url, '/pay/micropay', mp('E2E-MP1'), { tls })).toMatchObject({
      result_code: 'SUCCESS',
      trade_type: 'MICROPAY',
    });
    expect(await call(sim.url, '/pay/micropay', mp('E2E-MP2'), { tls })).toMatchObject({
      result_code: 'FAIL',
      err_code: 'AUTH_CODE_ERROR',
    });
    // WeChat takes a reverse from 15 s after the order: move its clock on first.
    const { json: clock } = await simJson(sim.url, '/sim/clock', undefined, tls);
    await simJson(sim.url, '/sim/clock', { now: new Date(Date.parse(clock.now) + 16_000).toISOString() }, tls);
    const rev = await call(sim.url, '/secapi/pay/reverse', { ...base, out_trade_no: 'E2E-MP1' }, { tls: withCert });
    expect(rev).toMatchObject({ result_code: 'SUCCESS', recall: 'N' });
  });

  it('injects faults: http500, bad response signature, SYSTEMERROR', async () => {
    await simJson(sim.url, '/sim/faults', { target: '/pay/orderquery', mode: 'http500', count: 1 }, tls);
    const f = { ...base, out_trade_no: 'E2E-1', nonce_str: 'f1' };
    const res = await rawPost(`${sim.url}/pay/orderquery`, toXml({ ...f, sign: signFields(f, MERCHANT.key) }), tls);
    expect(res.status).toBe(500);
    await simJson(sim.url, '/sim/faults', { target: '/pay/orderquery', mode: 'bad-signature' }, tls);
    const bad = await call(sim.url, '/pay/orderquery', { ...base, out_trade_no: 'E2E-1' }, { tls });
    expect(bad.sign).not.toBe(signFields(bad, MERCHANT.key));
    await simJson(sim.url, '/sim/faults', { target: '/pay/orderquery', mode: 'unknown' }, tls);
    expect(await call(sim.url, '/pay/orderquery', { ...base, out_trade_no: 'E2E-1' }, { tls })).toMatchObject({
      result_code: 'FAIL',
      err_code: 'SYSTEMERROR',
    });
    expect(await call(sim.url, '/pay/orderquery', { ...base, out_trade_no: 'E2E-1' }, { tls })).toMatchObject({
      result_code: 'SUCCESS',
    });
  });

  it('publishes the day’s statement from 09:00 (UTC+8) the next day, by its own clock', async () => {
    const noBill = await call(
      sim.url,
      '/pay/downloadbill',
      { ...base, bill_date: '20200101', bill_type: 'ALL' },
      { tls },
    );
    expect(noBill.return_code).toBe('FAIL');
    const today = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10);
    const next = new Date(Date.parse(`${today}T10:00:00+08:00`) + 24 * 3600_000).toISOString();
    expect((await simJson(sim.url, '/sim/clock', { now: next }, tls)).status).toBe(200);
    const f = { ...base, bill_date: today.replaceAll('-', ''), bill_type: 'ALL', nonce_str: 'b1' };
    const text = (await rawPost(`${sim.url}/pay/downloadbill`, toXml({ ...f, sign: signFields(f, MERCHANT.key) }), tls))
      .text;
    expect(text.startsWith('\uFEFFTransaction time,')).toBe(true);
    const lines = text.trim().split(/\r?\n/);
    expect(lines.some((l) => l.includes('`E2E-1,') && l.includes('`SUCCESS,'))).toBe(true);
    expect(lines.some((l) => l.includes('`E2E-1-R1,'))).toBe(true);
    const g = { ...f, tar_type: 'GZIP', nonce_str: 'b2' };
    const gz = await new Promise<Buffer>((resolve, reject) => {
      import('node:https').then(({ request }) => {
        const req = request(`${sim.url}/pay/downloadbill`, { method: 'POST', ...tls }, (res) => {
          const c: Buffer[] = [];
          res.on('data', (d) => c.push(d));
          res.on('end', () => resolve(Buffer.concat(c)));
        });
        req.on('error', reject);
        req.end(toXml({ ...g, sign: signFields(g, MERCHANT.key) }));
      }, reject);
    });
    expect(gunzipSync(gz).toString('utf8')).toBe(text);
  });

  it('answers queryexchagerate without a nonce, rate × 10^8, settable', async () => {
    await simJson(sim.url, '/sim/rates', { fee_type: 'NZD', rate: '4.3' }, tls);
    const day = new Date(Date.parse((await simJson(sim.url, '/sim/clock', undefined, tls)).json.now) + 8 * 3600_000)
      .toISOString()
      .slice(0, 10)
      .replaceAll('-', '');
    const r = await call(
      sim.url,
      '/pay/queryexchagerate',
      { ...base, fee_type: 'NZD', date: day },
      { tls, nonce: false },
    );
    expect(r).toMatchObject({ return_code: 'SUCCESS', fee_type: 'NZD', rate_time: day, rate: '430000000' });
    expect(r.sign).toBe(signFields(r, MERCHANT.key));
  });

  it('serves the OAuth endpoints a JSAPI page needs for its openid', async () => {
    const redirect = 'http://127.0.0.1:9/jsapi/back';
    const auth = await rawPost(
      `${sim.url}/connect/oauth2/authorize?appid=${MERCHANT.appid}&redirect_uri=${encodeURIComponent(redirect)}&response_type=code&scope=snsapi_base&state=S1`,
      '',
      tls,
      {},
      'GET',
    );
    expect(auth.status).toBe(302);
    const back = new URL(String(auth.headers.location));
    expect(back.origin + back.pathname).toBe(redirect);
    expect(back.searchParams.get('state')).toBe('S1');
    const code = back.searchParams.get('code')!;
    const token = (secret: string) =>
      simJson(
        sim.url,
        `/sns/oauth2/access_token?appid=${MERCHANT.appid}&secret=${secret}&code=${code}&grant_type=authorization_code`,
        undefined,
        tls,
      );
    expect((await token('wrong')).json.errcode).toBe(40125);
    const ok = await token('kauri-demo-appsecret');
    expect(ok.json.openid).toMatch(/^o/);
    expect((await token('kauri-demo-appsecret')).json.errcode).toBe(40029); // a code works once
  });

  it('notifies the settled refund (req_info, AES-256-ECB with MD5 of the key)', async () => {
    const n = await until(() => notifies.find((x) => x.req_info !== undefined), 20_000);
    const d = createDecipheriv('aes-256-ecb', Buffer.from(createHash('md5').update(MERCHANT.key).digest('hex')), null);
    const info = fromXml(
      Buffer.concat([d.update(Buffer.from(n.req_info!, 'base64')), d.final()])
        .toString('utf8')
        .replace(/^<root>|<\/root>$/g, (t) => (t === '<root>' ? '<xml>' : '</xml>')),
    );
    expect(info).toMatchObject({ out_refund_no: 'E2E-1-R1', refund_fee: '234', refund_status: 'SUCCESS' });
  });

  it('keeps its state and certificates across a restart', async () => {
    const certBefore = readFileSync(join(state, 'apiclient_cert.pem'), 'utf8');
    const clockBefore = (await simJson(sim.url, '/sim/clock', undefined, tls)).json.offset_ms;
    expect(await sim.stop()).toBe(0);
    sim = await startSim(['--tls', '--state', state, '--port', '0']);
    expect(readFileSync(join(state, 'apiclient_cert.pem'), 'utf8')).toBe(certBefore);
    const q = await call(sim.url, '/pay/orderquery', { ...base, out_trade_no: 'E2E-1' }, { tls });
    expect(q).toMatchObject({ trade_state: 'REFUND' });
    const offset = (await simJson(sim.url, '/sim/clock', undefined, tls)).json.offset_ms;
    expect(Math.abs(offset - clockBefore)).toBeLessThan(1000);
    // The old client certificate still works against the restarted simulator.
    const r = await call(
      sim.url,
      '/secapi/pay/refund',
      { ...base, out_trade_no: 'E2E-1', out_refund_no: 'E2E-1-R1', total_fee: '1234', refund_fee: '234' },
      { tls: withCert },
    );
    expect(r).toMatchObject({ result_code: 'SUCCESS', out_refund_no: 'E2E-1-R1' });
  });
});
