import { describe, it, expect } from 'vitest';
import { createDecipheriv, createHash } from 'node:crypto';
import { pino } from 'pino';
import { SimClock } from '../common/clock.js';
import { FaultRegistry } from '../common/faults.js';
import { Notifier, type NotifyJob } from '../common/notifier.js';
import { BizError, ControlError, ReturnError, WechatGateway, type GatewayData } from './gateway.js';
import { DEFAULT_MERCHANT as M } from './merchants.js';
import { verify } from './sign.js';
import { parseWechatXml } from './xml.js';

function setup() {
  let real = Date.parse('2026-11-20T02:00:00Z'); // 10:00 in Beijing
  const clock = new SimClock({ scale: 1, realNow: () => real });
  const jobs: NotifyJob[] = [];
  const notifier = new Notifier({
    clock,
    faults: new FaultRegistry(),
    log: pino({ level: 'silent' }),
    schedule: [15_000],
    isAck: () => true,
    jobs,
    onChange: () => {},
  });
  notifier.stop(); // queue only: nothing is delivered in these tests
  const data: GatewayData = { orders: [], paycodes: [], oauthCodes: [], rates: [] };
  const gw = new WechatGateway(data, new Map([[M.mch_id, M]]), clock, notifier, pino({ level: 'silent' }), () => {});
  return { gw, clock, jobs, data, advance: (ms: number) => (real += ms) };
}

const native = (over: Record<string, string> = {}) => ({
  appid: M.appid,
  mch_id: M.mch_id,
  nonce_str: 'n1',
  body: 'Flat white',
  out_trade_no: 'T1',
  total_fee: '1000',
  fee_type: 'NZD',
  spbill_create_ip: '127.0.0.1',
  notify_url: 'http://127.0.0.1:1/notify',
  trade_type: 'NATIVE',
  product_id: 'P1',
  ...over,
});

function biz(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof BizError) return err.errCode;
    if (err instanceof ReturnError) return `FAIL:${err.returnMsg}`;
    if (err instanceof ControlError) return `${err.status}:${err.code}`;
    throw err;
  }
  return 'OK';
}

describe('unifiedorder', () => {
  it('creates a NATIVE order with a code_url and answers a retry with the same prepay_id', () => {
    const { gw } = setup();
    const a = gw.unifiedOrder(M, native(), 'MD5');
    expect(a.trade_type).toBe('NATIVE');
    expect(a.code_url).toMatch(/^weixin:\/\/wxpay\/bizpayurl\?pr=/);
    expect(a.prepay_id).toMatch(/^wx20261120100000[0-9a-f]{20}$/);
    expect(gw.unifiedOrder(M, native({ nonce_str: 'n2' }), 'MD5')).toEqual(a);
    expect(biz(() => gw.unifiedOrder(M, native({ total_fee: '999' }), 'MD5'))).toBe('INVALID_REQUEST');
  });

  it('refuses missing or malformed fields and foreign currencies, creating nothing', () => {
    const { gw, data } = setup();
    expect(biz(() => gw.unifiedOrder(M, native({ product_id: '' }), 'MD5'))).toBe('LACK_PARAMS');
    expect(biz(() => gw.unifiedOrder(M, native({ trade_type: 'JSAPI', product_id: '' }), 'MD5'))).toBe('LACK_PARAMS');
    expect(biz(() => gw.unifiedOrder(M, native({ fee_type: 'USD' }), 'MD5'))).toBe('PARAM_ERROR');
    expect(biz(() => gw.unifiedOrder(M, native({ fee_type: '' }), 'MD5'))).toBe('PARAM_ERROR'); // defaults to CNY
    expect(biz(() => gw.unifiedOrder(M, native({ total_fee: '8.88' }), 'MD5'))).toMatch(/^FAIL:total_fee/);
    expect(biz(() => gw.unifiedOrder(M, native({ total_fee: '0' }), 'MD5'))).toMatch(/^FAIL:total_fee/);
    expect(biz(() => gw.unifiedOrder(M, native({ notify_url: 'http://x/n?a=1' }), 'MD5'))).toMatch(/^FAIL:notify_url/);
    expect(biz(() => gw.unifiedOrder(M, native({ out_trade_no: 'a b' }), 'MD5'))).toMatch(/^FAIL:out_trade_no/);
    expect(data.orders).toHaveLength(0);
  });

  it('creates a JSAPI order with a prepay_id and no code_url', () => {
    const { gw } = setup();
    const a = gw.unifiedOrder(M, native({ trade_type: 'JSAPI', product_id: '', openid: 'oUser' }), 'HMAC-SHA256');
    expect(a.code_url).toBeUndefined();
    expect(a.prepay_id).toBeDefined();
  });
});

