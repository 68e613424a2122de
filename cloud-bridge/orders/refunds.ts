import type { Transaction } from 'kysely';
import { KauriError } from '../../protocol/errors.js';
import { newId } from '../../protocol/ids.js';
import { money } from '../../protocol/money.js';
import { nowIso } from '../store/db.js';
import type { Database } from '../store/schema.js';
import { isUniqueViolation, RetryRefund, type Order, type Refund } from '../store/orders-repo.js';
import type { OrderRef, RefundOutcome, RefundRequest } from '../channels/channel.js';
import type { RecordedMessage } from './recorder.js';
import type { Wakeups } from './commit.js';
import { REFUND_TASK, type DecidedTask } from './decide.js';
import { ask, channelFor, hashRequest, type FlowContext } from './flow.js';
import { auditInsert, type AuditEntry } from '../hq/audit.js';
import { refundedBefore } from './earlier-refunds.js';

// Refunds, sent exactly once. A send is a lease committed before the channel call (with the
// task that checks on it): while it runs no one else sends or re-checks the refund. What the
// channel answers is applied in one transaction with its raw messages. A channel without a
// refund key (the bank) is asked before any re-send, and sent again only what its refund list
// still lacks well after the last send.

export interface RefundInput {
  out_refund_no: string;
  amount_minor: number;
  reason?: string;
}

/** Longer than any channel call may take (calls time out well before). */
const SENDING_LEASE_MS = 120_000;
const RECHECK_MS = 30_000;

const unknown = (reason: string): RefundOutcome => ({ state: 'unknown', reason });

function recheck(refundId: string, delayMs: number, earlier = true): DecidedTask {
  return { kind: REFUND_TASK, payload: { refundId }, dedupeKey: `${REFUND_TASK}:${refundId}`, delayMs, earlier };
}

export async function refund(
  flow: FlowContext,
  merchantId: string,
  outTradeNo: string,
  input: RefundInput,
  options: {
    automatic?: boolean;
    cause?: string;
    /**
     * The back office's entry of who asked for it: committed with the refund's creation (its
     * details get the refund's id), before the channel is called. A repeated request that finds
     * the refund made writes none.
     */
    audit?: AuditEntry;
    /**
     * The back-office user asking, and the most that user may refund of one payment in all
     * (null: no limit). Checked in the transaction that reserves the refund, against the
     * user's earlier refunds of the payment that have not failed, so parts under the limit
     * add up to no more than one refund may.
     */
    requester?: { userId: string; limitMinor: number | null };
  } = {},
): Promise<{ refund: Refund; order: Order }> {
  const { deps, writer } = flow;
  if (!Number.isSafeInteger(input.amount_minor) || input.amount_minor <= 0) throw new KauriError('invalid_amount');
  const requestHash = hashRequest({ out_trade_no: outTradeNo, ...input });
  for (let attempt = 0; attempt < 20; attempt++) {
    const order = await deps.orders.byOutTradeNo(merchantId, outTradeNo);
    if (!order) throw new KauriError('order_not_found', `No payment "${outTradeNo}"`);
    const existing = await deps.orders.refundByOutRefundNo(merchantId, input.out_refund_no);
    if (existing) {
      if (existing.request_hash !== requestHash) {
        throw new KauriError(
          'idempotency_conflict',
          `out_refund_no "${input.out_refund_no}" was already used for a different refund`,
        );
      }
      return { refund: existing, order: (await deps.orders.byId(existing.order_id))! };
    }
    const now = deps.clock.now();
    const id = newId('ref');
    const row: Refund = {
      id,
      merchant_id: merchantId,
      order_id: order.id,
      out_refund_no: input.out_refund_no,
      channel_refund_no: id.replace(/^ref_/, 'R'),
      channel_refund_id: null,
      amount_minor: input.amount_minor,
      currency: order.currency,
      status: 'processing',
      reason: input.reason ?? null,
      automatic: options.automatic ? 1 : 0,
      request_hash: requestHash,
      created_at: nowIso(now),
      updated_at: nowIso(now),
      ...sendingLease(flow, now),
      send_attempts: 1,
      requested_by: options.requester?.userId ?? null,
    };
    let reserved: Order | undefined;
    try {
      reserved = await writer.transaction(async (trx, wake) => {
        if (options.requester) await withinLimit(trx, order.id, options.requester, input.amount_minor);
        const after = await deps.orders.reserveRefundIn(trx, order, row, options.cause ?? 'refund_requested');
        // Should this process die during the call, the check runs once the send lease is over.
        if (after) await writer.enqueueIn(trx, wake, [recheck(id, SENDING_LEASE_MS, false)]);
        const a = options.audit;
        if (after && a) await auditInsert(trx, { ...a, details: { ...a.details, refundId: id } }, now).execute();
        return after;
      });
    } catch (err) {
      if (isUniqueViolation(err)) continue; // the same refund, just reserved by a concurrent request
      throw err;
    }
    if (!reserved) continue; // the order moved: check the remainder again
    writer.crash('refund:reserved');
    const sent = await send(flow, row);
    return { refund: sent, order: (await deps.orders.byId(order.id))! };
  }
  throw new KauriError('internal', 'The payment is changing too fast to refund; try again');
}

