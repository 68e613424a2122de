import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../../protocol/clock.js';
import { KauriError } from '../../protocol/errors.js';
import { newId } from '../../protocol/ids.js';
import { money, type Money } from '../../protocol/money.js';
import {
  CHANNEL_MODES, PRESENTED_CODE_MODES, channelOfPaymentCode, type ChannelName, type PaymentMode, type PaymentStatus,
} from '../../protocol/payments.js';
import type { AccountsRepo } from '../store/accounts.js';
import { nowIso } from '../store/db.js';
import type { Order, OrdersRepo, Refund } from '../store/orders-repo.js';
import type { EventLog } from '../events/event-log.js';
import type { Scheduler } from '../jobs/scheduler.js';
import {
  NotifyRejectedError, type Channel, type ChannelAccount, type ChannelContext, type ChannelOutcome, type ChannelRegistry,
  type HttpReply, type OrderRef, type RawHttpRequest, type RefundOutcome,
} from '../channels/channel.js';
import type { MessageRecorder } from '../channels/recorder.js';
import { isOpen, isPaidFamily } from './state-machine.js';
import { assertWithinMaxPayment } from './limits.js';
import { paymentView } from './views.js';

export interface CreatePaymentInput {
  out_trade_no: string;
  amount_minor: number;
  currency: string;
  channel: ChannelName;
  mode: PaymentMode;
  auth_code?: string;
  openid?: string;
  quote_id?: string;
  return_url?: string;
  description?: string;
}

export interface CreateContext {
  storeId?: string | null;
  terminalId?: string | null;
  checkoutId?: string | null;
  clientIp?: string;
  /** Minutes until an unpaid order is closed (default 15; presented codes settle sooner). */
  expiresInMs?: number;
}

export interface RefundInput {
  out_refund_no: string;
  amount_minor: number;
  reason?: string;
}

/** Hooks for the parts that come later (FX quotes for the bank channel, checkouts). */
export interface PaymentHooks {
  /** Turns the order's price into what the customer pays, when the channel needs another currency. */
  quoteFor?(input: { merchantId: string; channel: ChannelName; amount: Money; quoteId?: string }): Promise<{
    quoteId: string; pay: Money; rate: string; rateTime: string;
  } | undefined>;
  /** Called once an order under a checkout is paid (to close the siblings). */
  onPaid?(order: Order): Promise<void>;
  /** Called once a channel answered a create: checkouts keep what the payer's browser needs (JSAPI parameters, a page). */
  onCreated?(order: Order, outcome: ChannelOutcome): Promise<void>;
}

const DEFAULT_EXPIRY_MS = 15 * 60_000;
const SYNC_TASK = 'order.sync';
const REFUND_TASK = 'refund.sync';
const AUTO_REFUND_TASK = 'refund.automatic';

/**
 * Payments and refunds: the one place that drives the state machine from what the channels
 * say. It never knows which channel it talks to (Channel interface), and it never assumes:
 * an unknown answer is asked again until the channel says paid, closed or reversed.
 */
export class PaymentService {
  private hooks: PaymentHooks = {};

  constructor(
    private readonly deps: {
      accounts: AccountsRepo;
      orders: OrdersRepo;
      events: EventLog;
      scheduler: Scheduler;
      channels: ChannelRegistry;
      recorder: MessageRecorder;
      clock: Clock;
      log: Logger;
      publicBaseUrl: string;
    },
  ) {
    deps.scheduler.defineTask<{ orderId: string }>(SYNC_TASK, (p) => this.syncTask(p.orderId), { maxAttempts: 50 });
    deps.scheduler.defineTask<{ refundId: string }>(REFUND_TASK, (p) => this.refundSyncTask(p.refundId), { maxAttempts: 50 });
    deps.scheduler.defineTask<{ orderId: string; reason: string }>(AUTO_REFUND_TASK, (p) => this.autoRefundTask(p.orderId, p.reason), {
      maxAttempts: 30,
    });
    deps.scheduler.every('orders.sweep', 60_000, () => this.sweep());
  }

