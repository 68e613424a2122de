import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { pino } from 'pino';
import { startWechatSim, type WechatSim } from './server.js';
import { DEFAULT_MERCHANT as M } from './merchants.js';
import { sign, verify } from './sign.js';
import { buildWechatXml, parseWechatXml } from './xml.js';

// The wire envelope, in process (fastify inject): what each kind of refusal looks
// like, and that faults are applied per path.

let sim: WechatSim;
beforeAll(async () => {
  sim = await startWechatSim({ port: 0, log: pino({ level: 'silent' }) });
});
afterAll(async () => {
  await sim.close();
});

async function post(
  path: string,
  fields: Record<string, string>,
  opts: { signWith?: string; signType?: 'MD5' | 'HMAC-SHA256'; raw?: string } = {},
) {
  const f = { ...fields };
  if (!opts.raw) f.sign = sign(f, opts.signWith ?? M.key, opts.signType ?? 'MD5');
  const res = await sim.app.inject({ method: 'POST', url: path, payload: opts.raw ?? buildWechatXml(f) });
  return {
    status: res.statusCode,
    fields: res.statusCode === 200 && res.body.startsWith('<xml>') ? parseWechatXml(Buffer.from(res.body)) : {},
    body: res.body,
  };
}

const env = { appid: M.appid, mch_id: M.mch_id, nonce_str: 'abc' };
const order = (out: string) => ({
  ...env,
  body: 'x',
  out_trade_no: out,
  total_fee: '100',
  fee_type: 'NZD',
  spbill_create_ip: '127.0.0.1',
  notify_url: 'http://127.0.0.1:9/n',
  trade_type: 'NATIVE',
  product_id: 'p',
});

