import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../../protocol/clock.js';
import { KauriError } from '../../protocol/errors.js';
import { money, type Money } from '../../protocol/money.js';
import type { ChannelName, PaymentMode } from '../../protocol/payments.js';
import type { AccountsRepo } from '../store/accounts.js';
import type { Order, OrdersRepo } from '../store/orders-repo.js';
import type { EventLog } from '../events/event-log.js';
import type { Scheduler } from '../jobs/scheduler.js';
import type {
  Channel,
  ChannelAccount,
  ChannelContext,
  ChannelOutcome,
  ChannelRegistry,
  OrderRef,
} from '../channels/channel.js';
import type { MessageRecorder, RecordedMessage } from './recorder.js';
import type { CrashHook, TransitionWriter } from './commit.js';

// What every order flow (create, apply, refunds, sync, notify) shares.

export interface PaymentDeps {
  accounts: AccountsRepo;
  orders: OrdersRepo;
  events: EventLog;
  scheduler: Scheduler;
  channels: ChannelRegistry;
  recorder: MessageRecorder;
  clock: Clock;
  log: Logger;
  publicBaseUrl: string;
  /** Fails at a named point between writes (crash-window tests). */
  crash?: CrashHook;
}

/**
 * Hooks through which the FX service (bank quotes) and checkouts join the payment flows, so
 * orders/ does not import them.
 */
export interface PaymentHooks {
  /** Turns the order's price into what the customer pays, when the channel needs another currency. */
  quoteFor?(input: { merchantId: string; channel: ChannelName; amount: Money; quoteId?: string }): Promise<
    | {
        quoteId: string;
        pay: Money;
        rate: string;
        rateTime: string;
      }
    | undefined
  >;
  /**
   * The channels whose payments quoteFor converts (it answers undefined for the others).
   * Unset: every channel may be quoted.
   */
  quotedChannels?: readonly ChannelName[];
  /** Called once an order under a checkout is paid (to close the siblings). */
  onPaid?(order: Order): Promise<void>;
  /**
   * Whether another order already settled this open order's checkout: asked before a paid
   * report is decided, so a second wallet's payment is booked as one to refund (one commit,
   * never announced as paid) rather than as the sale's.
   */
  paidElsewhere?(order: Order): Promise<boolean>;
  /** Called once a channel answered a create: checkouts keep what the payer's browser needs (JSAPI parameters, a page). */
  onCreated?(order: Order, outcome: ChannelOutcome): Promise<void>;
}

export interface FlowContext {
  readonly deps: PaymentDeps;
  readonly writer: TransitionWriter;
  hooks(): PaymentHooks;
}

/** A channel call's context whose raw messages are kept in `buffer`, to be written with the outcome. */
export function channelContext(
  deps: PaymentDeps,
  account: ChannelAccount,
  orderId?: string,
  buffer?: RecordedMessage[],
): ChannelContext {
  const { recorder, clock, log, publicBaseUrl } = deps;
  return {
    account,
    clock,
    log: log.child({ channel: account.channel, account: account.id }),
    notifyUrl: new URL(`/notify/${account.channel}/${account.id}`, publicBaseUrl).toString(),
    publicBaseUrl,
    record: async (m) => {
      const message: RecordedMessage = {
        channel: account.channel,
        accountId: account.id,
        ...m,
        orderId: m.orderId ?? orderId,
        at: clock.now(),
      };
      if (buffer) buffer.push(message);
      else await recorder.record(message);
    },
  };
}

export function channelOf(deps: PaymentDeps, name: ChannelName): Channel {
  const c = deps.channels.get(name);
  if (!c) throw new KauriError('channel_unavailable', `The ${name} channel is not available on this bridge yet`);
  return c;
}

export async function channelFor(
  deps: PaymentDeps,
  order: Order,
  buffer?: RecordedMessage[],
): Promise<{ channel: Channel; ctx: ChannelContext; ref: OrderRef; account: ChannelAccount }> {
  const channel = channelOf(deps, order.channel as ChannelName);
  const account = await deps.accounts.getChannelAccount(order.channel_account_id);
  if (!account) throw new KauriError('channel_not_configured', 'The channel account of this payment is gone');
  return { channel, account, ctx: channelContext(deps, account, order.id, buffer), ref: orderRef(order) };
}

/** A channel call whose failure is an answer: we cannot know, so it is `unknown` and asked again. */
export async function ask<T>(call: () => Promise<T>, unknown: (reason: string) => T): Promise<T> {
  try {
    return await call();
  } catch (err) {
    return unknown((err as Error).message);
  }
}

export function orderRef(order: Order): OrderRef {
  return {
    orderId: order.id,
    channelOrderNo: order.channel_order_no,
    channelTradeNo: order.channel_trade_no,
    mode: order.mode as PaymentMode,
    amount: money(order.amount_minor, order.currency),
    payAmount:
      order.cny_charged_minor !== null
        ? money(order.cny_charged_minor, 'CNY')
        : order.cny_quote_minor !== null
          ? money(order.cny_quote_minor, 'CNY')
          : undefined,
    createdAt: new Date(order.created_at),
  };
}

export function presentedPolicy(
  channel: Channel,
  account: ChannelAccount,
): { pollEveryMs: number; giveUpAfterMs: number } {
  return (
    channel.presentedCodePolicyFor?.(account) ??
    channel.presentedCodePolicy ?? { pollEveryMs: 5000, giveUpAfterMs: 40_000 }
  );
}

export function hashRequest(value: Record<string, unknown>): string {
  const canonical = JSON.stringify(
    Object.keys(value)
      .sort()
      .map((k) => [k, value[k] ?? null]),
  );
  return createHash('sha256').update(canonical).digest('hex');
}
