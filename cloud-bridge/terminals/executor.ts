import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { KauriError } from '../../protocol/errors.js';
import type { CommandArgsOf, CommandName, CommandResultOf } from '../../protocol/link.js';
import { money } from '../../protocol/money.js';
import { channelOfPaymentCode, type ChannelName } from '../../protocol/payments.js';
import { orderRef, type PaymentService } from '../orders/payments.js';
import type { ChannelOutcome, ChannelRegistry } from '../channels/channel.js';
import type { AccountsRepo } from '../store/accounts.js';
import { isOpen, isPaidFamily } from '../orders/state-machine.js';
import { paymentView, refundView } from '../orders/views.js';
import type { Order, OrdersRepo } from '../store/orders-repo.js';
import type { Database } from '../store/schema.js';
import type { Terminal, TerminalsRepo } from './repo.js';
import { PIN_MAX_DIGITS, PIN_MIN_DIGITS } from './pin-policy.js';

// What a terminal's commands do. A terminal acts only for its own merchant and store:
// an order of another store is "not found", exactly as an order that does not exist.

/** The one-code checkouts, as the terminal needs them (cloud-bridge/onecode). */
export interface CheckoutPort {
  /** `record` (the command's dedupe record) is written in the checkout's own transaction. */
  create(
    merchantId: string,
    input: { amountMinor: number; currency: string; storeId: string; terminalId: string; expiresInS?: number },
    record?: RecordAnswer,
  ): Promise<{
    id: string;
    token: string;
    url: string;
    status: string;
    expiresAt: string;
  }>;
  cancel(merchantId: string, checkoutId: string): Promise<{ id: string; status: string }>;
  /** The store of a checkout, so a terminal cannot cancel another store's. */
  storeOf(checkoutId: string): Promise<string | null | undefined>;
}

/** The answer a command will get, as data checkout.create promises, for its dedupe record. */
type CheckoutAnswer = CommandResultOf<'checkout.create'>;

/**
 * Writes a command's dedupe record inside the transaction of the change it answers, so the
 * change and the record are one commit (and a crash leaves both or neither).
 */
export type RecordAnswer = (data: unknown, trx: Kysely<Database>) => Promise<void>;

/** CNY estimates for the customer screen (cloud-bridge/fx). */
export interface FxPort {
  estimate(
    merchantId: string,
    channel: ChannelName,
    amountMinor: number,
    currency: string,
  ): Promise<{ cnyMinor: number; rate: string; rateTime: string } | undefined>;
}

export interface ExecutorDeps {
  terminals: TerminalsRepo;
  payments: PaymentService;
  orders: OrdersRepo;
  log: Logger;
  checkouts?: () => CheckoutPort | undefined;
  fx?: () => FxPort | undefined;
  /** The channels, so a cancel can ask the channel before closing. */
  channels?: () => ChannelRegistry | undefined;
  accounts?: AccountsRepo;
}

const PIN_TRIES = 5;
const PIN_LOCK_MS = 60_000;
const PIN_CACHE_MS = 60_000;

export class TerminalCommandExecutor {
  /** PINs that verified lately (by hash, never the PIN): a queue of refunds costs one scrypt, not one each. */
  private readonly pinsVerified = new Map<string, number>();

  constructor(private readonly deps: ExecutorDeps) {}

  /**
   * Runs one command; its answer is the shape protocol/link.ts promises the counter for it.
   * A command that writes in one transaction (checkout.create) calls `record` inside it, so
   * its dedupe record commits with it; the others never call it.
   */
  execute<N extends CommandName>(
    terminal: Terminal,
    name: N,
    args: CommandArgsOf<N>,
    record?: RecordAnswer,
  ): Promise<CommandResultOf<N>> {
    // One handler per command, each typed by its own arguments and answer; the lookup by a
    // name that is only known at run time is the one place the pairing is asserted.
    const run = this.handlers[name] as (
      t: Terminal,
      a: CommandArgsOf<N>,
      record?: RecordAnswer,
    ) => Promise<CommandResultOf<N>>;
    return run(terminal, args, record);
  }

