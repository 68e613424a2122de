import { isIP } from 'node:net';
import { closeWechatAgents } from './http.js';
import { Decimal } from 'decimal.js';
import { KauriError } from '../../../protocol/errors.js';
import type { Money } from '../../../protocol/money.js';
import { CHANNEL_MODES, type PaymentMode } from '../../../protocol/payments.js';
import {
  NotifyRejectedError,
  type Channel,
  type ChannelAccount,
  type ChannelContext,
  type ChannelOutcome,
  type CreatePaymentRequest,
  type HttpReply,
  type OrderRef,
  type RateQuote,
  type RawHttpRequest,
  type RefundOutcome,
  type RefundRequest,
  type StatementResult,
  type VerifiedNotify,
} from '../channel.js';
import { WechatClient, nonce } from './client.js';
import { wechatAccount } from './config.js';
import {
  UnreadablePaymentError,
  beijingDay,
  beijingTime,
  micropayOutcome,
  paidOutcome,
  rateFromWechat,
  refundOutcome,
  rateTimeFromWechat,
  refundQueryOutcome,
  tradeStateOutcome,
  unifiedOrderFailure,
} from './outcomes.js';
import { checkSignature, jsapiPayParams, type Fields } from './sign.js';
import { buildWechatXml, parseWechatXml, WechatXmlError } from './xml.js';

// The WeChat Pay overseas API v2 as a Kauri channel (docs/protocols/wechat.md): NATIVE and
// JSAPI through unifiedorder, Quick Pay (micropay) with query-then-reverse, refunds over
// mutual TLS, notifies, statements and rates.

/** WeChat's acknowledgement, byte for byte: anything else makes it deliver again. */
export const NOTIFY_ACK =
  '<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>';

export function notifyFailReply(msg: string, status = 200): HttpReply {
  // The message is ours (never echoes the sender's input beyond a short reason).
  return {
    status,
    contentType: 'text/xml; charset=utf-8',
    body: buildWechatXml({ return_code: 'FAIL', return_msg: msg.slice(0, 120) }),
  };
}

const ACK: HttpReply = { status: 200, contentType: 'text/xml; charset=utf-8', body: NOTIFY_ACK };

/** WeChat's body field: at most 127 bytes of UTF-8, cut on a character boundary. */
function bodyText(s: string): string {
  let out = '';
  for (const ch of s) {
    if (Buffer.byteLength(out + ch) > 127) break;
    out += ch;
  }
  return out || 'Kauri payment';
}

const IPV4 = /^(?:\d{1,3}\.){3}\d{1,3}$/;

/** The payer's address as WeChat wants it: IPv4 when the socket saw an IPv4-mapped one. */
export function payerAddress(ip: string | undefined): string | undefined {
  if (!ip) return undefined;
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip)?.[1];
  const out = mapped ?? ip;
  return isIP(out) ? out : undefined;
}

/**
 * H5's scene_info: a JSON object naming the site the payment starts from (type Wap, its URL
 * and name), which WeChat compares with the domain the merchant registered for H5.
 */
export function h5SceneInfo(siteUrl: string, siteName: string): string {
  return JSON.stringify({ h5_info: { type: 'Wap', wap_url: siteUrl, wap_name: siteName } });
}

/**
 * WeChat returns the payer to `redirect_url` appended, URL-encoded, to the mweb_url it
 * answered (and, without one, to the page that opened the payment).
 */
export function withRedirectUrl(mwebUrl: string, returnUrl: string): string {
  return `${mwebUrl}${mwebUrl.includes('?') ? '&' : '?'}redirect_url=${encodeURIComponent(returnUrl)}`;
}

/** "Revoke Order API should be called at least 15s later after the order is created" (pay.weixin.qq.com/doc/global/v2/en/4013659173). */
export const REVERSE_NOT_BEFORE_MS = 15_000;
/** Real milliseconds added to those 15 s for the time the order took to reach WeChat. */
const REVERSE_MARGIN_MS = 1_000;

