import { KauriError } from '../../protocol/errors.js';
import { newId } from '../../protocol/ids.js';
import { money } from '../../protocol/money.js';
import {
  CHANNEL_MODES,
  PHONE_BROWSER_MODES,
  PRESENTED_CODE_MODES,
  channelOfPaymentCode,
  type ChannelName,
  type PaymentMode,
} from '../../protocol/payments.js';
import { nowIso } from '../store/db.js';
import { isUniqueViolation, type Order } from '../store/orders-repo.js';
import type { Channel, ChannelAccount, ChannelOutcome } from '../channels/channel.js';
import type { RecordedMessage } from './recorder.js';
import { applyOutcome } from './apply.js';
import { syncTask } from './decide.js';
import { assertWithinMaxPayment } from './limits.js';
import { ask, channelContext, channelOf, hashRequest, presentedPolicy, type FlowContext } from './flow.js';

// Creating a payment: checks, one transaction for the order (with its history and a
// safety-net sync task), the channel call outside any transaction, and one more
// transaction for what the channel answered (with the raw request and answer).

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
  /** Milliseconds until an unpaid order is closed (default 15 minutes; presented codes settle sooner). */
  expiresInMs?: number;
}

const DEFAULT_EXPIRY_MS = 15 * 60_000;
// Longer than any channel call may take: a query while the create is still in flight could
// be answered "no such order" and close an order the customer is about to pay. The answer
// to the create brings the sync forward.
const SAFETY_NET_SYNC_MS = 60_000;

