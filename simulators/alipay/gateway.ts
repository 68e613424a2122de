import { createHash, randomBytes, randomInt } from 'node:crypto';
import type { Logger } from 'pino';
import type { SimClock } from '../common/clock.js';
import { ControlError } from '../common/control.js';
import type { FaultMode, FaultRegistry } from '../common/faults.js';
import type { Notifier, NotifyJob } from '../common/notifier.js';
import { CharsetError, decodeParams, declaredCharset, encodeForm, normaliseCharset } from './form.js';
import type { Merchant, PayCode, PayCodeBehaviour, Trade, TradeKind, TradeRefund } from './model.js';
import { refundedMinor } from './model.js';
import { cnyRefund, formatMajor, parseMajor, toCny } from './money.js';
import { responsePreSignString, SIGN_TYPES, sign, signPreSign, verify, type SignType } from './sign.js';
import { beijingDay, compactTime, dashedTime, parseAlipayTime } from './time.js';
import { buildXml, presentFields, type XmlReply } from './xml.js';

// The MAPI gateway (`/gateway.do`, dispatching on `service=`) and the trades behind it.
// Pure of HTTP: api.ts turns requests into `GatewayRequest`s and answers into replies.

export interface GatewayData {
  trades: Trade[];
  paycodes: PayCode[];
  /** notify_id → the notify job that carries it. */
  notifyIds: Record<string, { job: string; partner: string; out_trade_no: string }>;
  merchantKeys: Record<string, string>;
  /** partner → the trans_currency values enabled for it (POST /sim/merchant). */
  transCurrencies?: Record<string, string[]>;
  /** CNY per unit of each currency, decimal strings. */
  rates: Record<string, string>;
  seq: number;
}

export const DEFAULT_RATES: Record<string, string> = {
  NZD: '4.2156',
  AUD: '4.6712',
  USD: '7.1023',
  HKD: '0.9125',
  EUR: '7.6931',
  GBP: '8.9910',
  SGD: '5.2874',
  JPY: '0.0479',
  CAD: '5.1850',
};

export interface GatewayRequest {
  method: string;
  /** Raw query string (without '?'). */
  query: string;
  body: Buffer;
  /** The simulator's own origin as the caller reached it (for cashier and qr_code URLs). */
  origin: string;
  fault?: FaultMode;
}

export type GatewayAnswer =
  | { type: 'xml'; body: Buffer; charset: 'UTF-8' | 'GBK' }
  | { type: 'text'; body: string; charset?: 'UTF-8' | 'GBK' }
  | { type: 'redirect'; location: string }
  | { type: 'html'; status: number; title: string; message: string };

export { ControlError };

/** A gateway-level refusal: `<is_success>F</is_success><error>CODE</error>`. */
class GatewayError extends Error {
  constructor(
    readonly code: string,
    readonly detail?: string,
  ) {
    super(detail ?? code);
  }
}

const TIMEOUT_RULES: Record<string, number> = {
  '5m': 5,
  '10m': 10,
  '15m': 15,
  '30m': 30,
  '1h': 60,
  '2h': 120,
  '3h': 180,
  '5h': 300,
  '10h': 600,
  '12h': 720,
  '1d': 1440,
};

