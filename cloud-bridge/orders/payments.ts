import { KauriError } from '../../protocol/errors.js';
import type { Order, Refund } from '../store/orders-repo.js';
import type { ChannelAccount, ChannelContext, ChannelOutcome, HttpReply, RawHttpRequest } from '../channels/channel.js';
import { applyOutcome, type ApplyOptions } from './apply.js';
import { TransitionWriter, type CrashPoint } from './commit.js';
import { createPayment, type CreateContext, type CreatePaymentInput } from './create.js';
import { AUTO_REFUND_TASK, REFUND_TASK, SYNC_TASK } from './decide.js';
import { channelContext, type FlowContext, type PaymentDeps, type PaymentHooks } from './flow.js';
import { handleNotify, type NotifyResult } from './notify.js';
import { autoRefund, checkRefund, refund, type RefundInput } from './refunds.js';
import type { AuditEntry } from '../hq/audit.js';
import { checkOrder, closeOrder, sweep, syncOrder } from './sync.js';

export type { CreateContext, CreatePaymentInput } from './create.js';
export type { RefundInput } from './refunds.js';
export type { PaymentHooks, PaymentDeps } from './flow.js';
export { orderRef } from './flow.js';

/**
 * Payments and refunds: the one place that drives the state machine from what the channels
 * say. It never knows which channel it talks to (Channel interface), and it never assumes:
 * an unknown answer is asked again until the channel says paid, closed or reversed. Each flow
 * lives in its own module (create, apply, refunds, sync, notify); this wires them together.
 */
export class PaymentService {
  private hooks: PaymentHooks = {};
  private readonly flow: FlowContext;

  constructor(private readonly deps: PaymentDeps) {
    const crash = deps.crash ?? crashFromEnv();
    const writer = new TransitionWriter({
      ...deps,
      crash,
      get publicBaseUrl() {
        return deps.publicBaseUrl;
      },
    });
    this.flow = { deps, writer, hooks: () => this.hooks };
    deps.scheduler.defineTask<{ orderId: string }>(SYNC_TASK, (p) => syncOrder(this.flow, p.orderId), {
      maxAttempts: 50,
    });
    deps.scheduler.defineTask<{ refundId: string }>(REFUND_TASK, (p) => checkRefund(this.flow, p.refundId), {
      maxAttempts: 50,
    });
    deps.scheduler.defineTask<{ orderId: string; reason: string }>(
      AUTO_REFUND_TASK,
      (p) => autoRefund(this.flow, p.orderId, p.reason),
      { maxAttempts: 30 },
    );
    deps.scheduler.every('orders.sweep', 60_000, () => sweep(this.flow));
  }

  setHooks(hooks: PaymentHooks): void {
    this.hooks = { ...this.hooks, ...hooks };
  }

  channelContext(account: ChannelAccount, orderId?: string): ChannelContext {
    return channelContext(this.deps, account, orderId);
  }

  async createPayment(merchantId: string, input: CreatePaymentInput, ctx: CreateContext = {}): Promise<Order> {
    return (await this.createPaymentResult(merchantId, input, ctx)).order;
  }

  /** Creates a payment, or answers a replay of the same request; `created` tells which. */
  async createPaymentResult(
    merchantId: string,
    input: CreatePaymentInput,
    ctx: CreateContext = {},
  ): Promise<{ order: Order; created: boolean }> {
    return createPayment(this.flow, merchantId, input, ctx);
  }

  async getPayment(merchantId: string, outTradeNo: string): Promise<Order> {
    const order = await this.deps.orders.byOutTradeNo(merchantId, outTradeNo);
    if (!order) throw new KauriError('order_not_found', `No payment "${outTradeNo}"`);
    return order;
  }

  /** Closes an unpaid payment at the channel (or reverses a presented-code one). */
  async closePayment(merchantId: string, outTradeNo: string, cause = 'api_close'): Promise<Order> {
    return closeOrder(this.flow, await this.getPayment(merchantId, outTradeNo), cause);
  }

  /** `audit`: the back office's entry of who closed it, committed with the close (apply.ts). */
  async closeOrder(order: Order, cause: string, audit?: AuditEntry): Promise<Order> {
    return closeOrder(this.flow, order, cause, audit);
  }

  /** Asks the channel about an open order now (the customer is waiting on a page). */
  async checkOrder(orderId: string): Promise<{ order: Order; outcome?: ChannelOutcome } | undefined> {
    return checkOrder(this.flow, orderId);
  }

  /** Applies what a channel said about an order, exactly once (load, decide, commit). */
  async apply(orderId: string, outcome: ChannelOutcome, cause: string, options: ApplyOptions = {}): Promise<Order> {
    return applyOutcome(this.flow, orderId, outcome, cause, options);
  }

  async refund(
    merchantId: string,
    outTradeNo: string,
    input: RefundInput,
    options: Parameters<typeof refund>[4] = {},
  ): Promise<{ refund: Refund; order: Order }> {
    return refund(this.flow, merchantId, outTradeNo, input, options);
  }

  async handleNotify(
    channelName: string,
    accountId: string,
    req: RawHttpRequest,
  ): Promise<HttpReply & { result: NotifyResult }> {
    return handleNotify(this.flow, channelName, accountId, req);
  }

  /** The periodic net (also run by tests after a simulated crash). */
  async sweep(): Promise<void> {
    await sweep(this.flow);
  }
}

/**
 * KAURI_CRASH_AT=<point>[@<cause prefix>] kills this process (SIGKILL, no clean-up) at that
 * point of the write path, e.g. `apply:events@channel_notify`: the end-to-end crash test's way
 * to stop a bridge inside a window. Unset in production.
 */
function crashFromEnv(): ((point: CrashPoint, detail?: string) => void) | undefined {
  const spec = process.env.KAURI_CRASH_AT;
  if (!spec) return undefined;
  const [at, cause] = spec.split('@');
  return (point, detail) => {
    if (point === at && (!cause || (detail ?? '').startsWith(cause))) process.kill(process.pid, 'SIGKILL');
  };
}