describe('paying, notifying, closing', () => {
  it('pays at the day rate and queues a notify signed with the order sign_type', () => {
    const { gw, jobs } = setup();
    const { code_url } = gw.unifiedOrder(M, native(), 'HMAC-SHA256');
    gw.setRate('NZD', '4.12345678');
    const o = gw.simPay({ code_url });
    expect(o.trade_state).toBe('SUCCESS');
    expect(o.rate).toBe('412345678');
    expect(o.cash_fee).toBe(4123); // 10.00 NZD × 4.12345678 = 41.2345678 CNY
    expect(jobs).toHaveLength(1);
    const n = parseWechatXml(Buffer.from(jobs[0]!.body));
    expect(n).toMatchObject({
      sign_type: 'HMAC-SHA256',
      result_code: 'SUCCESS',
      out_trade_no: 'T1',
      total_fee: '1000',
      fee_type: 'NZD',
      cash_fee_type: 'CNY',
    });
    expect(verify(n, M.key, 'HMAC-SHA256')).toBe(true);
    const q = gw.orderQuery(M, { out_trade_no: 'T1' });
    expect(q).toMatchObject({
      trade_state: 'SUCCESS',
      transaction_id: o.transaction_id,
      time_end: expect.stringMatching(/^\d{14}$/),
    });
    expect(biz(() => gw.simPay({ code_url }))).toBe('409:order_paid');
    expect(biz(() => gw.closeOrder(M, { out_trade_no: 'T1' }))).toBe('ORDERPAID');
    expect(biz(() => gw.unifiedOrder(M, native(), 'HMAC-SHA256'))).toBe('ORDERPAID');
  });

  it('closes an unpaid order once; a closed order cannot be paid unless forced', () => {
    const { gw, jobs } = setup();
    const { prepay_id } = gw.unifiedOrder(M, native(), 'MD5');
    expect(gw.orderQuery(M, { out_trade_no: 'T1' })).toMatchObject({ trade_state: 'NOTPAY' });
    expect(gw.orderQuery(M, { out_trade_no: 'T1' }).transaction_id).toBeUndefined();
    expect(gw.closeOrder(M, { out_trade_no: 'T1' })).toEqual({ result_msg: 'OK' });
    expect(biz(() => gw.closeOrder(M, { out_trade_no: 'T1' }))).toBe('ORDERCLOSED');
    expect(biz(() => gw.simPay({ prepay_id }))).toBe('409:order_closed');
    expect(jobs).toHaveLength(0);
    // A payment racing the close (the bridge's "notify for an order closed here" case).
    expect(gw.simPay({ prepay_id }, undefined, true).trade_state).toBe('SUCCESS');
    expect(jobs).toHaveLength(1);
  });

  it('refuses to pay an order past time_expire or its prepay_id lifetime', () => {
    const { gw, advance } = setup();
    gw.unifiedOrder(M, native({ time_expire: '20261120100500' }), 'MD5');
    advance(6 * 60_000);
    expect(biz(() => gw.simPay({ out_trade_no: 'T1' }))).toBe('410:order_expired');
    gw.unifiedOrder(M, native({ out_trade_no: 'T2' }), 'MD5');
    advance(2 * 3600_000 + 1);
    expect(biz(() => gw.simPay({ out_trade_no: 'T2' }))).toBe('410:order_expired');
  });

  it('answers ORDERNOTEXIST for unknown orders', () => {
    const { gw } = setup();
    expect(biz(() => gw.orderQuery(M, { out_trade_no: 'nope' }))).toBe('ORDERNOTEXIST');
    expect(biz(() => gw.orderQuery(M, {}))).toBe('LACK_PARAMS');
  });
});