function refusedReason(path: string, msg: string): string {
  return `WeChat refused ${path}: ${msg}`;
}

export class WechatChannel implements Channel {
  readonly name = 'wechat' as const;
  readonly modes: readonly PaymentMode[] = CHANNEL_MODES.wechat;
  /** WeChat revokes unconfirmed Quick Pay orders at 45 s; we settle within 40 s (an account may tune it). */
  readonly presentedCodePolicy = { pollEveryMs: 5_000, giveUpAfterMs: 40_000 };

  async shutdown(): Promise<void> {
    await closeWechatAgents();
  }
  /** Between reverse attempts while WeChat says recall=Y. */
  readonly reverseRetryMs: number;
  readonly reverseAttempts: number;

  constructor(options: { reverseRetryMs?: number; reverseAttempts?: number } = {}) {
    this.reverseRetryMs = options.reverseRetryMs ?? 2_000;
    this.reverseAttempts = options.reverseAttempts ?? 6;
  }

  presentedCodePolicyFor(account: ChannelAccount): { pollEveryMs: number; giveUpAfterMs: number } {
    return wechatAccount(account).config.micropay;
  }

  validateCreate(account: ChannelAccount, req: { mode: PaymentMode; amount: Money }): void {
    const a = wechatAccount(account);
    if (req.amount.currency !== a.config.feeType) {
      throw new KauriError(
        'currency_mismatch',
        `This WeChat Pay account prices in ${a.config.feeType}; a ${req.amount.currency} payment cannot be taken on it`,
      );
    }
  }

  private client(ctx: ChannelContext): WechatClient {
    return new WechatClient(wechatAccount(ctx.account), ctx);
  }

