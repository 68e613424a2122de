import { toDecimalString, type Money } from '../../../protocol/money.js';
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
import { AlipayClient } from './client.js';
import { alipayConfig, type AlipayConfig } from './config.js';
import { AlipayError } from './errors.js';
import { charsetOf, decodeForm, declaredFormCharset } from './form.js';
import { SIGN_TYPES, verifyParams, type SignType } from './sign.js';
import {
  beijing,
  cancelOutcome,
  forexRefundOutcome,
  gatewayRefusal,
  inStoreQueryOutcome,
  onlineQueryRefused,
  onlineTradeOutcome,
  parseRateFile,
  precreateOutcome,
  refundNotifyOutcome,
  refundQueryOutcome,
  spotPayOutcome,
  spotRefundOutcome,
  tradeNotifyOutcome,
  timeoutRuleFor,
} from './outcomes.js';
import type { AlipayXml } from './xml.js';

/** create_forex_trade's order_valid_time: "Maximum is 21600, unit is second" (Alipay's cross-border guide). */
const MAX_ORDER_VALID_S = 21_600;

export { parseRateFile, timeoutRuleFor } from './outcomes.js';

// Alipay cross-border (MAPI `service=` API) behind the one Channel interface:
//   web       create_forex_trade link (the browser goes to Alipay's cashier), notify, single_trade_query, forex_refund
//   precreate alipay.acquire.precreate (a qr_code URL), alipay.acquire.query, alipay.acquire.cancel, spot.refund
//   spot      alipay.acquire.overseas.spot.pay (the customer's code), alipay.acquire.overseas.query, cancel, spot.refund
// Alipay's status words stay here; the bridge sees pending / paid / closed / reversed / failed / unknown.

function checkCurrency(cfg: AlipayConfig, amount: Money, mode?: PaymentMode): void {
  if (amount.currency === cfg.currency) return;
  // A spot payment may be priced in a trans_currency Alipay enabled for this account.
  if (mode === 'spot' && cfg.transCurrencies.includes(amount.currency)) return;
  throw new AlipayError(
    'currency_mismatch',
    `This Alipay account settles in ${cfg.currency}; a ${amount.currency} payment${mode === 'spot' ? ' (no trans_currency enabled for it)' : ''} cannot be taken on it`,
  );
}

/** Online trades (Alipay's cashier in a browser): `web` (desktop) and `wap` (the mobile cashier). */
function isOnline(mode: PaymentMode): boolean {
  return mode === 'web' || mode === 'wap';
}

/** `wap` always opens the mobile cashier; `web` does when the account's default says so. */
export function mobileCashier(mode: PaymentMode, cfg: AlipayConfig): boolean {
  return mode === 'wap' || (mode === 'web' && cfg.wap);
}

export class AlipayChannel implements Channel {
  readonly name = 'alipay' as const;
  readonly modes: readonly PaymentMode[] = CHANNEL_MODES.alipay;
  /** Alipay suggests polling a spot payment every few seconds and cancelling after about 30–60 s. */
  readonly presentedCodePolicy = { pollEveryMs: 3000, giveUpAfterMs: 45_000 };

  protected client(ctx: ChannelContext): AlipayClient {
    return new AlipayClient(ctx);
  }

  private checkCurrency(c: AlipayClient, amount: Money, mode?: PaymentMode): void {
    checkCurrency(c.cfg, amount, mode);
  }

  /** Refuses, before anything is stored, a payment in a currency this account cannot price in. */
  validateCreate(account: ChannelAccount, req: { readonly mode: PaymentMode; readonly amount: Money }): void {
    checkCurrency(alipayConfig(account), req.amount, req.mode);
  }