  private readonly handlers: {
    [N in CommandName]: (
      terminal: Terminal,
      args: CommandArgsOf<N>,
      record?: RecordAnswer,
    ) => Promise<CommandResultOf<N>>;
  } = {
    'checkout.create': async (terminal, a, record) => {
      money(a.amountMinor, a.currency);
      return this.checkouts().create(
        terminal.merchantId,
        {
          amountMinor: a.amountMinor,
          currency: a.currency,
          storeId: terminal.storeId,
          terminalId: terminal.id,
          expiresInS: a.expiresInS,
        },
        record,
      );
    },
    'checkout.cancel': async (terminal, a) => {
      const c = this.checkouts();
      if ((await c.storeOf(a.checkoutId)) !== terminal.storeId)
        throw new KauriError('not_found', 'No such checkout at this store');
      return c.cancel(terminal.merchantId, a.checkoutId);
    },
    'payment.scan': async (terminal, a) => {
      const channel = channelOfPaymentCode(a.authCode);
      if (!channel) throw new KauriError('auth_code_invalid', 'That is not a WeChat or Alipay payment code');
      const order = await this.deps.payments.createPayment(
        terminal.merchantId,
        {
          out_trade_no: a.outTradeNo,
          amount_minor: a.amountMinor,
          currency: a.currency,
          channel,
          mode: channel === 'wechat' ? 'micropay' : 'spot',
          auth_code: a.authCode,
          description: 'Kauri counter sale',
        },
        { storeId: terminal.storeId, terminalId: terminal.id },
      );
      return paymentView(order);
    },
    'payment.query': async (terminal, a) => paymentView(await this.ownOrder(terminal, a.outTradeNo)),
    'payment.cancel': async (terminal, a) => {
      let order = await this.ownOrder(terminal, a.outTradeNo);
      // Ask the channel first: the customer may have just confirmed. Closing (for a
      // scanned code: reversing) an order that is in fact paid would hand the money back
      // behind the cashier's back; a paid one is shown as paid and refunded on purpose.
      if (isOpen(order.status)) order = await this.queryChannel(order);
      if (isPaidFamily(order.status)) return paymentView(order);
      return paymentView(await this.deps.payments.closeOrder(order, 'terminal_cancel'));
    },
    'refund.create': async (terminal, a) => {
      await this.checkPin(terminal, a.managerPin);
      const order = await this.ownOrder(terminal, a.outTradeNo);
      const { refund, order: after } = await this.deps.payments.refund(
        terminal.merchantId,
        order.out_trade_no,
        {
          out_refund_no: a.outRefundNo,
          amount_minor: a.amountMinor,
          reason: a.reason,
        },
        { cause: `terminal_refund:${terminal.id}` },
      );
      return { refund: refundView(refund, after), payment: paymentView(after) };
    },
    'manager.verify': async (terminal, a) => {
      await this.checkPin(terminal, a.managerPin);
      this.deps.log.info({ terminal: terminal.id, purpose: a.purpose }, 'manager PIN verified');
      return { verified: true };
    },
    'fx.estimate': async (terminal, a) => {
      const fx = this.deps.fx?.();
      const estimate = async (channel: ChannelName) =>
        fx
          ? ((await fx.estimate(terminal.merchantId, channel, a.amountMinor, a.currency).catch(() => undefined)) ??
            null)
          : null;
      return { wechat: await estimate('wechat'), alipay: await estimate('alipay') };
    },
    'device.health': async (terminal, a) => {
      // Kept in the database, not in this process: HQ and the admin CLI may ask any bridge.
      await this.deps.terminals.recordHealth(terminal.id, a.devices);
      return { recorded: true };
    },
  };

  private async queryChannel(order: Order): Promise<Order> {
    const channel = this.deps.channels?.()?.get(order.channel as ChannelName);
    const account = channel ? await this.deps.accounts?.getChannelAccount(order.channel_account_id) : undefined;
    if (!channel || !account) return order;
    let outcome: ChannelOutcome;
    try {
      outcome = await channel.query(this.deps.payments.channelContext(account, order.id), orderRef(order));
    } catch (err) {
      outcome = { state: 'unknown', reason: (err as Error).message };
    }
    return this.deps.payments.apply(order.id, outcome, 'terminal_cancel_query');
  }

