import { createCipheriv, createHash, randomBytes, randomInt } from 'node:crypto';
import type { Logger } from 'pino';
import type { SimClock } from '../common/clock.js';
import { ControlError } from '../common/control.js';
import type { Notifier } from '../common/notifier.js';
import { renderBill, type BillType } from './bill.js';
import { cashFee, cashRefund, rateToWechat } from './fx.js';
import type { Merchant } from './merchants.js';
import {
  refundedTotal,
  wasPaid,
  type OAuthCode,
  type Order,
  type PayCode,
  type PayCodeBehaviour,
  type RateEntry,
  type Refund,
  type TradeType,
} from './model.js';
import { isSignType, sign, type SignType } from './sign.js';
import { beijingDay, billTime, compactTime, parseCompactTime } from './time.js';
import { buildWechatXml } from './xml.js';

// The WeChat Pay side of every call: orders and their states, payment codes, refunds,
// rates, statements and OAuth codes. It works on verified request fields and answers
// business fields; api.ts does the wire (XML, signatures, envelopes).

/** A business failure: return_code=SUCCESS, result_code=FAIL, err_code/err_code_des. */
export class BizError extends Error {
  constructor(
    readonly errCode: string,
    readonly des: string,
    readonly extra: Record<string, string> = {},
  ) {
    super(`${errCode}: ${des}`);
  }
}

/** A request refused before business logic: return_code=FAIL, return_msg. */
export class ReturnError extends Error {
  constructor(readonly returnMsg: string) {
    super(returnMsg);
  }
}

export { ControlError };

export type Fields = Record<string, string>;

export interface GatewayData {
  orders: Order[];
  paycodes: PayCode[];
  oauthCodes: OAuthCode[];
  rates: RateEntry[];
}

export const DEFAULT_RATES: Record<string, string> = {
  CNY: '1',
  NZD: '4.15',
  AUD: '4.68',
  USD: '7.12',
  HKD: '0.91',
  EUR: '7.70',
  GBP: '9.02',
  SGD: '5.31',
  CAD: '5.10',
  JPY: '0.047',
};

/** Quick Pay payment codes: 18 digits, prefix 10–15 (docs/protocols/wechat.md). */
export const AUTH_CODE = /^1[0-5]\d{16}$/;
const CODE_LIFETIME_MS = 60_000;
/** WeChat revokes a Quick Pay order the payer has not confirmed within 45 s. */
const USERPAYING_LIMIT_MS = 45_000;
/** A refund is PROCESSING this long before it succeeds. */
export const REFUND_SETTLE_MS = 5_000;
const PREPAY_LIFETIME_MS = 2 * 3600_000;
/** "MWEB_URL生成后，有效期为5分钟" (H5 payment FAQ). */
export const MWEB_URL_LIFETIME_MS = 5 * 60_000;
/** Where mweb_url points (WeChat's own is wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb). */
export const MWEB_PATH = '/cgi-bin/mmpayweb-bin/checkmweb';

/**
 * scene_info for H5, read leniently as JSON. The H5 page's field table names three scenes: a
 * mobile web site {"type":"Wap","wap_url","wap_name"}, an iOS app {"type":"IOS","app_name",
 * "bundle_id"} and an Android app {"type":"Android","app_name","package_name"}; its own request
 * example is an iOS app naming package_name, so an app scene may name either.
 */
export function readH5Scene(
  text: string,
): { type: 'Wap'; wap_url: string; wap_name: string } | { type: 'IOS' | 'Android'; app_name: string } | undefined {
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
  try {
    const v = JSON.parse(text) as { h5_info?: Record<string, unknown> };
    const h = v?.h5_info;
    if (!h || typeof h !== 'object') return undefined;
    if (h.type === 'Wap') {
      const wap_url = str(h.wap_url);
      const wap_name = str(h.wap_name);
      return wap_url && wap_name ? { type: 'Wap', wap_url, wap_name } : undefined;
    }
    if (h.type === 'IOS' || h.type === 'Android') {
      const app_name = str(h.app_name);
      return app_name && (str(h.bundle_id) || str(h.package_name)) ? { type: h.type, app_name } : undefined;
    }
    return undefined;
  } catch {
    return undefined;
  }
}
/**
 * Reverse is accepted from 15 s after the order and within 7 days ("This API can be called
 * to cancel a transaction made within 7 days… Revoke Order API should be called at least
 * 15s later after the order is created", overseas v2 Revoke Order,
 * pay.weixin.qq.com/doc/global/v2/en/4013659173).
 */
export const REVERSE_NOT_BEFORE_MS = 15_000;
const REVERSE_WINDOW_MS = 7 * 24 * 3600_000;
const REFUND_WINDOW_MS = 365 * 24 * 3600_000;
const MAX_REFUNDS = 50;
const OUT_TRADE_NO = /^[0-9A-Za-z_\-|*]{1,32}$/;

function digits(n: number): string {
  let s = '';
  while (s.length < n) s += String(randomInt(0, 1_000_000_000)).padStart(9, '0');
  return s.slice(0, n);
}

function need(f: Fields, ...names: string[]): void {
  for (const n of names) {
    if (f[n] === undefined || f[n] === '') throw new BizError('LACK_PARAMS', `缺少参数 ${n} (missing parameter)`);
  }
}

function amount(f: Fields, name: string): number {
  const v = f[name]!;
  if (!/^\d{1,12}$/.test(v) || Number(v) <= 0)
    throw new ReturnError(`${name}参数格式错误 (must be a positive integer in the currency's minor unit)`);
  return Number(v);
}