  setHooks(hooks: PaymentHooks): void {
    this.hooks = { ...this.hooks, ...hooks };
  }

  channelContext(account: ChannelAccount, orderId?: string): ChannelContext {
    const { recorder, clock, log, publicBaseUrl } = this.deps;
    return {
      account,
      clock,
      log: log.child({ channel: account.channel, account: account.id }),
      notifyUrl: new URL(`/notify/${account.channel}/${account.id}`, publicBaseUrl).toString(),
      publicBaseUrl,
      record: (m) => recorder.record({ channel: account.channel, accountId: account.id, orderId: m.orderId ?? orderId, ...m }),
    };
  }

  private channel(name: ChannelName): Channel {
    const c = this.deps.channels.get(name);
    if (!c) throw new KauriError('channel_unavailable', `The ${name} channel is not available on this bridge yet`);
    return c;
  }

  async createPayment(merchantId: string, input: CreatePaymentInput, ctx: CreateContext = {}): Promise<Order> {
    return (await this.createPaymentResult(merchantId, input, ctx)).order;
  }

  /** Creates a payment, or answers a replay of the same request; `created` tells which. */
  async createPaymentResult(merchantId: string, input: CreatePaymentInput, ctx: CreateContext = {}): Promise<{ order: Order; created: boolean }> {
    const channel = this.channel(input.channel);
    if (!CHANNEL_MODES[input.channel].includes(input.mode) || !channel.modes.includes(input.mode)) {
      throw new KauriError('mode_not_supported', `The ${input.channel} channel does not offer mode "${input.mode}" (it offers ${CHANNEL_MODES[input.channel].join(', ')})`);
    }
    const amount = money(input.amount_minor, input.currency);
    if (amount.minor <= 0) throw new KauriError('invalid_amount');
    const presented = PRESENTED_CODE_MODES.includes(input.mode);
    if (presented) {
      if (!input.auth_code) throw new KauriError('invalid_request', `Mode ${input.mode} needs the customer's payment code (auth_code)`);
      if (channelOfPaymentCode(input.auth_code) !== input.channel) {
        throw new KauriError('auth_code_invalid', `That code is not a ${input.channel} payment code`);
      }
    }
    if (input.mode === 'jsapi' && !input.openid) throw new KauriError('invalid_request', 'Mode jsapi needs the payer\'s openid');
    const account = await this.deps.accounts.activeChannelAccount(merchantId, input.channel);
    if (!account) throw new KauriError('channel_not_configured', `This merchant has no ${input.channel} account`);
    channel.validateCreate?.(account, { mode: input.mode, amount });
    await assertWithinMaxPayment(this.deps.accounts, merchantId, amount);

    const requestHash = hashRequest({ ...input, storeId: ctx.storeId ?? null, checkoutId: ctx.checkoutId ?? null });
    const existing = await this.deps.orders.byOutTradeNo(merchantId, input.out_trade_no);
    if (existing) return { order: this.sameRequest(existing, requestHash), created: false };

    const quote = this.hooks.quoteFor ? await this.hooks.quoteFor({ merchantId, channel: input.channel, amount, quoteId: input.quote_id }) : undefined;
    const now = this.deps.clock.now();
    const id = newId('pay');
    // The channel order lives as long as its caller says (a checkout passes its own, scaled
    // expiry); a bare API payment gets 15 minutes of real time, which the channel is also told.
    const expiresAt = new Date(now.getTime() + (ctx.expiresInMs ?? DEFAULT_EXPIRY_MS));
    const order: Order = {
      id,
      merchant_id: merchantId,
      store_id: ctx.storeId ?? null,
      terminal_id: ctx.terminalId ?? null,
      checkout_id: ctx.checkoutId ?? null,
      out_trade_no: input.out_trade_no,
      channel: input.channel,
      channel_account_id: account.id,
      mode: input.mode,
      amount_minor: amount.minor,
      currency: amount.currency,
      status: 'created',
      refunded_minor: 0,
      description: input.description ?? null,
      channel_order_no: channelOrderNo(channel, id, now, account),
      channel_trade_no: null,
      qr_code: null,
      redirect_url: null,
      openid: input.openid ?? null,
      quote_id: quote?.quoteId ?? null,
      cny_quote_minor: quote ? quote.pay.minor : null,
      cny_charged_minor: null,
      rate: quote?.rate ?? null,
      rate_time: quote?.rateTime ?? null,
      return_url: input.return_url ?? null,
      request_hash: requestHash,
      flagged: 0,
      flag_reason: null,
      expires_at: nowIso(expiresAt),
      created_at: nowIso(now),
      updated_at: nowIso(now),
      paid_at: null,
      channel_paid_at: null,
      version: 0,
    };
    if (!(await this.deps.orders.insert(order, 'api_create'))) {
      // Lost a race with the same out_trade_no: answer as a replay would.
      const raced = await this.deps.orders.byOutTradeNo(merchantId, input.out_trade_no);
      return { order: this.sameRequest(raced!, requestHash), created: false };
    }

    const cctx = this.channelContext(account, id);
    let outcome: ChannelOutcome;
    try {
      outcome = await channel.create(cctx, {
        orderId: id,
        channelOrderNo: order.channel_order_no,
        mode: input.mode,
        amount,
        payAmount: quote?.pay,
        description: input.description ?? 'Kauri payment',
        authCode: input.auth_code,
        openid: input.openid,
        clientIp: ctx.clientIp,
        returnUrl: input.return_url,
        expiresAt,
        createdAt: now,
      });
    } catch (err) {
      // We cannot know whether the channel took the order: treat it as unknown and let the
      // sync task ask (and close or reverse it), so nothing is charged without our knowing.
      this.deps.log.warn({ err, order: id }, 'channel create failed; the order will be queried');
      outcome = { state: 'unknown', reason: (err as Error).message };
    }
    const settled = await this.apply(order.id, outcome, 'channel_create');
    await this.hooks.onCreated?.(settled, outcome);
    if (settled.status === 'pending' || settled.status === 'created') {
      await this.scheduleSync(settled, presented ? presentedPolicy(channel, account).pollEveryMs : 5000);
      if (outcome.state === 'unknown' && !presented) {
        throw new KauriError('channel_unavailable', `The ${input.channel} channel did not answer: ${outcome.reason}. The payment ${input.out_trade_no} is pending and will be closed if it was not created.`);
      }
    }
    return { order: settled, created: true };
  }

