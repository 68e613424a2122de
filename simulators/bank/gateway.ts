import { Decimal } from 'decimal.js';
import type { Logger } from 'pino';
import type { SimClock } from '../common/clock.js';
import type { Notifier } from '../common/notifier.js';
import { encodeForm } from './form.js';
import { hmacMd5, macOk, rsaMd5Sign, type GatewayKeys } from './sign.js';
import { chinaDateTime, chinaYmd } from './time.js';

// The gateway's state and rules: orders submitted through the payment form, paid or
// refused on the bank page, announced in batched notifies, queried, refunded.

export interface Merchant {
  v_mid: string;
  key: string;
  /**
   * The back-office background-notify ("received2") URL. PayEase's payment form has no field
   * for it: the merchant sets it in the gateway's back office, so the simulator keeps it per
   * merchant (`--merchant …,notify_url=`, `--notify-url`, `POST /sim/merchants`).
   */
  notifyUrl?: string;
}

export const DEFAULT_MERCHANT: Merchant = { v_mid: '8888', key: 'test' };

export interface BankRefund {
  refid: string;
  amount: string;
  reason: string;
  oprt: string;
  time: string; // ISO, sim clock
  status: 'SUCCESS';
}

export interface BankOrder {
  v_mid: string;
  v_oid: string;
  v_amount: string;
  v_moneytype: string;
  v_ymd: string;
  v_url: string;
  v_rcvname: string;
  status: 'unpaid' | 'paid' | 'failed';
  pmode: string;
  bank_trade_no: string;
  created_at: string;
  paid_at: string | null;
  failed_at: string | null;
  fee: string;
  refunds: BankRefund[];
}

interface QueuedNotify {
  v_mid: string;
  url: string;
  v_oid: string;
  pstatus: '1' | '3';
}

export interface GatewayData {
  orders: BankOrder[];
  queued: QueuedNotify[];
  rates: Record<string, string>;
  seq: number;
  merchantPublicKey: string | null;
  /** Back-office settings changed through /sim/merchants, by v_mid (they outlive a restart with --state). */
  backOffice?: Record<string, { notify_url: string | null; key?: string }>;
}

export const DEFAULT_RATES: Record<string, string> = {
  NZD: '4.2350',
  AUD: '4.6520',
  USD: '7.1280',
  GBP: '9.0150',
  EUR: '7.7420',
  HKD: '0.9150',
};

export const BANKS = ['招商银行', '中国工商银行', '中国建设银行', '中国银行', '中国农业银行', '交通银行'];

/** Notifies wait this long (protocol ms) to gather a batch; all go out well within 5 s. */
export const BATCH_WINDOW_MS = 2000;
export const MAX_BATCH = 4;
/** Fee the gateway takes on payments (shown on the statement). */
export const FEE_RATE = '0.005';

export const PSTRING = { paid: '支付完成', failed: '支付失败', notifyPaid: '支付完成', notifyRefused: '支付被拒绝' };

