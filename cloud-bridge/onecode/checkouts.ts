import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../../protocol/clock.js';
import { KauriError } from '../../protocol/errors.js';
import { newId, randomToken } from '../../protocol/ids.js';
import { money } from '../../protocol/money.js';
import { CHANNELS, type ChannelName, type PaymentMode } from '../../protocol/payments.js';
import type { ChannelOutcome, ChannelRegistry } from '../channels/channel.js';
import type { EventLog } from '../events/event-log.js';
import type { Scheduler } from '../jobs/scheduler.js';
import type { PaymentService } from '../orders/payments.js';
import { isOpen, isPaidFamily } from '../orders/state-machine.js';
import { checkMaxPayment, checkMerchantOn } from '../orders/limits.js';
import { paymentView, type PaymentView } from '../orders/views.js';
import type { AccountsRepo } from '../store/accounts.js';
import type { Store } from '../store/db.js';
import { nowIso } from '../store/db.js';
import type { Order, OrdersRepo } from '../store/orders-repo.js';
import type { CheckoutTable, Database } from '../store/schema.js';
import type { Kysely } from 'kysely';
import { CheckoutsRepo } from './checkouts-repo.js';

// A checkout is one amount a customer may pay with whichever wallet they have: one
// token, one URL (/c/<token>), and under it at most one channel order per wallet. It
// ends in at most one successful payment: the first paid order wins and closes its
// siblings; a second one paid in a race is refunded automatically and flagged for HQ.

export type CheckoutStatus = CheckoutTable['status'];
export type CheckoutKind = CheckoutTable['kind'];

export const DEFAULT_CHECKOUT_EXPIRY_S = 300;
const MIN_EXPIRY_S = 30;
const MAX_EXPIRY_S = 24 * 3600;
/** Channel orders under a checkout live at least this long (some channels refuse shorter expiries). */
const MIN_ORDER_EXPIRY_MS = 5 * 60_000;
const EXPIRE_JOB = 'checkouts.expire';
/**
 * WeChat's mweb_url opens the app for 5 minutes ("MWEB_URL生成后，有效期为5分钟"); an H5 order
 * older than this (less a minute for the customer to confirm in WeChat) gets a new one.
 */
export const H5_LINK_RENEW_AFTER_MS = 4 * 60_000;
const AUTO_REFUND_TASK = 'refund.automatic'; // PaymentService's own task: one refund per order, deduped.

export interface CreateCheckoutInput {
  amountMinor: number;
  currency: string;
  storeId?: string | null;
  terminalId?: string | null;
  /** Wallets offered (default: every channel the merchant has an account on). */
  allowedChannels?: readonly ChannelName[] | null;
  /** Seconds until the code stops taking payments (default 300). */
  expiresInS?: number;
  description?: string | null;
  /** Where the payer goes after paying (online checkouts); must be on the merchant's allowed domains. */
  returnUrl?: string | null;
  /** The merchant's own reference for this checkout. */
  reference?: string | null;
  kind?: CheckoutKind;
}

/** More writes for a new checkout's transaction (they commit with it or not at all). */
export type AlsoWrite = (checkout: Checkout, trx: Kysely<Database>) => Promise<void>;

export interface Checkout {
  id: string;
  token: string;
  /** Absolute: `<bridge>/c/<token>`. */
  url: string;
  kind: CheckoutKind;
  status: CheckoutStatus;
  merchantId: string;
  storeId: string | null;
  terminalId: string | null;
  amountMinor: number;
  currency: string;
  allowedChannels: ChannelName[] | null;
  description: string | null;
  returnUrl: string | null;
  reference: string | null;
  expiresAt: string;
  createdAt: string;
  /** The payment that settled it (once paid). */
  payment?: PaymentView;
}

/** What the merchant API and webhooks show of a checkout (snake_case, docs/CONTRACTS.md). */
export interface CheckoutView {
  id: string;
  token: string;
  url: string;
  kind: CheckoutKind;
  status: CheckoutStatus;
  amount_minor: number;
  currency: string;
  store_id?: string;
  terminal_id?: string;
  allowed_channels?: ChannelName[];
  reference?: string;
  description?: string;
  return_url?: string;
  expires_at: string;
  created_at: string;
  payment?: PaymentView;
}