  private sameRequest(existing: Order, requestHash: string): Order {
    if (existing.request_hash !== requestHash) {
      throw new KauriError('idempotency_conflict', `out_trade_no "${existing.out_trade_no}" was already used for a different payment`);
    }
    return existing;
  }

  async getPayment(merchantId: string, outTradeNo: string): Promise<Order> {
    const order = await this.deps.orders.byOutTradeNo(merchantId, outTradeNo);
    if (!order) throw new KauriError('order_not_found', `No payment "${outTradeNo}"`);
    return order;
  }

  /** Closes an unpaid payment at the channel (or reverses a presented-code one). */
  async closePayment(merchantId: string, outTradeNo: string, cause = 'api_close'): Promise<Order> {
    const order = await this.getPayment(merchantId, outTradeNo);
    return this.closeOrder(order, cause);
  }

  async closeOrder(order: Order, cause: string): Promise<Order> {
    if (!isOpen(order.status as PaymentStatus)) {
      if (order.status === 'closed' || order.status === 'reversed' || order.status === 'failed') return order;
      throw new KauriError('order_not_closable', `The payment is ${order.status} and cannot be closed`);
    }
    const { channel, ctx, ref } = await this.channelFor(order);
    let outcome: ChannelOutcome;
    try {
      outcome = await channel.close(ctx, ref);
    } catch (err) {
      outcome = { state: 'unknown', reason: (err as Error).message };
    }
    const after = await this.apply(order.id, outcome, cause);
    if (isOpen(after.status as PaymentStatus)) {
      await this.scheduleSync(after, 5000);
      throw new KauriError('channel_unavailable', `The channel could not close the payment yet (${outcome.state === 'unknown' ? outcome.reason : outcome.state}); it will be retried`);
    }
    return after;
  }

