import type { KeyObject } from 'node:crypto';
import { Decimal } from 'decimal.js';
import { KauriError } from '../../../protocol/errors.js';
import { money, parseDecimal, toDecimalString, type Money } from '../../../protocol/money.js';
import type { PaymentMode } from '../../../protocol/payments.js';
import {
  NotifyRejectedError, type Channel, type ChannelAccount, type ChannelContext, type ChannelOutcome, type CreatePaymentRequest,
  type OrderRef, type RateQuote, type RawHttpRequest, type RefundOutcome, type RefundRequest, type StatementResult, type VerifiedNotify,
} from '../channel.js';
import { decodeForm, encodeForm } from './form.js';
import { hmacMd5, parseGatewayPublicKey, rsaMd5Verify } from './sign.js';
import { decodeXml, parseBankXml, xmlText } from './xml.js';

// The online-banking channel: a PayEase-style gateway (protocols/alipay-and-bank.md part B)
// that takes CNY only. The customer's browser carries an auto-submitting form to the
// gateway; the result arrives as a batched, RSA_MD5-signed notify, and the order can be
// queried and refunded with HMAC-MD5-signed form posts answered in GB2312 XML.

export interface BankAccountConfig {
  /** Gateway base URL (payment form, query, refund, statement under it). */
  baseUrl: string;
  v_mid: string;
  /** The gateway's RSA public key: PEM or PayEase's `m=<hex>;e=<hex>;`. */
  publicKey: string;
  /** The bank rate source (default `<baseUrl>/rate`). */
  rateUrl?: string;
}

const ACK = { status: 200, contentType: 'text/plain; charset=utf-8', body: 'sent' } as const;
const NACK = { status: 200, contentType: 'text/plain; charset=utf-8', body: 'error' } as const;
const SEP = '|_|';
const CHINA_OFFSET_MS = 8 * 3_600_000;
const HTTP_TIMEOUT_MS = 15_000;

export function chinaYmd(d: Date): string {
  return new Date(d.getTime() + CHINA_OFFSET_MS).toISOString().slice(0, 10).replace(/-/g, '');
}

interface Settings {
  baseUrl: string;
  vMid: string;
  key: string;
  publicKey: KeyObject;
  rateUrl: string;
}

const keyCache = new Map<string, KeyObject>();

export function bankSettings(account: ChannelAccount): Settings {
  const c = account.config as Partial<BankAccountConfig>;
  const key = account.secrets.key;
  if (typeof c.baseUrl !== 'string' || typeof c.v_mid !== 'string' || !/^\d+$/.test(c.v_mid) || typeof c.publicKey !== 'string' || !c.publicKey || !key) {
    throw new KauriError('config_invalid', 'A bank channel account needs config baseUrl, v_mid (digits), publicKey (the gateway public key; for the simulator, its --state/bank-public.pem or GET /sim/keys) and the secret key');
  }
  let pk = keyCache.get(c.publicKey);
  if (!pk) {
    pk = parseGatewayPublicKey(c.publicKey);
    keyCache.set(c.publicKey, pk);
  }
  const baseUrl = c.baseUrl.replace(/\/+$/, '');
  return { baseUrl, vMid: c.v_mid, key, publicKey: pk, rateUrl: c.rateUrl ?? `${baseUrl}/rate` };
}

export interface PaymentForm {
  action: string;
  fields: Record<string, string>;
}

/** What the bank pays in CNY for an order: the quoted amount (or the price, if it is CNY). */
export function payableCny(amount: Money, payAmount?: Money | null): Money {
  if (payAmount && payAmount.currency === 'CNY') return payAmount;
  if (amount.currency === 'CNY') return amount;
  throw new KauriError('rate_unavailable', 'The bank channel takes CNY only and this payment has no CNY quote');
}

export class BankChannel implements Channel {
  readonly name = 'bank' as const;
  readonly modes: readonly PaymentMode[] = ['bank'];
  // The gateway has no refund key: a second send is a second refund. How long its refund list
  // may lag a send is not documented; ten minutes is our cautious assumption (issue 14).
  readonly refundListLagMs = 600_000;

  /** `yyyymmdd-v_mid-serial` (B2); the day is China's, the serial the bridge's order id. */
  orderNumber(orderId: string, createdAt: Date, account?: ChannelAccount): string {
    const vMid = account ? bankSettings(account).vMid : '0';
    return `${chinaYmd(createdAt)}-${vMid}-${orderId.replace(/^pay_/, '').replace(/[^0-9A-Za-z]/g, '')}`;
  }

