import pino from 'pino';
import type { Clock } from '../../protocol/clock.js';
import type { PaymentMode } from '../../protocol/payments.js';
import {
  NotifyRejectedError,
  type Channel,
  type ChannelContext,
  type ChannelOutcome,
  type CreatePaymentRequest,
  type OrderRef,
  type RawHttpRequest,
  type RefundOutcome,
  type RefundRequest,
  type VerifiedNotify,
} from '../channels/channel.js';
import { AccountsRepo } from '../store/accounts.js';
import type { Store } from '../store/db.js';
import { OrdersRepo } from '../store/orders-repo.js';
import { SecretBox } from '../store/secret-box.js';
import { EventLog } from '../events/event-log.js';
import { Scheduler } from '../jobs/scheduler.js';
import { MessageRecorder } from './recorder.js';
import { ChannelRegistry } from '../channels/channel.js';
import { PaymentService } from './payments.js';
import type { CrashPoint } from './commit.js';

// A stand-in for a payment gateway, for the write-path tests that must stop the bridge between
// two writes (a real simulator cannot be stopped there). It keeps the gateway's side of the
// story — orders, refunds, how often each was asked — so a test can show nothing was lost,
// charged twice or refunded twice. Its refund list can lag the refunds it took, like a bank's.

export class TestGateway implements Channel {
  readonly name = 'wechat' as const;
  readonly modes: readonly PaymentMode[] = ['native', 'micropay'];
  readonly orders = new Map<string, { state: 'pending' | 'paid' | 'closed'; amount: number; currency: string }>();
  readonly refunds: Array<{ no: string; amount: number; at: number; id: string }> = [];
  calls = { create: 0, query: 0, close: 0, refund: 0, queryRefund: 0 };
  /** How long a refund takes to show in the refund list. */
  listLagMs = 0;
  /** Set for a gateway without a refund key (a second send is a second refund). */
  refundListLagMs?: number;
  /** While set, refund calls wait on it (a call in flight). */
  hold?: Promise<void>;

  constructor(
    private readonly clock: Clock,
    options: { keyless?: { refundListLagMs: number } } = {},
  ) {
    if (options.keyless) this.refundListLagMs = options.keyless.refundListLagMs;
  }

  pay(channelOrderNo: string): void {
    const o = this.orders.get(channelOrderNo);
    if (!o) throw new Error(`the gateway has no order ${channelOrderNo}`);
    o.state = 'paid';
  }

  refundsOf(channelRefundNo: string): number {
    return this.refunds.filter((r) => r.no === channelRefundNo).length;
  }

  async create(ctx: ChannelContext, req: CreatePaymentRequest): Promise<ChannelOutcome> {
    this.calls.create++;
    await ctx.record({
      direction: 'request',
      endpoint: '/create',
      body: JSON.stringify({ no: req.channelOrderNo, amount: req.amount.minor }),
    });
    this.orders.set(req.channelOrderNo, { state: 'pending', amount: req.amount.minor, currency: req.amount.currency });
    await ctx.record({
      direction: 'response',
      endpoint: '/create',
      body: JSON.stringify({ no: req.channelOrderNo, state: 'pending' }),
    });
    return { state: 'pending', qrCode: `stub://${req.channelOrderNo}` };
  }

  private outcomeOf(ref: OrderRef): ChannelOutcome {
    const o = this.orders.get(ref.channelOrderNo);
    if (!o) return { state: 'closed', reason: 'the gateway has no such order' };
    if (o.state === 'paid') return { state: 'paid', channelTradeNo: `T${ref.channelOrderNo}`, amount: ref.amount };
    if (o.state === 'closed') return { state: 'closed', reason: 'closed' };
    return { state: 'pending' };
  }

  async query(ctx: ChannelContext, ref: OrderRef): Promise<ChannelOutcome> {
    this.calls.query++;
    await ctx.record({ direction: 'response', endpoint: '/query', body: JSON.stringify({ no: ref.channelOrderNo }) });
    return this.outcomeOf(ref);
  }