describe('micropay and payment codes', () => {
  const mp = (code: string, out = 'M1') => ({
    appid: M.appid,
    mch_id: M.mch_id,
    nonce_str: 'n',
    body: 'Lunch',
    out_trade_no: out,
    total_fee: '2500',
    fee_type: 'NZD',
    spbill_create_ip: '127.0.0.1',
    auth_code: code,
  });

  it('pays with a fresh code, once', () => {
    const { gw, jobs } = setup();
    const { auth_code } = gw.mintPaycode('success');
    expect(auth_code).toMatch(/^1[0-5]\d{16}$/);
    expect(gw.micropay(M, mp(auth_code), 'MD5')).toMatchObject({
      trade_type: 'MICROPAY',
      total_fee: '2500',
      cash_fee_type: 'CNY',
    });
    expect(jobs).toHaveLength(0); // Quick Pay has no notify
    expect(gw.micropay(M, mp(auth_code), 'MD5')).toMatchObject({ out_trade_no: 'M1' }); // a retry of the same order
    expect(biz(() => gw.micropay(M, mp(auth_code, 'M2'), 'MD5'))).toBe('AUTH_CODE_ERROR');
  });

  it('refuses expired, unknown and malformed codes, and an empty balance', () => {
    const { gw, advance, data } = setup();
    const old = gw.mintPaycode('success').auth_code;
    advance(60_000);
    expect(biz(() => gw.micropay(M, mp(old), 'MD5'))).toBe('AUTHCODEEXPIRE');
    expect(biz(() => gw.micropay(M, mp(gw.mintPaycode('expired').auth_code), 'MD5'))).toBe('AUTHCODEEXPIRE');
    expect(biz(() => gw.micropay(M, mp('134567890123456789'), 'MD5'))).toBe('AUTH_CODE_INVALID');
    expect(biz(() => gw.micropay(M, mp('284567890123456789'), 'MD5'))).toBe('AUTH_CODE_INVALID');
    expect(data.orders).toHaveLength(0);
    expect(biz(() => gw.micropay(M, mp(gw.mintPaycode('insufficient').auth_code), 'MD5'))).toBe('NOTENOUGH');
    expect(gw.orderQuery(M, { out_trade_no: 'M1' }).trade_state).toBe('PAYERROR');
    expect(biz(() => gw.mintPaycode('sometimes'))).toBe('400:invalid_behaviour');
  });

  it('expires a code after 60 s of protocol time at any time scale', () => {
    let real = 0;
    const fast = new SimClock({ scale: 100, realNow: () => real });
    const { gw: g0 } = setup();
    // Same gateway logic with a sped-up clock: 600 real ms = 60 s.
    const gw = new WechatGateway(
      g0.data,
      g0.merchants,
      fast,
      (g0 as unknown as { notifier: Notifier }).notifier,
      pino({ level: 'silent' }),
      () => {},
    );
    const code = gw.mintPaycode('success').auth_code;
    real += 599;
    const fresh = gw.mintPaycode('success').auth_code;
    real += 1;
    expect(biz(() => gw.micropay(M, mp(code), 'MD5'))).toBe('AUTHCODEEXPIRE');
    expect(biz(() => gw.micropay(M, mp(fresh, 'M2'), 'MD5'))).toBe('OK');
  });

  it('userpaying:3 answers USERPAYING until the third order query, which answers SUCCESS', () => {
    const { gw } = setup();
    const { auth_code } = gw.mintPaycode('userpaying:3');
    expect(biz(() => gw.micropay(M, mp(auth_code), 'MD5'))).toBe('USERPAYING');
    expect(gw.orderQuery(M, { out_trade_no: 'M1' }).trade_state).toBe('USERPAYING');
    expect(gw.orderQuery(M, { out_trade_no: 'M1' }).trade_state).toBe('USERPAYING');
    expect(gw.orderQuery(M, { out_trade_no: 'M1' })).toMatchObject({ trade_state: 'SUCCESS', trade_type: 'MICROPAY' });
  });

  it('refuses a reverse before 15 s with SYSTEMERROR recall=Y, then reverses; none after 7 days', () => {
    const { gw, advance } = setup();
    expect(biz(() => gw.micropay(M, mp(gw.mintPaycode('userpaying:100').auth_code), 'MD5'))).toBe('USERPAYING');
    let early: unknown;
    try {
      gw.reverse(M, { out_trade_no: 'M1' });
    } catch (err) {
      early = err;
    }
    expect(early).toMatchObject({ errCode: 'SYSTEMERROR', extra: { recall: 'Y' } });
    expect(gw.orderQuery(M, { out_trade_no: 'M1' }).trade_state).toBe('USERPAYING');
    advance(14_000);
    expect(biz(() => gw.reverse(M, { out_trade_no: 'M1' }))).toBe('SYSTEMERROR');
    advance(1_000);
    expect(gw.reverse(M, { out_trade_no: 'M1' })).toEqual({ recall: 'N' });
    const code = gw.mintPaycode('success').auth_code;
    gw.micropay(M, mp(code, 'M9'), 'MD5');
    advance(7 * 24 * 3600_000 + 1);
    expect(biz(() => gw.reverse(M, { out_trade_no: 'M9' }))).toBe('REVERSE_EXPIRE');
  });

  it('reverses a paying order, and revokes one left unconfirmed for 45 s', () => {
    const { gw, advance } = setup();
    expect(biz(() => gw.micropay(M, mp(gw.mintPaycode('userpaying:100').auth_code), 'MD5'))).toBe('USERPAYING');
    advance(15_000);
    expect(gw.reverse(M, { out_trade_no: 'M1' })).toEqual({ recall: 'N' });
    expect(gw.orderQuery(M, { out_trade_no: 'M1' }).trade_state).toBe('REVOKED');
    expect(gw.reverse(M, { out_trade_no: 'M1' })).toEqual({ recall: 'N' }); // idempotent
    expect(biz(() => gw.micropay(M, mp(gw.mintPaycode('userpaying:100').auth_code, 'M2'), 'MD5'))).toBe('USERPAYING');
    advance(45_000);
    expect(gw.orderQuery(M, { out_trade_no: 'M2' }).trade_state).toBe('REVOKED');
  });
});