export class GatewayError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class BankGateway {
  private batchTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly data: GatewayData,
    readonly merchants: Map<string, Merchant>,
    readonly clock: SimClock,
    readonly keys: GatewayKeys,
    private readonly notifier: Notifier,
    private readonly log: Logger,
    private readonly save: () => void,
  ) {}

  merchant(vMid: string): Merchant | undefined {
    return this.merchants.get(vMid);
  }

  /** Where this merchant's notifies go: its back-office setting, if it has one. */
  notifyUrlOf(vMid: string): string | null {
    const set = this.data.backOffice?.[vMid];
    if (set) return set.notify_url;
    return this.merchant(vMid)?.notifyUrl ?? null;
  }

  /** The back office: sets a merchant's notify URL (null: none), adding the merchant when a key is given. */
  configureMerchant(
    vMid: string,
    settings: { notifyUrl: string | null; key?: string },
  ): { v_mid: string; notify_url: string | null } {
    if (!this.merchant(vMid) && !settings.key)
      throw new GatewayError(404, 'unknown_merchant', `no merchant ${vMid}: give "key" to add one`);
    if (settings.key) this.merchants.set(vMid, { ...this.merchant(vMid), v_mid: vMid, key: settings.key });
    const key = settings.key ?? this.data.backOffice?.[vMid]?.key;
    this.data.backOffice = {
      ...this.data.backOffice,
      [vMid]: { notify_url: settings.notifyUrl, ...(key ? { key } : {}) },
    };
    this.save();
    return { v_mid: vMid, notify_url: this.notifyUrlOf(vMid) };
  }

  order(vOid: string): BankOrder | undefined {
    return this.data.orders.find((o) => o.v_oid === vOid);
  }

  /** The payment form: checks the fields and the MAC, then keeps (or refreshes) the order. */
  submit(form: Record<string, string>): BankOrder {
    const need = ['v_mid', 'v_oid', 'v_rcvname', 'v_amount', 'v_ymd', 'v_moneytype', 'v_url', 'v_md5info'];
    for (const f of need)
      if (form[f] === undefined || form[f] === '') {
        if (f !== 'v_rcvname') throw new GatewayError(400, 'missing_field', `缺少参数 ${f} (missing field ${f})`);
      }
    const m = this.merchant(form.v_mid!);
    if (!m) throw new GatewayError(400, 'unknown_merchant', `商户不存在 (unknown merchant ${form.v_mid})`);
    if (
      !macOk(
        m.key,
        form.v_moneytype! +
          form.v_ymd! +
          form.v_amount! +
          (form.v_rcvname ?? '') +
          form.v_oid! +
          form.v_mid! +
          form.v_url!,
        form.v_md5info,
      )
    )
      throw new GatewayError(400, 'bad_mac', '数字签名错误 (v_md5info does not verify)');
    if (form.v_moneytype !== '0')
      throw new GatewayError(400, 'bad_currency', '内卡商户币种只能为人民币 (v_moneytype must be 0, CNY)');
    if (!/^\d{1,10}\.\d{2}$/.test(form.v_amount!) || new Decimal(form.v_amount!).lte(0)) {
      throw new GatewayError(400, 'bad_amount', '金额格式错误 (v_amount must be yuan with two decimals, above zero)');
    }
    const oid = /^(\d{8})-([^-]+)-([0-9A-Za-z]{1,40})$/.exec(form.v_oid!);
    if (!oid || oid[2] !== form.v_mid || oid[1] !== form.v_ymd) {
      throw new GatewayError(400, 'bad_oid', '订单号格式错误 (v_oid must be v_ymd-v_mid-serial)');
    }
    let url: URL;
    try {
      url = new URL(form.v_url!);
    } catch {
      throw new GatewayError(400, 'bad_url', 'v_url 无效 (v_url is not a URL)');
    }
    if (!/^https?:$/.test(url.protocol))
      throw new GatewayError(400, 'bad_url', 'v_url 无效 (v_url must be http or https)');
    const existing = this.order(form.v_oid!);
    if (existing) {
      if (existing.v_amount !== form.v_amount)
        throw new GatewayError(400, 'duplicate_oid', '订单号重复 (this v_oid was submitted with another amount)');
      if (existing.status === 'paid')
        throw new GatewayError(409, 'already_paid', '该订单已支付 (this order is already paid)');
      existing.v_url = form.v_url!;
      this.save();
      return existing;
    }
    const order: BankOrder = {
      v_mid: form.v_mid!,
      v_oid: form.v_oid!,
      v_amount: form.v_amount!,
      v_moneytype: '0',
      v_ymd: form.v_ymd!,
      v_url: form.v_url!,
      v_rcvname: form.v_rcvname ?? '',
      status: 'unpaid',
      pmode: '',
      bank_trade_no: '',
      created_at: this.clock.now().toISOString(),
      paid_at: null,
      failed_at: null,
      fee: '0.00',
      refunds: [],
    };
    this.data.orders.push(order);
    this.save();
    this.log.info({ v_oid: order.v_oid, v_amount: order.v_amount }, 'payment form accepted');
    return order;
  }

  private nextSeq(): number {
    this.data.seq += 1;
    return this.data.seq;
  }

  /** The customer pays (or the bank refuses) on the gateway's page or through /sim/pay. */
  settle(vOid: string, outcome: 'pay' | 'fail', bank = BANKS[0]!): BankOrder {
    const o = this.order(vOid);
    if (!o) throw new GatewayError(404, 'order_not_found', `no order ${vOid}`);
    if (o.status === 'paid') throw new GatewayError(409, 'already_paid', `order ${vOid} is already paid`);
    if (!BANKS.includes(bank)) throw new GatewayError(400, 'unknown_bank', `unknown bank ${bank}`);
    const now = this.clock.now();
    o.pmode = bank;
    if (outcome === 'pay') {
      o.status = 'paid';
      o.paid_at = now.toISOString();
      o.bank_trade_no = `PE${chinaYmd(now)}${String(this.nextSeq()).padStart(9, '0')}`;
      o.fee = new Decimal(o.v_amount).mul(FEE_RATE).toDecimalPlaces(2, Decimal.ROUND_HALF_UP).toFixed(2);
    } else {
      o.status = 'failed';
      o.failed_at = now.toISOString();
    }
    this.queueNotify(o, outcome === 'pay' ? '1' : '3');
    this.save();
    this.log.info({ v_oid: vOid, status: o.status, bank }, 'payment settled');
    return o;
  }

  /** The browser return to v_url (B4): v_pstatus 20 paid, 30 failed. */
  returnUrl(o: BankOrder): string {
    const m = this.merchant(o.v_mid)!;
    const pstatus = o.status === 'paid' ? '20' : o.status === 'failed' ? '30' : '1';
    const pstring = o.status === 'paid' ? PSTRING.paid : o.status === 'failed' ? PSTRING.failed : '已提交';
    const fields = {
      v_oid: o.v_oid,
      v_pstatus: pstatus,
      v_pstring: pstring,
      v_pmode: o.pmode,
      v_amount: o.v_amount,
      v_moneytype: o.v_moneytype,
      v_md5info: hmacMd5(m.key, o.v_oid + pstatus + pstring + o.pmode),
      v_md5money: hmacMd5(m.key, o.v_amount + o.v_moneytype),
      v_sign: rsaMd5Sign(this.keys.privateKey, o.v_oid + pstatus + o.v_amount + o.v_moneytype),
    };
    return `${o.v_url}${o.v_url.includes('?') ? '&' : '?'}${encodeForm(fields)}`;
  }

  private queueNotify(o: BankOrder, pstatus: '1' | '3'): void {
    const url = this.notifyUrlOf(o.v_mid);
    if (!url) {
      this.log.warn({ v_oid: o.v_oid, v_mid: o.v_mid }, "no notify URL in this merchant's back office: no notify sent");
      return;
    }
    this.data.queued.push({ v_mid: o.v_mid, url, v_oid: o.v_oid, pstatus });
    const sameTarget = this.data.queued.filter((q) => q.v_mid === o.v_mid && q.url === url).length;
    if (sameTarget >= MAX_BATCH) this.flushBatches();
    else this.armBatchTimer();
  }

  armBatchTimer(): void {
    if (this.batchTimer || this.data.queued.length === 0) return;
    this.batchTimer = setTimeout(() => {
      this.batchTimer = undefined;
      this.flushBatches();
    }, this.clock.duration(BATCH_WINDOW_MS));
    this.batchTimer.unref?.();
  }

  stop(): void {
    if (this.batchTimer) clearTimeout(this.batchTimer);
    this.batchTimer = undefined;
  }

  /** Sends what is queued as batches of up to four orders per merchant and URL (B5). */
  flushBatches(): void {
    if (this.batchTimer) clearTimeout(this.batchTimer);
    this.batchTimer = undefined;
    const queued = this.data.queued.splice(0);
    const groups = new Map<string, QueuedNotify[]>();
    for (const q of queued) {
      const k = `${q.v_mid} ${q.url}`;
      groups.set(k, [...(groups.get(k) ?? []), q]);
    }
    for (const items of groups.values()) {
      for (let i = 0; i < items.length; i += MAX_BATCH) {
        const chunk = items.slice(i, i + MAX_BATCH);
        const body = this.notifyBody(chunk.map((q) => ({ order: this.order(q.v_oid)!, pstatus: q.pstatus })));
        this.notifier.send(chunk[0]!.url, body, 'application/x-www-form-urlencoded', {
          v_oid: chunk.map((q) => q.v_oid).join(','),
        });
      }
    }
    this.save();
  }

  /** A signed batch: every group field joins the per-order values with `|_|`. */
  notifyBody(items: Array<{ order: BankOrder; pstatus: '1' | '3' }>): string {
    const key = this.merchant(items[0]!.order.v_mid)!.key;
    const j = (f: (x: { order: BankOrder; pstatus: '1' | '3' }) => string) => items.map(f).join('|_|');
    const v_oid = j((x) => x.order.v_oid);
    const v_pmode = j((x) => x.order.pmode);
    const v_pstatus = j((x) => x.pstatus);
    const v_pstring = j((x) => (x.pstatus === '1' ? PSTRING.notifyPaid : PSTRING.notifyRefused));
    const v_amount = j((x) => x.order.v_amount);
    const v_moneytype = j((x) => x.order.v_moneytype);
    const v_count = String(items.length);
    return encodeForm({
      v_oid,
      v_pmode,
      v_pstatus,
      v_pstring,
      v_amount,
      v_moneytype,
      v_count,
      v_mac: hmacMd5(key, v_oid + v_pmode + v_pstatus + v_pstring + v_count),
      v_md5money: hmacMd5(key, v_amount + v_moneytype),
      v_sign: rsaMd5Sign(this.keys.privateKey, v_oid + v_pstatus + v_amount + v_moneytype + v_count),
    });
  }

  /** Refund (B7): whole or partial, while the refunds stay within what was paid. */
  refund(o: BankOrder, amount: string, reason: string, oprt: string): BankRefund {
    if (o.status !== 'paid') throw new GatewayError(409, 'not_paid', '订单未支付 (the order is not paid)');
    if (!/^\d{1,10}\.\d{2}$/.test(amount) || new Decimal(amount).lte(0))
      throw new GatewayError(400, 'bad_amount', '退款金额格式错误');
    const refunded = o.refunds.reduce((s, r) => s.plus(r.amount), new Decimal(0));
    if (refunded.plus(amount).gt(o.v_amount))
      throw new GatewayError(409, 'exceeds', '退款金额超过可退金额 (refund exceeds what remains)');
    const now = this.clock.now();
    const r: BankRefund = {
      refid: String(1_900_000 + this.nextSeq()),
      amount,
      reason,
      oprt,
      time: now.toISOString(),
      status: 'SUCCESS',
    };
    o.refunds.push(r);
    this.save();
    return r;
  }

  /** CNY per unit of `currency`, published every ten minutes by the simulator's clock. */
  rate(currency: string): { currency: string; cny_per_unit: string; published_at: string } | undefined {
    const v = this.data.rates[currency];
    if (!v) return undefined;
    const now = this.clock.nowMs();
    return { currency, cny_per_unit: v, published_at: new Date(now - (now % 600_000)).toISOString() };
  }

  /** The daily statement (cloud-bridge/reconcile/BANK-STATEMENT.md) of merchant `vMid` for China day `ymd`. */
  statement(vMid: string, ymd: string): string {
    const rows: Array<{ t: string; line: string[]; type: 'PAY' | 'REFUND'; amount: string; fee: string }> = [];
    for (const o of this.data.orders) {
      if (o.v_mid !== vMid) continue;
      if (o.status === 'paid' && o.paid_at && chinaYmd(new Date(o.paid_at)) === ymd) {
        rows.push({
          t: o.paid_at,
          type: 'PAY',
          amount: o.v_amount,
          fee: o.fee,
          line: [
            vMid,
            o.v_oid,
            '',
            o.bank_trade_no,
            'PAY',
            o.v_amount,
            'CNY',
            'SUCCESS',
            chinaDateTime(new Date(o.paid_at)),
            o.fee,
          ],
        });
      }
      for (const r of o.refunds) {
        if (chinaYmd(new Date(r.time)) !== ymd) continue;
        rows.push({
          t: r.time,
          type: 'REFUND',
          amount: r.amount,
          fee: '0.00',
          line: [
            vMid,
            o.v_oid,
            r.refid,
            o.bank_trade_no,
            'REFUND',
            r.amount,
            'CNY',
            r.status,
            chinaDateTime(new Date(r.time)),
            '0.00',
          ],
        });
      }
    }
    rows.sort((a, b) => a.t.localeCompare(b.t));
    const total = (f: (r: (typeof rows)[number]) => string | undefined) =>
      rows.reduce((s, r) => s.plus(f(r) ?? '0'), new Decimal(0)).toFixed(2);
    const day = `${ymd.slice(0, 4)}-${ymd.slice(4, 6)}-${ymd.slice(6, 8)}`;
    return (
      [
        'v_mid,v_oid,v_refid,bank_trade_no,type,amount,currency,status,time,fee',
        ...rows.map((r) => r.line.join(',')),
        `TRAILER,${day},${rows.length},${total((r) => (r.type === 'PAY' ? r.amount : undefined))},${total((r) => (r.type === 'REFUND' ? r.amount : undefined))},${total((r) => r.fee)}`,
      ].join('\n') + '\n'
    );
  }
}