  async close(ctx: ChannelContext, ref: OrderRef): Promise<ChannelOutcome> {
    this.calls.close++;
    await ctx.record({ direction: 'response', endpoint: '/close', body: JSON.stringify({ no: ref.channelOrderNo }) });
    const o = this.orders.get(ref.channelOrderNo);
    if (o && o.state === 'pending') o.state = 'closed';
    return this.outcomeOf(ref);
  }

  async refund(ctx: ChannelContext, req: RefundRequest): Promise<RefundOutcome> {
    this.calls.refund++;
    await this.hold;
    const known = this.refunds.find((r) => r.no === req.channelRefundNo);
    if (known && this.refundListLagMs === undefined) return { state: 'succeeded', channelRefundId: known.id };
    const id = `RF${this.refunds.length + 1}`;
    this.refunds.push({ no: req.channelRefundNo, amount: req.amount.minor, at: this.clock.now().getTime(), id });
    await ctx.record({
      direction: 'response',
      endpoint: '/refund',
      body: JSON.stringify({ no: req.channelRefundNo, id }),
    });
    return { state: 'succeeded', channelRefundId: id };
  }

  async queryRefund(ctx: ChannelContext, req: RefundRequest): Promise<RefundOutcome> {
    this.calls.queryRefund++;
    const now = this.clock.now().getTime();
    const listed = this.refunds.find((r) => r.no === req.channelRefundNo && now - r.at >= this.listLagMs);
    if (listed) return { state: 'succeeded', channelRefundId: listed.id };
    // A keyed gateway can take the same number again safely; a keyless one only says "not listed".
    if (this.refundListLagMs === undefined) return this.refund(ctx, req);
    return { state: 'not_found', reason: 'not in the refund list' };
  }

  /** A notify body: `{"no": …, "state": "paid", "sig": "good"}` (any other sig is a forgery). */
  async verifyNotify(_ctx: ChannelContext, req: RawHttpRequest): Promise<VerifiedNotify> {
    const nack = { status: 200, contentType: 'text/plain', body: 'FAIL' };
    let body: { no?: string; state?: string; sig?: string; refund?: string };
    try {
      body = JSON.parse(req.body.toString('utf8')) as typeof body;
    } catch {
      throw new NotifyRejectedError('not JSON', nack);
    }
    if (body.sig !== 'good') throw new NotifyRejectedError('bad signature', nack);
    const o = this.orders.get(body.no ?? '');
    return {
      outcomes:
        body.state === 'paid' && o
          ? [{ channelOrderNo: body.no!, outcome: { state: 'paid', channelTradeNo: `T${body.no}` } }]
          : [],
      refunds: body.refund
        ? [{ channelRefundNo: body.refund, outcome: { state: 'succeeded', channelRefundId: 'RFN' } }]
        : undefined,
      ack: { status: 200, contentType: 'text/plain', body: 'SUCCESS' },
      nack,
    };
  }
}

/** A clock the test moves: protocol durations are real durations, and time passes only when told. */
export function manualClock(start = Date.now()): Clock & { advance(ms: number): void } {
  let t = start;
  return {
    now: () => new Date(t),
    duration: (ms) => ms,
    sleep: async () => undefined,
    advance(ms: number) {
      t += ms;
    },
  };
}

export class CrashError extends Error {
  constructor(readonly point: CrashPoint) {
    super(`crash at ${point}`);
  }
}

/** One bridge's payment machinery on a store; `crashAt` throws once at that point. */
export function paymentBridge(store: Store, gateway: TestGateway, clock: Clock, crashAt?: CrashPoint) {
  const log = pino({ level: 'silent' });
  const accounts = new AccountsRepo(store, new SecretBox('test-secret-key-0123456789'));
  const orders = new OrdersRepo(store, clock);
  const events = new EventLog(store, clock);
  const scheduler = new Scheduler(store, clock, log, { pollMs: 5 });
  const recorder = new MessageRecorder(store, clock);
  const channels = new ChannelRegistry().register(gateway);
  let armed = crashAt;
  const payments = new PaymentService({
    accounts,
    orders,
    events,
    scheduler,
    channels,
    recorder,
    clock,
    log,
    publicBaseUrl: 'http://bridge.test',
    crash: (point) => {
      if (point === armed) {
        armed = undefined;
        throw new CrashError(point);
      }
    },
  });
  return { accounts, orders, events, scheduler, recorder, payments };
}