  async create(ctx: ChannelContext, req: CreatePaymentRequest): Promise<ChannelOutcome> {
    const c = this.client(ctx);
    this.checkCurrency(c, req.amount, req.mode);
    const lifetime = Math.max(60_000, req.expiresAt.getTime() - req.createdAt.getTime());
    switch (req.mode) {
      case 'web':
      case 'wap': {
        const wap = mobileCashier(req.mode, c.cfg);
        const service = wap ? 'create_forex_trade_wap' : 'create_forex_trade';
        const params = {
          out_trade_no: req.channelOrderNo,
          subject: req.description,
          currency: c.cfg.currency,
          total_fee: toDecimalString(req.amount),
          product_code: wap ? 'NEW_WAP_OVERSEAS_SELLER' : 'NEW_OVERSEAS_SELLER',
          notify_url: ctx.notifyUrl,
          return_url: req.returnUrl,
          timeout_rule: timeoutRuleFor(lifetime),
          // The link itself stops opening when the order expires, so a closed order is not paid later.
          order_gmt_create: beijing(req.createdAt.getTime()).dashed,
          // At most 21600 s, the published maximum; a longer-lived order's link stops opening first.
          order_valid_time: String(Math.min(MAX_ORDER_VALID_S, Math.floor(lifetime / 1000))),
        };
        // No call to Alipay yet: the trade exists once the customer opens the cashier.
        return { state: 'pending', redirectUrl: c.link(service, params), page: { html: c.form(service, params) } };
      }
      case 'precreate': {
        const xml = await c.call(
          'alipay.acquire.precreate',
          {
            out_trade_no: req.channelOrderNo,
            subject: req.description,
            product_code: 'OVERSEAS_MBARCODE_PAY',
            total_fee: toDecimalString(req.amount),
            currency: c.cfg.currency,
            trans_currency: req.amount.currency,
            timestamp: beijing(ctx.clock.now().getTime()).dashed,
            notify_url: ctx.notifyUrl,
            it_b_pay: `${Math.max(1, Math.floor(lifetime / 60_000))}m`,
            extend_params: c.cfg.extendParams ? JSON.stringify(c.cfg.extendParams) : undefined,
          },
          'instore',
        );
        if (!xml.isSuccess) return this.gatewayRefusal(xml, 'alipay.acquire.precreate');
        return precreateOutcome(xml.response);
      }
      case 'spot': {
        if (!req.authCode) throw new AlipayError('invalid_request', "spot needs the customer's payment code");
        const xml = await c.call(
          'alipay.acquire.overseas.spot.pay',
          {
            alipay_seller_id: c.cfg.partner,
            partner_trans_id: req.channelOrderNo,
            trans_name: req.description,
            currency: c.cfg.currency,
            // Priced in the settlement currency unless the account lists another one as enabled
            // by Alipay (spot_pay: trans_currency "currently MOP, TWD and CNY … contact your BD").
            trans_currency: req.amount.currency !== c.cfg.currency ? req.amount.currency : undefined,
            trans_amount: toDecimalString(req.amount),
            buyer_identity_code: req.authCode,
            identity_code_type: 'barcode',
            trans_create_time: beijing(req.createdAt.getTime()).compact,
            biz_product: 'OVERSEAS_MBARCODE_PAY',
            notify_url: ctx.notifyUrl,
            extend_info: c.cfg.extendParams ? JSON.stringify(c.cfg.extendParams) : undefined,
          },
          'instore',
        );
        if (!xml.isSuccess) return this.gatewayRefusal(xml, 'alipay.acquire.overseas.spot.pay');
        return spotPayOutcome(xml.response);
      }
      default:
        throw new AlipayError('mode_not_supported', `Alipay does not offer mode ${req.mode}`);
    }
  }

  private gatewayRefusal(xml: AlipayXml, service: string): ChannelOutcome {
    return gatewayRefusal(xml.error, service);
  }

  async query(ctx: ChannelContext, ref: OrderRef): Promise<ChannelOutcome> {
    const c = this.client(ctx);
    if (isOnline(ref.mode)) {
      const xml = await c.call('single_trade_query', { out_trade_no: ref.channelOrderNo });
      return xml.isSuccess ? onlineTradeOutcome(xml.response) : onlineQueryRefused(xml.error);
    }
    const spot = ref.mode === 'spot';
    const xml = spot
      ? await c.call('alipay.acquire.overseas.query', { partner_trans_id: ref.channelOrderNo }, 'instore')
      : await c.call('alipay.acquire.query', { out_trade_no: ref.channelOrderNo }, 'instore');
    if (!xml.isSuccess) return { state: 'unknown', reason: `query: ${xml.error ?? 'refused'}` };
    return inStoreQueryOutcome(xml.response, spot);
  }