/** it_b_pay / timeout_rule style durations ("15m", "2h", "1d", "1c") in ms. */
function durationOf(rule: string | undefined, fallbackMin: number): number | undefined {
  if (rule === undefined || rule === '') return fallbackMin * 60_000;
  if (rule in TIMEOUT_RULES) return TIMEOUT_RULES[rule]! * 60_000;
  const m = /^(\d{1,4})([mhd])$/.exec(rule);
  if (!m) return undefined;
  return Number(m[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'm' | 'h' | 'd'];
}

const SIGNED_SERVICES_WITHOUT_SIGN = new Set(['notify_verify']);

interface Parsed {
  params: Record<string, string>;
  charset: 'UTF-8' | 'GBK';
  merchant: Merchant;
  signType: SignType;
}

export class AlipayGateway {
  constructor(
    readonly data: GatewayData,
    readonly merchants: Map<string, Merchant>,
    readonly clock: SimClock,
    private readonly notifier: Notifier,
    private readonly notifies: () => NotifyJob[],
    readonly keys: { privateKey: string; publicKey: string },
    private readonly log: Logger,
    private readonly save: () => void,
    private readonly faults?: FaultRegistry,
  ) {}

  // ---- request parsing and signatures -------------------------------------------------

  private parse(req: GatewayRequest): Parsed {
    const q = req.query;
    const b = req.body.toString('latin1');
    const charset = normaliseCharset(declaredCharset(q, b));
    if (!charset) throw new GatewayError('ILLEGAL_CHARSET', '_input_charset must be UTF-8 or GBK');
    let params: Record<string, string>;
    try {
      params = decodeParams([q, b], charset);
    } catch (err) {
      if (err instanceof CharsetError) throw new GatewayError('ILLEGAL_CHARSET', err.message);
      throw err;
    }
    if (!params.service) throw new GatewayError('ILLEGAL_SERVICE', 'service is missing');
    const merchant = params.partner ? this.merchants.get(params.partner) : undefined;
    if (!merchant)
      throw new GatewayError(
        'ILLEGAL_PARTNER',
        params.partner ? `unknown partner ${params.partner}` : 'partner is missing',
      );
    const unsignedOk = SIGNED_SERVICES_WITHOUT_SIGN.has(params.service) && !params.sign;
    const signType = (params.sign_type ?? '').toUpperCase() as SignType;
    if (!unsignedOk) {
      if (!SIGN_TYPES.includes(signType))
        throw new GatewayError('ILLEGAL_SIGN_TYPE', 'sign_type must be MD5, RSA or RSA2');
      if (!params.sign) throw new GatewayError('ILLEGAL_SIGN', 'sign is missing');
      if (signType !== 'MD5' && !merchant.publicKey) {
        throw new GatewayError(
          'ILLEGAL_SIGN',
          'no merchant RSA public key is registered (POST /sim/keys {"merchant_public_key"})',
        );
      }
      if (!verify(params, signType, params.sign, { md5Key: merchant.md5Key, publicKey: merchant.publicKey }, charset)) {
        throw new GatewayError('ILLEGAL_SIGN', 'the signature does not match the parameters');
      }
    }
    return { params, charset, merchant, signType: SIGN_TYPES.includes(signType) ? signType : 'MD5' };
  }

  /** Signs a reply the way Alipay's SDKs check it: every <response> child, empty ones included. */
  private signFields(
    fields: Record<string, string | undefined>,
    p: { merchant: Merchant; signType: SignType; charset: 'UTF-8' | 'GBK' },
  ): string {
    return signPreSign(
      responsePreSignString(presentFields(fields)),
      p.signType,
      { md5Key: p.merchant.md5Key, privateKey: this.keys.privateKey },
      p.charset,
    );
  }

  private xml(p: Parsed, name: string, fields: Record<string, string | undefined>, fault?: FaultMode): GatewayAnswer {
    let s = this.signFields(fields, p);
    if (fault?.kind === 'bad-signature') s = s.split('').reverse().join('');
    const reply: XmlReply = {
      isSuccess: true,
      request: p.params,
      response: { name, fields },
      sign: { sign: s, sign_type: p.signType },
    };
    return { type: 'xml', body: buildXml(reply, p.charset), charset: p.charset };
  }

  private failXml(code: string, charset: 'UTF-8' | 'GBK', detail?: string): GatewayAnswer {
    // Alipay's refusal carries the code only; the why goes to the simulator's log.
    if (detail) this.log.info({ error: code, detail }, 'gateway answered is_success=F');
    return { type: 'xml', body: buildXml({ isSuccess: false, error: code }, charset), charset };
  }

  // ---- dispatch ------------------------------------------------------------------------

  handle(req: GatewayRequest): GatewayAnswer {
    let p: Parsed;
    const browser =
      /(^|&)service=create_forex_trade(_wap)?(&|$)/.test(req.query) ||
      /(^|&)service=create_forex_trade(_wap)?(&|$)/.test(req.body.toString('latin1'));
    try {
      p = this.parse(req);
    } catch (err) {
      if (!(err instanceof GatewayError)) throw err;
      this.log.info({ error: err.code, detail: err.detail }, 'gateway refused a request');
      if (browser) return { type: 'html', status: 400, title: `Error: ${err.code}`, message: err.detail ?? err.code };
      const cs = normaliseCharset(declaredCharset(req.query, req.body.toString('latin1'))) ?? 'GBK';
      return this.failXml(err.code, cs, err.detail);
    }
    try {
      switch (p.params.service) {
        case 'create_forex_trade':
        case 'create_forex_trade_wap':
          return this.createForexTrade(p, req);
        case 'single_trade_query':
          return this.singleTradeQuery(p, req.fault);
        case 'forex_refund':
          return this.forexRefund(p, req.fault);
        case 'alipay.acquire.refund.query':
          return this.refundQuery(p, req.fault);
        case 'notify_verify':
          return { type: 'text', body: this.notifyVerify(p.params) };
        case 'forex_rate_file':
          return { type: 'text', body: this.rateFile() };
        case 'forex_compare_file':
        case 'forex_liquidation_file':
          return { type: 'text', body: this.legacyFile(p) };
        case 'alipay.acquire.precreate':
          return this.precreate(p, req);
        case 'alipay.acquire.overseas.spot.pay':
          return this.spotPay(p, req.fault);
        case 'alipay.acquire.query':
          return this.acquireQuery(p, req.fault);
        case 'alipay.acquire.overseas.query':
          return this.overseasQuery(p, req.fault);
        case 'alipay.acquire.cancel':
          return this.cancel(p, req.fault);
        case 'alipay.acquire.overseas.spot.refund':
          return this.spotRefund(p, req.fault);
        default:
          return this.failXml('ILLEGAL_SERVICE', p.charset, `unknown service ${p.params.service}`);
      }
    } catch (err) {
      if (!(err instanceof GatewayError)) throw err;
      if (browser) return { type: 'html', status: 400, title: `Error: ${err.code}`, message: err.detail ?? err.code };
      return this.failXml(err.code, p.charset, err.detail);
    }
  }

  // ---- helpers --------------------------------------------------------------------------

  private need(p: Parsed, ...names: string[]): void {
    const missing = names.filter((n) => !p.params[n]);
    if (missing.length) throw new GatewayError('ILLEGAL_ARGUMENT', `missing ${missing.join(', ')}`);
  }

  private newTradeNo(): string {
    this.data.seq += 1;
    return `${beijingDay(this.clock.nowMs())}22001${String(this.data.seq % 1_000_000).padStart(6, '0')}${String(randomInt(0, 1e9)).padStart(9, '0')}`;
  }

  private rate(currency: string): string {
    return currency === 'CNY' ? '1' : (this.data.rates[currency] ?? '1');
  }

  private find(partner: string, outTradeNo?: string, tradeNo?: string): Trade | undefined {
    const t = tradeNo
      ? this.data.trades.find((x) => x.partner === partner && x.trade_no === tradeNo)
      : outTradeNo
        ? this.data.trades.find((x) => x.partner === partner && x.out_trade_no === outTradeNo)
        : undefined;
    if (t) this.expire(t);
    return t;
  }

  /** Closes an unpaid trade whose time is up (lazily, when someone looks). */
  private expire(t: Trade): void {
    if (t.status !== 'WAIT_BUYER_PAY' || t.expires_after_ms === undefined) return;
    if (this.clock.elapsedSince(t.created_mark) >= t.expires_after_ms) {
      t.status = 'TRADE_CLOSED';
      t.closed_ms = this.clock.nowMs();
      this.save();
    }
  }

  private fingerprint(p: Parsed, names: string[]): string {
    return createHash('sha256')
      .update(JSON.stringify(names.map((n) => p.params[n] ?? '')))
      .digest('hex');
  }

  private newTrade(
    p: Parsed,
    kind: TradeKind,
    f: Partial<Trade> &
      Pick<Trade, 'out_trade_no' | 'subject' | 'currency' | 'trans_currency' | 'amount_minor' | 'fingerprint'>,
  ): Trade {
    const t: Trade = {
      partner: p.merchant.partner,
      kind,
      trade_no: this.newTradeNo(),
      status: 'WAIT_BUYER_PAY',
      sign_type: p.signType,
      charset: p.charset,
      created_ms: this.clock.nowMs(),
      created_mark: this.clock.mark(),
      token: randomBytes(12).toString('base64url'),
      refunds: [],
      ...f,
    };
    this.data.trades.push(t);
    this.save();
    return t;
  }

  // ---- online: create_forex_trade, single_trade_query, forex_refund ---------------------

  private createForexTrade(p: Parsed, req: GatewayRequest): GatewayAnswer {
    this.need(p, 'out_trade_no', 'subject', 'currency');
    const x = p.params;
    if (x.rmb_fee)
      throw new GatewayError(
        'ILLEGAL_ARGUMENT',
        'this simulator prices in the settlement currency: send total_fee, not rmb_fee',
      );
    const amount = parseMajor(x.total_fee, x.currency!);
    if (amount === undefined)
      throw new GatewayError('ILLEGAL_ARGUMENT', `total_fee "${x.total_fee ?? ''}" is not an amount in ${x.currency}`);
    const expected = p.params.service === 'create_forex_trade_wap' ? 'NEW_WAP_OVERSEAS_SELLER' : 'NEW_OVERSEAS_SELLER';
    if (x.product_code && x.product_code !== expected)
      throw new GatewayError('ILLEGAL_ARGUMENT', `product_code must be ${expected}`);
    const timeout = durationOf(x.timeout_rule, 720);
    if (timeout === undefined || (x.timeout_rule && !(x.timeout_rule in TIMEOUT_RULES))) {
      throw new GatewayError('ILLEGAL_ARGUMENT', `timeout_rule must be one of ${Object.keys(TIMEOUT_RULES).join(' ')}`);
    }
    // order_gmt_create + order_valid_time bound when the link may still be opened.
    if (x.order_gmt_create && x.order_valid_time) {
      const created = parseAlipayTime(x.order_gmt_create);
      const valid = Number(x.order_valid_time);
      if (created === undefined || !Number.isInteger(valid) || valid <= 0)
        throw new GatewayError('ILLEGAL_ARGUMENT', 'order_gmt_create / order_valid_time malformed');
      // "Maximum is 21600, unit is second" (the create_forex_trade argument table).
      if (valid > 21_600) throw new GatewayError('ILLEGAL_ARGUMENT', 'order_valid_time is at most 21600 seconds');
      if (this.clock.nowMs() > created + valid * 1000) {
        return {
          type: 'html',
          status: 200,
          title: 'Order expired',
          message: 'This order has timed out (order_valid_time). Please return to the merchant and order again.',
        };
      }
    }
    const fp = this.fingerprint(p, ['out_trade_no', 'subject', 'currency', 'total_fee', 'notify_url', 'return_url']);
    let t = this.find(p.merchant.partner, x.out_trade_no);
    if (t && t.fingerprint !== fp) {
      return {
        type: 'html',
        status: 400,
        title: 'Error: DUPLICATE_OUT_TRADE_NO',
        message: `out_trade_no ${x.out_trade_no} was already used for another order`,
      };
    }
    if (!t) {
      t = this.newTrade(p, 'web', {
        out_trade_no: x.out_trade_no!,
        subject: x.subject!,
        body: x.body,
        currency: x.currency!,
        trans_currency: x.currency!,
        amount_minor: amount,
        notify_url: x.notify_url,
        return_url: x.return_url,
        wap: p.params.service === 'create_forex_trade_wap' || undefined,
        expires_after_ms: timeout,
        fingerprint: fp,
      });
      this.log.info({ out_trade_no: t.out_trade_no, trade_no: t.trade_no }, 'cashier opened (create_forex_trade)');
    }
    return { type: 'redirect', location: `${req.origin}/cashier/${t.token}` };
  }

  private onlineStatus(t: Trade): string {
    return t.status === 'TRADE_SUCCESS'
      ? refundedMinor(t) >= t.amount_minor
        ? 'TRADE_CLOSED'
        : 'TRADE_FINISHED'
      : t.status;
  }

  private singleTradeQuery(p: Parsed, fault?: FaultMode): GatewayAnswer {
    if (!p.params.out_trade_no && !p.params.trade_no)
      throw new GatewayError('ILLEGAL_ARGUMENT', 'give out_trade_no or trade_no');
    if (fault?.kind === 'unknown') return this.failXml('SYSTEM_EXCEPTION', p.charset);
    const t = this.find(p.merchant.partner, p.params.out_trade_no, p.params.trade_no);
    if (!t) return this.failXml('TRADE_NOT_EXIST', p.charset);
    return this.xml(
      p,
      'trade',
      {
        out_trade_no: t.out_trade_no,
        trade_no: t.trade_no,
        trade_status: this.onlineStatus(t),
        subject: t.subject,
        total_fee: formatMajor(t.amount_minor, t.trans_currency),
        currency: t.currency,
        gmt_create: dashedTime(t.created_ms),
        gmt_payment: t.paid_ms === undefined ? undefined : dashedTime(t.paid_ms),
        gmt_close: t.closed_ms === undefined ? undefined : dashedTime(t.closed_ms),
        rmb_total_fee: t.cny_minor === undefined ? undefined : formatMajor(t.cny_minor, 'CNY'),
        forex_rate: t.rate,
        buyer_email: t.buyer_login_id,
        buyer_id: t.buyer_user_id,
      },
      fault,
    );
  }

  /** Shared by forex_refund and spot.refund: idempotent per refund number, never over the paid amount. */
  private doRefund(
    t: Trade,
    refundNo: string,
    amountText: string | undefined,
    currency: string | undefined,
    reason: string | undefined,
    service: string,
  ): { ok: true; refund: Trade['refunds'][number] } | { ok: false; error: string; detail: string } {
    const existing = t.refunds.find((r) => r.refund_no === refundNo);
    const amount = parseMajor(amountText, t.currency);
    if (amount === undefined)
      return {
        ok: false,
        error: 'ILLEGAL_ARGUMENT',
        detail: `refund amount "${amountText ?? ''}" is not an amount in ${t.currency}`,
      };
    if (currency && currency !== t.currency)
      return { ok: false, error: 'CURRENCY_NOT_SAME', detail: `the trade is in ${t.currency}` };
    if (existing) {
      if (existing.amount_minor !== amount)
        return { ok: false, error: 'REFUND_NO_DUPLICATE', detail: `${refundNo} was used for another amount` };
      return { ok: true, refund: existing };
    }
    if (t.paid_ms === undefined || t.cancel)
      return { ok: false, error: 'TRADE_STATUS_ERROR', detail: 'the trade is not paid' };
    const before = refundedMinor(t);
    if (before + amount > t.amount_minor) {
      return {
        ok: false,
        error: 'REFUND_AMT_RESTRICTION',
        detail: `only ${formatMajor(t.amount_minor - before, t.currency)} ${t.currency} is left to refund`,
      };
    }
    const refund = {
      refund_no: refundNo,
      amount_minor: amount,
      cny_minor: cnyRefund(t.cny_minor ?? 0, t.amount_minor, before, amount),
      reason,
      ms: this.clock.nowMs(),
      service,
    };
    t.refunds.push(refund);
    this.save();
    this.log.info({ out_trade_no: t.out_trade_no, refund_no: refundNo, amount }, 'refunded');
    return { ok: true, refund };
  }

  /**
   * forex_refund (https://global.alipay.com/docs/ac/global/forex_refund): `is_sync` defaults
   * to N, so `is_success=T` only says the refund was accepted; its result comes later by the
   * refund notify (refund_status REFUND_SUCCESS / REFUND_FAIL) to `notify_url`, or from
   * alipay.acquire.refund.query. is_sync=Y settles it before answering.
   */
  private forexRefund(p: Parsed, fault?: FaultMode): GatewayAnswer {
    this.need(p, 'out_return_no', 'out_trade_no', 'currency');
    const x = p.params;
    if (x.return_rmb_amount && !x.return_amount)
      throw new GatewayError(
        'ILLEGAL_ARGUMENT',
        'this simulator refunds in the settlement currency: send return_amount',
      );
    // The current documentation: gmt_return is yyyy-MM-dd HH:mm:ss, GMT+8.
    if (x.gmt_return && !/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(x.gmt_return))
      throw new GatewayError('ILLEGAL_ARGUMENT', 'gmt_return must be yyyy-MM-dd HH:mm:ss (GMT+8)');
    if (x.gmt_return && parseAlipayTime(x.gmt_return) === undefined)
      throw new GatewayError('ILLEGAL_ARGUMENT', 'gmt_return is not a valid time');
    if (x.is_sync && x.is_sync !== 'Y' && x.is_sync !== 'N')
      throw new GatewayError('ILLEGAL_ARGUMENT', 'is_sync must be Y or N');
    const t = this.find(p.merchant.partner, x.out_trade_no);
    if (!t || t.kind !== 'web') return this.failXml('TRADE_NOT_EXIST', p.charset);
    const known = t.refunds.some((r) => r.refund_no === x.out_return_no);
    const r = this.doRefund(t, x.out_return_no!, x.return_amount, x.currency, x.reason, 'forex_refund');
    if (!r.ok) return this.failXml(r.error, p.charset, r.detail);
    if (!known) {
      // Only a test's /sim/faults makes a refund fail, never chance.
      const fail = this.faults?.take('forex_refund', ['refund-fail']) !== undefined;
      Object.assign(r.refund, {
        status: 'PROCESSING',
        accepted_mark: this.clock.mark(),
        notify_url: x.notify_url,
        ...(fail ? { will_fail: true } : {}),
      });
      this.save();
      if (x.is_sync === 'Y') this.settleRefund(t, r.refund);
    }
    if (fault?.kind === 'unknown') return this.failXml('SYSTEM_EXCEPTION', p.charset);
    if (x.is_sync === 'Y' && r.refund.status === 'FAIL')
      return this.failXml(r.refund.error_code ?? 'REFUND_FAIL', p.charset);
    return { type: 'xml', body: buildXml({ isSuccess: true }, p.charset), charset: p.charset };
  }

  /**
   * alipay.acquire.refund.query (https://global.alipay.com/docs/ac/global/refundquery):
   * response_code SUCCESS / NOT_FOUND / TRADE_NOT_EXIST, refund_result_code SUCCESS / FAILED /
   * PROCESSING, refund_error_code for a failed one.
   */
  private refundQuery(p: Parsed, fault?: FaultMode): GatewayAnswer {
    this.need(p, 'out_trade_no', 'out_return_no');
    if (fault?.kind === 'unknown') return this.failXml('SYSTEM_EXCEPTION', p.charset);
    const x = p.params;
    const t = this.find(p.merchant.partner, x.out_trade_no);
    if (!t)
      return this.xml(
        p,
        'alipay',
        { out_trade_no: x.out_trade_no, out_return_no: x.out_return_no, response_code: 'TRADE_NOT_EXIST' },
        fault,
      );
    this.settleDueRefunds();
    const r = t.refunds.find((y) => y.refund_no === x.out_return_no);
    if (!r)
      return this.xml(
        p,
        'alipay',
        {
          out_trade_no: t.out_trade_no,
          out_return_no: x.out_return_no,
          trade_no: t.trade_no,
          response_code: 'NOT_FOUND',
        },
        fault,
      );
    const status = r.status ?? 'SUCCESS';
    return this.xml(
      p,
      'alipay',
      {
        response_code: 'SUCCESS',
        refund_result_code: status === 'SUCCESS' ? 'SUCCESS' : status === 'FAIL' ? 'FAILED' : 'PROCESSING',
        refund_error_code: status === 'FAIL' ? r.error_code : undefined,
        out_return_no: r.refund_no,
        out_trade_no: t.out_trade_no,
        trade_no: t.trade_no,
        gmt_create: dashedTime(r.ms),
      },
      fault,
    );
  }

  /** Protocol time an accepted forex_refund takes to settle (scaled by KAURI_TIME_SCALE, moved by /sim/clock). */
  static readonly REFUND_SETTLE_MS = 60_000;

  /** Settles every accepted refund whose delay has passed; run by a timer and whenever someone looks. */
  settleDueRefunds(): void {
    for (const t of this.data.trades) {
      for (const r of t.refunds) {
        if (
          r.status === 'PROCESSING' &&
          r.accepted_mark &&
          this.clock.elapsedSince(r.accepted_mark) >= AlipayGateway.REFUND_SETTLE_MS
        )
          this.settleRefund(t, r);
      }
    }
  }

  private settleRefund(t: Trade, r: TradeRefund): void {
    if (r.status !== 'PROCESSING') return;
    r.status = r.will_fail ? 'FAIL' : 'SUCCESS';
    // The documented failure when the merchant's balance cannot cover it (refundquery's example code).
    if (r.will_fail) r.error_code = 'MERCHANT_BALANCE_NOT_ENOUGH';
    r.settled_ms = this.clock.nowMs();
    this.save();
    this.log.info({ out_trade_no: t.out_trade_no, out_return_no: r.refund_no, status: r.status }, 'refund settled');
    if (r.notify_url) this.sendRefundNotify(t, r);
  }

  /**
   * The forex_refund asynchronous notify. Documented fields (forex_refund "Asynchronous
   * response"): notify_type, notify_time, notify_id, sign_type, sign, out_trade_no,
   * out_return_no, refund_status, error_code. The value of notify_type and whether
   * `_input_charset` travels with it are not published (README: unconfirmed); this sends
   * `refund_status_sync` and no `_input_charset`.
   */
  private sendRefundNotify(t: Trade, r: TradeRefund): void {
    const notifyId = randomBytes(17).toString('hex');
    const fields: Record<string, string | undefined> = {
      notify_id: notifyId,
      notify_time: dashedTime(this.clock.nowMs()),
      notify_type: 'refund_status_sync',
      out_trade_no: t.out_trade_no,
      out_return_no: r.refund_no,
      refund_status: r.status === 'FAIL' ? 'REFUND_FAIL' : 'REFUND_SUCCESS',
      error_code: r.status === 'FAIL' ? r.error_code : undefined,
    };
    this.deliverNotify(t, r.notify_url!, notifyId, fields, { out_return_no: r.refund_no });
  }

  /** Signs a notify, queues it, and remembers its id for notify_verify (payment and refund notifies alike). */
  private deliverNotify(
    t: Trade,
    url: string,
    notifyId: string,
    fields: Record<string, string | undefined>,
    meta: Record<string, string>,
  ): void {
    const merchant = this.merchants.get(t.partner)!;
    fields.sign = sign(fields, t.sign_type, { md5Key: merchant.md5Key, privateKey: this.keys.privateKey }, t.charset);
    fields.sign_type = t.sign_type;
    const job = this.notifier.send(
      url,
      encodeForm(fields, t.charset),
      `application/x-www-form-urlencoded; charset=${t.charset}`,
      {
        out_trade_no: t.out_trade_no,
        ...meta,
        notify_id: notifyId,
      },
    );
    this.data.notifyIds[notifyId] = { job: job.id, partner: t.partner, out_trade_no: t.out_trade_no };
    this.save();
  }

  // ---- notify_verify ---------------------------------------------------------------------

  /** "true" only for a notify_id this gateway sent to this partner within about a minute. */
  notifyVerify(params: Record<string, string>): string {
    if (!params.notify_id) return 'invalid';
    const n = this.data.notifyIds[params.notify_id];
    if (!n || n.partner !== params.partner) return 'false';
    const job = this.notifies().find((j) => j.id === n.job);
    if (!job) return 'false';
    const window = Math.max(this.clock.duration(60_000), 10_000);
    const now = Date.now();
    const delivering = job.status === 'pending' && job.nextAt <= now;
    const last = job.history.length ? Date.parse(job.history[job.history.length - 1]!.at) : 0;
    return delivering || now - last <= window ? 'true' : 'false';
  }

  // ---- in-store ---------------------------------------------------------------------------

  private precreate(p: Parsed, req: GatewayRequest): GatewayAnswer {
    this.need(p, 'out_trade_no', 'subject', 'total_fee', 'currency', 'timestamp');
    const x = p.params;
    if (x.product_code && x.product_code !== 'OVERSEAS_MBARCODE_PAY')
      throw new GatewayError('ILLEGAL_ARGUMENT', 'product_code must be OVERSEAS_MBARCODE_PAY');
    if (parseAlipayTime(x.timestamp!) === undefined)
      throw new GatewayError('ILLEGAL_ARGUMENT', 'timestamp must be yyyy-MM-dd HH:mm:ss (GMT+8) or epoch ms');
    const transCurrency = x.trans_currency || x.currency!;
    const amount = parseMajor(x.total_fee, transCurrency);
    if (amount === undefined)
      throw new GatewayError('ILLEGAL_ARGUMENT', `total_fee "${x.total_fee}" is not an amount in ${transCurrency}`);
    const expiresAfter = durationOf(x.it_b_pay || x.qr_code_it_b_pay, 120);
    if (expiresAfter === undefined) throw new GatewayError('ILLEGAL_ARGUMENT', 'it_b_pay must look like 15m, 2h or 1d');
    const fp = this.fingerprint(p, ['out_trade_no', 'subject', 'total_fee', 'currency', 'trans_currency']);
    let t = this.find(p.merchant.partner, x.out_trade_no);
    if (t && (t.fingerprint !== fp || t.kind !== 'precreate')) {
      return this.xml(p, 'alipay', {
        out_trade_no: x.out_trade_no,
        result_code: 'FAIL',
        error: 'TRADE_HAS_SUCCESS_OR_CLOSE',
        detail_error_code: 'DUPLICATE_OUT_TRADE_NO',
        detail_error_des: 'out_trade_no was used for another order',
      });
    }
    if (t && t.status !== 'WAIT_BUYER_PAY') {
      return this.xml(p, 'alipay', {
        out_trade_no: x.out_trade_no,
        result_code: 'FAIL',
        error: 'TRADE_HAS_SUCCESS_OR_CLOSE',
        detail_error_code: t.status,
      });
    }
    if (!t) {
      t = this.newTrade(p, 'precreate', {
        out_trade_no: x.out_trade_no!,
        subject: x.subject!,
        body: x.body,
        currency: x.currency!,
        trans_currency: transCurrency,
        amount_minor: amount,
        notify_url: x.notify_url,
        expires_after_ms: expiresAfter,
        fingerprint: fp,
      });
    }
    const qr = `${req.origin}/qr/${t.token}`;
    if (req.fault?.kind === 'unknown')
      return this.xml(
        p,
        'alipay',
        { out_trade_no: t.out_trade_no, result_code: 'UNKNOWN', error: 'SYSTEM_ERROR' },
        req.fault,
      );
    return this.xml(
      p,
      'alipay',
      {
        out_trade_no: t.out_trade_no,
        qr_code: qr,
        result_code: 'SUCCESS',
        voucher_type: 'qrcode',
        big_pic_url: `${req.origin}/qr-image?code=${t.token}&picSize=L`,
        pic_url: `${req.origin}/qr-image?code=${t.token}&picSize=M`,
        small_pic_url: `${req.origin}/qr-image?code=${t.token}&picSize=S`,
      },
      req.fault,
    );
  }

  private spotPay(p: Parsed, fault?: FaultMode): GatewayAnswer {
    this.need(
      p,
      'partner_trans_id',
      'trans_name',
      'currency',
      'trans_amount',
      'buyer_identity_code',
      'trans_create_time',
      'notify_url',
    );
    const x = p.params;
    if (x.alipay_seller_id && x.alipay_seller_id !== p.merchant.partner)
      throw new GatewayError('ILLEGAL_ARGUMENT', 'alipay_seller_id must be the partner');
    if (x.biz_product && x.biz_product !== 'OVERSEAS_MBARCODE_PAY')
      throw new GatewayError('ILLEGAL_ARGUMENT', 'biz_product must be OVERSEAS_MBARCODE_PAY');
    if (parseAlipayTime(x.trans_create_time!) === undefined)
      throw new GatewayError('ILLEGAL_ARGUMENT', 'trans_create_time must be yyyyMMddHHmmss');
    const transCurrency = x.trans_currency || x.currency!;
    const amount = parseMajor(x.trans_amount, transCurrency);
    if (amount === undefined)
      throw new GatewayError(
        'ILLEGAL_ARGUMENT',
        `trans_amount "${x.trans_amount}" is not an amount in ${transCurrency}`,
      );
    // spot_pay: trans_currency is a pricing currency Alipay enables per merchant ("currently
    // MOP, TWD and CNY … contact your BD"); without it the price is in `currency`.
    if (x.trans_currency && !(p.merchant.transCurrencies ?? []).includes(x.trans_currency)) {
      this.log.info(
        { partner_trans_id: x.partner_trans_id, trans_currency: x.trans_currency },
        'spot pay refused: trans_currency not enabled for this merchant',
      );
      return this.xml(
        p,
        'alipay',
        { partner_trans_id: x.partner_trans_id, result_code: 'FAILED', error: 'HAS_NO_PRIVILEGE' },
        fault,
      );
    }
    const fp = this.fingerprint(p, [
      'partner_trans_id',
      'trans_amount',
      'currency',
      'trans_currency',
      'buyer_identity_code',
    ]);
    const existing = this.find(p.merchant.partner, x.partner_trans_id);
    if (existing) {
      // A retried request (same code, same amount) gets the trade's answer, not a second charge.
      if (existing.fingerprint !== fp) return this.spotReply(p, existing, 'FAILED', 'PARTNER_TRANS_ID_USED', fault);
      return this.spotReply(
        p,
        existing,
        existing.status === 'TRADE_SUCCESS' ? 'SUCCESS' : existing.status === 'WAIT_BUYER_PAY' ? 'UNKNOW' : 'FAILED',
        existing.status === 'TRADE_CLOSED' ? 'TRADE_HAS_CLOSE' : undefined,
        fault,
      );
    }
    const code = x.buyer_identity_code!;
    const fail = (error: string) => {
      this.log.info({ partner_trans_id: x.partner_trans_id, error }, 'spot pay refused');
      return this.xml(p, 'alipay', { partner_trans_id: x.partner_trans_id, result_code: 'FAILED', error }, fault);
    };
    if (!/^(2[5-9]|30)\d{14,22}$/.test(code)) return fail('INVALID_BUYER_IDENTITY_CODE');
    const pc = this.data.paycodes.find((c) => c.code === code);
    if (!pc) return fail('INVALID_BUYER_IDENTITY_CODE');
    if (pc.used) return fail('BUYER_IDENTITY_CODE_USED');
    if (pc.behaviour === 'expired' || this.clock.elapsedSince(pc.minted_mark) > 60_000)
      return fail('INVALID_BUYER_IDENTITY_CODE_EXPIRED');
    pc.used = true;
    if (pc.behaviour === 'insufficient') {
      this.save();
      return fail('BUYER_BALANCE_NOT_ENOUGH');
    }
    const t = this.newTrade(p, 'spot', {
      out_trade_no: x.partner_trans_id!,
      subject: x.trans_name!,
      body: x.memo,
      currency: x.currency!,
      trans_currency: transCurrency,
      amount_minor: amount,
      notify_url: x.notify_url,
      fingerprint: fp,
    });
    if (pc.behaviour === 'userpaying') {
      t.userpaying = { queries: 0, until: pc.userpaying_n ?? 1 };
      this.save();
      return this.spotReply(p, t, 'UNKNOW', 'USER_PAYING', fault);
    }
    this.markPaid(t, 'sim-customer');
    return this.spotReply(p, t, 'SUCCESS', undefined, fault);
  }

  private spotFields(t: Trade): Record<string, string | undefined> {
    const paid = t.paid_ms !== undefined;
    return {
      partner_trans_id: t.out_trade_no,
      alipay_trans_id: t.trade_no,
      currency: t.currency,
      // Echoed only for a trade priced in another currency (not in the published response list).
      trans_currency: t.trans_currency !== t.currency ? t.trans_currency : undefined,
      trans_amount: formatMajor(t.amount_minor, t.trans_currency),
      alipay_buyer_login_id: paid ? t.buyer_login_id : undefined,
      alipay_buyer_user_id: paid ? t.buyer_user_id : undefined,
      alipay_pay_time: paid ? compactTime(t.paid_ms!) : undefined,
      exchange_rate: paid ? t.rate : undefined,
      trans_amount_cny: paid ? formatMajor(t.cny_minor!, 'CNY') : undefined,
    };
  }

  private spotReply(
    p: Parsed,
    t: Trade,
    result: 'SUCCESS' | 'FAILED' | 'UNKNOW',
    error: string | undefined,
    fault?: FaultMode,
  ): GatewayAnswer {
    // The `unknown` fault: the payment happened (or not) as usual, but the answer is lost in doubt.
    if (fault?.kind === 'unknown')
      return this.xml(
        p,
        'alipay',
        { partner_trans_id: t.out_trade_no, result_code: 'UNKNOW', error: 'SYSTEM_ERROR' },
        fault,
      );
    return this.xml(p, 'alipay', { ...this.spotFields(t), result_code: result, error }, fault);
  }

  /** A query counts towards a userpaying:N code; the Nth query finds it paid. */
  private tickUserPaying(t: Trade): void {
    if (!t.userpaying || t.status !== 'WAIT_BUYER_PAY') return;
    t.userpaying.queries += 1;
    if (t.userpaying.queries >= t.userpaying.until) this.markPaid(t, 'sim-customer');
    this.save();
  }

  private acquireQuery(p: Parsed, fault?: FaultMode): GatewayAnswer {
    if (!p.params.out_trade_no && !p.params.trade_no)
      throw new GatewayError('ILLEGAL_ARGUMENT', 'give out_trade_no or trade_no');
    if (fault?.kind === 'unknown')
      return this.xml(p, 'alipay', { result_code: 'UNKNOWN', error: 'SYSTEM_ERROR' }, fault);
    const t = this.find(p.merchant.partner, p.params.out_trade_no, p.params.trade_no);
    if (!t)
      return this.xml(
        p,
        'alipay',
        {
          out_trade_no: p.params.out_trade_no,
          result_code: 'FAIL',
          detail_error_code: 'TRADE_NOT_EXIST',
          error: 'TRADE_NOT_EXIST',
        },
        fault,
      );
    this.tickUserPaying(t);
    return this.xml(
      p,
      'alipay',
      {
        result_code: 'SUCCESS',
        out_trade_no: t.out_trade_no,
        trade_no: t.trade_no,
        trade_status: t.status,
        total_fee: formatMajor(t.amount_minor, t.trans_currency),
        currency: t.currency,
        trans_currency: t.trans_currency,
        buyer_logon_id: t.buyer_login_id,
        buyer_user_id: t.buyer_user_id,
        gmt_payment: t.paid_ms === undefined ? undefined : dashedTime(t.paid_ms),
        exchange_rate: t.rate,
        trans_amount_cny: t.cny_minor === undefined ? undefined : formatMajor(t.cny_minor, 'CNY'),
      },
      fault,
    );
  }

  private overseasQuery(p: Parsed, fault?: FaultMode): GatewayAnswer {
    if (!p.params.partner_trans_id && !p.params.alipay_trans_id)
      throw new GatewayError('ILLEGAL_ARGUMENT', 'give partner_trans_id or alipay_trans_id');
    if (fault?.kind === 'unknown')
      return this.xml(p, 'alipay', { result_code: 'UNKNOW', error: 'SYSTEM_ERROR' }, fault);
    const t = this.find(p.merchant.partner, p.params.partner_trans_id, p.params.alipay_trans_id);
    if (!t)
      return this.xml(
        p,
        'alipay',
        { partner_trans_id: p.params.partner_trans_id, result_code: 'FAILED', error: 'TRADE_NOT_EXIST' },
        fault,
      );
    this.tickUserPaying(t);
    return this.xml(
      p,
      'alipay',
      {
        ...this.spotFields(t),
        out_trade_no: t.out_trade_no,
        alipay_trans_status: t.status,
        payment_inst: 'ALIPAYCN',
        result_code: 'SUCCESS',
      },
      fault,
    );
  }

  private cancel(p: Parsed, fault?: FaultMode): GatewayAnswer {
    if (!p.params.out_trade_no && !p.params.trade_no)
      throw new GatewayError('ILLEGAL_ARGUMENT', 'give out_trade_no or trade_no');
    if (!p.params.timestamp || parseAlipayTime(p.params.timestamp) === undefined)
      throw new GatewayError('ILLEGAL_ARGUMENT', 'timestamp is missing or malformed');
    if (fault?.kind === 'unknown')
      return this.xml(p, 'alipay', { result_code: 'UNKNOWN', retry_flag: 'Y', error: 'SYSTEM_ERROR' }, fault);
    const t = this.find(p.merchant.partner, p.params.out_trade_no, p.params.trade_no);
    if (!t)
      return this.xml(
        p,
        'alipay',
        {
          out_trade_no: p.params.out_trade_no,
          result_code: 'FAIL',
          retry_flag: 'N',
          error: 'TRADE_NOT_EXIST',
          detail_error_code: 'TRADE_NOT_EXIST',
        },
        fault,
      );
    if (t.kind === 'web')
      return this.xml(
        p,
        'alipay',
        { out_trade_no: t.out_trade_no, result_code: 'FAIL', retry_flag: 'N', error: 'TRADE_NOT_SUPPORT' },
        fault,
      );
    const now = this.clock.nowMs();
    if (!t.cancel) {
      if (t.status === 'TRADE_SUCCESS') {
        // A paid trade may be cancelled (refunded in full, fee too) only on its Beijing day.
        if (beijingDay(t.paid_ms!) !== beijingDay(now)) {
          return this.xml(
            p,
            'alipay',
            {
              out_trade_no: t.out_trade_no,
              trade_no: t.trade_no,
              result_code: 'FAIL',
              retry_flag: 'N',
              error: 'REASON_TRADE_BEEN_FINISHED',
            },
            fault,
          );
        }
        if (t.refunds.length)
          return this.xml(
            p,
            'alipay',
            {
              out_trade_no: t.out_trade_no,
              trade_no: t.trade_no,
              result_code: 'FAIL',
              retry_flag: 'N',
              error: 'TRADE_HAS_REFUND',
            },
            fault,
          );
        t.cancel = { ms: now, action: 'refund' };
      } else {
        t.cancel = { ms: now, action: 'close' };
      }
      t.status = 'TRADE_CLOSED';
      t.closed_ms = now;
      this.save();
      this.log.info({ out_trade_no: t.out_trade_no, action: t.cancel.action }, 'trade cancelled');
    }
    return this.xml(
      p,
      'alipay',
      {
        out_trade_no: t.out_trade_no,
        trade_no: t.trade_no,
        result_code: 'SUCCESS',
        retry_flag: 'N',
        action: t.cancel.action,
      },
      fault,
    );
  }

  private spotRefund(p: Parsed, fault?: FaultMode): GatewayAnswer {
    this.need(p, 'partner_trans_id', 'partner_refund_id', 'refund_amount', 'currency');
    const x = p.params;
    const t = this.find(p.merchant.partner, x.partner_trans_id, x.alipay_trans_id);
    if (!t || t.kind === 'web')
      return this.xml(
        p,
        'alipay',
        {
          partner_trans_id: x.partner_trans_id,
          partner_refund_id: x.partner_refund_id,
          result_code: 'FAILED',
          error: 'TRADE_NOT_EXIST',
        },
        fault,
      );
    const r = this.doRefund(
      t,
      x.partner_refund_id!,
      x.refund_amount,
      x.currency,
      x.refund_reason,
      'alipay.acquire.overseas.spot.refund',
    );
    const base = {
      partner_trans_id: t.out_trade_no,
      alipay_trans_id: t.trade_no,
      partner_refund_id: x.partner_refund_id,
      currency: t.currency,
      refund_amount: x.refund_amount,
    };
    if (!r.ok) return this.xml(p, 'alipay', { ...base, result_code: 'FAILED', error: r.error }, fault);
    if (fault?.kind === 'unknown')
      return this.xml(p, 'alipay', { ...base, result_code: 'UNKNOW', error: 'SYSTEM_ERROR' }, fault);
    return this.xml(
      p,
      'alipay',
      {
        ...base,
        refund_amount: formatMajor(r.refund.amount_minor, t.currency),
        refund_amount_cny: formatMajor(r.refund.cny_minor, 'CNY'),
        result_code: 'SUCCESS',
      },
      fault,
    );
  }

  // ---- paying (the customer), notifies ------------------------------------------------------

  markPaid(t: Trade, payer: string): void {
    t.status = 'TRADE_SUCCESS';
    t.paid_ms = this.clock.nowMs();
    t.rate = this.rate(t.trans_currency);
    t.cny_minor = toCny(t.amount_minor, t.trans_currency, t.rate);
    t.buyer_user_id = `2088${createHash('md5').update(payer).digest('hex').replace(/\D/g, '').padEnd(12, '7').slice(0, 12)}`;
    t.buyer_login_id = '136****6685';
    delete t.closed_ms;
    // Paid after a close (a race the `force` knob plays): it is a paid trade now, refundable.
    if (t.cancel?.action === 'close') delete t.cancel;
    this.save();
    this.log.info({ out_trade_no: t.out_trade_no, trade_no: t.trade_no, kind: t.kind }, 'trade paid');
    if (t.notify_url) this.sendNotify(t);
  }

  private sendNotify(t: Trade): void {
    const notifyId = randomBytes(17).toString('hex');
    const fields: Record<string, string | undefined> = {
      notify_id: notifyId,
      notify_time: dashedTime(this.clock.nowMs()),
      notify_type: 'trade_status_sync',
      out_trade_no: t.out_trade_no,
      trade_no: t.trade_no,
      trade_status: t.kind === 'web' ? 'TRADE_FINISHED' : 'TRADE_SUCCESS',
      currency: t.currency,
      total_fee: formatMajor(t.amount_minor, t.trans_currency),
      subject: t.subject,
      gmt_payment: dashedTime(t.paid_ms!),
      buyer_id: t.buyer_user_id,
      buyer_email: t.buyer_login_id,
      // The merchant's own partner id, as odoo's captured notify carries it (seller_id).
      seller_id: t.partner,
      // `_input_charset` travels in the notify and is part of what is signed (A3, vector 4).
      _input_charset: t.charset === 'GBK' ? 'gbk' : 'utf-8',
    };
    if (t.kind !== 'web') {
      fields.notify_action_type = 'payByAccountAction';
      fields.trans_currency = t.trans_currency;
      fields.forex_rate = t.rate;
      fields.trans_amount_cny = formatMajor(t.cny_minor!, 'CNY');
    }
    this.deliverNotify(t, t.notify_url!, notifyId, fields, { trade_no: t.trade_no });
  }

  /** The signed query string Alipay appends to return_url after a web payment. */
  returnUrl(t: Trade): string | undefined {
    if (!t.return_url) return undefined;
    const merchant = this.merchants.get(t.partner)!;
    const fields: Record<string, string> = {
      out_trade_no: t.out_trade_no,
      trade_no: t.trade_no,
      trade_status: 'TRADE_FINISHED',
      currency: t.currency,
      total_fee: formatMajor(t.amount_minor, t.trans_currency),
    };
    fields.sign = sign(fields, t.sign_type, { md5Key: merchant.md5Key, privateKey: this.keys.privateKey }, 'UTF-8');
    fields.sign_type = t.sign_type;
    const u = new URL(t.return_url);
    for (const [k, v] of Object.entries(fields)) u.searchParams.set(k, v);
    return u.toString();
  }

  // ---- /sim/ control --------------------------------------------------------------------

  /** Finds a trade for the customer's side: by out_trade_no, trade_no, qr_code URL or cashier token. */
  findForSim(ref: {
    out_trade_no?: string;
    trade_no?: string;
    qr_code?: string;
    token?: string;
    partner?: string;
  }): Trade {
    let t: Trade | undefined;
    const token =
      ref.token ??
      (ref.qr_code ? (/\/(?:qr|cashier)\/([A-Za-z0-9_-]+)/.exec(ref.qr_code)?.[1] ?? ref.qr_code) : undefined);
    if (token) t = this.data.trades.find((x) => x.token === token);
    else if (ref.trade_no) t = this.data.trades.find((x) => x.trade_no === ref.trade_no);
    else if (ref.out_trade_no) {
      const all = this.data.trades.filter(
        (x) => x.out_trade_no === ref.out_trade_no && (!ref.partner || x.partner === ref.partner),
      );
      if (all.length > 1)
        throw new ControlError(409, 'ambiguous', 'several partners have that out_trade_no: give "partner" too');
      t = all[0];
    } else
      throw new ControlError(400, 'invalid_request', 'give "out_trade_no", "qr_code", "redirect_url" or "trade_no"');
    if (!t)
      throw new ControlError(
        404,
        'trade_not_found',
        'no such trade (a create_forex_trade trade exists once its cashier page has been opened)',
      );
    this.expire(t);
    return t;
  }

  /** Opens a create_forex_trade link as the customer's browser would, without the browser. */
  openLink(link: string, origin: string): Trade {
    let u: URL;
    try {
      u = new URL(link);
    } catch {
      throw new ControlError(400, 'invalid_request', '"redirect_url" must be an absolute URL');
    }
    const a = this.handle({ method: 'GET', query: u.search.replace(/^\?/, ''), body: Buffer.alloc(0), origin });
    if (a.type === 'redirect') return this.findForSim({ token: a.location.split('/').pop()! });
    throw new ControlError(
      400,
      'link_refused',
      a.type === 'html' ? `${a.title}: ${a.message}` : 'the link does not open a cashier',
    );
  }

  /** The customer confirms. `force` pays even a closed trade (a late payment racing a close). */
  simPay(t: Trade, payer = 'sim-customer', force = false): Trade {
    if (t.status === 'TRADE_SUCCESS') throw new ControlError(409, 'already_paid', 'the trade is already paid');
    if (t.status === 'TRADE_CLOSED' && !(force && t.paid_ms === undefined))
      throw new ControlError(409, 'trade_closed', 'the trade is closed (give "force": true to pay it anyway)');
    if (t.kind === 'spot' && !t.userpaying)
      throw new ControlError(409, 'not_payable', 'a payment-code trade is paid by its code');
    this.markPaid(t, payer);
    return t;
  }

  mintPaycode(behaviour: string): PayCode {
    const m = /^(success|userpaying(?::(\d+))?|insufficient|expired)$/.exec(behaviour);
    if (!m)
      throw new ControlError(
        400,
        'invalid_behaviour',
        'behaviour must be success, userpaying:N, insufficient or expired',
      );
    const kind = (m[1]!.startsWith('userpaying') ? 'userpaying' : m[1]) as PayCodeBehaviour;
    // Alipay payment codes: 16–24 digits starting 25–30 (18 here, as the wallet shows).
    const code = `28${String(randomInt(0, 1e8)).padStart(8, '0')}${String(randomInt(0, 1e8)).padStart(8, '0')}`;
    const pc: PayCode = {
      code,
      behaviour: kind,
      minted_mark: this.clock.mark(),
      used: false,
      ...(kind === 'userpaying' ? { userpaying_n: Number(m[2] ?? '1') } : {}),
    };
    this.data.paycodes.push(pc);
    if (this.data.paycodes.length > 5000) this.data.paycodes.splice(0, this.data.paycodes.length - 5000);
    this.save();
    return pc;
  }

  tradesView(): object[] {
    this.settleDueRefunds();
    return this.data.trades.map((t) => {
      this.expire(t);
      return {
        partner: t.partner,
        kind: t.kind,
        out_trade_no: t.out_trade_no,
        trade_no: t.trade_no,
        status: t.status,
        amount: formatMajor(t.amount_minor, t.trans_currency),
        trans_currency: t.trans_currency,
        currency: t.currency,
        created_at: new Date(t.created_ms).toISOString(),
        paid_at: t.paid_ms === undefined ? undefined : new Date(t.paid_ms).toISOString(),
        rate: t.rate,
        cny: t.cny_minor === undefined ? undefined : formatMajor(t.cny_minor, 'CNY'),
        cancel: t.cancel?.action,
        refunds: t.refunds.map((r) => ({
          refund_no: r.refund_no,
          amount: formatMajor(r.amount_minor, t.currency),
          at: new Date(r.ms).toISOString(),
          status: r.status ?? 'SUCCESS',
          ...(r.error_code ? { error_code: r.error_code } : {}),
        })),
      };
    });
  }

  // ---- files ------------------------------------------------------------------------------

  /** forex_rate_file: today's rates, `yyyyMMdd|HHmmss|CUR|rate`, published 09:30 Beijing. */
  rateFile(): string {
    // Before today's 09:30 publication the file still carries yesterday's rates.
    const now = this.clock.nowMs();
    const published = compactTime(now).slice(8) >= '093000' ? now : now - 86_400_000;
    const day = beijingDay(published);
    return (
      Object.keys(this.data.rates)
        .sort()
        .map((c) => `${day}|093000|${c}|${this.data.rates[c]}`)
        .join('\n') + '\n'
    );
  }

  private legacyFile(p: Parsed): string {
    const { start_date: start, end_date: end } = p.params;
    if (!start || !end || !/^\d{8}$/.test(start) || !/^\d{8}$/.test(end)) return 'Date format incorrect YYYYMMDD';
    if (end < start) return 'File download failed:Finish date ahead of begin date';
    const today = beijingDay(this.clock.nowMs());
    if (end >= today) return 'File download failed:Finish date not ahead of today';
    const span =
      (Date.UTC(+end.slice(0, 4), +end.slice(4, 6) - 1, +end.slice(6)) -
        Date.UTC(+start.slice(0, 4), +start.slice(4, 6) - 1, +start.slice(6))) /
      86_400_000;
    if (span > 10) return 'File download failed:Over 10 days to Date period';
    const settlement = p.params.service === 'forex_liquidation_file';
    const lines: string[] = [];
    for (const e of this.ledger(p.merchant.partner)) {
      const d = beijingDay(e.ms);
      if (d < start || d > end) continue;
      const settled = compactTime(e.ms + 86_400_000);
      lines.push(
        [
          e.id,
          formatMajor(e.amount, e.currency),
          e.currency,
          compactTime(e.ms),
          settlement ? settled : '',
          e.kind === 'payment' ? 'P' : 'R',
          formatMajor(e.fee, e.currency),
          settlement ? 'L' : 'P',
          '',
        ].join('|'),
      );
    }
    return lines.length ? `${lines.join('\n')}\n` : 'No balance account data in the period';
  }

  /** Every money movement, in time order: payments, cancels of paid trades, refunds. */
  ledger(partner: string): Array<{
    kind: 'payment' | 'cancel' | 'refund';
    id: string;
    trade: Trade;
    amount: number;
    cny: number;
    currency: string;
    ms: number;
    fee: number;
  }> {
    const out: ReturnType<AlipayGateway['ledger']> = [];
    const fee = (minor: number) => Math.round(minor * 0.018);
    for (const t of this.data.trades) {
      if (t.partner !== partner || t.paid_ms === undefined) continue;
      out.push({
        kind: 'payment',
        id: t.out_trade_no,
        trade: t,
        amount: t.amount_minor,
        cny: t.cny_minor ?? 0,
        currency: t.currency,
        ms: t.paid_ms,
        fee: fee(t.amount_minor),
      });
      if (t.cancel?.action === 'refund')
        out.push({
          kind: 'cancel',
          id: t.out_trade_no,
          trade: t,
          amount: t.amount_minor,
          cny: t.cny_minor ?? 0,
          currency: t.currency,
          ms: t.cancel.ms,
          fee: -fee(t.amount_minor),
        });
      for (const r of t.refunds) {
        // An accepted forex_refund moves money once it succeeds; a failed one never does.
        if (r.status === 'PROCESSING' || r.status === 'FAIL') continue;
        out.push({
          kind: 'refund',
          id: r.refund_no,
          trade: t,
          amount: r.amount_minor,
          cny: r.cny_minor,
          currency: t.currency,
          ms: r.settled_ms ?? r.ms,
          fee: 0,
        });
      }
    }
    return out.sort((a, b) => a.ms - b.ms);
  }
}