describe('refunds', () => {
  function paid() {
    const s = setup();
    s.gw.unifiedOrder(M, native(), 'MD5');
    s.gw.simPay({ out_trade_no: 'T1' });
    return s;
  }
  const rf = (no: string, fee: string, total = '1000') => ({
    out_trade_no: 'T1',
    out_refund_no: no,
    total_fee: total,
    refund_fee: fee,
  });

  it('refunds in part and in full, idempotently, never beyond the payment', () => {
    const { gw, data, advance } = paid();
    const o = data.orders[0]!;
    const a = gw.refund(M, rf('R1', '300'));
    expect(a).toMatchObject({ refund_fee: '300', total_fee: '1000', fee_type: 'NZD', cash_refund_fee_type: 'CNY' });
    expect(gw.refund(M, rf('R1', '300'))).toEqual(a);
    expect(biz(() => gw.refund(M, rf('R1', '301')))).toBe('REFUND_FEE_MISMATCH');
    expect(biz(() => gw.refund(M, rf('R2', '701')))).toBe('INVALID_REQUEST');
    expect(biz(() => gw.refund(M, rf('R2', '1001')))).toBe('FAIL:invalid refund_fee');
    expect(biz(() => gw.refund(M, rf('R2', '100', '999')))).toBe('REFUND_FEE_MISMATCH');
    expect(biz(() => gw.refund(M, { ...rf('R2', '100'), refund_fee_type: 'CNY' }))).toBe('PARAM_ERROR');
    const b = gw.refund(M, rf('R2', '700'));
    expect(Number(a.cash_refund_fee) + Number(b.cash_refund_fee)).toBe(o.cash_fee);
    expect(gw.orderQuery(M, { out_trade_no: 'T1' }).trade_state).toBe('REFUND');
    expect(biz(() => gw.refund(M, rf('R3', '1')))).toBe('ERROR'); // fully refunded
    advance(15_000);
    expect(biz(() => gw.reverse(M, { out_trade_no: 'T1' }))).toBe('TRADE_ERROR');
    expect(o.refunds).toHaveLength(2);
  });

  it('notifies a settled refund with req_info encrypted by MD5(key), when asked to', () => {
    const { gw, advance, jobs } = paid();
    const before = jobs.length;
    gw.refund(M, { ...rf('R1', '250'), notify_url: 'http://127.0.0.1:1/refund-notify' });
    gw.refund(M, rf('R2', '100')); // no notify_url: no notification
    advance(5_000);
    gw.refundQuery(M, { out_trade_no: 'T1' });
    expect(jobs.length).toBe(before + 1);
    const n = parseWechatXml(Buffer.from(jobs.at(-1)!.body));
    expect(n).toMatchObject({ return_code: 'SUCCESS', appid: M.appid, mch_id: M.mch_id });
    expect(n.sign).toBeUndefined();
    const decipher = createDecipheriv('aes-256-ecb', Buffer.from(createHash('md5').update(M.key).digest('hex')), null);
    const plain = Buffer.concat([decipher.update(Buffer.from(n.req_info!, 'base64')), decipher.final()]).toString(
      'utf8',
    );
    expect(plain).toMatch(/^<root>[\s\S]*<\/root>$/);
    expect(plain).toContain('<out_refund_no><![CDATA[R1]]></out_refund_no>');
    expect(plain).toContain('<refund_status><![CDATA[SUCCESS]]></refund_status>');
    expect(plain).toContain('<refund_fee>250</refund_fee>');
  });

  it('refuses refunds of unpaid orders', () => {
    const { gw } = setup();
    gw.unifiedOrder(M, native(), 'MD5');
    expect(biz(() => gw.refund(M, rf('R1', '100')))).toBe('TRADE_STATE_ERROR');
    expect(biz(() => gw.refund(M, { ...rf('R1', '100'), out_trade_no: 'nope' }))).toBe('ORDERNOTEXIST');
  });

  it('settles PROCESSING refunds after a while and lists them in refundquery', () => {
    const { gw, advance } = paid();
    const r = gw.refund(M, rf('R1', '250'));
    let q = gw.refundQuery(M, { out_trade_no: 'T1' });
    expect(q).toMatchObject({
      total_refund_count: '1',
      refund_count: '1',
      out_refund_no_0: 'R1',
      refund_fee_0: '250',
      refund_status_0: 'PROCESSING',
    });
    advance(5_000);
    q = gw.refundQuery(M, { refund_id: r.refund_id! });
    expect(q).toMatchObject({
      refund_status_0: 'SUCCESS',
      refund_success_time_0: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/),
    });
    expect(biz(() => gw.refundQuery(M, { out_refund_no: 'R9' }))).toBe('REFUNDNOTEXIST');
  });
});