  async close(ctx: ChannelContext, ref: OrderRef): Promise<ChannelOutcome> {
    if (isOnline(ref.mode)) {
      // MAPI has no close for online trades: Alipay closes them itself at timeout_rule, and the
      // link stops opening at order_valid_time. So: what does Alipay say now?
      const now = await this.query(ctx, ref);
      if (now.state === 'pending' && !now.userPaying)
        return { state: 'closed', reason: 'the cashier was never opened and the link has expired', raw: now.raw };
      return now;
    }
    const c = this.client(ctx);
    const xml = await c.call(
      'alipay.acquire.cancel',
      { out_trade_no: ref.channelOrderNo, timestamp: beijing(ctx.clock.now().getTime()).dashed },
      'instore',
    );
    if (!xml.isSuccess) return { state: 'unknown', reason: `cancel: ${xml.error ?? 'refused'}` };
    const read = cancelOutcome(xml.response, ref.mode === 'spot');
    if ('outcome' in read) return read.outcome;
    // Paid on an earlier Beijing day (cannot be cancelled) or refunded: it is what the query says.
    const q = await this.query(ctx, ref);
    return q.state !== 'pending' ? q : read.ifStillPending;
  }

  async refund(ctx: ChannelContext, req: RefundRequest): Promise<RefundOutcome> {
    const c = this.client(ctx);
    this.checkCurrency(c, req.amount, req.order.mode);
    if (isOnline(req.order.mode)) {
      // forex_refund is asynchronous (is_sync defaults to N): is_success=T means accepted, and
      // the result comes by the refund notify or alipay.acquire.refund.query.
      const xml = await c.call('forex_refund', {
        out_return_no: req.channelRefundNo,
        out_trade_no: req.order.channelOrderNo,
        return_amount: toDecimalString(req.amount),
        currency: c.cfg.currency,
        // yyyy-MM-dd HH:mm:ss, GMT+8 (https://global.alipay.com/docs/ac/global/forex_refund).
        gmt_return: beijing(ctx.clock.now().getTime()).dashed,
        reason: req.reason,
        product_code: mobileCashier(req.order.mode, c.cfg) ? 'NEW_WAP_OVERSEAS_SELLER' : 'NEW_OVERSEAS_SELLER',
        notify_url: ctx.notifyUrl,
      });
      return forexRefundOutcome(xml.isSuccess, xml.error, req.channelRefundNo);
    }
    const xml = await c.call(
      'alipay.acquire.overseas.spot.refund',
      {
        partner_trans_id: req.order.channelOrderNo,
        alipay_trans_id: req.order.channelTradeNo ?? undefined,
        partner_refund_id: req.channelRefundNo,
        refund_amount: toDecimalString(req.amount),
        currency: c.cfg.currency,
        refund_reason: req.reason,
        is_sync: 'Y',
      },
      'instore',
    );
    return spotRefundOutcome(xml.isSuccess, xml.error, xml.isSuccess ? xml.response : {}, req.channelRefundNo);
  }

  /**
   * Where a refund stands. forex_refund: alipay.acquire.refund.query
   * (https://global.alipay.com/docs/ac/global/refundquery); a refund Alipay never received
   * (NOT_FOUND) is sent again under the same out_return_no. In-store refunds are synchronous:
   * sending the same partner_refund_id again answers its outcome.
   */
  async queryRefund(ctx: ChannelContext, req: RefundRequest): Promise<RefundOutcome> {
    if (!isOnline(req.order.mode)) return this.refund(ctx, req);
    const c = this.client(ctx);
    const xml = await c.call('alipay.acquire.refund.query', {
      out_trade_no: req.order.channelOrderNo,
      out_return_no: req.channelRefundNo,
    });
    if (!xml.isSuccess) return { state: 'unknown', reason: `alipay.acquire.refund.query: ${xml.error ?? 'refused'}` };
    const read = refundQueryOutcome(xml.response, req.channelRefundNo);
    return read.state === 'not_found' ? this.refund(ctx, req) : read;
  }