export function checkoutView(c: Checkout): CheckoutView {
  const v: CheckoutView = {
    id: c.id,
    token: c.token,
    url: c.url,
    kind: c.kind,
    status: c.status,
    amount_minor: c.amountMinor,
    currency: c.currency,
    expires_at: c.expiresAt,
    created_at: c.createdAt,
  };
  if (c.storeId) v.store_id = c.storeId;
  if (c.terminalId) v.terminal_id = c.terminalId;
  if (c.allowedChannels) v.allowed_channels = c.allowedChannels;
  if (c.reference) v.reference = c.reference;
  if (c.description) v.description = c.description;
  if (c.returnUrl) v.return_url = c.returnUrl;
  if (c.payment) v.payment = c.payment;
  return v;
}

/** What the payer's browser needs to pay a channel order (kept so a second scan shows the same order). */
export interface Presentation {
  jsapiParams?: Record<string, string>;
  page?: { html: string };
}

export interface StartedPayment {
  order: Order;
  presentation: Presentation;
  /** True when this scan found the order an earlier scan made. */
  reused: boolean;
}

export interface CheckoutDeps {
  store: Store;
  accounts: AccountsRepo;
  orders: OrdersRepo;
  payments: PaymentService;
  events: EventLog;
  scheduler: Scheduler;
  channels: ChannelRegistry;
  clock: Clock;
  log: Logger;
  readonly publicBaseUrl: string;
}

export class CheckoutService {
  private readonly repo: CheckoutsRepo;

  constructor(private readonly deps: CheckoutDeps) {
    this.repo = new CheckoutsRepo(deps.store, deps.clock);
    deps.scheduler.every(EXPIRE_JOB, 5_000, async () => {
      await this.expireDue();
    });
    deps.payments.setHooks({
      onPaid: (order) => this.onOrderPaid(order),
      paidElsewhere: async (order) => {
        const c = order.checkout_id ? await this.repo.byId(order.checkout_id) : undefined;
        return c?.status === 'paid' && c.paid_order_id !== order.id;
      },
      onCreated: (order, outcome) => this.keepPresentation(order, outcome),
    });
  }

  urlFor(token: string): string {
    return new URL(`/c/${token}`, this.deps.publicBaseUrl).toString();
  }

  /**
   * A new checkout. `alsoWrite` runs inside the checkout's own transaction: a counter's link
   * records its command's answer there, so the checkout and its dedupe record are one
   * commit, and neither is on disk without the other.
   */
  async create(merchantId: string, input: CreateCheckoutInput, alsoWrite?: AlsoWrite): Promise<Checkout> {
    const amount = money(input.amountMinor, input.currency);
    if (amount.minor <= 0) throw new KauriError('invalid_amount');
    const expiresInS = input.expiresInS ?? DEFAULT_CHECKOUT_EXPIRY_S;
    if (!Number.isInteger(expiresInS) || expiresInS < MIN_EXPIRY_S || expiresInS > MAX_EXPIRY_S) {
      throw new KauriError(
        'invalid_request',
        `expires_in_s must be a whole number of seconds from ${MIN_EXPIRY_S} to ${MAX_EXPIRY_S}`,
      );
    }
    const merchant = await this.deps.accounts.getMerchant(merchantId);
    if (!merchant) throw new KauriError('not_found', `No merchant "${merchantId}"`);
    checkMerchantOn(merchant);
    checkMaxPayment(merchant, amount);
    if (input.storeId) {
      const store = await this.deps.accounts.getStore(input.storeId);
      if (!store || store.merchant_id !== merchantId)
        throw new KauriError('not_found', `No store "${input.storeId}" for this merchant`);
      if (store.currency !== amount.currency)
        throw new KauriError(
          'currency_mismatch',
          `Store ${store.code} takes ${store.currency}, not ${amount.currency}`,
        );
    }
    let allowed: ChannelName[] | null = null;
    if (input.allowedChannels && input.allowedChannels.length) {
      allowed = [...new Set(input.allowedChannels)];
      const bad = allowed.find((c) => !CHANNELS.includes(c));
      if (bad) throw new KauriError('invalid_request', `Unknown channel "${bad}" (use ${CHANNELS.join(', ')})`);
    }
    if (input.returnUrl) assertAllowedUrl(input.returnUrl, merchant.allowed_domains, 'return_url');
    const now = this.deps.clock.now();
    // The expiry is a protocol duration: KAURI_TIME_SCALE shortens it in tests.
    const expiresAt = new Date(now.getTime() + this.deps.clock.duration(expiresInS * 1000));
    const row: CheckoutTable = {
      id: newId('chk'),
      token: randomToken(128),
      merchant_id: merchantId,
      store_id: input.storeId ?? null,
      terminal_id: input.terminalId ?? null,
      kind: input.kind ?? 'dynamic',
      amount_minor: amount.minor,
      currency: amount.currency,
      allowed_channels: allowed ? JSON.stringify(allowed) : null,
      status: 'open',
      paid_order_id: null,
      description: input.description ?? null,
      return_url: input.returnUrl ?? null,
      reference: input.reference ?? null,
      expires_at: nowIso(expiresAt),
      created_at: nowIso(now),
      updated_at: nowIso(now),
    };
    const checkout = await this.toCheckout(row);
    if (alsoWrite)
      await this.repo.transaction(async (trx) => {
        await this.repo.insert(row, trx);
        await alsoWrite(checkout, trx);
      });
    else await this.repo.insert(row);
    return checkout;
  }