describe('rates and OAuth codes', () => {
  it('answers the rate in force on a date, × 10^8', () => {
    const { gw, clock } = setup();
    expect(gw.queryRate(M, { fee_type: 'NZD', date: '20261120' })).toEqual({
      fee_type: 'NZD',
      rate_time: '20261120',
      rate: '415000000',
    });
    gw.setRate('NZD', '4.2', clock.nowMs() + 24 * 3600_000);
    expect(gw.queryRate(M, { fee_type: 'NZD', date: '20261120' }).rate).toBe('415000000');
    expect(gw.queryRate(M, { fee_type: 'NZD', date: '20261121' }).rate).toBe('420000000');
    expect(biz(() => gw.queryRate(M, { fee_type: 'XXX', date: '20261120' }))).toMatch(/^FAIL:fee_type/);
    expect(biz(() => gw.setRate('NZD', '-1'))).toBe('400:invalid_rate');
  });

  it('redeems an OAuth code once, for a stable openid', () => {
    const { gw } = setup();
    const c = gw.mintOAuthCode(M.appid, 'alice');
    expect(gw.redeemOAuthCode(M.appid, c.code)?.openid).toBe(gw.openidFor(M.appid, 'alice'));
    expect(gw.redeemOAuthCode(M.appid, c.code)).toBeUndefined();
    expect(gw.openidFor(M.appid, 'alice')).toMatch(/^o[\w-]{27}$/);
  });
});