  private async channelFor(order: Order): Promise<{ channel: Channel; ctx: ChannelContext; ref: OrderRef; account: ChannelAccount }> {
    const channel = this.channel(order.channel as ChannelName);
    const account = await this.deps.accounts.getChannelAccount(order.channel_account_id);
    if (!account) throw new KauriError('channel_not_configured', 'The channel account of this payment is gone');
    return { channel, account, ctx: this.channelContext(account, order.id), ref: orderRef(order) };
  }

  /**
   * Applies what a channel said about an order, exactly once: duplicate and concurrent
   * reports race on the order's version and the loser re-reads and finds nothing to do.
   */
  async apply(orderId: string, outcome: ChannelOutcome, cause: string): Promise<Order> {
    const { orders } = this.deps;
    for (let attempt = 0; attempt < 25; attempt++) {
      const order = await orders.byId(orderId);
      if (!order) throw new KauriError('order_not_found');
      const status = order.status as PaymentStatus;
      const raw = 'raw' in outcome ? outcome.raw : undefined;
      let next: Order | undefined;
      switch (outcome.state) {
        case 'pending':
        case 'unknown': {
          const patch: Partial<Order> = {};
          if (outcome.state === 'pending') {
            if (outcome.qrCode && !order.qr_code) patch.qr_code = outcome.qrCode;
            if (outcome.redirectUrl && !order.redirect_url) patch.redirect_url = outcome.redirectUrl;
            if (outcome.channelTradeNo && !order.channel_trade_no) patch.channel_trade_no = outcome.channelTradeNo;
            // What the payer's wallet needs to pay (JSAPI parameters), kept for replays of the request.
            if (outcome.jsapiParams && !order.pay_params) patch.pay_params = JSON.stringify({ jsapi: outcome.jsapiParams });
          }
          if (status === 'created') {
            next = await orders.transition(order, 'pending', outcome.state === 'unknown' ? `${cause}:unknown` : cause, raw ?? (outcome.state === 'unknown' ? { reason: outcome.reason } : null), patch);
          } else {
            if (Object.keys(patch).length) await orders.patch(order.id, patch);
            return (await orders.byId(order.id))!;
          }
          break;
        }
        case 'paid': {
          if (outcome.amount && (outcome.amount.minor !== order.amount_minor || outcome.amount.currency !== order.currency)) {
            // Never a silent success: the money differs from what was asked.
            await orders.note(order.id, order.status, 'amount_mismatch', { reported: outcome.amount, raw });
            await this.flag(order, `The channel reported ${outcome.amount.currency} ${outcome.amount.minor} paid for an order of ${order.currency} ${order.amount_minor}`);
            throw new KauriError('channel_error', 'The paid amount does not match the order');
          }
          if (order.cny_quote_minor !== null && outcome.charged && (outcome.charged.currency !== 'CNY' || outcome.charged.minor !== order.cny_quote_minor)) {
            // A quoted (bank) payment: the CNY paid must be the CNY asked, to the fen.
            await orders.note(order.id, order.status, 'amount_mismatch', { reported: outcome.charged, quoted: order.cny_quote_minor, raw });
            await this.flag(order, `The channel reported ${outcome.charged.currency} ${outcome.charged.minor} paid where CNY ${order.cny_quote_minor} was quoted`);
            throw new KauriError('channel_error', 'The paid CNY amount does not match the quote');
          }
          if (isPaidFamily(status)) return order; // a duplicate report
          const patch: Partial<Order> = {
            channel_trade_no: outcome.channelTradeNo,
            paid_at: nowIso(this.deps.clock.now()),
            channel_paid_at: outcome.paidAt ? nowIso(outcome.paidAt) : null,
          };
          if (outcome.charged) patch.cny_charged_minor = outcome.charged.minor;
          if (outcome.rate) patch.rate = outcome.rate;
          if (status === 'created') {
            await orders.transition(order, 'pending', cause, null);
            continue;
          }
          if (status === 'pending') {
            next = await orders.transition(order, 'paid', cause, raw ?? null, patch);
            if (next) {
              await this.emit('payment.paid', next);
              await this.hooks.onPaid?.(next);
            }
          } else if (status === 'closed') {
            // Paid after we closed it (cancelled, expired, another wallet won): keep the
            // payment, give the money back automatically, and tell HQ.
            next = await orders.transition(order, 'paid', `${cause}:late_payment`, raw ?? null, {
              ...patch, flagged: 1, flag_reason: 'Paid after the order was closed; refunded automatically',
            });
            if (next) {
              await this.emit('payment.paid', next);
              await this.emit('payment.flagged', next);
              await this.deps.scheduler.enqueue(AUTO_REFUND_TASK, { orderId: next.id, reason: 'paid after close' }, { dedupeKey: `auto-refund:${next.id}` });
            }
          } else {
            // reversed or failed, yet the channel says paid: no state can hold this, so a
            // person must look (the money is with the channel, never lost from sight).
            await orders.note(order.id, order.status, 'paid_after_final', { raw });
            await this.flag(order, `The channel reported a payment for a ${status} order`);
            return (await orders.byId(order.id))!;
          }
          break;
        }
        case 'closed':
        case 'reversed':
        case 'failed': {
          if (status === 'created') {
            if (outcome.state === 'failed') {
              next = await orders.transition(order, 'failed', cause, raw ?? { reason: outcome.reason });
              if (next) await this.emit('payment.failed', next);
              break;
            }
            await orders.transition(order, 'pending', cause, null);
            continue;
          }
          if (outcome.state === 'reversed' && (status === 'paid' || status === 'partially_refunded')) {
            // A close that raced a payment: the channel reversed a paid trade, so the customer
            // has the money back. That is a refund of what remained, not a state of its own.
            return this.recordReversalOfPaid(order, cause, raw ?? { reason: outcome.reason });
          }
          if (status !== 'pending') return order;
          next = await orders.transition(order, outcome.state, cause, raw ?? { reason: outcome.reason });
          if (next) await this.emit(`payment.${outcome.state}`, next);
          break;
        }
      }
      if (next) return next;
      // someone else moved the order first; read it again and decide again
    }
    throw new KauriError('internal', 'The payment kept changing while being updated');
  }