  async verifyNotify(ctx: ChannelContext, req: RawHttpRequest): Promise<VerifiedNotify> {
    const ack: HttpReply = { status: 200, contentType: 'text/plain', body: 'success' };
    const nack: HttpReply = { status: 200, contentType: 'text/plain', body: 'fail' };
    const reject = (reason: string): never => {
      throw new NotifyRejectedError(reason, { status: 400, contentType: 'text/plain', body: 'fail' });
    };
    const c = this.client(ctx);
    const raw = req.body.toString('latin1');
    // Charset: the notify's own `_input_charset`, else the Content-Type's, else the account's.
    const ct = /charset=([A-Za-z0-9_-]+)/i.exec(String(req.headers['content-type'] ?? ''))?.[1];
    const declared = declaredFormCharset(raw);
    const charset = charsetOf(declared) ?? charsetOf(ct) ?? c.cfg.charset;
    if (declared && !charsetOf(declared)) reject(`_input_charset "${declared}" is neither UTF-8 nor GBK`);
    let fields: Record<string, string>;
    try {
      fields = decodeForm(req.body, charset);
    } catch {
      return reject(`the notify body is not valid ${charset}`);
    }
    // Fields in the query string are part of what was signed too (body wins).
    for (const [k, v] of Object.entries(req.query)) if (typeof v === 'string' && !(k in fields)) fields[k] = v;
    if (!fields.sign) reject('the notify has no sign');
    const signType = (fields.sign_type ?? '').toUpperCase() as SignType;
    if (!SIGN_TYPES.includes(signType)) reject(`sign_type "${fields.sign_type ?? ''}" is not MD5, RSA or RSA2`);
    if (signType !== c.cfg.signType) reject(`the notify is signed ${signType} but this account uses ${c.cfg.signType}`);
    // `_input_charset` stays in the signed fields (docs/protocols/alipay.md, Signature; the Kaligo notify vector in sign.test.ts).
    if (
      !verifyParams(
        fields,
        signType,
        fields.sign!,
        { md5Key: c.keys.md5Key, publicKey: c.keys.alipayPublicKey },
        charset,
      )
    ) {
      reject(`the ${signType} signature over the notify fields (including _input_charset) does not verify`);
    }
    if (!fields.out_trade_no) reject('the notify has no out_trade_no');
    // Alipay signs every merchant's notify with the same key (RSA), so a signature alone does
    // not say whose it is: the notify must name this account's partner, or notify_verify
    // (asked with this partner) must vouch for it.
    for (const k of ['seller_id', 'partner'] as const) {
      if (fields[k] !== undefined && fields[k] !== c.cfg.partner)
        reject(`the notify is for ${k} ${fields[k]}, not this account's partner ${c.cfg.partner}`);
    }
    if (!fields.seller_id && !fields.partner && !c.cfg.notifyVerify) {
      reject('the notify names no seller_id or partner and notify_verify is off: it cannot be tied to this account');
    }
    if (c.cfg.notifyVerify) {
      if (!fields.notify_id) reject('the notify has no notify_id to verify');
      let answer: string;
      try {
        answer = (await c.text('notify_verify', { notify_id: fields.notify_id })).trim();
      } catch (err) {
        // Could not ask: let Alipay send it again rather than believe it unchecked.
        throw new NotifyRejectedError(`notify_verify could not be asked: ${(err as Error).message}`, nack);
      }
      if (answer !== 'true')
        reject(`notify_verify answered "${answer}" for notify_id ${fields.notify_id}: not sent by Alipay (or too old)`);
    }
    let outcome: ChannelOutcome;
    try {
      if (fields.refund_status !== undefined)
        return { outcomes: [], refunds: [refundNotifyOutcome(fields)], ack, nack };
      outcome = tradeNotifyOutcome(fields);
    } catch (err) {
      if (err instanceof AlipayError) return reject(err.message);
      throw err;
    }
    return { outcomes: [{ channelOrderNo: fields.out_trade_no!, outcome }], ack, nack };
  }

