import { createHash } from 'node:crypto';
import { KauriError } from '../../protocol/errors.js';
import type { ChannelName } from '../../protocol/payments.js';
import { NotifyRejectedError, type HttpReply, type RawHttpRequest, type VerifiedNotify } from '../channels/channel.js';
import type { RecordedMessage } from './recorder.js';
import { applyOutcome } from './apply.js';
import { channelContext, type FlowContext } from './flow.js';
import { applyRefundOutcome } from './refunds.js';

// A channel's notify: verified by the channel, applied here, answered as the channel expects.
// Nothing of a notify is stored before its signature verifies (anyone can post to a notify
// URL, and its account id is public): an unverified body is counted and logged in short.

/** How a notify ended, for the metrics. */
export type NotifyResult = 'applied' | 'refused' | 'unverified' | 'unknown_account' | 'failed';

export async function handleNotify(
  flow: FlowContext,
  channelName: string,
  accountId: string,
  req: RawHttpRequest,
): Promise<HttpReply & { result: NotifyResult }> {
  const { deps, writer } = flow;
  const log = deps.log.child({ notify: channelName, account: accountId });
  const channel = deps.channels.get(channelName as ChannelName);
  const account = channel ? await deps.accounts.getChannelAccount(accountId) : undefined;
  if (!channel || !account || account.channel !== channelName) {
    log.warn({ bytes: req.body.length }, 'notify for an unknown channel account');
    return { status: 404, contentType: 'text/plain', body: 'unknown channel account', result: 'unknown_account' };
  }
  const endpoint = `/notify/${channelName}`;
  // Messages the channel writes while verifying are kept only if the notify verifies.
  const verifying: RecordedMessage[] = [];
  let verified: VerifiedNotify;
  try {
    verified = await channel.verifyNotify(channelContext(deps, account, undefined, verifying), req);
  } catch (err) {
    if (err instanceof NotifyRejectedError) {
      log.warn(
        {
          reason: err.reason,
          bytes: req.body.length,
          sha256: createHash('sha256').update(req.body).digest('hex').slice(0, 16),
        },
        'notify rejected (not recorded)',
      );
      return { ...err.reply, result: 'unverified' };
    }
    throw err;
  }
  const received: RecordedMessage = {
    channel: account.channel,
    accountId: account.id,
    direction: 'notify',
    endpoint,
    body: req.body.toString('utf8'),
    at: deps.clock.now(),
  };
  const reply = async (r: HttpReply, result: NotifyResult) => {
    await deps.recorder.record({
      channel: account.channel,
      accountId: account.id,
      direction: 'reply',
      endpoint,
      body: r.body,
      httpStatus: r.status,
    });
    return { ...r, result };
  };
  for (const r of verified.rejected ?? [])
    log.warn({ order: r.channelOrderNo, reason: r.reason }, 'notify item rejected');
  // The verified body is written with the first change it causes (or alone, if it causes none).
  let pending: RecordedMessage[] = [{ ...received }, ...verifying];
  const take = (orderId?: string) => {
    const out = pending.map((m) => ({ ...m, orderId: m.orderId ?? orderId ?? null }));
    pending = [];
    return out;
  };
  try {
    let applied = 0;
    let refused = 0;
    for (const item of verified.outcomes) {
      const order = await deps.orders.byChannelOrderNo(item.channelOrderNo);
      if (!order || order.channel_account_id !== account.id) {
        // Signed by the channel but not ours: retrying would not change that.
        log.warn({ order: item.channelOrderNo }, 'notify for an order this account does not have');
        continue;
      }
      try {
        await applyOutcome(flow, order.id, item.outcome, 'channel_notify', { messages: take(order.id) });
        applied++;
      } catch (err) {
        // A report that contradicts the order (another amount, another CNY sum) was flagged
        // and noted; anything else is ours to retry.
        if (!(err instanceof KauriError && err.code === 'channel_error')) throw err;
        log.warn({ order: item.channelOrderNo, reason: err.message }, 'notify item refused');
        refused++;
      }
    }
    for (const item of verified.refunds ?? []) {
      const refund = await deps.orders.refundByChannelRefundNo(item.channelRefundNo);
      const order = refund ? await deps.orders.byId(refund.order_id) : undefined;
      if (!refund || !order || order.channel_account_id !== account.id) {
        log.warn({ refund: item.channelRefundNo }, 'refund notify for a refund this account does not have');
        continue;
      }
      await applyRefundOutcome(flow, refund.id, item.outcome, take(order.id));
      applied++;
    }
    if (pending.length) await writer.transaction((trx) => writer.recordIn(trx, take()));
    // A batch acknowledges what it applied (the refused items are flagged for HQ, and
    // resending them would change nothing); a notify with nothing applied is refused, so
    // the channel sees a FAIL for a mismatched report.
    if (refused > 0 && applied === 0) return reply(verified.nack, 'refused');
  } catch (err) {
    log.error({ err }, 'applying a notify failed; the channel will retry');
    return { ...verified.nack, result: 'failed' };
  }
  return reply(verified.ack, 'applied');
}
