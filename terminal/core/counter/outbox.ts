import type { Logger } from 'pino';
import type { Clock } from '../../../protocol/clock.js';
import { newId } from '../../../protocol/ids.js';
import {
  LINK_VERSION,
  readResult,
  type CommandArgsOf,
  type CommandName,
  type CommandResultOf,
  type ResultMessage,
} from '../../../protocol/link.js';
import type { OutboxRow, RefundRow, TerminalDb } from '../db.js';
import type { LinkClient } from '../link-client.js';
import { isActive } from '../words.js';
import type { Ledger } from './ledger.js';
import type { ScreenState } from './types.js';

// Commands to the bridge. Every command that changes something is written to the outbox
// (in the transaction that made it) before it is sent, and leaves only on the bridge's
// answer, applied here in one transaction with what it changes: a crash at any moment
// loses nothing and repeats nothing. Questions (estimates, health, the PIN check) go
// without the outbox: lost with the link, asked again later.

export interface OutboxDeps {
  db: TerminalDb;
  clock: Clock;
  log: Logger;
  ledger: Ledger;
  screen: ScreenState;
  link(): LinkClient | undefined;
  changed(): void;
  closed(): boolean;
}

const REFUND_ZH: Record<RefundRow['status'], string> = {
  queued: '退款待发送',
  processing: '退款处理中',
  succeeded: '退款成功',
  failed: '退款失败',
};

export class Outbox {
  private readonly ephemeral = new Map<string, (r: ResultMessage) => void>();
  private readonly answered = new Map<string, (r: ResultMessage) => void>();
  private pendingResults: ResultMessage[] = [];

  constructor(private readonly d: OutboxDeps) {}

  /** Sends one queued command now (it stays queued until answered). */
  send(key: string): void {
    const row = this.d.db.outboxEntry(key);
    if (row) this.sendRow(row);
  }

  /** Everything queued, oldest first, while the link takes it (after a reconnect). */
  flush(): void {
    for (const row of this.d.db.outbox()) if (!this.sendRow(row)) break;
  }

  private sendRow(row: OutboxRow): boolean {
    return (
      this.d.link()?.send({
        v: LINK_VERSION,
        type: 'command',
        key: row.key,
        name: row.name as CommandName,
        args: JSON.parse(row.args),
      }) ?? false
    );
  }