  /** The payment request form (B2), posted to the gateway by the customer's browser. */
  paymentForm(account: ChannelAccount, order: { channelOrderNo: string; pay: Money; notifyUrl: string; returnUrl: string }): PaymentForm {
    const s = bankSettings(account);
    const vYmd = order.channelOrderNo.slice(0, 8);
    const vAmount = toDecimalString(order.pay);
    const f: Record<string, string> = {
      v_mid: s.vMid,
      v_oid: order.channelOrderNo,
      v_rcvname: s.vMid,
      v_rcvaddr: s.vMid,
      v_rcvtel: s.vMid,
      v_rcvpost: s.vMid,
      v_amount: vAmount,
      v_ymd: vYmd,
      v_orderstatus: '1',
      v_ordername: s.vMid,
      v_moneytype: '0',
      v_url: order.returnUrl,
      v_notify_url: order.notifyUrl,
    };
    f.v_md5info = hmacMd5(s.key, f.v_moneytype! + f.v_ymd! + f.v_amount! + f.v_rcvname! + f.v_oid! + f.v_mid! + f.v_url!);
    return { action: `${s.baseUrl}/prs/user_payment.checkit`, fields: f };
  }

  /** Refuses before anything is stored: a misconfigured account, or a mode the gateway lacks. */
  validateCreate(account: ChannelAccount, req: { readonly mode: PaymentMode; readonly amount: Money }): void {
    if (req.mode !== 'bank') throw new KauriError('mode_not_supported', 'The bank channel offers mode "bank" only');
    bankSettings(account);
    void req.amount;
  }

  async create(ctx: ChannelContext, req: CreatePaymentRequest): Promise<ChannelOutcome> {
    if (req.mode !== 'bank') throw new KauriError('mode_not_supported', 'The bank channel offers mode "bank" only');
    payableCny(req.amount, req.payAmount);
    bankSettings(ctx.account);
    // Nothing is sent yet: the customer's browser takes the signed form to the gateway.
    return { state: 'pending', redirectUrl: new URL(`/pay/bank/${encodeURIComponent(req.channelOrderNo)}`, ctx.publicBaseUrl).toString() };
  }

