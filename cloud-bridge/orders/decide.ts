import type { ChannelOutcome } from '../channels/channel.js';
import type { PaymentStatus } from '../../protocol/payments.js';
import type { Order } from '../store/orders-repo.js';
import { isOpen, isPaidFamily } from './state-machine.js';

// What a channel's report does to an order, decided without touching anything: the service
// loads the order, asks `decide`, and commits the whole decision in one transaction (the
// state, its history, its events, the raw messages and the tasks it schedules), so a crash
// leaves either all of it or none of it.

export const SYNC_TASK = 'order.sync';
export const REFUND_TASK = 'refund.sync';
export const AUTO_REFUND_TASK = 'refund.automatic';

export interface DecidedTask {
  readonly kind: string;
  readonly payload: Record<string, unknown>;
  readonly dedupeKey: string;
  /** Protocol duration (unscaled ms). */
  readonly delayMs: number;
  /** If the task is already queued later than this, bring it forward. */
  readonly earlier?: boolean;
}

export interface Decision {
  /** The states the order passes through, in order; empty when its state does not change. */
  readonly to: readonly PaymentStatus[];
  /** History cause of the last step (the earlier steps carry the plain cause). */
  readonly cause: string;
  /** The channel's data recorded on the last step's history row. */
  readonly data: unknown;
  /** Fields that are not state (trade number, QR code, paid time…). */
  readonly patch: Partial<Order>;
  /** Domain event types, appended in this order with the order as it is after the change. */
  readonly events: readonly string[];
  readonly tasks: readonly DecidedTask[];
  /** Flag the order for HQ with this reason (and say so in a `payment.flagged` event). */
  readonly flag?: string;
  /** A history note that changes no state (a contradiction the channel reported). */
  readonly note?: { readonly cause: string; readonly data: unknown };
  /** The report contradicts the order: committed (note, flag) and then refused to the caller. */
  readonly refuse?: string;
  /** The channel reversed a paid order: book a succeeded refund of the remainder. */
  readonly reverseRemainder?: number;
  /** Tell the checkout an order under it was paid (after the commit). */
  readonly paid?: boolean;
}

export interface DecideContext {
  readonly cause: string;
  readonly now: Date;
  /** When the order is still open afterwards, ask the channel again after this (unscaled ms). */
  readonly syncAfterMs?: number;
  /** The order's checkout was already paid by another of its orders (a second wallet paid too). */
  readonly paidElsewhere?: boolean;
}

/** The refund of a payment the shop did not take: one per order, at once. */
const autoRefund = (orderId: string, reason: string): DecidedTask => ({
  kind: AUTO_REFUND_TASK,
  payload: { orderId, reason },
  dedupeKey: `auto-refund:${orderId}`,
  delayMs: 0,
});

const NOTHING: Omit<Decision, 'cause'> = { to: [], data: null, patch: {}, events: [], tasks: [] };

/** True when committing the decision would write nothing. */
export function isEmpty(d: Decision): boolean {
  return (
    d.to.length === 0 &&
    Object.keys(d.patch).length === 0 &&
    d.events.length === 0 &&
    d.tasks.length === 0 &&
    !d.flag &&
    !d.note &&
    !d.reverseRemainder
  );
}

export function decide(order: Order, outcome: ChannelOutcome, ctx: DecideContext): Decision {
  const d = decideState(order, outcome, ctx);
  const finalStatus = d.to.length ? d.to[d.to.length - 1]! : order.status;
  if (ctx.syncAfterMs !== undefined && isOpen(finalStatus) && !d.refuse) {
    return { ...d, tasks: [...d.tasks, syncTask(order.id, ctx.syncAfterMs)] };
  }
  return d;
}

export function syncTask(orderId: string, delayMs: number): DecidedTask {
  return { kind: SYNC_TASK, payload: { orderId }, dedupeKey: `${SYNC_TASK}:${orderId}`, delayMs, earlier: true };
}