  async create(ctx: ChannelContext, req: CreatePaymentRequest): Promise<ChannelOutcome> {
    const client = this.client(ctx);
    const a = client.account;
    const common: Fields = {
      body: bodyText(req.description),
      out_trade_no: req.channelOrderNo,
      fee_type: req.amount.currency,
      total_fee: String(req.amount.minor),
      ...(a.config.deviceInfo ? { device_info: a.config.deviceInfo } : {}),
    };
    if (req.mode === 'micropay') {
      if (!req.authCode) throw new KauriError('invalid_request', 'micropay needs the payment code');
      const path = '/pay/micropay';
      const answer = await client.call(
        path,
        {
          ...common,
          auth_code: req.authCode,
          spbill_create_ip: req.clientIp && IPV4.test(req.clientIp) ? req.clientIp : a.config.serverIp,
        },
        { orderId: req.orderId },
      );
      // return_code=FAIL is WeChat refusing the request itself (signature, format, merchant)
      // before any business is done (§2.2): nobody was charged.
      if (answer.kind === 'refused')
        return { state: 'failed', reason: refusedReason(path, answer.returnMsg), raw: answer.fields };
      return micropayOutcome(answer.fields);
    }
    const path = '/pay/unifiedorder';
    const tradeType = req.mode === 'jsapi' ? 'JSAPI' : req.mode === 'h5' ? 'MWEB' : 'NATIVE';
    if (tradeType === 'JSAPI' && !req.openid) throw new KauriError('invalid_request', "JSAPI needs the payer's openid");
    // H5 is refused by WeChat's risk control unless spbill_create_ip is the payer's own address.
    const payerIp = payerAddress(req.clientIp);
    if (tradeType === 'MWEB' && !payerIp) throw new KauriError('invalid_request', "H5 needs the payer's IP address");
    if (tradeType === 'MWEB' && !req.returnUrl)
      throw new KauriError('invalid_request', 'H5 needs the page WeChat sends the payer back to');
    const answer = await client.call(
      path,
      {
        ...common,
        trade_type: tradeType,
        notify_url: ctx.notifyUrl,
        spbill_create_ip:
          tradeType === 'MWEB'
            ? payerIp!
            : tradeType === 'JSAPI' && req.clientIp && IPV4.test(req.clientIp)
              ? req.clientIp
              : a.config.serverIp,
        time_expire: beijingTime(req.expiresAt),
        ...(tradeType === 'NATIVE' ? { product_id: req.channelOrderNo } : {}),
        ...(tradeType === 'MWEB' ? { scene_info: h5SceneInfo(ctx.publicBaseUrl, a.config.h5SiteName) } : {}),
        ...(tradeType === 'JSAPI' ? (a.config.sub_appid ? { sub_openid: req.openid! } : { openid: req.openid! }) : {}),
      },
      { orderId: req.orderId },
    );
    if (answer.kind === 'refused')
      return { state: 'failed', reason: refusedReason(path, answer.returnMsg), raw: answer.fields };
    const f = answer.fields;
    if (f.result_code !== 'SUCCESS') return unifiedOrderFailure(f);
    if (tradeType === 'NATIVE') {
      if (!f.code_url) throw new KauriError('channel_error', 'WeChat unifiedorder (NATIVE) answered without code_url');
      return { state: 'pending', qrCode: f.code_url, raw: f };
    }
    if (tradeType === 'MWEB') {
      if (!f.mweb_url || !/^https?:\/\//.test(f.mweb_url))
        throw new KauriError('channel_error', 'WeChat unifiedorder (MWEB) answered without an http(s) mweb_url');
      return { state: 'pending', redirectUrl: withRedirectUrl(f.mweb_url, req.returnUrl!), raw: f };
    }
    if (!f.prepay_id) throw new KauriError('channel_error', 'WeChat unifiedorder (JSAPI) answered without prepay_id');
    const jsapiParams = jsapiPayParams(
      {
        appId: a.config.sub_appid ?? a.config.appid,
        prepayId: f.prepay_id,
        timeStamp: String(Math.floor(ctx.clock.now().getTime() / 1000)),
        nonceStr: nonce(),
        signType: a.signType,
      },
      a.apiKey,
    );
    return { state: 'pending', jsapiParams, raw: f };
  }

  private orderKey(ref: OrderRef): Fields {
    return ref.channelTradeNo ? { transaction_id: ref.channelTradeNo } : { out_trade_no: ref.channelOrderNo };
  }

  async query(ctx: ChannelContext, ref: OrderRef): Promise<ChannelOutcome> {
    const path = '/pay/orderquery';
    const answer = await this.client(ctx).call(path, this.orderKey(ref), { orderId: ref.orderId });
    if (answer.kind === 'refused') throw new KauriError('channel_error', refusedReason(path, answer.returnMsg));
    const f = answer.fields;
    if (f.result_code !== 'SUCCESS') {
      return {
        state: 'unknown',
        reason: `orderquery: ${f.err_code ?? 'FAIL'}${f.err_code_des ? ` (${f.err_code_des})` : ''}`,
        raw: f,
      };
    }
    return tradeStateOutcome(f);
  }

  async close(ctx: ChannelContext, ref: OrderRef): Promise<ChannelOutcome> {
    return ref.mode === 'micropay' ? this.reverse(ctx, ref) : this.closeOrder(ctx, ref);
  }

  /**
   * /secapi/pay/reverse, again while WeChat says recall=Y; a paid order is refunded by it.
   * WeChat takes a reverse from 15 s after the order (overseas v2 Revoke Order), so an
   * earlier one (a cashier cancelling at once) first waits out the rest of those 15 s,
   * plus a real second for the time the order took to reach WeChat: the customer's money is
   * never left taken because the reverse came too soon.
   */
  private async reverse(ctx: ChannelContext, ref: OrderRef): Promise<ChannelOutcome> {
    const path = '/secapi/pay/reverse';
    const client = this.client(ctx);
    // WeChat's 15 s are protocol time; the margin for the order's trip to WeChat is real time
    // (a network and a loaded machine do not run faster under KAURI_TIME_SCALE).
    const windowReal = Math.max(1, ctx.clock.duration(REVERSE_NOT_BEFORE_MS));
    const notBeforeReal = windowReal + REVERSE_MARGIN_MS;
    const ageReal = ctx.clock.now().getTime() - ref.createdAt.getTime();
    if (ageReal < notBeforeReal)
      await ctx.clock.sleep((notBeforeReal - ageReal) * (REVERSE_NOT_BEFORE_MS / windowReal));
    let last = 'no answer';
    for (let attempt = 1; attempt <= this.reverseAttempts; attempt++) {
      if (attempt > 1) await ctx.clock.sleep(this.reverseRetryMs);
      let answer;
      try {
        answer = await client.call(path, this.orderKey(ref), { clientCert: true, orderId: ref.orderId });
      } catch (err) {
        // "If the call fails or returns nothing, call it again" (§4.5) — but not forever here:
        // the payment service tries again later.
        if (err instanceof KauriError && err.code === 'config_invalid') throw err;
        last = (err as Error).message;
        ctx.log.warn({ order: ref.orderId, attempt, err: last }, 'reverse failed; retrying');
        continue;
      }
      if (answer.kind === 'refused') throw new KauriError('channel_error', refusedReason(path, answer.returnMsg));
      const f = answer.fields;
      if (f.result_code === 'SUCCESS' && f.recall !== 'Y')
        return { state: 'reversed', reason: 'reversed at WeChat', raw: f };
      if (f.err_code === 'ORDERNOTEXIST')
        return { state: 'closed', reason: 'WeChat has no such order (the payment never reached it)', raw: f };
      last = `${f.err_code ?? 'recall'}${f.err_code_des ? `: ${f.err_code_des}` : ''}`;
      if (f.recall === 'Y') continue;
      // Not reversible (too old, refunded already…): report what the order actually is.
      return this.query(ctx, ref);
    }
    return { state: 'unknown', reason: `reverse did not complete after ${this.reverseAttempts} attempts (${last})` };
  }

  private async closeOrder(ctx: ChannelContext, ref: OrderRef): Promise<ChannelOutcome> {
    const path = '/pay/closeorder';
    const answer = await this.client(ctx).call(path, { out_trade_no: ref.channelOrderNo }, { orderId: ref.orderId });
    if (answer.kind === 'refused') throw new KauriError('channel_error', refusedReason(path, answer.returnMsg));
    const f = answer.fields;
    if (f.result_code === 'SUCCESS') return { state: 'closed', reason: 'closed at WeChat', raw: f };
    switch (f.err_code) {
      case 'ORDERCLOSED':
        return { state: 'closed', reason: 'already closed at WeChat', raw: f };
      case 'ORDERNOTEXIST':
        return { state: 'closed', reason: 'WeChat has no such order (it was never created there)', raw: f };
      case 'ORDERREVERSED':
        return { state: 'reversed', reason: 'revoked at WeChat', raw: f };
      case 'ORDERPAID':
        // Paid while we were closing it: say so, with the payment's details.
        return this.query(ctx, ref);
      default:
        return {
          state: 'unknown',
          reason: `closeorder: ${f.err_code ?? 'FAIL'}${f.err_code_des ? ` (${f.err_code_des})` : ''}`,
          raw: f,
        };
    }
  }

  async refund(ctx: ChannelContext, req: RefundRequest): Promise<RefundOutcome> {
    const path = '/secapi/pay/refund';
    const client = this.client(ctx);
    const call = () =>
      client.call(
        path,
        {
          ...this.orderKey(req.order),
          out_refund_no: req.channelRefundNo,
          total_fee: String(req.order.amount.minor),
          refund_fee: String(req.amount.minor),
          refund_fee_type: req.amount.currency,
          ...(req.reason ? { refund_desc: bodyText(req.reason).slice(0, 80) } : {}),
        },
        { clientCert: true, orderId: req.order.orderId },
      );
    let answer;
    try {
      answer = await call();
    } catch (err) {
      // Without a client certificate WeChat refuses the TLS call: nothing can have been refunded.
      if (!client.account.clientCert)
        return {
          state: 'failed',
          reason: `the account has no API client certificate, which ${path} requires: ${(err as Error).message}`,
        };
      throw err;
    }
    // A refusal (no or wrong client certificate, bad signature) means nothing was refunded.
    if (answer.kind === 'refused')
      return { state: 'failed', reason: refusedReason(path, answer.returnMsg), raw: answer.fields };
    return refundOutcome(answer.fields);
  }

  async queryRefund(ctx: ChannelContext, req: RefundRequest): Promise<RefundOutcome> {
    const path = '/pay/refundquery';
    const answer = await this.client(ctx).call(
      path,
      { out_refund_no: req.channelRefundNo },
      { orderId: req.order.orderId },
    );
    if (answer.kind === 'refused') throw new KauriError('channel_error', refusedReason(path, answer.returnMsg));
    if (answer.fields.result_code !== 'SUCCESS' && answer.fields.err_code === 'REFUNDNOTEXIST') {
      // Our refund never reached WeChat: sending it again with the same out_refund_no is safe.
      return this.refund(ctx, req);
    }
    if (answer.fields.out_trade_no && answer.fields.out_trade_no !== req.order.channelOrderNo) {
      return {
        state: 'unknown',
        reason: `refundquery for ${req.channelRefundNo} answered order ${answer.fields.out_trade_no}, not ${req.order.channelOrderNo}`,
      };
    }
    return refundQueryOutcome(answer.fields, req.channelRefundNo);
  }

  async verifyNotify(ctx: ChannelContext, req: RawHttpRequest): Promise<VerifiedNotify> {
    const reject = (reason: string, reply = notifyFailReply(reason)): never => {
      throw new NotifyRejectedError(reason, reply);
    };
    if (req.method !== 'POST')
      reject(`a WeChat notify is a POST, not ${req.method}`, notifyFailReply('POST only', 405));
    const a = wechatAccount(ctx.account);
    let f: Fields = {};
    try {
      f = parseWechatXml(req.body);
    } catch (err) {
      if (err instanceof WechatXmlError) reject(`not a WeChat notify: ${err.message}`, notifyFailReply(err.code));
      throw err;
    }
    if (f.return_code !== 'SUCCESS')
      reject(`notify return_code is "${f.return_code ?? ''}" (${f.return_msg ?? 'no return_msg'})`);
    const check = checkSignature(f, a.apiKey, a.signType);
    if (!check.ok) reject(`notify signature: ${check.reason}`, notifyFailReply('signature does not verify'));
    if (f.mch_id !== a.config.mch_id || (f.appid && f.appid !== a.config.appid && f.appid !== a.config.sub_appid)) {
      reject(
        `notify for mch_id ${f.mch_id ?? '(none)'} / appid ${f.appid ?? '(none)'}, not this account's`,
        notifyFailReply('wrong merchant'),
      );
    }
    if (a.config.sub_mch_id && f.sub_mch_id !== a.config.sub_mch_id)
      reject(`notify for sub_mch_id ${f.sub_mch_id ?? '(none)'}`, notifyFailReply('wrong merchant'));
    const channelOrderNo = f.out_trade_no;
    if (!channelOrderNo) reject('notify without out_trade_no');
    if (f.result_code !== 'SUCCESS') {
      // Authentic but not a payment: acknowledged so WeChat stops, nothing applied.
      return {
        outcomes: [],
        rejected: [
          {
            channelOrderNo,
            reason: `result_code ${f.result_code ?? '(none)'}: ${f.err_code ?? ''} ${f.err_code_des ?? ''}`.trim(),
          },
        ],
        ack: ACK,
        nack: notifyFailReply('try again'),
      };
    }
    let outcome: ChannelOutcome;
    try {
      outcome = paidOutcome(f);
    } catch (err) {
      if (err instanceof UnreadablePaymentError) reject(`notify: ${err.reason}`, notifyFailReply('unreadable payment'));
      throw err;
    }
    return {
      outcomes: [{ channelOrderNo: channelOrderNo!, outcome: outcome! }],
      ack: ACK,
      nack: notifyFailReply('not processed; please retry'),
    };
  }

  /**
   * Day `day` (YYYY-MM-DD, WeChat's day, UTC+8). WeChat answers "No Bill Exist" both
   * before the statement is generated (from 09:00 the next day) and for a day without
   * trades, so the time decides which of the two it means.
   */
  async fetchStatement(ctx: ChannelContext, day: string): Promise<StatementResult> {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(day))
      throw new KauriError('invalid_request', `a statement day is YYYY-MM-DD, not "${day}"`);
    const availableFrom = Date.parse(`${day}T09:00:00+08:00`) + 24 * 3600_000;
    if (ctx.clock.now().getTime() < availableFrom)
      return { state: 'not_ready', reason: `WeChat publishes ${day}'s statement from 09:00 (UTC+8) the next day` };
    const client = this.client(ctx);
    const path = '/pay/downloadbill';
    const res = await client.send(
      path,
      { bill_date: day.replace(/-/g, ''), bill_type: 'ALL' },
      { maxBytes: 64 * 1024 * 1024 },
    );
    const text = res.body
      .toString('utf8')
      .replace(/^\uFEFF/, '')
      .trimStart();
    if (text.startsWith('<xml>') || text.startsWith('<?xml')) {
      const f = parseWechatXml(res.body);
      if (f.return_code === 'SUCCESS')
        throw new KauriError('channel_error', 'downloadbill answered XML with SUCCESS instead of a statement');
      const msg = f.return_msg ?? '';
      if (f.error_code === '20002' || /No Bill Exist/i.test(msg)) {
        // An hour's grace after 09:00: WeChat advises fetching after 10:00.
        if (ctx.clock.now().getTime() < availableFrom + 3600_000)
          return { state: 'not_ready', reason: `WeChat publishes ${day}'s statement from 09:00 (UTC+8) the next day` };
        return { state: 'empty' };
      }
      throw new KauriError(
        'channel_error',
        `downloadbill for ${day}: ${msg}${f.error_code ? ` (error_code ${f.error_code})` : ''}`,
      );
    }
    // Statements are plain text and unsigned (WeChat signs only its XML answers).
    return {
      state: 'ready',
      body: res.body,
      fileName: `wechat-${client.account.config.mch_id}-${day}.csv`,
      contentType: 'text/csv; charset=utf-8',
    };
  }