/** Refuses a refund that takes what this user has refunded of the payment past the user's limit. */
async function withinLimit(
  trx: Transaction<Database>,
  orderId: string,
  requester: { userId: string; limitMinor: number | null },
  amountMinor: number,
): Promise<void> {
  const limit = requester.limitMinor;
  if (limit === null) return;
  const row = await trx
    .selectFrom('refunds')
    .select((eb) => eb.fn.coalesce(eb.fn.sum<number | string>('amount_minor'), eb.lit(0)).as('total'))
    .where('order_id', '=', orderId)
    .where('requested_by', '=', requester.userId)
    .where('status', '!=', 'failed')
    .executeTakeFirstOrThrow();
  const before = Number(row.total);
  if (before + amountMinor > limit)
    throw new KauriError(
      'refund_limit_exceeded',
      before > 0
        ? `with the ${before} minor units you have already refunded of this payment, this refund is above your limit of ${limit}; ask your merchant's admin`
        : `this refund is above your limit of ${limit} minor units; ask your merchant's admin`,
      { details: { limitMinor: limit, refundedByYouMinor: before } },
    );
}

function sendingLease(flow: FlowContext, now: Date): Pick<Refund, 'sending_until' | 'last_sent_at'> {
  return {
    sending_until: nowIso(new Date(now.getTime() + flow.deps.clock.duration(SENDING_LEASE_MS))),
    last_sent_at: nowIso(now),
  };
}

/** What the channel is asked for a refund: with what the order's earlier refunds add up to (`refundedBefore`). */
async function refundRequest(flow: FlowContext, refund: Refund, order: OrderRef): Promise<RefundRequest> {
  const all = await flow.deps.orders.refundsOf(refund.order_id);
  return {
    order,
    channelRefundNo: refund.channel_refund_no,
    amount: money(refund.amount_minor, refund.currency),
    reason: refund.reason ?? undefined,
    refundedBefore: money(refundedBefore(all, refund), refund.currency),
  };
}

/** Sends a refund whose send lease this process holds, and applies the answer. */
async function send(flow: FlowContext, refund: Refund): Promise<Refund> {
  const order = (await flow.deps.orders.byId(refund.order_id))!;
  const messages: RecordedMessage[] = [];
  const { channel, ctx, ref } = await channelFor(flow.deps, order, messages);
  const req = await refundRequest(flow, refund, ref);
  const outcome = await ask(() => channel.refund(ctx, req), unknown);
  flow.writer.crash('refund:answered');
  return applyRefundOutcome(flow, refund.id, outcome, messages, { sendEnded: true });
}

/**
 * Applies a channel's word on a refund in one transaction: the refund's state, the order's
 * state and refunded total, the history row, the event, the raw messages and the next check.
 */
export async function applyRefundOutcome(
  flow: FlowContext,
  refundId: string,
  outcome: RefundOutcome,
  messages: readonly RecordedMessage[],
  options: { sendEnded?: boolean } = {},
): Promise<Refund> {
  const { deps, writer } = flow;
  for (let attempt = 0; attempt < 20; attempt++) {
    const refund = await deps.orders.refundById(refundId);
    if (!refund) throw new KauriError('not_found', 'No such refund');
    const order = (await deps.orders.byId(refund.order_id))!;
    const done = await writer
      .transaction(async (trx, wake) => {
        if (options.sendEnded) await endSend(trx, refund.id);
        if (refund.status === 'processing' && (outcome.state === 'succeeded' || outcome.state === 'failed')) {
          const channelRefundId = outcome.state === 'succeeded' ? (outcome.channelRefundId ?? null) : null;
          const after = await deps.orders.settleRefundIn(
            trx,
            refund,
            order,
            outcome.state,
            channelRefundId,
            'raw' in outcome ? (outcome.raw ?? null) : null,
          );
          writer.crash('refund:settled');
          if (after) await writer.refundEventIn(trx, wake, { ...refund, status: outcome.state }, after);
        } else if (refund.status === 'processing') {
          if (outcome.state === 'processing' && outcome.channelRefundId) {
            await trx
              .updateTable('refunds')
              .set({ channel_refund_id: outcome.channelRefundId })
              .where('id', '=', refund.id)
              .execute();
          }
          // processing, unknown or not listed yet: ask again later.
          await writer.enqueueIn(trx, wake, [recheck(refund.id, 5000)]);
        }
        await writer.recordIn(trx, messages);
        return true;
      })
      .catch((err) => {
        if (err instanceof RetryRefund) return false;
        throw err;
      });
    if (done) {
      writer.crash('refund:committed');
      return (await deps.orders.refundById(refund.id))!;
    }
  }
  throw new KauriError('internal', 'Could not settle the refund; it will be retried');
}