  private async post(ctx: ChannelContext, url: string, fields: Record<string, string>, orderId?: string): Promise<{ status: number; body: Buffer }> {
    const body = encodeForm(fields);
    const endpoint = new URL(url).pathname;
    await ctx.record({ direction: 'request', endpoint, body, orderId });
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded; charset=gbk' },
      body,
      signal: AbortSignal.timeout(ctx.clock.duration(HTTP_TIMEOUT_MS) < 1000 ? 1000 : HTTP_TIMEOUT_MS),
    });
    const buf = Buffer.from(await res.arrayBuffer());
    await ctx.record({ direction: 'response', endpoint, body: buf.length < 20000 ? safeText(buf) : '(large)', httpStatus: res.status, orderId });
    return { status: res.status, body: buf };
  }

  async query(ctx: ChannelContext, ref: OrderRef): Promise<ChannelOutcome> {
    const s = bankSettings(ctx.account);
    const res = await this.post(ctx, `${s.baseUrl}/merchant/order/order_ack_oid_list.jsp`, {
      v_mid: s.vMid, v_oid: ref.channelOrderNo, v_mac: hmacMd5(s.key, s.vMid + ref.channelOrderNo),
    }, ref.orderId);
    if (res.status !== 200) return { state: 'unknown', reason: `order query answered HTTP ${res.status}` };
    let doc: Record<string, any>;
    try {
      doc = parseBankXml(res.body);
    } catch (err) {
      return { state: 'unknown', reason: `order query reply unreadable: ${(err as Error).message}` };
    }
    const msg = doc.ordermessage ?? {};
    const status = xmlText(msg.messagehead?.status);
    const desc = xmlText(msg.messagehead?.statusdesc);
    // 2: the gateway has no such order: the customer never reached it (yet).
    if (status === '2') return { state: 'pending', raw: { status, desc } };
    if (status !== '0') return { state: 'unknown', reason: `order query status ${status} ${desc}`, raw: { status, desc } };
    const o = msg.messagebody?.order?.[0];
    if (!o) return { state: 'unknown', reason: 'order query reply has no order' };
    const oid = xmlText(o.oid);
    const pstatus = xmlText(o.pstatus);
    const amount = xmlText(o.amount);
    const moneytype = xmlText(o.moneytype);
    if (oid !== ref.channelOrderNo) return { state: 'unknown', reason: `order query answered for another order (${oid})` };
    if (!rsaMd5Verify(s.publicKey, oid + pstatus + amount + moneytype, xmlText(o.sign))) {
      ctx.log.warn({ order: ref.orderId }, 'order query reply signature does not verify');
      return { state: 'unknown', reason: 'order query reply signature does not verify' };
    }
    const raw = { oid, pstatus, amount, moneytype, pmode: xmlText(o.pmode), banktradeno: xmlText(o.banktradeno) };
    if (pstatus === '1') return this.paidOutcome(oid, amount, moneytype, raw.banktradeno || oid, raw);
    // 2 unpaid; 3 refused by the bank: the customer may still try again until the order expires.
    return { state: 'pending', raw };
  }

  private paidOutcome(oid: string, amount: string, moneytype: string, tradeNo: string, raw: unknown): ChannelOutcome {
    if (moneytype !== '0') {
      // Never a silent success: a non-CNY payment is a difference for a person to look at.
      return { state: 'unknown', reason: `the gateway reports ${oid} paid in v_moneytype ${moneytype}, not CNY`, raw };
    }
    let charged: Money;
    try {
      charged = parseDecimal(amount, 'CNY');
    } catch {
      return { state: 'unknown', reason: `the gateway reports an unreadable amount "${amount}" for ${oid}`, raw };
    }
    return { state: 'paid', channelTradeNo: tradeNo, charged, raw };
  }

  /** The gateway has no close call: an order nobody paid is closed on our side after a last query. */
  async close(ctx: ChannelContext, ref: OrderRef): Promise<ChannelOutcome> {
    const now = await this.query(ctx, ref);
    if (now.state === 'paid' || now.state === 'unknown') return now;
    return { state: 'closed', reason: 'not paid at the gateway when the order expired or was cancelled' };
  }

  private refundCny(req: RefundRequest): Money {
    const paid = req.order.payAmount;
    if (req.amount.currency === 'CNY') return req.amount;
    if (!paid || paid.currency !== 'CNY') throw new KauriError('channel_error', 'The CNY amount of this bank payment is not known, so it cannot be refunded here');
    if (req.amount.minor === req.order.amount.minor) return paid;
    // Part of the price back: the same part of the CNY paid, to the fen.
    const fen = new Decimal(paid.minor).mul(req.amount.minor).div(req.order.amount.minor).toDecimalPlaces(0, Decimal.ROUND_HALF_UP).toNumber();
    return money(Math.min(fen, paid.minor), 'CNY');
  }

  async refund(ctx: ChannelContext, req: RefundRequest): Promise<RefundOutcome> {
    const s = bankSettings(ctx.account);
    let cny = this.refundCny(req);
    if (req.order.payAmount && cny.minor < req.order.payAmount.minor) {
      // Partial refunds are rounded each; never ask for more than the gateway still holds.
      const before = await this.refundedCny(ctx, req).catch(() => undefined);
      if (before !== undefined) cny = money(Math.max(0, Math.min(cny.minor, req.order.payAmount.minor - before)), 'CNY');
    }
    const amount = toDecimalString(cny);
    const oprt = 'kauri';
    const reason = `${req.channelRefundNo} ${req.reason ?? 'refund'}`.slice(0, 60);
    const res = await this.post(ctx, `${s.baseUrl}/merchant/refund/ref_ack_submit.jsp`, {
      v_mid: s.vMid, v_oid: req.order.channelOrderNo, v_refamount: amount, v_refreason: reason, v_refoprt: oprt,
      v_mac: hmacMd5(s.key, s.vMid + req.order.channelOrderNo + amount + oprt),
    }, req.order.orderId);
    if (res.status !== 200) return { state: 'unknown', reason: `refund answered HTTP ${res.status}` };
    let doc: Record<string, any>;
    try {
      doc = parseBankXml(res.body);
    } catch (err) {
      return { state: 'unknown', reason: `refund reply unreadable: ${(err as Error).message}` };
    }
    const r = doc.refundmessage ?? {};
    const f = (k: string) => xmlText(r[k]);
    if (!rsaMd5Verify(s.publicKey, f('status') + f('mid') + f('oid') + f('refamount') + f('refoprt') + f('refid'), f('sign'))) {
      return { state: 'unknown', reason: 'refund reply signature does not verify' };
    }
    const raw = { status: f('status'), statusdesc: f('statusdesc'), refid: f('refid'), refamount: f('refamount') };
    if (f('status') === '0' && f('refid')) return { state: 'succeeded', channelRefundId: f('refid'), raw };
    if (f('status') === '9' || f('status') === '') return { state: 'unknown', reason: `refund status ${f('status')} ${f('statusdesc')}`, raw };
    return { state: 'failed', reason: `${f('statusdesc') || 'refused'} (status ${f('status')})`, raw };
  }

  private async refundList(ctx: ChannelContext, req: RefundRequest): Promise<Array<Record<string, unknown>> | undefined> {
    const s = bankSettings(ctx.account);
    const body = encodeForm({ v_mid: s.vMid, v_oid: req.order.channelOrderNo, v_version: '1.0', v_mac: hmacMd5(s.key, s.vMid + req.order.channelOrderNo) }, 'utf-8');
    const res = await fetch(`${s.baseUrl}/merchant/refund/ref_ack_oid_list_utf8.jsp`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body, signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
    });
    if (res.status !== 200) return undefined;
    const m = parseBankXml(Buffer.from(await res.arrayBuffer())).refundmessage ?? {};
    if (xmlText(m.messagehead?.status) !== '0') return undefined;
    return (m.messagebody?.refund ?? []) as Array<Record<string, unknown>>;
  }

  /** CNY already refunded at the gateway, in fen. */
  private async refundedCny(ctx: ChannelContext, req: RefundRequest): Promise<number | undefined> {
    const list = await this.refundList(ctx, req);
    if (!list) return undefined;
    return list.reduce((sum, r) => sum + parseDecimal(xmlText(r.refamount), 'CNY').minor, 0);
  }

  /** Finds the refund by our refund number (kept at the start of v_refreason); resends it if the gateway never got it. */
  async queryRefund(ctx: ChannelContext, req: RefundRequest): Promise<RefundOutcome> {
    const s = bankSettings(ctx.account);
    let list: Array<Record<string, unknown>> | undefined;
    try {
      list = await this.refundList(ctx, req);
    } catch (err) {
      return { state: 'unknown', reason: `refund query failed: ${(err as Error).message}` };
    }
    if (!list) return { state: 'unknown', reason: 'refund query was not answered' };
    const found = list.find((r) => xmlText(r.refreason).startsWith(`${req.channelRefundNo} `));
    // Not listed is not proof the bank lacks it (its list lags a send): the bridge decides
    // when to send again (refundListLagMs), never this query.
    if (!found) return { state: 'not_found', reason: 'the refund list does not show this refund' };
    const refid = xmlText(found.refid);
    if (!rsaMd5Verify(s.publicKey, req.order.channelOrderNo + refid + xmlText(found.refamount) + xmlText(found.refstatus), xmlText(found.sign))) {
      return { state: 'unknown', reason: 'refund query signature does not verify' };
    }
    return xmlText(found.refstatus) === '1' ? { state: 'succeeded', channelRefundId: refid } : { state: 'processing', channelRefundId: refid };
  }

  /** The batched server notify (B5). v_sign and v_md5money decide; v_mac (over the Chinese fields, whose encoding is UNCONFIRMED) is checked and logged. */
  async verifyNotify(ctx: ChannelContext, req: RawHttpRequest): Promise<VerifiedNotify> {
    const s = bankSettings(ctx.account);
    const reject = (reason: string): never => {
      throw new NotifyRejectedError(reason, NACK);
    };
    const f = req.body.length > 0 ? decodeForm(req.body) : Object.fromEntries(Object.entries(req.query).map(([k, v]) => [k, Array.isArray(v) ? v[0] ?? '' : v ?? '']));
    for (const k of ['v_oid', 'v_pstatus', 'v_amount', 'v_moneytype', 'v_count', 'v_md5money', 'v_sign']) {
      if (typeof f[k] !== 'string' || f[k] === '') reject(`notify lacks ${k}`);
    }
    const count = Number(f.v_count);
    if (!Number.isInteger(count) || count < 1 || count > 100) reject(`notify v_count "${f.v_count}" is not a count`);
    if (!rsaMd5Verify(s.publicKey, f.v_oid! + f.v_pstatus! + f.v_amount! + f.v_moneytype! + f.v_count!, f.v_sign!)) reject('notify v_sign does not verify');
    if (hmacMd5(s.key, f.v_amount! + f.v_moneytype!) !== f.v_md5money!.toLowerCase()) reject('notify v_md5money does not verify');
    if (f.v_mac !== undefined && hmacMd5(s.key, f.v_oid! + (f.v_pmode ?? '') + f.v_pstatus! + (f.v_pstring ?? '') + f.v_count!) !== f.v_mac.toLowerCase()) {
      ctx.log.warn('notify v_mac does not verify (v_sign and v_md5money do; the Chinese fields may be encoded differently)');
    }
    const split = (k: string) => (f[k] ?? '').split(SEP);
    const oids = split('v_oid');
    const groups = { pstatus: split('v_pstatus'), amount: split('v_amount'), moneytype: split('v_moneytype'), pmode: split('v_pmode') };
    if (oids.length !== count || groups.pstatus.length !== count || groups.amount.length !== count || groups.moneytype.length !== count) {
      reject(`notify groups do not hold v_count=${count} orders`);
    }
    const outcomes: Array<{ channelOrderNo: string; outcome: ChannelOutcome }> = [];
    const rejected: Array<{ channelOrderNo?: string; reason: string }> = [];
    const ours = new RegExp(`^\\d{8}-${s.vMid}-[0-9A-Za-z]+$`);
    oids.forEach((oid, i) => {
      const pstatus = groups.pstatus[i]!;
      const amount = groups.amount[i]!;
      const moneytype = groups.moneytype[i]!;
      const raw = { oid, pstatus, amount, moneytype, pmode: groups.pmode[i] ?? '' };
      if (!ours.test(oid)) return rejected.push({ channelOrderNo: oid, reason: `v_oid ${oid} is not an order of merchant ${s.vMid}` });
      if (moneytype !== '0') return rejected.push({ channelOrderNo: oid, reason: `v_moneytype ${moneytype} is not CNY` });
      if (!/^\d+\.\d{2}$/.test(amount)) return rejected.push({ channelOrderNo: oid, reason: `v_amount "${amount}" is not yuan with two decimals` });
      if (pstatus === '1') outcomes.push({ channelOrderNo: oid, outcome: this.paidOutcome(oid, amount, moneytype, oid, raw) });
      // 3: the bank refused; the customer may try again, and the order closes at expiry.
      else if (pstatus === '3') outcomes.push({ channelOrderNo: oid, outcome: { state: 'pending', raw } });
      else rejected.push({ channelOrderNo: oid, reason: `v_pstatus "${pstatus}" is neither 1 nor 3` });
      return undefined;
    });
    return { outcomes, rejected, ack: ACK, nack: NACK };
  }

  async fetchStatement(ctx: ChannelContext, day: string): Promise<StatementResult> {
    const s = bankSettings(ctx.account);
    const ymd = day.replace(/-/g, '');
    const res = await this.post(ctx, `${s.baseUrl}/merchant/statement/day`, { v_mid: s.vMid, v_ymd: ymd, v_mac: hmacMd5(s.key, s.vMid + ymd) });
    if (res.status === 404) return { state: 'not_ready', reason: res.body.toString('utf8').trim() || 'not published yet' };
    if (res.status !== 200) throw new KauriError('channel_error', `The bank statement download answered HTTP ${res.status}`);
    return { state: 'ready', body: res.body, fileName: `bank-${s.vMid}-${ymd}.csv`, contentType: 'text/csv' };
  }

  /** The bank rate source: `GET <rateUrl>?currency=X` → `{currency, cny_per_unit, published_at}`. */
  async fetchRates(ctx: ChannelContext, currencies: readonly string[]): Promise<RateQuote[]> {
    const s = bankSettings(ctx.account);
    return fetchBankRates(s.rateUrl, currencies, ctx.clock.duration(10_000) < 2000 ? 2000 : 10_000);
  }
}

