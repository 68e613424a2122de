import { KauriError } from '../../protocol/errors.js';
import type { Order } from '../store/orders-repo.js';
import type { ChannelOutcome } from '../channels/channel.js';
import type { RecordedMessage } from './recorder.js';
import { decide, isEmpty } from './decide.js';
import { isOpen } from './state-machine.js';
import type { FlowContext } from './flow.js';
import type { AuditEntry } from '../hq/audit.js';

export interface ApplyOptions {
  /** The raw channel messages the outcome was read from: written in the same transaction. */
  messages?: readonly RecordedMessage[];
  /** When the order stays open, ask the channel again after this (unscaled ms). */
  syncAfterMs?: number;
  /**
   * The order as the caller itself committed it, to decide from without reading it again
   * (its version still guards the commit: if it moved meanwhile, the order is read afresh).
   */
  known?: Order;
  /**
   * The back office's entry of who asked for this (a close): committed with the change when
   * the order's state changes, its details given the state it ended in. Nothing changed, no entry.
   */
  audit?: AuditEntry;
}

/**
 * Applies what a channel said about an order, exactly once: load, decide, commit. Duplicate
 * and concurrent reports race on the order's version; the loser reads again and decides again
 * (and usually finds nothing left to do).
 */
export async function applyOutcome(
  flow: FlowContext,
  orderId: string,
  outcome: ChannelOutcome,
  cause: string,
  options: ApplyOptions = {},
): Promise<Order> {
  const { orders, clock } = flow.deps;
  const messages = options.messages ?? [];
  for (let attempt = 0; attempt < 25; attempt++) {
    const order = attempt === 0 && options.known?.id === orderId ? options.known : await orders.byId(orderId);
    if (!order) throw new KauriError('order_not_found');
    const paidElsewhere =
      outcome.state === 'paid' && order.checkout_id !== null && isOpen(order.status)
        ? ((await flow.hooks().paidElsewhere?.(order)) ?? false)
        : false;
    const decision = decide(order, outcome, {
      cause,
      now: clock.now(),
      syncAfterMs: options.syncAfterMs,
      paidElsewhere,
    });
    let after: Order | undefined;
    if (isEmpty(decision)) {
      if (messages.length) await flow.writer.transaction((trx) => flow.writer.recordIn(trx, messages));
      after = order;
    } else {
      const a = options.audit && decision.to.length > 0 ? options.audit : undefined;
      after = await flow.writer.commit(
        order,
        decision,
        messages,
        a && { ...a, details: { ...a.details, status: decision.to[decision.to.length - 1] } },
      );
      if (!after) continue; // someone else moved the order first
    }
    flow.writer.crash('apply:committed');
    if (decision.refuse) throw new KauriError('channel_error', decision.refuse);
    if (decision.paid) await flow.hooks().onPaid?.(after);
    return after;
  }
  throw new KauriError('internal', 'The payment kept changing while being updated');
}