async function endSend(trx: Transaction<Database>, refundId: string): Promise<void> {
  await trx.updateTable('refunds').set({ sending_until: null }).where('id', '=', refundId).execute();
}

/** The refund check: never while a send may be in flight; re-sends only what the channel provably lacks. */
export async function checkRefund(flow: FlowContext, refundId: string): Promise<{ again?: number } | void> {
  const { deps, writer } = flow;
  const refund = await deps.orders.refundById(refundId);
  if (!refund || refund.status !== 'processing') return;
  const now = deps.clock.now();
  if (refund.sending_until && refund.sending_until > nowIso(now)) {
    // A send is in flight (here or on another bridge): its sender applies the answer.
    return { again: RECHECK_MS };
  }
  const order = (await deps.orders.byId(refund.order_id))!;
  const messages: RecordedMessage[] = [];
  const { channel, ctx, ref } = await channelFor(deps, order, messages);
  const req = await refundRequest(flow, refund, ref);
  if (channel.refundListLagMs === undefined) {
    // The channel keys refunds by our number: asking again (or sending again) is safe.
    const outcome = await ask(
      () => (channel.queryRefund ? channel.queryRefund(ctx, req) : channel.refund(ctx, req)),
      unknown,
    );
    const after = await applyRefundOutcome(flow, refund.id, outcome, messages);
    return after.status === 'processing' ? { again: RECHECK_MS } : undefined;
  }
  const outcome = await ask(() => channel.queryRefund!(ctx, req), unknown);
  if (outcome.state !== 'not_found') {
    const after = await applyRefundOutcome(flow, refund.id, outcome, messages);
    return after.status === 'processing' ? { again: RECHECK_MS } : undefined;
  }
  const lastSent = Date.parse(refund.last_sent_at ?? refund.created_at);
  if (now.getTime() - lastSent < deps.clock.duration(channel.refundListLagMs)) {
    // Not listed yet is not proof: the list may lag the send.
    if (messages.length) await writer.transaction((trx) => writer.recordIn(trx, messages));
    return { again: RECHECK_MS };
  }
  // The channel provably lacks it: take the send lease (only one bridge wins it) and send again.
  const lease = sendingLease(flow, now);
  const claimed = await writer.transaction(async (trx) => {
    const r = await trx
      .updateTable('refunds')
      .set((eb) => ({ ...lease, send_attempts: eb('send_attempts', '+', 1), updated_at: nowIso(now) }))
      .where('id', '=', refund.id)
      .where('status', '=', 'processing')
      .where((eb) => eb.or([eb('sending_until', 'is', null), eb('sending_until', '<=', nowIso(now))]))
      .executeTakeFirst();
    await writer.recordIn(trx, messages);
    return Number(r.numUpdatedRows) === 1;
  });
  if (!claimed) return { again: RECHECK_MS };
  deps.log.warn(
    { refund: refund.id, attempts: (refund.send_attempts ?? 1) + 1 },
    'the channel has no record of this refund; sending it again',
  );
  const after = await send(flow, (await deps.orders.refundById(refund.id))!);
  return after.status === 'processing' ? { again: RECHECK_MS } : undefined;
}

/** The automatic refund of a late payment: the whole remainder, under a number fixed by the order. */
export async function autoRefund(flow: FlowContext, orderId: string, reason: string): Promise<void> {
  const order = await flow.deps.orders.byId(orderId);
  if (!order) return;
  const remainder = order.amount_minor - order.refunded_minor;
  if (remainder <= 0) return;
  await refund(
    flow,
    order.merchant_id,
    order.out_trade_no,
    { out_refund_no: `auto-${order.id}`, amount_minor: remainder, reason },
    { automatic: true, cause: 'automatic_refund' },
  );
}

export type { Wakeups };