  /** The checkout behind a token; an open one past its expiry is expired on the spot. */
  async get(token: string): Promise<Checkout | undefined> {
    if (!/^[A-Za-z0-9_-]{16,64}$/.test(token)) return undefined;
    const row = await this.repo.byToken(token);
    return row ? this.toCheckout(await this.expireIfDue(row)) : undefined;
  }

  async getById(id: string): Promise<Checkout | undefined> {
    const row = await this.repo.byId(id);
    return row ? this.toCheckout(await this.expireIfDue(row)) : undefined;
  }

  /** A merchant's checkout by id or token; another merchant's is "not found". */
  async getForMerchant(merchantId: string, idOrToken: string): Promise<Checkout> {
    const c = idOrToken.startsWith('chk_') ? await this.getById(idOrToken) : await this.get(idOrToken);
    if (!c || c.merchantId !== merchantId) throw new KauriError('checkout_not_found', `No checkout "${idOrToken}"`);
    return c;
  }

  async list(
    merchantId: string,
    options: { limit?: number; before?: string; status?: CheckoutStatus } = {},
  ): Promise<Checkout[]> {
    const rows = await this.repo.list(merchantId, options);
    return Promise.all(rows.map((r) => this.toCheckout(r)));
  }

  /** Cancels an open checkout and closes its channel orders (a payment arriving later is refunded). */
  async cancel(merchantId: string, idOrToken: string): Promise<Checkout> {
    const c = await this.getForMerchant(merchantId, idOrToken);
    if (c.status === 'cancelled') return c;
    if (c.status !== 'open')
      throw new KauriError('checkout_closed', `The checkout is ${c.status} and cannot be cancelled`);
    const moved = await this.moveFromOpen(c.id, 'cancelled');
    if (!moved)
      return this.getForMerchant(merchantId, c.id).then((again) => {
        if (again.status === 'cancelled') return again;
        throw new KauriError('checkout_closed', `The checkout is ${again.status} and cannot be cancelled`);
      });
    await this.closeOpenOrders(c.id, 'checkout_cancelled');
    const after = (await this.getById(c.id))!;
    await this.emit('checkout.cancelled', after);
    return after;
  }

  /** The wallets this checkout offers: allowed, known to this bridge and configured for the merchant. */
  async channelsFor(c: Checkout): Promise<ChannelName[]> {
    const configured = await this.repo.activeChannels(c.merchantId);
    return CHANNELS.filter(
      (name) =>
        configured.has(name) &&
        this.deps.channels.get(name) &&
        (!c.allowedChannels || c.allowedChannels.includes(name)),
    );
  }

