import { KauriError } from '../../protocol/errors.js';
import { PRESENTED_CODE_MODES, type PaymentMode } from '../../protocol/payments.js';
import type { Order } from '../store/orders-repo.js';
import type { ChannelOutcome } from '../channels/channel.js';
import type { RecordedMessage } from './recorder.js';
import { applyOutcome } from './apply.js';
import { REFUND_TASK, syncTask } from './decide.js';
import { ask, channelFor, presentedPolicy, type FlowContext } from './flow.js';
import { isOpen } from './state-machine.js';
import type { AuditEntry } from '../hq/audit.js';

// Finding out what became of open orders: closing, polling and the sweep.

const unknown = (reason: string): ChannelOutcome => ({ state: 'unknown', reason });

/** Closes an unpaid order at the channel (or reverses a presented-code one). */
export async function closeOrder(flow: FlowContext, order: Order, cause: string, audit?: AuditEntry): Promise<Order> {
  if (!isOpen(order.status)) {
    if (order.status === 'closed' || order.status === 'reversed' || order.status === 'failed') return order;
    throw new KauriError('order_not_closable', `The payment is ${order.status} and cannot be closed`);
  }
  const messages: RecordedMessage[] = [];
  const { channel, ctx, ref } = await channelFor(flow.deps, order, messages);
  const outcome = await ask(() => channel.close(ctx, ref), unknown);
  const after = await applyOutcome(flow, order.id, outcome, cause, { messages, syncAfterMs: 5000, audit });
  if (isOpen(after.status)) {
    throw new KauriError(
      'channel_unavailable',
      `The channel could not close the payment yet (${outcome.state === 'unknown' ? outcome.reason : outcome.state}); it will be retried`,
    );
  }
  return after;
}

/**
 * Asks the channel now about an open order (a customer back on the return page) and applies
 * what it says; an order already settled is answered as it is, without a call.
 */
export async function checkOrder(
  flow: FlowContext,
  orderId: string,
): Promise<{ order: Order; outcome?: ChannelOutcome } | undefined> {
  const order = await flow.deps.orders.byId(orderId);
  if (!order || !isOpen(order.status)) return order ? { order } : undefined;
  const messages: RecordedMessage[] = [];
  const { channel, ctx, ref } = await channelFor(flow.deps, order, messages);
  const outcome = await ask(() => channel.query(ctx, ref), unknown);
  return { order: await applyOutcome(flow, order.id, outcome, 'channel_query', { messages }), outcome };
}

/**
 * Asks the channel about an open order. Presented codes are polled quickly and reversed
 * when they do not resolve in time; QR and web orders are polled on a backoff and closed
 * at expiry.
 */
export async function syncOrder(flow: FlowContext, orderId: string): Promise<{ again?: number } | void> {
  const { deps } = flow;
  const order = await deps.orders.byId(orderId);
  if (!order || !isOpen(order.status)) return;
  let messages: RecordedMessage[] = [];
  const { channel, ctx, ref, account } = await channelFor(deps, order, messages);
  const presented = PRESENTED_CODE_MODES.includes(order.mode as PaymentMode);
  let outcome = await ask(() => channel.query(ctx, ref), unknown);
  let after = await applyOutcome(flow, order.id, outcome, 'channel_query', { messages });
  if (!isOpen(after.status)) return;
  const ageMs = deps.clock.now().getTime() - Date.parse(order.created_at);
  const policy = presentedPolicy(channel, account);
  const deadlineMs = presented
    ? deps.clock.duration(policy.giveUpAfterMs)
    : Date.parse(order.expires_at ?? order.created_at) - Date.parse(order.created_at);
  if (ageMs >= deadlineMs) {
    messages = [];
    const closing = await channelFor(deps, order, messages);
    outcome = await ask(() => channel.close(closing.ctx, ref), unknown);
    after = await applyOutcome(flow, order.id, outcome, presented ? 'timeout_reverse' : 'expired_close', { messages });
    if (!isOpen(after.status)) return;
    return { again: 5000 };
  }
  if (presented) return { again: policy.pollEveryMs };
  // Backoff for QR/web orders: quick while the customer is likely at the counter.
  const unscaledAge = ageMs * (5000 / deps.clock.duration(5000));
  return { again: unscaledAge < 60_000 ? 5000 : unscaledAge < 600_000 ? 15_000 : 60_000 };
}

/**
 * A last net under the write path: every open order and processing refund has its task
 * (they commit together), so this finds only work whose task died after its last attempt.
 */
export async function sweep(flow: FlowContext): Promise<void> {
  const { deps, writer } = flow;
  const orders = await deps.orders.openOrders(500);
  const refunds = await deps.orders.processingRefunds(500);
  if (!orders.length && !refunds.length) return;
  await writer.transaction(async (trx, wake) => {
    await writer.enqueueIn(
      trx,
      wake,
      orders.map((o) => ({ ...syncTask(o.id, 0), earlier: false })),
    );
    // A refund whose call is in flight is left to its sender: the refund task re-checks it only
    // once the send has ended (or its lease ran out), never while the channel may be answering.
    await writer.enqueueIn(
      trx,
      wake,
      refunds.map((r) => ({
        kind: REFUND_TASK,
        payload: { refundId: r.id },
        dedupeKey: `${REFUND_TASK}:${r.id}`,
        delayMs: 0,
      })),
    );
  });
}