export type H5View = { kind: 'wallet'; order: Order } | { kind: 'error'; message: string };

/** Whether a URL's host is one of the domains (or a subdomain of one). */
function hostAllowed(url: string | undefined, domains: readonly string[]): boolean {
  if (!url) return false;
  let host: string;
  try {
    host = new URL(url).hostname.toLowerCase();
  } catch {
    return false;
  }
  return domains.some((d) => host === d || host.endsWith(`.${d}`));
}

export class WechatGateway {
  private readonly byKey = new Map<string, Order>();
  private readonly byTransaction = new Map<string, Order>();
  private readonly byPrepay = new Map<string, Order>();
  private readonly byCodeUrl = new Map<string, Order>();

  constructor(
    readonly data: GatewayData,
    readonly merchants: Map<string, Merchant>,
    private readonly clock: SimClock,
    private readonly notifier: Notifier,
    private readonly log: Logger,
    private readonly changed: () => void,
  ) {
    for (const o of data.orders) {
      this.index(o);
      for (const r of o.refunds) if (r.status === 'PROCESSING') this.armRefund(o, r);
    }
    if (data.rates.length === 0) {
      for (const [fee_type, rate] of Object.entries(DEFAULT_RATES))
        data.rates.push({ fee_type, rate: rateToWechat(rate), from_ms: 0 });
    }
  }

  private index(o: Order): void {
    this.byKey.set(this.key(o.mch_id, o.sub_mch_id, o.out_trade_no), o);
    this.byTransaction.set(o.transaction_id, o);
    if (o.prepay_id) this.byPrepay.set(o.prepay_id, o);
    if (o.code_url) this.byCodeUrl.set(o.code_url, o);
  }

  private key(mch: string, sub: string | undefined, out: string): string {
    return `${mch}|${sub ?? ''}|${out}`;
  }

  /** Brings time-driven state up to date: refunds settle, unconfirmed Quick Pay orders are revoked. */
  private tick(o: Order): void {
    let dirty = false;
    for (const r of o.refunds) {
      if (r.status === 'PROCESSING' && this.clock.elapsedSince(r.created_mark) >= REFUND_SETTLE_MS) {
        r.status = 'SUCCESS';
        r.success_ms = this.clock.nowMs();
        dirty = true;
        if (r.notify_url) this.sendRefundNotify(o, r);
      }
    }
    if (o.trade_state === 'USERPAYING' && this.clock.elapsedSince(o.created_mark) >= USERPAYING_LIMIT_MS) {
      o.trade_state = 'REVOKED';
      o.trade_state_desc = '用户支付超时，订单已撤销 (payer did not confirm in time)';
      o.revoked_ms = this.clock.nowMs();
      dirty = true;
    }
    if (dirty) this.changed();
  }

  private find(m: Merchant, f: Fields, notFound = 'ORDERNOTEXIST'): Order {
    let o: Order | undefined;
    if (f.transaction_id) {
      o = this.byTransaction.get(f.transaction_id);
      if (o && o.mch_id !== m.mch_id) o = undefined;
    } else if (f.out_trade_no) {
      o = this.byKey.get(this.key(m.mch_id, f.sub_mch_id, f.out_trade_no));
    } else {
      throw new BizError('LACK_PARAMS', '缺少参数 transaction_id 或 out_trade_no (one is required)');
    }
    if (!o) throw new BizError(notFound, '此交易订单号不存在 (order does not exist)');
    this.tick(o);
    return o;
  }

  rateFor(feeType: string, atMs: number): string | undefined {
    const entries = this.data.rates.filter((r) => r.fee_type === feeType).sort((a, b) => a.from_ms - b.from_ms);
    if (entries.length === 0) return undefined;
    const applicable = entries.filter((r) => r.from_ms <= atMs);
    return (applicable.at(-1) ?? entries[0]!).rate;
  }

  openidFor(appid: string, payer: string): string {
    return `o${createHash('sha256').update(`${appid}|${payer}`).digest('base64url').slice(0, 27)}`;
  }

  private commonOrder(m: Merchant, f: Fields, tradeType: TradeType, signType: SignType): Order {
    need(f, 'body', 'out_trade_no', 'total_fee', 'spbill_create_ip');
    if (!OUT_TRADE_NO.test(f.out_trade_no!))
      throw new ReturnError('out_trade_no参数格式错误 (1-32 of [0-9A-Za-z_-|*])');
    const total = amount(f, 'total_fee');
    const feeType = f.fee_type || 'CNY';
    if (feeType !== m.currency) {
      throw new BizError('PARAM_ERROR', `fee_type ${feeType} 不支持 (this merchant prices in ${m.currency})`);
    }
    if (this.rateFor(feeType, this.clock.nowMs()) === undefined)
      throw new BizError('PARAM_ERROR', `fee_type ${feeType} 不支持`);
    if (Buffer.byteLength(f.body!) > 128) throw new ReturnError('body参数长度有误 (at most 128 bytes)');
    let expire: number | undefined;
    if (f.time_expire) {
      expire = parseCompactTime(f.time_expire);
      if (expire === undefined || f.time_expire.length !== 14)
        throw new ReturnError('time_expire参数格式错误 (yyyyMMddHHmmss)');
    }
    const now = this.clock.nowMs();
    return {
      mch_id: m.mch_id,
      appid: m.appid,
      sub_mch_id: f.sub_mch_id || undefined,
      device_info: f.device_info || undefined,
      out_trade_no: f.out_trade_no!,
      transaction_id: `42000${beijingDay(now)}${digits(15)}`,
      trade_type: tradeType,
      body: f.body!,
      attach: f.attach || undefined,
      detail: f.detail || undefined,
      total_fee: total,
      fee_type: feeType,
      spbill_create_ip: f.spbill_create_ip,
      time_expire_ms: expire,
      sign_type: signType,
      trade_state: 'NOTPAY',
      created_ms: now,
      created_mark: this.clock.mark(),
      fingerprint: [
        tradeType,
        f.body,
        total,
        feeType,
        f.notify_url ?? '',
        f.openid ?? '',
        f.product_id ?? '',
        f.auth_code ?? '',
      ].join('|'),
      refunds: [],
    };
  }