  /** Books a channel's reversal of a paid order as a succeeded automatic refund of the remainder, flagged for HQ. */
  private async recordReversalOfPaid(order: Order, cause: string, data: unknown): Promise<Order> {
    const remainder = order.amount_minor - order.refunded_minor;
    if (remainder > 0) {
      const now = nowIso(this.deps.clock.now());
      const id = newId('ref');
      const reserved = await this.deps.orders.reserveRefund(order.id, {
        id, merchant_id: order.merchant_id, order_id: order.id, out_refund_no: `reversal-${order.id}`,
        channel_refund_no: id.replace(/^ref_/, 'R'), channel_refund_id: null, amount_minor: remainder, currency: order.currency,
        status: 'processing', reason: 'reversed by the channel after payment', automatic: 1,
        request_hash: 'reversal', created_at: now, updated_at: now,
      }, `${cause}:reversed_after_paid`);
      if (reserved !== 'exists') await this.applyRefund(reserved.refund, { state: 'succeeded', raw: data });
    }
    const after = (await this.deps.orders.byId(order.id))!;
    if (!after.flagged) await this.flag(after, 'Reversed by the channel after it was paid (a close raced the payment); the customer was refunded');
    return (await this.deps.orders.byId(order.id))!;
  }

  private async flag(order: Order, reason: string): Promise<void> {
    await this.deps.orders.patch(order.id, { flagged: 1, flag_reason: reason });
    await this.deps.events.append({ type: 'payment.flagged', merchantId: order.merchant_id, storeId: order.store_id, payload: { ...paymentView(order), flag_reason: reason } });
  }

  private async emit(type: string, order: Order): Promise<void> {
    await this.deps.events.append({
      type, merchantId: order.merchant_id, storeId: order.store_id,
      payload: paymentView(order, { publicBaseUrl: this.deps.publicBaseUrl }),
    });
  }