function decideState(order: Order, outcome: ChannelOutcome, { cause, now, paidElsewhere }: DecideContext): Decision {
  const status = order.status;
  const raw = 'raw' in outcome ? outcome.raw : undefined;
  switch (outcome.state) {
    case 'pending':
    case 'unknown': {
      const patch: Partial<Order> = {};
      // Stryker disable next-line ConditionalExpression: an unknown outcome carries none of the fields read below
      if (outcome.state === 'pending') {
        if (outcome.qrCode && !order.qr_code) patch.qr_code = outcome.qrCode;
        if (outcome.redirectUrl && !order.redirect_url) patch.redirect_url = outcome.redirectUrl;
        if (outcome.channelTradeNo && !order.channel_trade_no) patch.channel_trade_no = outcome.channelTradeNo;
        // What the payer's wallet needs to pay (JSAPI parameters), kept for replays of the request.
        if (outcome.jsapiParams && !order.pay_params) patch.pay_params = JSON.stringify({ jsapi: outcome.jsapiParams });
      }
      if (status === 'created') {
        return {
          ...NOTHING,
          to: ['pending'],
          patch,
          cause: outcome.state === 'unknown' ? `${cause}:unknown` : cause,
          data: raw ?? (outcome.state === 'unknown' ? { reason: outcome.reason } : null),
        };
      }
      return { ...NOTHING, cause, patch };
    }
    case 'paid': {
      if (
        outcome.amount &&
        (outcome.amount.minor !== order.amount_minor || outcome.amount.currency !== order.currency)
      ) {
        // Never a silent success: the money differs from what was asked.
        return {
          ...NOTHING,
          cause,
          events: ['payment.flagged'],
          note: { cause: 'amount_mismatch', data: { reported: outcome.amount, raw } },
          flag: `The channel reported ${outcome.amount.currency} ${outcome.amount.minor} paid for an order of ${order.currency} ${order.amount_minor}`,
          refuse: 'The paid amount does not match the order',
        };
      }
      if (
        order.cny_quote_minor !== null &&
        outcome.charged &&
        (outcome.charged.currency !== 'CNY' || outcome.charged.minor !== order.cny_quote_minor)
      ) {
        // A quoted (bank) payment: the CNY paid must be the CNY asked, to the fen.
        return {
          ...NOTHING,
          cause,
          events: ['payment.flagged'],
          note: { cause: 'amount_mismatch', data: { reported: outcome.charged, quoted: order.cny_quote_minor, raw } },
          flag: `The channel reported ${outcome.charged.currency} ${outcome.charged.minor} paid where CNY ${order.cny_quote_minor} was quoted`,
          refuse: 'The paid CNY amount does not match the quote',
        };
      }
      if (isPaidFamily(status)) return { ...NOTHING, cause }; // a duplicate report
      const patch: Partial<Order> = {
        channel_trade_no: outcome.channelTradeNo,
        paid_at: now.toISOString(),
        channel_paid_at: outcome.paidAt ? outcome.paidAt.toISOString() : null,
      };
      if (outcome.charged) patch.cny_charged_minor = outcome.charged.minor;
      if (outcome.rate) patch.rate = outcome.rate;
      const toPaid: PaymentStatus[] = status === 'created' ? ['pending', 'paid'] : ['paid'];
      // A payment the shop does not take is kept, given back automatically and told to HQ,
      // all in the commit that books it; announced as flagged, never as paid, so a merchant
      // (or a counter) that hands over the goods on payment.paid does not do so for money
      // that is going back.
      const keepAndRefund = (why: string, flag: string, reason: string): Decision => ({
        ...NOTHING,
        to: toPaid,
        cause: `${cause}:${why}`,
        data: raw ?? null,
        patch,
        events: ['payment.flagged'],
        flag,
        tasks: [autoRefund(order.id, reason)],
      });
      if ((status === 'created' || status === 'pending') && paidElsewhere) {
        // A second wallet paid a checkout another already settled.
        return keepAndRefund(
          'paid_elsewhere',
          'A second wallet paid a checkout that was already paid; refunded automatically',
          'checkout already paid',
        );
      }
      if (status === 'created' || status === 'pending') {
        return {
          ...NOTHING,
          to: toPaid,
          cause,
          data: raw ?? null,
          patch,
          events: ['payment.paid'],
          paid: true,
        };
      }
      if (status === 'closed') {
        // Paid after we closed it (cancelled, expired, another wallet won).
        return keepAndRefund(
          'late_payment',
          'Paid after the order was closed; refunded automatically',
          'paid after close',
        );
      }
      // reversed or failed, yet the channel says paid: no state can hold this, so a person
      // must look (the money is with the channel, never lost from sight).
      return {
        ...NOTHING,
        cause,
        events: ['payment.flagged'],
        note: { cause: 'paid_after_final', data: { raw } },
        flag: `The channel reported a payment for a ${status} order`,
      };
    }
    case 'closed':
    case 'reversed':
    case 'failed': {
      const data = raw ?? { reason: outcome.reason };
      if (status === 'created') {
        if (outcome.state === 'failed') return { ...NOTHING, to: ['failed'], cause, data, events: ['payment.failed'] };
        return { ...NOTHING, to: ['pending', outcome.state], cause, data, events: [`payment.${outcome.state}`] };
      }
      if (outcome.state === 'reversed' && (status === 'paid' || status === 'partially_refunded')) {
        // A close that raced a payment: the channel reversed a paid trade, so the customer has
        // the money back. That is a refund of what remained, not a state of its own.
        const remainder = order.amount_minor - order.refunded_minor;
        return {
          ...NOTHING,
          cause: `${cause}:reversed_after_paid`,
          data,
          ...(remainder > 0 ? { reverseRemainder: remainder } : {}),
          ...(order.flagged
            ? {}
            : {
                flag: 'Reversed by the channel after it was paid (a close raced the payment); the customer was refunded',
                events: ['payment.flagged'],
              }),
        };
      }
      if (status !== 'pending') return { ...NOTHING, cause };
      return { ...NOTHING, to: [outcome.state], cause, data, events: [`payment.${outcome.state}`] };
    }
  }
}