/** The entry point of every payment (merchant API, checkouts, terminals): checks first, then creates. */
export async function createPayment(
  flow: FlowContext,
  merchantId: string,
  input: CreatePaymentInput,
  ctx: CreateContext = {},
): Promise<{ order: Order; created: boolean }> {
  const { deps, writer } = flow;
  const channel = channelOf(deps, input.channel);
  if (!CHANNEL_MODES[input.channel].includes(input.mode) || !channel.modes.includes(input.mode)) {
    throw new KauriError(
      'mode_not_supported',
      `The ${input.channel} channel does not offer mode "${input.mode}" (it offers ${CHANNEL_MODES[input.channel].join(', ')})`,
    );
  }
  const amount = money(input.amount_minor, input.currency);
  if (amount.minor <= 0) throw new KauriError('invalid_amount');
  const presented = PRESENTED_CODE_MODES.includes(input.mode);
  if (presented) {
    if (!input.auth_code)
      throw new KauriError('invalid_request', `Mode ${input.mode} needs the customer's payment code (auth_code)`);
    if (channelOfPaymentCode(input.auth_code) !== input.channel) {
      throw new KauriError('auth_code_invalid', `That code is not a ${input.channel} payment code`);
    }
  }
  if (input.mode === 'jsapi' && !input.openid)
    throw new KauriError('invalid_request', "Mode jsapi needs the payer's openid");
  const account = await deps.accounts.activeChannelAccount(merchantId, input.channel);
  if (!account) throw new KauriError('channel_not_configured', `This merchant has no ${input.channel} account`);
  if (account.disabledAt)
    throw new KauriError(
      'channel_account_disabled',
      `This merchant's ${input.channel} account is turned off (since ${account.disabledAt})`,
    );
  channel.validateCreate?.(account, { mode: input.mode, amount });
  // Also refuses a merchant HQ turned off (merchant_disabled).
  await assertWithinMaxPayment(deps.accounts, merchantId, amount);

  const requestHash = hashRequest({ ...input, storeId: ctx.storeId ?? null, checkoutId: ctx.checkoutId ?? null });
  const hooks = flow.hooks();
  // A replay (the same out_trade_no again) is found by the order's unique key when it is
  // inserted, and answered from the order found then: no read before every new payment.
  // Only a payment that takes a quote first looks before, so a replay never asks for one.
  const quoted = !!hooks.quoteFor && (hooks.quotedChannels?.includes(input.channel) ?? true);
  if (quoted) {
    const existing = await deps.orders.byOutTradeNo(merchantId, input.out_trade_no);
    if (existing) return { order: sameRequest(existing, requestHash), created: false };
  }
  const quote =
    quoted && hooks.quoteFor
      ? await hooks.quoteFor({ merchantId, channel: input.channel, amount, quoteId: input.quote_id })
      : undefined;
  const now = deps.clock.now();
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
    flagged: false,
    flag_reason: null,
    expires_at: nowIso(expiresAt),
    created_at: nowIso(now),
    updated_at: nowIso(now),
    paid_at: null,
    channel_paid_at: null,
    version: 0,
  };
  try {
    // The order and the task that will find out what became of it commit together: an order
    // the channel may have taken is never left without someone to ask.
    await writer.insertOrder(order, 'api_create', [{ ...syncTask(id, SAFETY_NET_SYNC_MS), earlier: false }]);
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    // The same out_trade_no exists (a replay, or a race with one): answer as a replay.
    const existing = await deps.orders.byOutTradeNo(merchantId, input.out_trade_no);
    if (!existing) throw err; // another unique key (the bridge's own ids): not a replay
    return { order: sameRequest(existing, requestHash), created: false };
  }
  writer.crash('create:inserted');

  const messages: RecordedMessage[] = [];
  const cctx = channelContext(deps, account, id, messages);
  // We cannot know whether the channel took the order when the call fails: it is unknown, and
  // the sync task asks (and closes or reverses it), so nothing is charged without our knowing.
  const outcome: ChannelOutcome = await ask(
    () =>
      channel.create(cctx, {
        orderId: id,
        channelOrderNo: order.channel_order_no,
        mode: input.mode,
        amount,
        payAmount: quote?.pay,
        description: input.description ?? 'Kauri payment',
        authCode: input.auth_code,
        openid: input.openid,
        clientIp: ctx.clientIp,
        // The wallet sends a phone's browser back to the bridge's return page, which asks the
        // channel before it says anything and links on to the merchant's return_url.
        returnUrl: PHONE_BROWSER_MODES.includes(input.mode) ? returnPageUrl(deps.publicBaseUrl, id) : input.return_url,
        expiresAt,
        createdAt: now,
      }),
    (reason) => {
      deps.log.warn({ reason, order: id }, 'channel create failed; the order will be queried');
      return { state: 'unknown', reason };
    },
  );
  writer.crash('create:answered');
  const settled = await applyOutcome(flow, order.id, outcome, 'channel_create', {
    messages,
    known: order,
    syncAfterMs: presented ? presentedPolicy(channel, account).pollEveryMs : 5000,
  });
  await hooks.onCreated?.(settled, outcome);
  if ((settled.status === 'pending' || settled.status === 'created') && outcome.state === 'unknown' && !presented) {
    throw new KauriError(
      'channel_unavailable',
      `The ${input.channel} channel did not answer: ${outcome.reason}. The payment ${input.out_trade_no} is pending and will be closed if it was not created.`,
    );
  }
  return { order: settled, created: true };
}

/** The bridge's return page for one of its payments (the landing pages serve it). */
export function returnPageUrl(publicBaseUrl: string, orderId: string): string {
  return new URL(`/r/${encodeURIComponent(orderId)}`, publicBaseUrl).toString();
}

export function sameRequest(existing: Order, requestHash: string): Order {
  if (existing.request_hash !== requestHash) {
    throw new KauriError(
      'idempotency_conflict',
      `out_trade_no "${existing.out_trade_no}" was already used for a different payment`,
    );
  }
  return existing;
}

function channelOrderNo(channel: Channel, id: string, at: Date, account: ChannelAccount): string {
  // The bridge's own number, unique across merchants; a channel may need its own shape.
  return channel.orderNumber ? channel.orderNumber(id, at, account) : id.replace(/^pay_/, 'K');
}