  /**
   * Starts (or finds) the channel order for one wallet. A second scan with the same wallet
   * (and, for JSAPI, the same payer) gets the order the first scan made, never a second
   * payable one: the merchant reference is derived from the checkout, so concurrent scans
   * converge on one order through the payment service's idempotency.
   */
  async startPayment(
    c: Checkout,
    req: { channel: ChannelName; mode: PaymentMode; openid?: string; clientIp?: string; quoteId?: string },
  ): Promise<StartedPayment> {
    if (c.status === 'expired') throw new KauriError('checkout_expired');
    if (c.status !== 'open') throw new KauriError('checkout_closed', `The checkout is ${c.status}`);
    if (!(await this.channelsFor(c)).includes(req.channel)) {
      throw new KauriError('channel_not_configured', `This checkout does not offer ${req.channel}`);
    }
    // The merchant reference fits every channel's 32 characters: the checkout's ULID, five
    // hex digits for wallet, mode and payer, and the attempt in base 36.
    const key = createHash('sha256')
      .update(`${req.channel}\0${req.mode}\0${req.openid ?? ''}`)
      .digest('hex')
      .slice(0, 5);
    const prefix = `${c.id.slice(4)}${key}`;
    const siblings = (await this.ordersOf(c.id)).filter((o) => o.out_trade_no.startsWith(prefix));
    const open = siblings.find((o) => isOpen(o.status));
    if (open) return { order: open, presentation: await this.presentationOf(open), reused: true };
    const startedAt = this.deps.clock.now().getTime();
    const remainingMs = Date.parse(c.expiresAt) - startedAt;
    const order = await this.deps.payments.createPayment(
      c.merchantId,
      {
        out_trade_no: `${prefix}${Math.min(siblings.length + 1, 35).toString(36)}`,
        amount_minor: c.amountMinor,
        currency: c.currency,
        channel: req.channel,
        mode: req.mode,
        openid: req.openid,
        quote_id: req.quoteId,
        description: c.description ?? undefined,
        return_url: undefined,
      },
      {
        storeId: c.storeId,
        terminalId: c.terminalId,
        checkoutId: c.id,
        clientIp: req.clientIp,
        expiresInMs: Math.max(remainingMs, MIN_ORDER_EXPIRY_MS),
      },
    );
    // The checkout may have been paid, cancelled or expired while the channel was asked.
    const now = await this.getById(c.id);
    if (now && now.status !== 'open' && isOpen(order.status)) {
      await this.deps.payments.closeOrder(order, `checkout_${now.status}`).catch(() => undefined);
      throw now.status === 'expired'
        ? new KauriError('checkout_expired')
        : new KauriError('checkout_closed', `The checkout is ${now.status}`);
    }
    return { order, presentation: await this.presentationOf(order), reused: Date.parse(order.created_at) < startedAt };
  }

  /**
   * An H5 order whose mweb_url is about to lapse is closed at WeChat and replaced by a new
   * one (WeChat answers a fresh mweb_url only for a new order). The close finds out if it was
   * paid meanwhile; then the checkout is paid and the caller shows that instead.
   */
  async renewStaleLink(c: Checkout, order: Order, clientIp?: string): Promise<Order> {
    if (order.mode !== 'h5' || !isOpen(order.status)) return order;
    const ageMs = this.deps.clock.now().getTime() - Date.parse(order.created_at);
    if (ageMs < this.deps.clock.duration(H5_LINK_RENEW_AFTER_MS)) return order;
    const closed = await this.deps.payments.closeOrder(order, 'link_expired');
    if (!['closed', 'failed', 'reversed'].includes(closed.status)) return closed;
    const again = await this.getById(c.id);
    if (!again || again.status !== 'open') return closed;
    return (await this.startPayment(again, { channel: 'wechat', mode: 'h5', clientIp })).order;
  }

  /**
   * What became of a payment whose customer is back from the wallet: asked of the channel
   * when it is still open (the wallet returns whether or not they paid).
   */
  async checkReturn(orderId: string): Promise<
    | {
        order: Order;
        checkout?: Checkout;
        state: 'paid' | 'not_paid' | 'checking' | 'refunding';
      }
    | undefined
  > {
    const checked = await this.deps.payments.checkOrder(orderId);
    if (!checked) return undefined;
    const { order, outcome } = checked;
    const checkout = order.checkout_id ? await this.getById(order.checkout_id) : undefined;
    // Paid after its order closed, or a second wallet's payment: the customer paid, but the
    // shop did not take it, and says so (the money is on its way back).
    if (isPaidFamily(order.status) && order.flagged && (await this.refundedAutomatically(order.id)))
      return { order, checkout, state: 'refunding' };
    if (isPaidFamily(order.status) || checkout?.status === 'paid') return { order, checkout, state: 'paid' };
    if (!isOpen(order.status)) return { order, checkout, state: 'not_paid' };
    // Open: the channel says it waits for the customer (who is here, back from the wallet),
    // or it could not say (timeout, SYSTEMERROR): then we keep asking.
    return { order, checkout, state: outcome?.state === 'pending' ? 'not_paid' : 'checking' };
  }