describe('WeChat v2 envelope', () => {
  it('signs SUCCESS answers with the request sign_type and echoes the envelope', async () => {
    const r = await post(
      '/pay/unifiedorder',
      { ...order('A1'), sign_type: 'HMAC-SHA256', device_info: 'POS1' },
      { signType: 'HMAC-SHA256' },
    );
    expect(r.fields).toMatchObject({
      return_code: 'SUCCESS',
      return_msg: 'OK',
      appid: M.appid,
      mch_id: M.mch_id,
      device_info: 'POS1',
      result_code: 'SUCCESS',
    });
    expect(r.fields.nonce_str).toMatch(/^[0-9a-f]{32}$/);
    expect(verify(r.fields, M.key, 'HMAC-SHA256')).toBe(true);
    expect(verify(r.fields, M.key, 'MD5')).toBe(false);
  });

  it('answers refusals as WeChat does, unsigned, and creates nothing', async () => {
    const before = sim.gateway.data.orders.length;
    expect((await post('/pay/unifiedorder', order('B1'), { signWith: 'x'.repeat(32) })).fields).toEqual({
      return_code: 'FAIL',
      return_msg: '签名错误',
    });
    expect((await post('/pay/unifiedorder', { ...order('B1'), sign_type: 'SHA1' })).fields.return_msg).toMatch(
      /sign_type/,
    );
    expect((await post('/pay/unifiedorder', { ...order('B1'), mch_id: '42' })).fields.return_msg).toMatch(
      /MCHID_NOT_EXIST/,
    );
    const { nonce_str: _n, ...noNonce } = order('B1');
    expect((await post('/pay/unifiedorder', noNonce)).fields.return_msg).toMatch(/nonce_str/);
    expect((await post('/pay/unifiedorder', {}, { raw: '' })).fields).toEqual({
      return_code: 'FAIL',
      return_msg: 'post数据为空',
    });
    expect((await post('/pay/unifiedorder', {}, { raw: 'appid=1&mch_id=2' })).fields).toEqual({
      return_code: 'FAIL',
      return_msg: 'XML格式错误',
    });
    const get = await sim.app.inject({ method: 'GET', url: '/pay/unifiedorder' });
    expect(parseWechatXml(get.rawPayload).return_code).toBe('FAIL');
    const mismatch = await post('/pay/unifiedorder', { ...order('B1'), appid: 'wx0000000000000000' });
    expect(mismatch.fields).toMatchObject({
      return_code: 'SUCCESS',
      result_code: 'FAIL',
      err_code: 'APPID_MCHID_NOT_MATCH',
    });
    expect(verify(mismatch.fields, M.key, 'MD5')).toBe(true);
    expect(sim.gateway.data.orders.length).toBe(before);
  });

  it('signs business failures (result_code=FAIL) with err_code and err_code_des', async () => {
    const r = await post('/pay/orderquery', { ...env, out_trade_no: 'missing' });
    expect(r.fields).toMatchObject({ return_code: 'SUCCESS', result_code: 'FAIL', err_code: 'ORDERNOTEXIST' });
    expect(r.fields.err_code_des).toBeTruthy();
    expect(verify(r.fields, M.key, 'MD5')).toBe(true);
  });

  it('applies an "unknown" fault after processing: micropay pays but answers SYSTEMERROR', async () => {
    const code = sim.gateway.mintPaycode('success').auth_code;
    await sim.app.inject({
      method: 'POST',
      url: '/sim/faults',
      payload: JSON.stringify({ target: '/pay/micropay', mode: 'unknown' }),
    });
    const mp = {
      ...env,
      body: 'x',
      out_trade_no: 'U1',
      total_fee: '100',
      fee_type: 'NZD',
      spbill_create_ip: '127.0.0.1',
      auth_code: code,
    };
    expect((await post('/pay/micropay', mp)).fields).toMatchObject({ result_code: 'FAIL', err_code: 'SYSTEMERROR' });
    expect((await post('/pay/orderquery', { ...env, out_trade_no: 'U1' })).fields.trade_state).toBe('SUCCESS');
    // The merchant's retry of the same micropay answers the order's state.
    expect((await post('/pay/micropay', mp)).fields).toMatchObject({ result_code: 'SUCCESS', out_trade_no: 'U1' });
    // Reverse is accepted from 15 s after the order: move WeChat's clock on.
    await sim.app.inject({
      method: 'POST',
      url: '/sim/clock',
      payload: JSON.stringify({ now: new Date(Date.now() + 20_000).toISOString() }),
    });
    await sim.app.inject({
      method: 'POST',
      url: '/sim/faults',
      payload: JSON.stringify({ target: '/secapi/pay/reverse', mode: 'unknown' }),
    });
    expect((await post('/secapi/pay/reverse', { ...env, out_trade_no: 'U1' })).fields).toMatchObject({
      err_code: 'SYSTEMERROR',
      recall: 'Y',
    });
    expect((await post('/secapi/pay/reverse', { ...env, out_trade_no: 'U1' })).fields).toMatchObject({
      result_code: 'SUCCESS',
      recall: 'N',
    });
  });

  it('lists what it believes at /sim/orders, narrowed by out_trade_no', async () => {
    const all = (await sim.app.inject({ method: 'GET', url: '/sim/orders' })).json();
    expect(all.orders.length).toBeGreaterThan(1);
    const one = (await sim.app.inject({ method: 'GET', url: '/sim/orders?out_trade_no=A1' })).json();
    expect(one.orders).toHaveLength(1);
    expect(one.orders[0]).toMatchObject({ out_trade_no: 'A1', trade_state: 'NOTPAY', total_fee: 100, fee_type: 'NZD' });
    expect(one.orders[0].fingerprint).toBeUndefined();
  });

  it('says what it is at /', async () => {
    const res = await sim.app.inject({ method: 'GET', url: '/' });
    expect(res.body).toContain('/pay/unifiedorder');
    expect(res.body).toContain('mch_id 10000100');
    expect(res.body).not.toContain(M.key);
  });

  it('answers downloadbill errors in XML with error_code', async () => {
    const r = await post('/pay/downloadbill', { ...env, bill_date: '20200101' });
    expect(r.fields).toEqual({ return_code: 'FAIL', return_msg: 'invalid bill_date', error_code: '20001' });
  });
});