  private checkouts(): CheckoutPort {
    const c = this.deps.checkouts?.();
    if (!c) throw new KauriError('channel_unavailable', 'One-code checkouts are not available on this bridge');
    return c;
  }

  private async ownOrder(terminal: Terminal, outTradeNo: string): Promise<Order> {
    const order = await this.deps.orders.byOutTradeNo(terminal.merchantId, outTradeNo);
    if (!order || order.store_id !== terminal.storeId)
      throw new KauriError('order_not_found', `No payment "${outTradeNo}" at this store`);
    return order;
  }

  private async checkPin(terminal: Terminal, pin: string): Promise<void> {
    const repo = this.deps.terminals;
    if (await repo.pinLocked(terminal.storeId, PIN_TRIES)) throw new KauriError('manager_pin_locked');
    // Keyed by the PIN as kept too: once HQ sets a new one (on any bridge instance), the old
    // PIN is never let through from this memory.
    const kept = await repo.managerPinHash(terminal.storeId);
    const cacheKey = createHash('sha256')
      .update(`${terminal.storeId}\0${kept ?? ''}\0${pin}`)
      .digest('hex');
    if (kept && (this.pinsVerified.get(cacheKey) ?? 0) > Date.now()) return;
    // PINs are at least six digits now; one typed from an older habit is wrong, and the
    // cashier is told why rather than left guessing.
    if (pin.length < PIN_MIN_DIGITS) {
      throw new KauriError(
        'manager_pin_invalid',
        `The manager PIN is ${PIN_MIN_DIGITS}–${PIN_MAX_DIGITS} digits: if your store still has a shorter one, ask HQ to set a new one (kauri admin manager-pin set)`,
      );
    }
    const count = await repo.countPinAttempt(terminal.storeId, PIN_TRIES, PIN_LOCK_MS);
    if (count > PIN_TRIES) throw new KauriError('manager_pin_locked');
    if (kept && (await repo.checkManagerPin(terminal.storeId, pin, kept))) {
      await repo.clearPinAttempts(terminal.storeId);
      if (this.pinsVerified.size > 1000) this.pinsVerified.clear();
      this.pinsVerified.set(cacheKey, Date.now() + PIN_CACHE_MS);
      return;
    }
    this.deps.log.warn({ terminal: terminal.id, store: terminal.storeId, attempts: count }, 'wrong manager PIN');
    throw new KauriError('manager_pin_invalid');
  }
}

/** The checkout service as the terminal link needs it. */
export function checkoutPortOf(service: {
  create(
    merchantId: string,
    input: {
      amountMinor: number;
      currency: string;
      storeId?: string | null;
      terminalId?: string | null;
      expiresInS?: number;
    },
    alsoWrite?: (
      c: { id: string; token: string; url: string; status: string; expiresAt: string },
      trx: Kysely<Database>,
    ) => Promise<void>,
  ): Promise<{ id: string; token: string; url: string; status: string; expiresAt: string }>;
  cancel(merchantId: string, idOrToken: string): Promise<{ id: string; status: string }>;
  getById(id: string): Promise<{ storeId: string | null } | undefined>;
}): CheckoutPort {
  return {
    async create(merchantId, input, record) {
      const answer = (c: CheckoutAnswer): CheckoutAnswer => ({
        id: c.id,
        token: c.token,
        url: c.url,
        status: c.status,
        expiresAt: c.expiresAt,
      });
      const c = await service.create(merchantId, input, record && ((c, trx) => record(answer(c), trx)));
      return answer(c);
    },
    async cancel(merchantId, checkoutId) {
      const c = await service.cancel(merchantId, checkoutId);
      return { id: c.id, status: c.status };
    },
    async storeOf(checkoutId) {
      return (await service.getById(checkoutId))?.storeId;
    },
  };
}