  private async refundedAutomatically(orderId: string): Promise<boolean> {
    if ((await this.deps.orders.refundsOf(orderId)).some((r) => r.automatic === 1)) return true;
    return this.deps.scheduler.hasTask(`auto-refund:${orderId}`);
  }

  async ordersOf(checkoutId: string): Promise<Order[]> {
    return this.deps.orders.ofCheckout(checkoutId);
  }

  /** What the payer's browser needs for an order; a concurrent scan may wait briefly for the first one's answer. */
  async presentationOf(order: Order): Promise<Presentation> {
    for (let i = 0; i < 50; i++) {
      const data = await this.repo.presentation(order.id);
      if (data) return JSON.parse(data) as Presentation;
      if (order.mode !== 'jsapi') return {};
      await new Promise((r) => setTimeout(r, 100));
    }
    return {};
  }

  private async keepPresentation(order: Order, outcome: ChannelOutcome): Promise<void> {
    if (!order.checkout_id || outcome.state !== 'pending') return;
    const p: Presentation = {};
    if (outcome.jsapiParams) p.jsapiParams = { ...outcome.jsapiParams };
    if (outcome.page) p.page = { html: outcome.page.html };
    if (!p.jsapiParams && !p.page) return;
    await this.repo.keepPresentation(order.id, order.checkout_id, JSON.stringify(p));
  }

  /**
   * An order under a checkout was paid. The first paid order claims the checkout and its
   * siblings are closed; one paid after another won (or after the checkout ended) is
   * refunded automatically and flagged: the customer's money always comes back.
   */
  private async onOrderPaid(order: Order): Promise<void> {
    // A flagged order is never the checkout's payment: paid after its order was closed, it is
    // being refunded automatically; in doubt otherwise, a person settles it. The customer
    // pays the checkout again, and nothing is handed over for money that goes back.
    if (!order.checkout_id || order.flagged) return;
    const claimed = await this.repo.claimPaid(order.checkout_id, order.id);
    const c = await this.getById(order.checkout_id);
    if (!c) return;
    if (claimed) {
      await this.emit(c.kind === 'static' ? 'static_code.paid' : 'checkout.paid', c);
      await this.closeOpenOrders(c.id, 'checkout_paid_elsewhere', order.id);
      return;
    }
    const row = await this.repo.byId(c.id);
    if (row?.paid_order_id === order.id) return; // the same report twice
    const reason =
      c.status === 'paid'
        ? 'A second wallet paid a checkout that was already paid; refunded automatically'
        : `Paid after the checkout was ${c.status}; refunded automatically`;
    this.deps.log.warn(
      { checkout: c.id, order: order.id, status: c.status },
      'extra payment on a checkout: refunding it',
    );
    await this.flag(order, reason, c.id, { refund: 'checkout already paid' });
  }

  /**
   * Flags an order for HQ with its event, and (`refund`) queues its automatic refund, in one
   * transaction: once flagged, the missed-payment pass no longer looks at it, so the refund
   * task must never be a separate commit that a crash could lose.
   */
  private async flag(
    order: Order,
    reason: string,
    checkoutId: string,
    options: { refund?: string } = {},
  ): Promise<void> {
    await this.deps.orders.db.transaction().execute(async (trx) => {
      await this.deps.orders.patchIn(trx, order.id, { flagged: true, flag_reason: reason });
      const flagged = (await this.deps.orders.byId(order.id, trx))!;
      await this.deps.events.appendIn(trx, {
        type: 'payment.flagged',
        merchantId: flagged.merchant_id,
        storeId: flagged.store_id,
        payload: { ...paymentView(flagged, { publicBaseUrl: this.deps.publicBaseUrl }), checkout_id: checkoutId },
      });
      if (options.refund) {
        await this.deps.scheduler.enqueue(
          AUTO_REFUND_TASK,
          { orderId: order.id, reason: options.refund },
          { db: trx, dedupeKey: `auto-refund:${order.id}` },
        );
      }
    });
    this.deps.events.poke();
    this.deps.scheduler.kick();
  }