  /**
   * Checks the signed query string Alipay appends to return_url. As Alipay says, this is
   * for showing the customer a result page: the order is settled by the notify or a query.
   */
  verifyReturn(
    ctx: ChannelContext,
    query: Readonly<Record<string, string>>,
  ): { outTradeNo: string; tradeNo: string; tradeStatus: string } {
    const c = this.client(ctx);
    const type = (query.sign_type ?? '').toUpperCase() as SignType;
    if (!query.sign || type !== c.cfg.signType)
      throw new AlipayError('signature_invalid', `the return URL is not signed ${c.cfg.signType}`, 'ILLEGAL_SIGN');
    if (!verifyParams(query, type, query.sign, { md5Key: c.keys.md5Key, publicKey: c.keys.alipayPublicKey }, 'UTF-8')) {
      throw new AlipayError('signature_invalid', 'the return URL signature does not verify', 'ILLEGAL_SIGN');
    }
    if (!query.out_trade_no || !query.trade_no || !query.trade_status)
      throw new AlipayError('channel_error', 'the return URL lacks out_trade_no, trade_no or trade_status');
    return { outTradeNo: query.out_trade_no, tradeNo: query.trade_no, tradeStatus: query.trade_status };
  }

  /**
   * The legacy online files: forex_compare_file (transactions) or forex_liquidation_file
   * (settlement) for yyyyMMdd..yyyyMMdd (at most 10 days, not today), `|`-separated lines
   * with no header (docs/protocols/alipay.md, Files). `empty` when Alipay has no data for the period.
   */
  async fetchLegacyFile(
    ctx: ChannelContext,
    kind: 'compare' | 'liquidation',
    startDate: string,
    endDate: string,
  ): Promise<StatementResult> {
    if (!/^\d{8}$/.test(startDate) || !/^\d{8}$/.test(endDate))
      throw new AlipayError('invalid_request', 'dates are yyyyMMdd');
    const text = await this.client(ctx).text(`forex_${kind}_file`, { start_date: startDate, end_date: endDate });
    const t = text.trim();
    if (t === 'No balance account data in the period') return { state: 'empty' };
    if (/^(File download failed|Date format incorrect|System exception|Over limit)/.test(t))
      return { state: 'not_ready', reason: t };
    return {
      state: 'ready',
      body: Buffer.from(text, 'utf8'),
      fileName: `forex_${kind}_file_${startDate}_${endDate}.txt`,
      contentType: 'text/plain',
    };
  }

  /** forex_rate_file: `yyyyMMdd|HHmmss|CUR|rate`, CNY per 1 unit, today's only. */
  async fetchRates(ctx: ChannelContext, currencies: readonly string[]): Promise<RateQuote[]> {
    const text = await this.client(ctx).text('forex_rate_file', {});
    return parseRateFile(text).filter((r) => currencies.length === 0 || currencies.includes(r.currency));
  }

  /** The day's transaction file (`YYYY-MM-DD` or `YYYYMMDD`, a Beijing day), ready from 09:30 on the next day. */
  async fetchStatement(ctx: ChannelContext, day: string): Promise<StatementResult> {
    return this.fetchDailyFile(ctx, day, 'transaction');
  }

  /** The day's settlement file (same folder, same rules). */
  async fetchSettlement(ctx: ChannelContext, day: string): Promise<StatementResult> {
    return this.fetchDailyFile(ctx, day, 'settlement');
  }

  private async fetchDailyFile(
    ctx: ChannelContext,
    day: string,
    kind: 'transaction' | 'settlement',
  ): Promise<StatementResult> {
    const d = day.replace(/-/g, '');
    if (!/^\d{8}$/.test(d)) throw new AlipayError('invalid_request', `"${day}" is not a day (YYYY-MM-DD)`);
    const c = this.client(ctx);
    const fileName = `${c.cfg.partner}_${kind}_${d}.txt`;
    const res = await c.file(fileName);
    if (res.status === 404)
      return { state: 'not_ready', reason: res.body.toString('utf8').slice(0, 200) || `${fileName} is not there yet` };
    if (res.status !== 200) throw new AlipayError('channel_error', `Fetching ${fileName} answered HTTP ${res.status}`);
    return { state: 'ready', body: res.body, fileName, contentType: 'text/plain' };
  }
}