  private async scheduleSync(order: Order, delayMs: number): Promise<void> {
    await this.deps.scheduler.enqueue(SYNC_TASK, { orderId: order.id }, { delayMs, dedupeKey: `${SYNC_TASK}:${order.id}` });
  }

  /**
   * Asks the channel about an open order. Presented codes are polled quickly and reversed
   * when they do not resolve in time; QR and web orders are polled on a backoff and closed
   * at expiry.
   */
  private async syncTask(orderId: string): Promise<{ again?: number } | void> {
    const order = await this.deps.orders.byId(orderId);
    if (!order || !isOpen(order.status as PaymentStatus)) return;
    const { channel, ctx, ref, account } = await this.channelFor(order);
    const presented = PRESENTED_CODE_MODES.includes(order.mode as PaymentMode);
    let outcome: ChannelOutcome;
    try {
      outcome = await channel.query(ctx, ref);
    } catch (err) {
      outcome = { state: 'unknown', reason: (err as Error).message };
    }
    let after = await this.apply(order.id, outcome, 'channel_query');
    if (!isOpen(after.status as PaymentStatus)) return;
    const ageMs = this.deps.clock.now().getTime() - Date.parse(order.created_at);
    const policy = presentedPolicy(channel, account);
    const deadlineMs = presented ? this.deps.clock.duration(policy.giveUpAfterMs) : Date.parse(order.expires_at ?? order.created_at) - Date.parse(order.created_at);
    if (ageMs >= deadlineMs) {
      try {
        outcome = await channel.close(ctx, ref);
      } catch (err) {
        outcome = { state: 'unknown', reason: (err as Error).message };
      }
      after = await this.apply(order.id, outcome, presented ? 'timeout_reverse' : 'expired_close');
      if (!isOpen(after.status as PaymentStatus)) return;
      return { again: 5000 };
    }
    if (presented) return { again: policy.pollEveryMs };
    // Backoff for QR/web orders: quick while the customer is likely at the counter.
    const unscaledAge = ageMs * (5000 / this.deps.clock.duration(5000));
    return { again: unscaledAge < 60_000 ? 5000 : unscaledAge < 600_000 ? 15_000 : 60_000 };
  }

  /** Re-queues sync work for open orders that lost theirs (a crash between insert and enqueue). */
  private async sweep(): Promise<void> {
    for (const order of await this.deps.orders.openOrders(500)) {
      await this.scheduleSync(order, 0);
    }
    for (const refund of await this.deps.orders.processingRefunds(500)) {
      await this.deps.scheduler.enqueue(REFUND_TASK, { refundId: refund.id }, { dedupeKey: `${REFUND_TASK}:${refund.id}` });
    }
  }

  async refund(merchantId: string, outTradeNo: string, input: RefundInput, options: { automatic?: boolean; cause?: string } = {}): Promise<{ refund: Refund; order: Order }> {
    if (!Number.isSafeInteger(input.amount_minor) || input.amount_minor <= 0) throw new KauriError('invalid_amount');
    const order = await this.getPayment(merchantId, outTradeNo);
    const requestHash = hashRequest({ out_trade_no: outTradeNo, ...input });
    const existing = await this.deps.orders.refundByOutRefundNo(merchantId, input.out_refund_no);
    if (existing) {
      if (existing.request_hash !== requestHash) {
        throw new KauriError('idempotency_conflict', `out_refund_no "${input.out_refund_no}" was already used for a different refund`);
      }
      return { refund: existing, order: (await this.deps.orders.byId(existing.order_id))! };
    }
    const now = nowIso(this.deps.clock.now());
    const id = newId('ref');
    const row: Refund = {
      id, merchant_id: merchantId, order_id: order.id, out_refund_no: input.out_refund_no,
      channel_refund_no: id.replace(/^ref_/, 'R'), channel_refund_id: null,
      amount_minor: input.amount_minor, currency: order.currency, status: 'processing', reason: input.reason ?? null,
      automatic: options.automatic ? 1 : 0, request_hash: requestHash, created_at: now, updated_at: now,
    };
    const reserved = await this.deps.orders.reserveRefund(order.id, row, options.cause ?? 'refund_requested');
    if (reserved === 'exists') return this.refund(merchantId, outTradeNo, input, options);
    const refund = await this.sendRefund(reserved.refund);
    return { refund, order: (await this.deps.orders.byId(order.id))! };
  }

