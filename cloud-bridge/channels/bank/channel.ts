import { KauriError } from '../../../protocol/errors.js';
import { money, parseDecimal, toDecimalString, type Money } from '../../../protocol/money.js';
import { CHANNEL_MODES, type PaymentMode } from '../../../protocol/payments.js';
import {
  NotifyRejectedError,
  type Channel,
  type ChannelAccount,
  type ChannelContext,
  type ChannelOutcome,
  type CreatePaymentRequest,
  type OrderRef,
  type RateQuote,
  type RawHttpRequest,
  type RefundOutcome,
  type RefundRequest,
  type StatementResult,
  type VerifiedNotify,
} from '../channel.js';
import { payableCny, refundCny } from './amounts.js';
import { bankAccount, type BankAccount } from './config.js';
import { decodeForm, encodeForm } from './form.js';
import {
  chinaYmd,
  listedRefundOutcome,
  notifyOrderOutcome,
  queryOutcome,
  querySignSource,
  readQueryReply,
  readRefundReply,
  refundOutcome,
  refundSignSource,
} from './outcomes.js';
import { fetchBankRates } from './rates.js';
import { readRefundList, verifyRefundEntry, type RefundEntry } from './refund-list.js';
import { hmacMd5, macMatches, rsaMd5Verify } from './sign.js';
import { readStatementAnswer, statementRequest } from './statement.js';
import { decodeXml, parseBankXml } from './xml.js';

// The online-banking channel: PayEase (首信易支付), CNY only. The customer's browser carries
// an auto-submitting form to the payment host; the result arrives as a batched, RSA_MD5-signed
// notify at the URL set in PayEase's merchant back office, and the order is queried and refunded
// with HMAC-MD5-signed form posts to the API host, answered in GB2312 XML. Calls only: the
// settings are config.ts, the meanings outcomes.ts, the wire facts README.md.

const ACK = { status: 200, contentType: 'text/plain; charset=utf-8', body: 'sent' } as const;
const NACK = { status: 200, contentType: 'text/plain; charset=utf-8', body: 'error' } as const;
const SEP = '|_|';

/** Paths under the two hosts (README.md, "Production checklist"). */
export const BANK_PATHS = {
  form: '/prs/user_payment.checkit',
  query: '/merchant/order/order_ack_oid_list.jsp',
  refund: '/merchant/refund/ref_ack_submit.jsp',
  refundList: '/merchant/refund/ref_ack_oid_list_utf8.jsp',
} as const;

export interface PaymentForm {
  action: string;
  fields: Record<string, string>;
}

export class BankChannel implements Channel {
  readonly name = 'bank' as const;
  readonly modes: readonly PaymentMode[] = CHANNEL_MODES.bank;
  // The gateway has no refund key: a second send is a second refund. How long its refund list
  // may lag a send is not documented; ten minutes is our cautious assumption.
  readonly refundListLagMs = 600_000;

  /** `yyyymmdd-v_mid-serial`; the day is China's, the serial the bridge's order id. */
  orderNumber(orderId: string, createdAt: Date, account?: ChannelAccount): string {
    const vMid = account ? bankAccount(account).vMid : '0';
    return `${chinaYmd(createdAt)}-${vMid}-${orderId.replace(/^pay_/, '').replace(/[^0-9A-Za-z]/g, '')}`;
  }

  /**
   * The payment request form, posted to the payment host by the customer's browser. It carries
   * no notify URL: PayEase takes the background-notify URL from the merchant back office.
   */
  paymentForm(account: ChannelAccount, order: { channelOrderNo: string; pay: Money; returnUrl: string }): PaymentForm {
    const a = bankAccount(account);
    const f: Record<string, string> = {
      v_mid: a.vMid,
      v_oid: order.channelOrderNo,
      v_rcvname: a.vMid,
      v_rcvaddr: a.vMid,
      v_rcvtel: a.vMid,
      v_rcvpost: a.vMid,
      v_amount: toDecimalString(order.pay),
      v_ymd: order.channelOrderNo.slice(0, 8),
      v_orderstatus: '1',
      v_ordername: a.vMid,
      v_moneytype: '0',
      v_url: order.returnUrl,
    };
    f.v_md5info = hmacMd5(
      a.key,
      f.v_moneytype! + f.v_ymd! + f.v_amount! + f.v_rcvname! + f.v_oid! + f.v_mid! + f.v_url!,
    );
    return { action: `${a.payBaseUrl}${BANK_PATHS.form}`, fields: f };
  }