  /** queryexchagerate: CNY per unit of each currency, today's rate in WeChat's day. */
  async fetchRates(ctx: ChannelContext, currencies: readonly string[]): Promise<RateQuote[]> {
    const client = this.client(ctx);
    const path = '/pay/queryexchagerate';
    const now = ctx.clock.now();
    const date = beijingDay(now);
    const out: RateQuote[] = [];
    for (const currency of currencies) {
      const answer = await client.call(path, { fee_type: currency, date }, { nonceless: true });
      if (answer.kind === 'refused')
        throw new KauriError('rate_unavailable', `WeChat has no ${currency} rate: ${answer.returnMsg}`);
      const f = answer.fields;
      const rate = rateFromWechat(f.rate);
      if (!rate || f.fee_type !== currency)
        throw new KauriError(
          'channel_error',
          `queryexchagerate answered an unreadable rate for ${currency} (rate "${f.rate ?? ''}")`,
        );
      // Signed like every answer: client.call verified it before a field was read.
      const published = rateTimeFromWechat(f.rate_time, date);
      if (!published)
        throw new KauriError(
          'channel_error',
          `queryexchagerate answered an unreadable rate_time "${(f.rate_time ?? '').slice(0, 20)}" for ${currency} (yyyyMMdd or yyyyMMddHHmmss)`,
        );
      out.push({
        currency,
        cnyPerUnit: new Decimal(rate).toString(),
        publishedAt: published > now ? now : published,
        source: 'wechat',
      });
    }
    return out;
  }
}