  /**
   * The answer to queued command `key` once it is applied, or undefined after `ms` (the
   * command stays queued and its answer is applied whenever it comes). Call before send().
   */
  answer(key: string, ms: number): Promise<ResultMessage | undefined> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.answered.delete(key);
        resolve(undefined);
      }, ms);
      this.answered.set(key, (m) => {
        clearTimeout(t);
        resolve(m);
      });
    });
  }

  /** A query that needs no outbox (estimates, health): lost with the link, asked again later. */
  sendEphemeral<N extends CommandName>(name: N, args: CommandArgsOf<N>, done: (r: ResultMessage) => void): void {
    const key = newId();
    if (this.d.link()?.send({ v: LINK_VERSION, type: 'command', key, name, args })) this.ephemeral.set(key, done);
  }

  /**
   * A question for the bridge whose answer is awaited (undefined: no link, or no answer
   * within 10 s). The wait is the cashier's, not a protocol timer: it is not time-scaled.
   */
  ask<N extends CommandName>(name: N, args: CommandArgsOf<N>): Promise<ResultMessage | undefined> {
    const key = newId();
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.ephemeral.delete(key);
        resolve(undefined);
      }, 10_000);
      this.ephemeral.set(key, (m) => {
        clearTimeout(t);
        resolve(m);
      });
      if (!this.d.link()?.send({ v: LINK_VERSION, type: 'command', key, name, args })) {
        clearTimeout(t);
        this.ephemeral.delete(key);
        resolve(undefined);
      }
    });
  }

  onResult(msg: ResultMessage): void {
    const eph = this.ephemeral.get(msg.key);
    if (eph) {
      this.ephemeral.delete(msg.key);
      eph(msg);
      return;
    }
    // Answers that arrive together (an outbox drained after a reconnect) are applied in
    // one transaction: one fsync for the lot, not one each.
    this.pendingResults.push(msg);
    if (this.pendingResults.length === 1) setImmediate(() => this.applyResults());
  }

  private applyResults(): void {
    const batch = this.pendingResults;
    this.pendingResults = [];
    if (this.d.closed() || !batch.length) return; // still in the outbox: sent again, answered from the bridge's record
    const db = this.d.db;
    const followUps: string[] = [];
    const applied: ResultMessage[] = [];
    db.tx(() => {
      for (const msg of batch) {
        const row = db.outboxEntry(msg.key);
        if (!row) continue; // answered before (a resend after a lost answer): nothing to do twice
        db.dequeue(msg.key);
        this.applyResult(row, msg, followUps);
        db.journal('command.answered', { key: msg.key, name: row.name, ok: msg.ok, error: msg.error?.code });
        applied.push(msg);
      }
    });
    for (const k of followUps) this.send(k);
    for (const msg of applied) {
      this.answered.get(msg.key)?.(msg);
      this.answered.delete(msg.key);
    }
    this.d.changed();
  }

  /** The data of a successful answer in the shape its command promises; a reply of another shape counts as a refusal. */
  private data<N extends CommandName>(name: N, msg: ResultMessage): CommandResultOf<N> | undefined {
    if (!msg.ok) return undefined;
    const data = readResult(name, msg.data);
    if (!data) {
      this.d.log.error({ key: msg.key, name }, 'the bridge answered in a shape this counter cannot read');
      msg.ok = false;
      msg.error ??= { code: 'internal', message: 'The bridge answered in a shape this counter cannot read' };
    }
    return data;
  }

  private applyResult(row: OutboxRow, msg: ResultMessage, followUps: string[]): void {
    const { db, ledger, screen } = this.d;
    const name = row.name as CommandName;
    const ref = row.ref;
    switch (name) {
      case 'checkout.create': {
        const sale = ref ? db.sale(ref) : undefined;
        if (!sale) return;
        const c = this.data('checkout.create', msg);
        if (!c) {
          db.updateSale(sale.id, {
            status: 'failed',
            message: msg.error?.message ?? 'The checkout could not be created',
          });
          return;
        }
        db.updateSale(sale.id, {
          status: sale.status === 'creating' ? 'waiting' : sale.status,
          checkout_id: c.id,
          checkout_url: c.url,
          expires_at: c.expiresAt,
        });
        if (sale.cancel_requested) {
          const key = newId();
          db.enqueue(key, 'checkout.cancel', { checkoutId: c.id } satisfies CommandArgsOf<'checkout.cancel'>, sale.id);
          followUps.push(key);
        }
        return;
      }
      case 'checkout.cancel': {
        const sale = ref ? db.sale(ref) : undefined;
        if (!sale) return;
        const c = this.data('checkout.cancel', msg);
        if (c) {
          if (c.status === 'cancelled' && isActive(sale.status)) db.updateSale(sale.id, { status: 'closed' });
        } else db.updateSale(sale.id, { message: msg.error?.message ?? null });
        return;
      }
      case 'payment.scan':
      case 'payment.cancel':
      case 'payment.query': {
        const args = JSON.parse(row.args) as CommandArgsOf<typeof name>;
        const sale = ref ? db.sale(ref) : db.saleBy('out_trade_no', args.outTradeNo);
        if (!sale) return;
        const view = this.data(name, msg);
        const err = msg.error;
        if (view) {
          ledger.applyPayment(sale, view);
        } else if (name === 'payment.scan') {
          // The bridge could not tell (channel silent): it keeps asking, and the answer
          // arrives as an event. A refusal is final.
          const unknown = ['channel_unavailable', 'channel_timeout', 'internal'].includes(err?.code ?? '');
          db.updateSale(sale.id, { status: unknown ? 'unknown' : 'failed', message: err?.message ?? null });
        } else {
          db.updateSale(sale.id, { message: err?.message ?? null });
        }
        return;
      }
      case 'refund.create': {
        const { outRefundNo } = JSON.parse(row.args) as CommandArgsOf<'refund.create'>;
        const d = this.data('refund.create', msg);
        const now = this.d.clock.now().toISOString();
        if (!d) {
          const err = msg.error;
          db.updateRefund(outRefundNo, 'failed', err?.message ?? 'refused');
          screen.notice = {
            kind: 'error',
            en: `Refund refused: ${err?.message ?? ''}`,
            zh: `退款被拒绝：${err?.zh ?? ''}`,
            at: now,
          };
          return;
        }
        // Settled already by its event (the answer was lost and is now replayed from the
        // bridge's record, which still says processing): the event's word stands.
        const before = db.refund(outRefundNo)?.status;
        const settled = before === 'succeeded' || before === 'failed';
        const status = settled ? before : (d.refund.status as RefundRow['status']);
        if (!settled) db.updateRefund(outRefundNo, status);
        const sale = db.saleBy('out_trade_no', d.payment.out_trade_no);
        if (sale) ledger.applyPayment(sale, d.payment);
        const r = db.refund(outRefundNo);
        if (r && sale) ledger.saveRefundReceipt(db.sale(sale.id)!, r);
        screen.notice = {
          kind: status === 'failed' ? 'error' : 'info',
          en: `Refund ${status}`,
          zh: REFUND_ZH[status],
          at: now,
        };
        return;
      }
      default:
        return;
    }
  }
}