  private existing(o: Order | undefined, fingerprint: string): Order | undefined {
    if (!o) return undefined;
    this.tick(o);
    if (o.trade_state === 'SUCCESS' || o.trade_state === 'REFUND')
      throw new BizError('ORDERPAID', '该订单已支付 (order already paid)');
    if (o.trade_state === 'CLOSED') throw new BizError('ORDERCLOSED', '该订单已关闭 (order closed)');
    if (o.trade_state === 'REVOKED') throw new BizError('ORDERREVERSED', '该订单已撤销 (order revoked)');
    if (o.fingerprint !== fingerprint)
      throw new BizError('INVALID_REQUEST', '201 商户订单号重复 (out_trade_no used with other parameters)');
    return o;
  }

  unifiedOrder(m: Merchant, f: Fields, signType: SignType, origin = 'https://wx.tenpay.com'): Fields {
    need(f, 'trade_type', 'notify_url');
    const tradeType = f.trade_type as TradeType;
    if (!['NATIVE', 'JSAPI', 'APP', 'MWEB'].includes(tradeType))
      throw new ReturnError('trade_type参数格式错误 (JSAPI, NATIVE, APP or MWEB)');
    if (tradeType === 'NATIVE') need(f, 'product_id');
    if (tradeType === 'JSAPI' && !f.openid && !f.sub_openid) {
      throw new BizError(
        'LACK_PARAMS',
        'trade_type=JSAPI时（即公众号支付），此参数必传 openid (openid is required for JSAPI)',
      );
    }
    if (tradeType === 'MWEB') {
      // H5 needs scene_info naming a web site or an app (H5支付 统一下单).
      need(f, 'scene_info');
      const scene = readH5Scene(f.scene_info!);
      if (!scene)
        throw new ReturnError(
          'scene_info参数格式错误 (h5_info: type Wap with wap_url and wap_name, or IOS/Android with app_name)',
        );
    }
    if (!/^https?:\/\/[^?#\s]+$/.test(f.notify_url!))
      throw new ReturnError('notify_url参数格式错误 (an absolute URL without a query string)');
    const fresh = this.commonOrder(m, f, tradeType, signType);
    let o = this.existing(this.byKey.get(this.key(m.mch_id, fresh.sub_mch_id, fresh.out_trade_no)), fresh.fingerprint);
    if (o && o.prepay_id && this.clock.nowMs() - o.created_ms > PREPAY_LIFETIME_MS) {
      throw new BizError('ORDERCLOSED', 'prepay_id已过期 (the order has expired; use a new out_trade_no)');
    }
    if (!o) {
      o = fresh;
      o.notify_url = f.notify_url;
      o.product_id = f.product_id || undefined;
      o.openid = f.openid || f.sub_openid || undefined;
      if (tradeType === 'MWEB') o.scene_info = f.scene_info;
      o.prepay_id = `wx${compactTime(o.created_ms)}${randomBytes(10).toString('hex')}`;
      if (tradeType === 'NATIVE') o.code_url = `weixin://wxpay/bizpayurl?pr=${randomBytes(6).toString('base64url')}`;
      this.data.orders.push(o);
      this.index(o);
      this.changed();
      this.log.debug({ out_trade_no: o.out_trade_no, trade_type: tradeType, total_fee: o.total_fee }, 'order created');
    }
    let mwebUrl: string | undefined;
    if (o.trade_type === 'MWEB') {
      // Each answer carries a new mweb_url, good for 5 minutes; the page checks it.
      o.mweb = { package: String(randomInt(1_000_000_000, 9_999_999_999)), issued_mark: this.clock.mark() };
      this.changed();
      mwebUrl = `${origin}${MWEB_PATH}?prepay_id=${o.prepay_id}&package=${o.mweb.package}`;
    }
    return {
      trade_type: o.trade_type,
      prepay_id: o.prepay_id!,
      ...(o.code_url ? { code_url: o.code_url } : {}),
      ...(mwebUrl ? { mweb_url: mwebUrl } : {}),
    };
  }

  micropay(m: Merchant, f: Fields, signType: SignType): Fields {
    need(f, 'auth_code');
    const fresh = this.commonOrder(m, f, 'MICROPAY', signType);
    const prior = this.byKey.get(this.key(m.mch_id, fresh.sub_mch_id, fresh.out_trade_no));
    if (prior) {
      // A retry after SYSTEMERROR is allowed; it answers the order's current state.
      if (prior.trade_state !== 'SUCCESS') this.existing(prior, fresh.fingerprint);
      if (prior.fingerprint !== fresh.fingerprint)
        throw new BizError('INVALID_REQUEST', '201 商户订单号重复 (out_trade_no used with other parameters)');
      return this.micropayAnswer(prior);
    }
    const code = f.auth_code!;
    if (!AUTH_CODE.test(code)) throw new BizError('AUTH_CODE_INVALID', '授权码检验错误 (not a WeChat payment code)');
    const pc = this.data.paycodes.find((p) => p.auth_code === code);
    if (!pc)
      throw new BizError('AUTH_CODE_INVALID', '授权码检验错误 (unknown payment code; mint one with POST /sim/paycode)');
    if (pc.used) throw new BizError('AUTH_CODE_ERROR', '每个二维码仅限使用一次，请刷新再试 (each code works once)');
    if (pc.behaviour === 'expired' || this.clock.elapsedSince(pc.minted_mark) >= CODE_LIFETIME_MS) {
      throw new BizError('AUTHCODEEXPIRE', '二维码已过期，请用户在微信上刷新后再试 (code expired)');
    }
    pc.used = true;
    const o = fresh;
    o.auth_code = code;
    o.openid = this.openidFor(m.appid, `paycode:${code}`);
    this.data.orders.push(o);
    this.index(o);
    this.changed();
    if (pc.behaviour === 'insufficient') {
      o.trade_state = 'PAYERROR';
      o.trade_state_desc = '余额不足 (insufficient balance)';
      throw new BizError('NOTENOUGH', '用户的零钱余额不足 (insufficient balance)');
    }
    if (pc.behaviour === 'userpaying') {
      o.trade_state = 'USERPAYING';
      o.trade_state_desc = '需要用户输入支付密码';
      o.userpaying = { queries: 0, until: pc.userpaying_n ?? 1 };
      throw new BizError('USERPAYING', '需要用户输入支付密码 (the payer must enter a password)');
    }
    this.pay(o, o.openid);
    return this.micropayAnswer(o);
  }

  private micropayAnswer(o: Order): Fields {
    if (o.trade_state === 'USERPAYING')
      throw new BizError('USERPAYING', '需要用户输入支付密码 (the payer must enter a password)');
    if (o.trade_state === 'PAYERROR') throw new BizError('NOTENOUGH', '用户的零钱余额不足 (insufficient balance)');
    return { ...this.paidFields(o), is_subscribe: 'N' };
  }

  private paidFields(o: Order): Fields {
    return {
      openid: o.payer_openid ?? o.openid ?? '',
      is_subscribe: 'N',
      trade_type: o.trade_type,
      bank_type: o.bank_type ?? 'CFT',
      total_fee: String(o.total_fee),
      settlement_total_fee: String(o.total_fee),
      fee_type: o.fee_type,
      cash_fee: String(o.cash_fee ?? 0),
      cash_fee_type: o.cash_fee_type ?? 'CNY',
      rate: o.rate ?? '',
      coupon_fee: '0',
      transaction_id: o.transaction_id,
      out_trade_no: o.out_trade_no,
      attach: o.attach ?? '',
      time_end: compactTime(o.paid_ms ?? o.created_ms),
    };
  }

  /** The payer confirms: the order is paid now; NATIVE/JSAPI/APP/MWEB orders notify. */
  private pay(o: Order, payerOpenid: string): void {
    const now = this.clock.nowMs();
    o.trade_state = 'SUCCESS';
    o.trade_state_desc = '支付成功';
    o.paid_ms = now;
    o.payer_openid = payerOpenid;
    o.bank_type = 'CFT';
    o.rate = this.rateFor(o.fee_type, now)!;
    o.cash_fee_type = 'CNY';
    o.cash_fee = cashFee(o.total_fee, o.fee_type, o.rate);
    this.changed();
    this.log.info({ out_trade_no: o.out_trade_no, total_fee: o.total_fee, cash_fee: o.cash_fee }, 'order paid');
    if (o.trade_type !== 'MICROPAY' && o.notify_url) this.sendNotify(o);
  }

  private sendNotify(o: Order): void {
    const m = this.merchants.get(o.mch_id)!;
    const fields: Fields = {
      return_code: 'SUCCESS',
      return_msg: 'OK',
      appid: o.appid,
      mch_id: o.mch_id,
      ...(o.sub_mch_id ? { sub_mch_id: o.sub_mch_id } : {}),
      ...(o.device_info ? { device_info: o.device_info } : {}),
      nonce_str: randomBytes(16).toString('hex'),
      sign_type: o.sign_type,
      result_code: 'SUCCESS',
      ...this.paidFields(o),
    };
    delete fields.coupon_fee;
    fields.sign = sign(fields, m.key, o.sign_type);
    // WeChat's notification example, and the notifies merchants publish, list the fields in ASCII order.
    const ordered = Object.fromEntries(Object.entries(fields).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    this.notifier.send(o.notify_url!, buildWechatXml(ordered), 'text/xml', {
      out_trade_no: o.out_trade_no,
      mch_id: o.mch_id,
    });
  }

  orderQuery(m: Merchant, f: Fields): Fields {
    const o = this.find(m, f);
    if (o.trade_state === 'USERPAYING' && o.userpaying) {
      o.userpaying.queries += 1;
      if (o.userpaying.queries >= o.userpaying.until) this.pay(o, o.openid!);
      this.changed();
    }
    const base: Fields = {
      trade_state: o.trade_state,
      trade_state_desc: o.trade_state_desc ?? '',
      out_trade_no: o.out_trade_no,
      total_fee: String(o.total_fee),
      fee_type: o.fee_type,
      trade_type: o.trade_type,
      attach: o.attach ?? '',
      ...(o.device_info ? { device_info: o.device_info } : {}),
    };
    if (!wasPaid(o)) return base;
    return { ...this.paidFields(o), ...base };
  }

  reverse(m: Merchant, f: Fields): Fields {
    const o = this.find(m, f);
    if (this.clock.nowMs() - o.created_ms > REVERSE_WINDOW_MS)
      throw new BizError('REVERSE_EXPIRE', '订单已超过撤销期限 (older than 7 days)', { recall: 'N' });
    if (this.clock.elapsedSince(o.created_mark) < REVERSE_NOT_BEFORE_MS) {
      // WeChat publishes no code of its own for "too early"; SYSTEMERROR with recall=Y is
      // its documented "nothing decided, call reverse again" answer (Revoke Order error codes).
      throw new BizError(
        'SYSTEMERROR',
        '系统繁忙，请稍后再撤销 (reverse is accepted from 15 s after the order was created)',
        { recall: 'Y' },
      );
    }
    if (o.refunds.length > 0)
      throw new BizError('TRADE_ERROR', '订单已发生退款，不能撤销 (order has refunds)', { recall: 'N' });
    if (o.trade_state !== 'REVOKED') {
      o.trade_state = 'REVOKED';
      o.trade_state_desc = '订单已撤销';
      o.revoked_ms = this.clock.nowMs();
      this.changed();
      this.log.info({ out_trade_no: o.out_trade_no, was_paid: wasPaid(o) }, 'order revoked');
    }
    return { recall: 'N' };
  }

  closeOrder(m: Merchant, f: Fields): Fields {
    need(f, 'out_trade_no');
    const o = this.find(m, { out_trade_no: f.out_trade_no!, ...(f.sub_mch_id ? { sub_mch_id: f.sub_mch_id } : {}) });
    switch (o.trade_state) {
      case 'SUCCESS':
      case 'REFUND':
        throw new BizError('ORDERPAID', '订单已支付，不能发起关单 (order paid)');
      case 'CLOSED':
        throw new BizError('ORDERCLOSED', '订单已关闭，无法重复关闭 (already closed)');
      case 'REVOKED':
        throw new BizError('ORDERREVERSED', '订单已撤销 (order revoked)');
      case 'USERPAYING':
        throw new BizError('USERPAYING', '用户支付中，不能关单 (payer is paying; reverse instead)');
    }
    o.trade_state = 'CLOSED';
    o.trade_state_desc = '订单已关闭';
    o.closed_ms = this.clock.nowMs();
    this.changed();
    return { result_msg: 'OK' };
  }

  refund(m: Merchant, f: Fields): Fields {
    need(f, 'out_refund_no', 'total_fee', 'refund_fee');
    const o = this.find(m, f);
    const total = amount(f, 'total_fee');
    const fee = amount(f, 'refund_fee');
    if (!/^[0-9A-Za-z_\-|*@]{1,64}$/.test(f.out_refund_no!)) throw new ReturnError('out_refund_no参数格式错误');
    // Answers as seen from WeChat (public reports of its replies): refund_fee above
    // total_fee is a FAIL envelope; amounts that differ from the order or from an
    // earlier request with the same out_refund_no are REFUND_FEE_MISMATCH; a fully
    // refunded order is ERROR; more than what is left is INVALID_REQUEST.
    if (fee > total) throw new ReturnError('invalid refund_fee');
    if (f.notify_url && !/^https?:\/\/[^?#\s]+$/.test(f.notify_url))
      throw new ReturnError('notify_url参数格式错误 (an absolute URL without a query string)');
    const prior = o.refunds.find((r) => r.out_refund_no === f.out_refund_no);
    if (prior) {
      if (prior.refund_fee !== fee || total !== o.total_fee) {
        throw new BizError('REFUND_FEE_MISMATCH', '订单金额或退款金额与之前请求不一致，请核实后再试');
      }
      return this.refundFields(o, prior);
    }
    if (!wasPaid(o) || o.trade_state === 'REVOKED')
      throw new BizError('TRADE_STATE_ERROR', '订单状态错误 (order is not paid)');
    if (total !== o.total_fee)
      throw new BizError(
        'REFUND_FEE_MISMATCH',
        '订单金额或退款金额与之前请求不一致，请核实后再试 (total_fee is not the order amount)',
      );
    if (f.refund_fee_type && f.refund_fee_type !== o.fee_type) {
      throw new BizError('PARAM_ERROR', `refund_fee_type must equal the order's fee_type ${o.fee_type}`);
    }
    if (this.clock.nowMs() - o.paid_ms! > REFUND_WINDOW_MS)
      throw new BizError('TRADE_OVERDUE', '订单已经超过退款期限 (older than one year)');
    if (o.refunds.length >= MAX_REFUNDS) throw new BizError('ERROR', '退款次数超过限制 (at most 50 refunds per order)');
    const before = refundedTotal(o);
    if (before >= o.total_fee) throw new BizError('ERROR', '订单已全额退款 (already fully refunded)');
    if (before + fee > o.total_fee)
      throw new BizError('INVALID_REQUEST', 'refund_fee大于可退金额 (more than what is left to refund)');
    const now = this.clock.nowMs();
    const r: Refund = {
      out_refund_no: f.out_refund_no!,
      refund_id: `50000${beijingDay(now)}${digits(16)}`,
      refund_fee: fee,
      cash_refund_fee: cashRefund(o.cash_fee!, o.total_fee, before, fee),
      refund_desc: f.refund_desc || undefined,
      notify_url: f.notify_url || undefined,
      status: 'PROCESSING',
      created_ms: now,
      created_mark: this.clock.mark(),
    };
    o.refunds.push(r);
    this.armRefund(o, r);
    o.trade_state = 'REFUND';
    o.trade_state_desc = '订单发生过退款，退款详情请查询退款单';
    this.changed();
    this.log.info({ out_trade_no: o.out_trade_no, out_refund_no: r.out_refund_no, refund_fee: fee }, 'refund accepted');
    return this.refundFields(o, r);
  }

  /** Settles the refund when its time comes even if nobody asks, so its notify goes out. */
  private armRefund(o: Order, r: Refund): void {
    const left = Math.max(0, REFUND_SETTLE_MS - this.clock.elapsedSince(r.created_mark));
    setTimeout(() => this.tick(o), this.clock.duration(left) + 1).unref();
  }

  /**
   * The refund result notification (domestic v2 shape; its use overseas is UNCONFIRMED):
   * `req_info` is the refund's fields as XML, AES-256-ECB encrypted with the lowercase
   * hex MD5 of the API key, base64. It carries no signature.
   */
  private sendRefundNotify(o: Order, r: Refund): void {
    const m = this.merchants.get(o.mch_id)!;
    const plain = buildWechatXml({
      transaction_id: o.transaction_id,
      out_trade_no: o.out_trade_no,
      refund_id: r.refund_id,
      out_refund_no: r.out_refund_no,
      total_fee: String(o.total_fee),
      settlement_total_fee: String(o.total_fee),
      refund_fee: String(r.refund_fee),
      settlement_refund_fee: String(r.refund_fee),
      refund_status: r.status,
      success_time: billTime(r.success_ms!),
      refund_recv_accout: '支付用户的零钱',
      refund_account: 'REFUND_SOURCE_UNSETTLED_FUNDS',
      refund_request_source: 'API',
    })
      .replace(/^<xml>/, '<root>')
      .replace(/<\/xml>$/, '</root>');
    const cipher = createCipheriv('aes-256-ecb', Buffer.from(createHash('md5').update(m.key).digest('hex')), null);
    const reqInfo = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]).toString('base64');
    const body = buildWechatXml({
      return_code: 'SUCCESS',
      appid: o.appid,
      mch_id: o.mch_id,
      nonce_str: randomBytes(16).toString('hex'),
      req_info: reqInfo,
    });
    this.notifier.send(r.notify_url!, body, 'text/xml', {
      out_trade_no: o.out_trade_no,
      out_refund_no: r.out_refund_no,
      mch_id: o.mch_id,
    });
  }

  private refundFields(o: Order, r: Refund): Fields {
    return {
      transaction_id: o.transaction_id,
      out_trade_no: o.out_trade_no,
      out_refund_no: r.out_refund_no,
      refund_id: r.refund_id,
      refund_fee: String(r.refund_fee),
      settlement_refund_fee: String(r.refund_fee),
      refund_fee_type: o.fee_type,
      total_fee: String(o.total_fee),
      settlement_total_fee: String(o.total_fee),
      fee_type: o.fee_type,
      cash_fee: String(o.cash_fee),
      cash_fee_type: o.cash_fee_type!,
      cash_refund_fee: String(r.cash_refund_fee),
      cash_refund_fee_type: o.cash_fee_type!,
      rate: o.rate!,
      coupon_refund_fee: '0',
    };
  }

  refundQuery(m: Merchant, f: Fields): Fields {
    let o: Order | undefined;
    let only: Refund | undefined;
    if (f.refund_id || f.out_refund_no) {
      for (const cand of this.data.orders) {
        if (cand.mch_id !== m.mch_id) continue;
        const r = cand.refunds.find((x) =>
          f.refund_id ? x.refund_id === f.refund_id : x.out_refund_no === f.out_refund_no,
        );
        if (r) {
          o = cand;
          only = r;
          break;
        }
      }
      if (!o) throw new BizError('REFUNDNOTEXIST', '退款订单查询失败 (no such refund)');
      this.tick(o);
    } else {
      o = this.find(m, f, 'REFUNDNOTEXIST');
      if (o.refunds.length === 0) throw new BizError('REFUNDNOTEXIST', '退款订单查询失败 (the order has no refunds)');
    }
    const all = only ? [only] : o.refunds;
    const offset = f.offset ? Number(f.offset) : 0;
    if (!Number.isInteger(offset) || offset < 0 || (offset > 0 && offset >= all.length))
      throw new ReturnError('offset参数错误');
    const page = all.slice(offset, offset + 10);
    const out: Fields = {
      transaction_id: o.transaction_id,
      out_trade_no: o.out_trade_no,
      total_fee: String(o.total_fee),
      settlement_total_fee: String(o.total_fee),
      fee_type: o.fee_type,
      cash_fee: String(o.cash_fee),
      cash_fee_type: o.cash_fee_type!,
      rate: o.rate!,
      total_refund_count: String(o.refunds.length),
      refund_count: String(page.length),
    };
    page.forEach((r, i) => {
      const n = String(i);
      out[`out_refund_no_${n}`] = r.out_refund_no;
      out[`refund_id_${n}`] = r.refund_id;
      out[`refund_channel_${n}`] = 'ORIGINAL';
      out[`refund_fee_${n}`] = String(r.refund_fee);
      out[`settlement_refund_fee_${n}`] = String(r.refund_fee);
      out[`refund_fee_type_${n}`] = o.fee_type;
      out[`cash_refund_fee_${n}`] = String(r.cash_refund_fee);
      out[`cash_refund_fee_type_${n}`] = o.cash_fee_type!;
      out[`refund_status_${n}`] = r.status;
      out[`refund_account_${n}`] = 'REFUND_SOURCE_UNSETTLED_FUNDS';
      out[`refund_recv_accout_${n}`] = '支付用户的零钱';
      if (r.success_ms !== undefined)
        out[`refund_success_time_${n}`] = compactTime(r.success_ms).replace(
          /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/,
          '$1-$2-$3 $4:$5:$6',
        );
    });
    return out;
  }

  /** The statement text of a day, or a downloadbill error (XML answer, not signed). */
  downloadBill(m: Merchant, f: Fields): { text: string } | { error: string; errorCode: string } {
    need(f, 'bill_date');
    const billType = (f.bill_type || 'ALL') as BillType;
    if (!['ALL', 'SUCCESS', 'REFUND', 'REVOKED'].includes(billType))
      return { error: 'invalid bill_type', errorCode: '20001' };
    const dayStart = /^\d{8}$/.test(f.bill_date!) ? parseCompactTime(f.bill_date!) : undefined;
    if (dayStart === undefined) return { error: 'invalid bill_date', errorCode: '20001' };
    const now = this.clock.nowMs();
    const today = parseCompactTime(beijingDay(now))!;
    if (dayStart >= today) return { error: 'invalid bill_date', errorCode: '20001' };
    if (today - dayStart > 92 * 24 * 3600_000) return { error: 'invalid bill_date', errorCode: '20001' };
    // Day T's statement is generated from 09:00 (UTC+8) on T+1.
    if (now < dayStart + 24 * 3600_000 + 9 * 3600_000) return { error: 'No Bill Exist', errorCode: '20002' };
    for (const o of this.data.orders) if (o.mch_id === m.mch_id) this.tick(o);
    const text = renderBill(
      this.data.orders.filter((o) => o.mch_id === m.mch_id && (!f.sub_mch_id || o.sub_mch_id === f.sub_mch_id)),
      f.bill_date!,
      billType,
      m.bill_layout,
    );
    if (text === undefined) return { error: 'No Bill Exist', errorCode: '20002' };
    return { text };
  }

  queryRate(m: Merchant, f: Fields): Fields {
    need(f, 'fee_type', 'date');
    const day = /^\d{8}$/.test(f.date!) ? parseCompactTime(f.date!) : undefined;
    if (day === undefined) throw new ReturnError('date参数格式错误 (yyyyMMdd)');
    const rate = this.rateFor(f.fee_type!, day + 24 * 3600_000 - 1);
    if (rate === undefined) throw new ReturnError(`fee_type参数错误 (no rate for ${f.fee_type})`);
    // rate_time as the official field table's example shows it: the 8-character day
    // ("String(14) … 格式：yyyyMMdd, 示例值 20150807", pay.weixin.qq.com 汇率查询, overseas v2).
    return { fee_type: f.fee_type!, rate_time: f.date!, rate };
  }

  // ---- /sim/ control ----

  setRate(feeType: string, rate: string, fromMs = this.clock.nowMs()): RateEntry {
    if (!/^[A-Z]{3}$/.test(feeType))
      throw new ControlError(400, 'invalid_currency', 'fee_type must be an ISO 4217 code such as NZD');
    let value: string;
    try {
      value = rateToWechat(rate);
    } catch (err) {
      throw new ControlError(400, 'invalid_rate', (err as Error).message);
    }
    const entry = { fee_type: feeType, rate: value, from_ms: fromMs };
    this.data.rates.push(entry);
    this.changed();
    return entry;
  }

  findForSim(ref: { out_trade_no?: string; prepay_id?: string; code_url?: string; mch_id?: string }): Order {
    let o: Order | undefined;
    if (ref.code_url) o = this.byCodeUrl.get(ref.code_url);
    else if (ref.prepay_id) o = this.byPrepay.get(ref.prepay_id);
    else if (ref.out_trade_no) {
      o = this.data.orders.find((x) => x.out_trade_no === ref.out_trade_no && (!ref.mch_id || x.mch_id === ref.mch_id));
    } else throw new ControlError(400, 'missing_order_reference', 'give one of out_trade_no, prepay_id, code_url');
    if (!o) throw new ControlError(404, 'order_not_found', 'no such order');
    this.tick(o);
    return o;
  }

  simPay(
    ref: { out_trade_no?: string; prepay_id?: string; code_url?: string; mch_id?: string },
    payer?: string,
    force = false,
  ): Order {
    const o = this.findForSim(ref);
    if (wasPaid(o) && o.trade_state !== 'USERPAYING')
      throw new ControlError(409, 'order_paid', `order ${o.out_trade_no} is already paid`);
    if (o.trade_type === 'MICROPAY' && o.trade_state !== 'USERPAYING' && !force) {
      throw new ControlError(409, 'order_not_payable', 'Quick Pay orders are paid with a payment code');
    }
    if (!force) {
      if (o.trade_state === 'CLOSED') throw new ControlError(409, 'order_closed', `order ${o.out_trade_no} is closed`);
      if (o.trade_state === 'REVOKED')
        throw new ControlError(409, 'order_revoked', `order ${o.out_trade_no} is revoked`);
      const now = this.clock.nowMs();
      if (
        (o.time_expire_ms !== undefined && now > o.time_expire_ms) ||
        (o.prepay_id && now - o.created_ms > PREPAY_LIFETIME_MS)
      ) {
        throw new ControlError(410, 'order_expired', `order ${o.out_trade_no} has expired`);
      }
    }
    this.pay(o, o.openid ?? this.openidFor(o.appid, payer ?? 'sim-customer'));
    return o;
  }

  /**
   * The H5 wallet page for an mweb_url: what WeChat shows (or refuses to) when the phone's
   * browser opens it. `referer` is the request's Referer header.
   */
  h5Open(
    q: { prepay_id?: string; package?: string; redirect_url?: string; referer?: string },
    checkReferer = true,
  ): H5View {
    const o = q.prepay_id ? this.byPrepay.get(q.prepay_id) : undefined;
    if (!o || o.trade_type !== 'MWEB' || !o.mweb || q.package !== o.mweb.package)
      return { kind: 'error', message: '支付请求已失效，请重新发起支付' };
    this.tick(o);
    const m = this.merchants.get(o.mch_id)!;
    // WeChat checks the Referer against the H5 domains the merchant registered: missing or
    // foreign, it shows "商家参数格式有误，请联系商家解决".
    if (checkReferer && !hostAllowed(q.referer, m.h5_domains))
      return { kind: 'error', message: '商家参数格式有误，请联系商家解决' };
    if (q.redirect_url !== undefined && !hostAllowed(q.redirect_url, m.h5_domains))
      return { kind: 'error', message: '商家参数格式有误，请联系商家解决' };
    if (this.clock.elapsedSince(o.mweb.issued_mark) > MWEB_URL_LIFETIME_MS)
      return { kind: 'error', message: '支付请求已失效，请重新发起支付' };
    return { kind: 'wallet', order: o };
  }

  /** The customer confirms (pay) or backs out (cancel) on the H5 wallet page (posted from that page). */
  h5Act(q: { prepay_id?: string; package?: string; redirect_url?: string }, pay: boolean): H5View {
    const view = this.h5Open(q, false);
    if (view.kind !== 'wallet') return view;
    if (pay && view.order.trade_state === 'NOTPAY') this.simPay({ prepay_id: view.order.prepay_id });
    return view;
  }

  mintPaycode(behaviour: string): PayCode {
    const m = /^(success|userpaying(?::(\d+))?|insufficient|expired)$/.exec(behaviour);
    if (!m)
      throw new ControlError(
        400,
        'invalid_behaviour',
        'behaviour must be success, userpaying:N, insufficient or expired',
      );
    const kind = m[1]!.startsWith('userpaying') ? 'userpaying' : (m[1] as PayCodeBehaviour);
    const n = m[2] === undefined ? 1 : Number(m[2]);
    if (kind === 'userpaying' && (n < 1 || n > 1000))
      throw new ControlError(400, 'invalid_behaviour', 'userpaying:N needs 1 ≤ N ≤ 1000');
    let code: string;
    do code = `1${randomInt(0, 5)}${digits(16)}`;
    while (this.data.paycodes.some((p) => p.auth_code === code));
    const pc: PayCode = {
      auth_code: code,
      behaviour: kind,
      ...(kind === 'userpaying' ? { userpaying_n: n } : {}),
      minted_mark: this.clock.mark(),
      used: false,
    };
    this.data.paycodes.push(pc);
    // Codes older than a day are of no use to anyone.
    const cutoff = this.clock.mark();
    this.data.paycodes = this.data.paycodes.filter((p) => p.minted_mark.real > cutoff.real - 24 * 3600_000);
    this.changed();
    return pc;
  }

  mintOAuthCode(appid: string, payer: string): OAuthCode {
    const c: OAuthCode = {
      code: randomBytes(16).toString('hex'),
      appid,
      openid: this.openidFor(appid, payer),
      mark: this.clock.mark(),
      used: false,
    };
    this.data.oauthCodes.push(c);
    if (this.data.oauthCodes.length > 1000) this.data.oauthCodes.splice(0, this.data.oauthCodes.length - 1000);
    this.changed();
    return c;
  }

  /** /sns/oauth2/access_token: a code works once, within 5 minutes. */
  redeemOAuthCode(appid: string, code: string): OAuthCode | undefined {
    const c = this.data.oauthCodes.find((x) => x.code === code && x.appid === appid);
    if (!c || c.used || this.clock.elapsedSince(c.mark) > 5 * 60_000) return undefined;
    c.used = true;
    this.changed();
    return c;
  }

  ordersView(): object[] {
    return this.data.orders.map((o) => {
      this.tick(o);
      const { created_mark: _c, fingerprint: _f, ...rest } = o;
      return {
        ...rest,
        refunds: o.refunds.map(({ created_mark: _m, ...r }) => r),
        created_at: new Date(o.created_ms).toISOString(),
        paid_at: o.paid_ms !== undefined ? new Date(o.paid_ms).toISOString() : undefined,
        refunded_fee: refundedTotal(o),
      };
    });
  }
}

export function signTypeOf(f: Fields): SignType | undefined {
  const t = f.sign_type || 'MD5';
  return isSignType(t) ? t : undefined;
}