  private async sendRefund(refund: Refund): Promise<Refund> {
    const order = (await this.deps.orders.byId(refund.order_id))!;
    const { channel, ctx, ref } = await this.channelFor(order);
    let outcome: RefundOutcome;
    try {
      outcome = await channel.refund(ctx, { order: ref, channelRefundNo: refund.channel_refund_no, amount: money(refund.amount_minor, refund.currency), reason: refund.reason ?? undefined });
    } catch (err) {
      outcome = { state: 'unknown', reason: (err as Error).message };
    }
    return this.applyRefund(refund, outcome);
  }

  private async applyRefund(refund: Refund, outcome: RefundOutcome): Promise<Refund> {
    if (outcome.state === 'succeeded' || outcome.state === 'failed') {
      const settled = await this.deps.orders.settleRefund(refund.id, outcome.state, outcome.state === 'succeeded' ? outcome.channelRefundId ?? null : null, 'raw' in outcome ? outcome.raw ?? null : null);
      const order = (await this.deps.orders.byId(refund.order_id))!;
      if (settled.status === outcome.state) {
        await this.deps.events.append({
          type: `refund.${outcome.state}`, merchantId: order.merchant_id, storeId: order.store_id,
          payload: { refund: { id: settled.id, out_refund_no: settled.out_refund_no, amount_minor: settled.amount_minor, currency: settled.currency, status: settled.status, automatic: settled.automatic === 1 }, payment: paymentView(order) },
        });
      }
      return settled;
    }
    if (outcome.state === 'processing' && outcome.channelRefundId) {
      await this.deps.orders.db.updateTable('refunds').set({ channel_refund_id: outcome.channelRefundId }).where('id', '=', refund.id).execute();
    }
    // processing or unknown: ask again later (the same channel refund number is safe to resend).
    await this.deps.scheduler.enqueue(REFUND_TASK, { refundId: refund.id }, { delayMs: 5000, dedupeKey: `${REFUND_TASK}:${refund.id}` });
    return (await this.deps.orders.refundById(refund.id))!;
  }

  private async refundSyncTask(refundId: string): Promise<{ again?: number } | void> {
    const refund = await this.deps.orders.refundById(refundId);
    if (!refund || refund.status !== 'processing') return;
    const order = (await this.deps.orders.byId(refund.order_id))!;
    const { channel, ctx, ref } = await this.channelFor(order);
    const req = { order: ref, channelRefundNo: refund.channel_refund_no, amount: money(refund.amount_minor, refund.currency), reason: refund.reason ?? undefined };
    let outcome: RefundOutcome;
    try {
      outcome = channel.queryRefund ? await channel.queryRefund(ctx, req) : await channel.refund(ctx, req);
    } catch (err) {
      outcome = { state: 'unknown', reason: (err as Error).message };
    }
    if (outcome.state === 'succeeded' || outcome.state === 'failed') {
      await this.applyRefund(refund, outcome);
      return;
    }
    return { again: 30_000 };
  }

  private async autoRefundTask(orderId: string, reason: string): Promise<void> {
    const order = await this.deps.orders.byId(orderId);
    if (!order) return;
    const remainder = order.amount_minor - order.refunded_minor;
    if (remainder <= 0) return;
    await this.refund(order.merchant_id, order.out_trade_no, { out_refund_no: `auto-${order.id}`, amount_minor: remainder, reason }, { automatic: true, cause: 'automatic_refund' });
  }