/** Reads the bank rate source; throws on anything but a well-formed answer. */
export async function fetchBankRates(rateUrl: string, currencies: readonly string[], timeoutMs = 10_000): Promise<RateQuote[]> {
  const out: RateQuote[] = [];
  for (const currency of currencies) {
    const url = new URL(rateUrl);
    url.searchParams.set('currency', currency);
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (res.status !== 200) throw new Error(`bank rate source answered HTTP ${res.status} for ${currency}`);
    let body: unknown;
    try {
      body = JSON.parse(await res.text());
    } catch {
      throw new Error(`bank rate source sent something that is not JSON for ${currency}`);
    }
    const b = body as Record<string, unknown>;
    const published = typeof b.published_at === 'string' ? new Date(b.published_at) : new Date(NaN);
    if (b.currency !== currency || typeof b.cny_per_unit !== 'string' || !/^\d{1,6}(\.\d{1,10})?$/.test(b.cny_per_unit)
      || new Decimal(b.cny_per_unit).lte(0) || Number.isNaN(published.getTime())) {
      throw new Error(`bank rate source sent a malformed rate for ${currency}`);
    }
    out.push({ currency, cnyPerUnit: new Decimal(b.cny_per_unit).toString(), publishedAt: published, source: 'bank' });
  }
  return out;
}

function safeText(buf: Buffer): string {
  try {
    return decodeXml(buf);
  } catch {
    return buf.toString('latin1');
  }
}