describe('H5 (MWEB)', () => {
  const scene = JSON.stringify({ h5_info: { type: 'Wap', wap_url: 'https://pay.example', wap_name: 'Shop' } });
  const h5 = (over: Record<string, string> = {}) =>
    native({ trade_type: 'MWEB', product_id: '', scene_info: scene, spbill_create_ip: '203.0.113.7', ...over });
  const linkOf = (mweb: string) => {
    const u = new URL(mweb);
    return { prepay_id: u.searchParams.get('prepay_id')!, package: u.searchParams.get('package')! };
  };

  it('needs a Wap scene_info and answers an mweb_url on this simulator', () => {
    const { gw } = setup();
    expect(biz(() => gw.unifiedOrder(M, h5({ scene_info: '' }), 'MD5'))).toBe('LACK_PARAMS');
    expect(
      biz(() => gw.unifiedOrder(M, h5({ scene_info: JSON.stringify({ h5_info: { type: 'IOS' } }) }), 'MD5')),
    ).toMatch(/^FAIL:scene_info/);
    expect(biz(() => gw.unifiedOrder(M, h5({ scene_info: '{not json' }), 'MD5'))).toMatch(/^FAIL:scene_info/);
    expect(
      biz(() =>
        gw.unifiedOrder(M, h5({ scene_info: JSON.stringify({ h5_info: { type: 'Wap', wap_name: 'x' } }) }), 'MD5'),
      ),
    ).toMatch(/^FAIL:scene_info/);
    const answer = gw.unifiedOrder(M, h5(), 'MD5', 'https://127.0.0.1:9');
    expect(answer.mweb_url).toMatch(/^https:\/\/127\.0\.0\.1:9\/cgi-bin\/mmpayweb-bin\/checkmweb\?prepay_id=wx/);
  });

  it("takes the field table's app scenes too, and the published example's (an iOS app naming package_name)", () => {
    const { gw } = setup();
    const scenes = [
      { type: 'IOS', app_name: '王者荣耀', package_name: 'com.tencent.tmgp.sgame' },
      { type: 'IOS', app_name: 'Kauri', bundle_id: 'nz.kauri.app' },
      { type: 'Android', app_name: 'Kauri', package_name: 'nz.kauri.app' },
    ];
    scenes.forEach((h5_info, i) => {
      const answer = gw.unifiedOrder(
        M,
        h5({ out_trade_no: `H5APP${i}`, scene_info: JSON.stringify({ h5_info }) }),
        'MD5',
        'https://sim',
      );
      expect(answer.mweb_url, JSON.stringify(h5_info)).toMatch(/\/cgi-bin\/mmpayweb-bin\/checkmweb\?prepay_id=wx/);
    });
    expect(
      biz(() =>
        gw.unifiedOrder(
          M,
          h5({ out_trade_no: 'H5APPX', scene_info: '{"h5_info":{"type":"Android","app_name":"K"}}' }),
          'MD5',
        ),
      ),
    ).toMatch(/^FAIL:scene_info/);
  });

  it('checks the Referer against the registered H5 domains, and the 5-minute lifetime', () => {
    const { gw, advance } = setup();
    const link = linkOf(gw.unifiedOrder(M, h5(), 'MD5', 'https://sim').mweb_url!);
    const refused = '商家参数格式有误，请联系商家解决';
    expect(gw.h5Open({ ...link })).toEqual({ kind: 'error', message: refused });
    expect(gw.h5Open({ ...link, referer: 'https://evil.example/' })).toEqual({ kind: 'error', message: refused });
    expect(gw.h5Open({ ...link, referer: 'http://127.0.0.1.evil.example/' })).toEqual({
      kind: 'error',
      message: refused,
    });
    expect(gw.h5Open({ ...link, referer: 'http://127.0.0.1:7300/', redirect_url: 'https://evil.example/r' })).toEqual({
      kind: 'error',
      message: refused,
    });
    expect(gw.h5Open({ ...link, referer: 'http://127.0.0.1:7300/' }).kind).toBe('wallet');
    expect(gw.h5Open({ ...link, package: '1', referer: 'http://localhost/' }).kind).toBe('error');
    advance(5 * 60_000 + 1);
    expect(gw.h5Open({ ...link, referer: 'http://127.0.0.1:7300/' })).toEqual({
      kind: 'error',
      message: '支付请求已失效，请重新发起支付',
    });
  });

  it('cancel leaves the order unpaid; pay pays it once', () => {
    const { gw, data } = setup();
    const link = linkOf(gw.unifiedOrder(M, h5(), 'MD5', 'https://sim').mweb_url!);
    expect(gw.h5Act(link, false).kind).toBe('wallet');
    expect(data.orders[0]!.trade_state).toBe('NOTPAY');
    expect(gw.h5Act(link, true).kind).toBe('wallet');
    expect(data.orders[0]!.trade_state).toBe('SUCCESS');
    expect(gw.h5Act(link, true).kind).toBe('wallet');
    expect(data.orders[0]!.trade_state).toBe('SUCCESS');
  });
});