  private async closeOpenOrders(checkoutId: string, cause: string, exceptOrderId?: string): Promise<void> {
    for (const o of await this.ordersOf(checkoutId)) {
      if (o.id === exceptOrderId || !isOpen(o.status)) continue;
      try {
        const after = await this.deps.payments.closeOrder(o, cause);
        if (after.status === 'reversed') {
          // The customer had paid this one too and the channel's close gave the money back
          // (Alipay cancels a paid trade): nothing is owed, but HQ hears of it.
          await this.flag(
            after,
            `Paid as well (${cause.replace(/_/g, ' ')}); the channel reversed it when the checkout closed it`,
            checkoutId,
          );
        }
      } catch (err) {
        // The payment service keeps asking the channel and closes it at expiry; a payment
        // that still lands is refunded automatically.
        this.deps.log.warn({ err, order: o.id, cause }, 'closing a sibling order failed; it will be retried');
      }
    }
  }

  private async moveFromOpen(id: string, to: 'expired' | 'cancelled'): Promise<boolean> {
    return this.repo.moveFromOpen(id, to);
  }

  private async expireIfDue(row: CheckoutTable): Promise<CheckoutTable> {
    if (row.status !== 'open' || Date.parse(row.expires_at) > this.deps.clock.now().getTime()) return row;
    await this.expire(row.id);
    return (await this.repo.byId(row.id))!;
  }

  private async expire(id: string): Promise<void> {
    // A payment the hook missed (the bridge stopped between the order's paid transition and
    // the checkout's) settles the checkout instead of letting it expire.
    const paid = (await this.ordersOf(id)).find((o) => isPaidFamily(o.status) && !o.flagged);
    if (paid) {
      await this.onOrderPaid(paid);
      return;
    }
    if (!(await this.moveFromOpen(id, 'expired'))) return;
    await this.closeOpenOrders(id, 'checkout_expired');
    const c = await this.getById(id);
    if (c && c.kind === 'dynamic') await this.emit('checkout.expired', c);
  }

  /** The periodic job: open checkouts past their expiry become expired and their orders are closed. */
  async expireDue(): Promise<number> {
    // Paid orders of the last day whose checkout never heard of them: the open checkout they
    // settle, or the extra payment on an ended one that must be refunded and flagged.
    const missed = await this.repo.missedPaidOrders(new Date(this.deps.clock.now().getTime() - 24 * 3600_000));
    for (const o of missed) await this.onOrderPaid(o);
    const due = await this.repo.dueIds();
    for (const id of due) await this.expire(id);
    return due.length;
  }

  private async emit(type: string, c: Checkout): Promise<void> {
    await this.deps.events.append({
      type,
      merchantId: c.merchantId,
      storeId: c.storeId,
      payload: { checkout: checkoutView(c), ...(c.payment ? { payment: c.payment } : {}) },
    });
  }

  private async toCheckout(r: CheckoutTable): Promise<Checkout> {
    const c: Checkout = {
      id: r.id,
      token: r.token,
      url: this.urlFor(r.token),
      kind: r.kind,
      status: r.status,
      merchantId: r.merchant_id,
      storeId: r.store_id,
      terminalId: r.terminal_id,
      amountMinor: Number(r.amount_minor),
      currency: r.currency,
      allowedChannels: r.allowed_channels ? (JSON.parse(r.allowed_channels) as ChannelName[]) : null,
      description: r.description,
      returnUrl: r.return_url,
      reference: r.reference,
      expiresAt: r.expires_at,
      createdAt: r.created_at,
    };
    if (r.paid_order_id) {
      const o = await this.deps.orders.byId(r.paid_order_id);
      if (o && isPaidFamily(o.status)) c.payment = paymentView(o, { publicBaseUrl: this.deps.publicBaseUrl });
    }
    return c;
  }
}

/**
 * A return or notify URL must be http(s) on one of the merchant's allowed host names (or
 * a subdomain of one): the bridge never redirects a payer to a host the merchant did not name.
 */
export function assertAllowedUrl(raw: string, allowedDomains: readonly string[], field: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new KauriError('invalid_request', `${field} must be an absolute http(s) URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new KauriError('invalid_request', `${field} must be an http(s) URL`);
  if (url.username || url.password) throw new KauriError('url_not_allowed', `${field} must not carry credentials`);
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  const ok = allowedDomains.some((d) => {
    const domain = d.toLowerCase();
    return host === domain || host.endsWith(`.${domain}`);
  });
  if (!ok) {
    throw new KauriError(
      'url_not_allowed',
      `${field} host "${host}" is not on this merchant's allowed domains (${allowedDomains.join(', ') || 'none set'})`,
    );
  }
  return url;
}