  /**
   * A channel's notify: verified by the channel, applied here, answered as the channel
   * expects. A forged or mismatched notify changes nothing and gets the channel's FAIL reply.
   */
  async handleNotify(channelName: string, accountId: string, req: RawHttpRequest): Promise<HttpReply> {
    const log = this.deps.log.child({ notify: channelName, account: accountId });
    const channel = this.deps.channels.get(channelName as ChannelName);
    const account = channel ? await this.deps.accounts.getChannelAccount(accountId) : undefined;
    if (!channel || !account || account.channel !== channelName) {
      log.warn('notify for an unknown channel account');
      return { status: 404, contentType: 'text/plain', body: 'unknown channel account' };
    }
    const ctx = this.channelContext(account);
    await ctx.record({ direction: 'notify', endpoint: `/notify/${channelName}`, body: req.body.toString('utf8') });
    let verified;
    try {
      verified = await channel.verifyNotify(ctx, req);
    } catch (err) {
      if (err instanceof NotifyRejectedError) {
        log.warn({ reason: err.reason }, 'notify rejected');
        await ctx.record({ direction: 'reply', endpoint: `/notify/${channelName}`, body: err.reply.body, httpStatus: err.reply.status });
        return err.reply;
      }
      throw err;
    }
    for (const r of verified.rejected ?? []) log.warn({ order: r.channelOrderNo, reason: r.reason }, 'notify item rejected');
    try {
      let applied = 0;
      let refused = 0;
      for (const item of verified.outcomes) {
        const order = await this.deps.orders.byChannelOrderNo(item.channelOrderNo);
        if (!order || order.channel_account_id !== account.id) {
          // Signed by the channel but not ours: retrying would not change that.
          log.warn({ order: item.channelOrderNo }, 'notify for an order this account does not have');
          continue;
        }
        try {
          await this.apply(order.id, item.outcome, 'channel_notify');
          applied++;
        } catch (err) {
          // A report that contradicts the order (another amount, another CNY sum) was
          // flagged and noted by apply; anything else is ours to retry.
          if (!(err instanceof KauriError && err.code === 'channel_error')) throw err;
          log.warn({ order: item.channelOrderNo, reason: err.message }, 'notify item refused');
          refused++;
        }
      }
      // A batch acknowledges what it applied (the refused items are flagged for HQ, and
      // resending them would change nothing); a notify with nothing applied is refused, so
      // the channel sees a FAIL for a forged or mismatched report.
      if (refused > 0 && applied === 0) {
        await ctx.record({ direction: 'reply', endpoint: `/notify/${channelName}`, body: verified.nack.body, httpStatus: verified.nack.status });
        return verified.nack;
      }
    } catch (err) {
      log.error({ err }, 'applying a notify failed; the channel will retry');
      return verified.nack;
    }
    await ctx.record({ direction: 'reply', endpoint: `/notify/${channelName}`, body: verified.ack.body, httpStatus: verified.ack.status });
    return verified.ack;
  }
}

export function orderRef(order: Order): OrderRef {
  return {
    orderId: order.id,
    channelOrderNo: order.channel_order_no,
    channelTradeNo: order.channel_trade_no,
    mode: order.mode as PaymentMode,
    amount: money(order.amount_minor, order.currency),
    payAmount: order.cny_charged_minor !== null ? money(order.cny_charged_minor, 'CNY') : order.cny_quote_minor !== null ? money(order.cny_quote_minor, 'CNY') : undefined,
    createdAt: new Date(order.created_at),
  };
}

function presentedPolicy(channel: Channel, account: ChannelAccount): { pollEveryMs: number; giveUpAfterMs: number } {
  return channel.presentedCodePolicyFor?.(account) ?? channel.presentedCodePolicy ?? { pollEveryMs: 5000, giveUpAfterMs: 40_000 };
}

function channelOrderNo(channel: Channel, id: string, at: Date, account: ChannelAccount): string {
  // The bridge's own number, unique across merchants; a channel may need its own shape.
  return channel.orderNumber ? channel.orderNumber(id, at, account) : id.replace(/^pay_/, 'K');
}

function hashRequest(value: Record<string, unknown>): string {
  const canonical = JSON.stringify(Object.keys(value).sort().map((k) => [k, value[k] ?? null]));
  return createHash('sha256').update(canonical).digest('hex');
}