  /** Refuses before anything is stored: a misconfigured account, or a mode the gateway lacks. */
  validateCreate(account: ChannelAccount, req: { readonly mode: PaymentMode; readonly amount: Money }): void {
    if (req.mode !== 'bank') throw new KauriError('mode_not_supported', 'The bank channel offers mode "bank" only');
    bankAccount(account);
  }

  async create(ctx: ChannelContext, req: CreatePaymentRequest): Promise<ChannelOutcome> {
    if (req.mode !== 'bank') throw new KauriError('mode_not_supported', 'The bank channel offers mode "bank" only');
    payableCny(req.amount, req.payAmount);
    bankAccount(ctx.account);
    // Nothing is sent yet: the customer's browser takes the signed form to the gateway.
    return {
      state: 'pending',
      redirectUrl: new URL(`/pay/bank/${encodeURIComponent(req.channelOrderNo)}`, ctx.publicBaseUrl).toString(),
    };
  }

  private async post(
    ctx: ChannelContext,
    a: BankAccount,
    url: string,
    fields: Record<string, string>,
    orderId?: string,
    charset = 'gbk',
  ): Promise<{ status: number; body: Buffer }> {
    const body = encodeForm(fields, charset);
    const endpoint = new URL(url).pathname;
    await ctx.record({ direction: 'request', endpoint, body, orderId });
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': `application/x-www-form-urlencoded; charset=${charset}` },
      body,
      // A fast test clock waits one second; otherwise the configured timeout, unscaled (the network is no faster in tests).
      signal: AbortSignal.timeout(ctx.clock.duration(a.timeoutMs) < 1000 ? 1000 : a.timeoutMs),
    });
    const buf = Buffer.from(await res.arrayBuffer());
    await ctx.record({
      direction: 'response',
      endpoint,
      body: buf.length < 20000 ? safeText(buf) : '(large)',
      httpStatus: res.status,
      orderId,
    });
    return { status: res.status, body: buf };
  }

  async query(ctx: ChannelContext, ref: OrderRef): Promise<ChannelOutcome> {
    const a = bankAccount(ctx.account);
    const res = await this.post(
      ctx,
      a,
      `${a.apiBaseUrl}${BANK_PATHS.query}`,
      {
        v_mid: a.vMid,
        v_oid: ref.channelOrderNo,
        v_mac: hmacMd5(a.key, a.vMid + ref.channelOrderNo),
      },
      ref.orderId,
    );
    if (res.status !== 200) return { state: 'unknown', reason: `order query answered HTTP ${res.status}` };
    let reply;
    try {
      reply = readQueryReply(parseBankXml(res.body));
    } catch (err) {
      return { state: 'unknown', reason: `order query reply unreadable: ${(err as Error).message}` };
    }
    const signOk = !!reply.order && rsaMd5Verify(a.publicKey, querySignSource(reply.order), reply.order.sign);
    if (reply.order && !signOk) ctx.log.warn({ order: ref.orderId }, 'order query reply signature does not verify');
    return queryOutcome(reply, ref.channelOrderNo, signOk);
  }

  /** The gateway has no close call: an order nobody paid is closed on our side after a last query. */
  async close(ctx: ChannelContext, ref: OrderRef): Promise<ChannelOutcome> {
    const now = await this.query(ctx, ref);
    if (now.state === 'paid' || now.state === 'unknown') return now;
    return { state: 'closed', reason: 'not paid at the gateway when the order expired or was cancelled' };
  }

  async refund(ctx: ChannelContext, req: RefundRequest): Promise<RefundOutcome> {
    const a = bankAccount(ctx.account);
    let cny = refundCny(req.amount, req.order.amount, req.order.payAmount, req.refundedBefore);
    if (req.order.payAmount && cny.minor < req.order.payAmount.minor) {
      // A second guard, should our own record of earlier refunds be short of the gateway's:
      // never ask for more than the gateway still holds.
      const list = await this.refundList(ctx, a, req).catch(() => undefined);
      if (list) {
        const before = list.reduce((sum, r) => sum + parseDecimal(r.refamount, 'CNY').minor, 0);
        cny = money(Math.max(0, Math.min(cny.minor, req.order.payAmount.minor - before)), 'CNY');
      }
    }
    // Nothing of it left at the gateway: asking for 0.00 would only be refused.
    if (cny.minor <= 0) return { state: 'failed', reason: 'nothing of this payment is left to refund at the gateway' };
    const amount = toDecimalString(cny);
    const oprt = 'kauri';
    // Our refund number leads v_refreason: the refund list has no other field to find it by.
    const reason = `${req.channelRefundNo} ${req.reason ?? 'refund'}`.slice(0, 60);
    const res = await this.post(
      ctx,
      a,
      `${a.apiBaseUrl}${BANK_PATHS.refund}`,
      {
        v_mid: a.vMid,
        v_oid: req.order.channelOrderNo,
        v_refamount: amount,
        v_refreason: reason,
        v_refoprt: oprt,
        v_mac: hmacMd5(a.key, a.vMid + req.order.channelOrderNo + amount + oprt),
      },
      req.order.orderId,
    );
    if (res.status !== 200) return { state: 'unknown', reason: `refund answered HTTP ${res.status}` };
    let reply;
    try {
      reply = readRefundReply(parseBankXml(res.body));
    } catch (err) {
      return { state: 'unknown', reason: `refund reply unreadable: ${(err as Error).message}` };
    }
    return refundOutcome(reply, rsaMd5Verify(a.publicKey, refundSignSource(reply), reply.sign));
  }

  private async refundList(
    ctx: ChannelContext,
    a: BankAccount,
    req: RefundRequest,
  ): Promise<RefundEntry[] | undefined> {
    const res = await this.post(
      ctx,
      a,
      `${a.apiBaseUrl}${BANK_PATHS.refundList}`,
      {
        v_mid: a.vMid,
        v_oid: req.order.channelOrderNo,
        v_version: '1.0',
        v_mac: hmacMd5(a.key, a.vMid + req.order.channelOrderNo),
      },
      req.order.orderId,
      'utf-8',
    );
    if (res.status !== 200) return undefined;
    return readRefundList(res.body);
  }

  /** Finds the refund by our refund number (kept at the start of v_refreason); resends it if the gateway never got it. */
  async queryRefund(ctx: ChannelContext, req: RefundRequest): Promise<RefundOutcome> {
    const a = bankAccount(ctx.account);
    let list: RefundEntry[] | undefined;
    try {
      list = await this.refundList(ctx, a, req);
    } catch (err) {
      return { state: 'unknown', reason: `refund query failed: ${(err as Error).message}` };
    }
    if (!list) return { state: 'unknown', reason: 'refund query was not answered' };
    const found = list.find((r) => r.refreason.startsWith(`${req.channelRefundNo} `));
    // Not listed is not proof the bank lacks it (its list lags a send): the bridge decides
    // when to send again (refundListLagMs), never this query.
    if (!found) return { state: 'not_found', reason: 'the refund list does not show this refund' };
    return listedRefundOutcome(
      found.refid,
      found.refstatus,
      verifyRefundEntry(a.publicKey, req.order.channelOrderNo, found),
    );
  }

  /** The batched server notify. v_sign and v_md5money decide; v_mac (over the Chinese fields, whose encoding is UNCONFIRMED) is checked and logged. */
  async verifyNotify(ctx: ChannelContext, req: RawHttpRequest): Promise<VerifiedNotify> {
    const a = bankAccount(ctx.account);
    const reject = (reason: string): never => {
      throw new NotifyRejectedError(reason, NACK);
    };
    const f =
      req.body.length > 0
        ? decodeForm(req.body)
        : Object.fromEntries(
            Object.entries(req.query).map(([k, v]) => [k, Array.isArray(v) ? (v[0] ?? '') : (v ?? '')]),
          );
    for (const k of ['v_oid', 'v_pstatus', 'v_amount', 'v_moneytype', 'v_count', 'v_md5money', 'v_sign']) {
      if (typeof f[k] !== 'string' || f[k] === '') reject(`notify lacks ${k}`);
    }
    const count = Number(f.v_count);
    if (!Number.isInteger(count) || count < 1 || count > 100) reject(`notify v_count "${f.v_count}" is not a count`);
    if (!rsaMd5Verify(a.publicKey, f.v_oid! + f.v_pstatus! + f.v_amount! + f.v_moneytype! + f.v_count!, f.v_sign!))
      reject('notify v_sign does not verify');
    if (!macMatches(a.key, f.v_amount! + f.v_moneytype!, f.v_md5money)) reject('notify v_md5money does not verify');
    if (
      f.v_mac !== undefined &&
      !macMatches(a.key, f.v_oid! + (f.v_pmode ?? '') + f.v_pstatus! + (f.v_pstring ?? '') + f.v_count!, f.v_mac)
    ) {
      ctx.log.warn(
        'notify v_mac does not verify (v_sign and v_md5money do; the Chinese fields may be encoded differently)',
      );
    }
    const split = (k: string) => (f[k] ?? '').split(SEP);
    const oids = split('v_oid');
    const g = {
      pstatus: split('v_pstatus'),
      amount: split('v_amount'),
      moneytype: split('v_moneytype'),
      pmode: split('v_pmode'),
    };
    if (
      oids.length !== count ||
      g.pstatus.length !== count ||
      g.amount.length !== count ||
      g.moneytype.length !== count
    ) {
      reject(`notify groups do not hold v_count=${count} orders`);
    }
    const outcomes: Array<{ channelOrderNo: string; outcome: ChannelOutcome }> = [];
    const rejected: Array<{ channelOrderNo?: string; reason: string }> = [];
    oids.forEach((oid, i) => {
      const r = notifyOrderOutcome(
        { oid, pstatus: g.pstatus[i]!, amount: g.amount[i]!, moneytype: g.moneytype[i]!, pmode: g.pmode[i] ?? '' },
        a.vMid,
      );
      if ('outcome' in r) outcomes.push({ channelOrderNo: oid, outcome: r.outcome });
      else rejected.push({ channelOrderNo: oid, reason: r.rejected });
    });
    return { outcomes, rejected, ack: ACK, nack: NACK };
  }

  /** Through Kauri's statement adaptor (statement.ts): PayEase publishes no statement download. */
  async fetchStatement(ctx: ChannelContext, day: string): Promise<StatementResult> {
    const a = bankAccount(ctx.account);
    if (!a.statementUrl) {
      throw new KauriError(
        'config_invalid',
        `Bank account ${a.id} has no statementUrl: PayEase publishes no statement download; set one that speaks Kauri's statement adaptor (channels/bank/README.md)`,
      );
    }
    const ymd = day.replace(/-/g, '');
    const answer = readStatementAnswer(await this.post(ctx, a, a.statementUrl, statementRequest(a.vMid, a.key, ymd)));
    if (answer.state === 'error') throw new KauriError('channel_error', answer.reason);
    if (answer.state === 'not_ready') return answer;
    return { state: 'ready', body: answer.body, fileName: `bank-${a.vMid}-${ymd}.csv`, contentType: 'text/csv' };
  }

  /** Through Kauri's rate adaptor (rates.ts): PayEase publishes no rate service. */
  async fetchRates(ctx: ChannelContext, currencies: readonly string[]): Promise<RateQuote[]> {
    const a = bankAccount(ctx.account);
    if (!a.rateUrl) {
      throw new KauriError(
        'config_invalid',
        `Bank account ${a.id} has no rateUrl: PayEase publishes no rate service; set one that speaks Kauri's rate adaptor (channels/bank/README.md)`,
      );
    }
    return fetchBankRates(a.rateUrl, currencies, ctx.clock.duration(10_000) < 2000 ? 2000 : 10_000);
  }
}

function safeText(buf: Buffer): string {
  try {
    return decodeXml(buf);
  } catch {
    return buf.toString('latin1');
  }
}

// The fx service reads the rate adaptor through here.
export { fetchBankRates } from './rates.js';
