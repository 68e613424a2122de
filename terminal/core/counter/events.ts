import type { Clock } from '../../../protocol/clock.js';
import { newId } from '../../../protocol/ids.js';
import { LINK_VERSION, readEvent, type EventMessage, type LinkEvent } from '../../../protocol/link.js';
import type { TerminalDb } from '../db.js';
import type { LinkClient } from '../link-client.js';
import { isActive, isPaidFamily } from '../words.js';
import { newSale, type Ledger } from './ledger.js';
import type { ScreenState } from './types.js';

// The bridge's events for this counter's store, each applied with the sequence it carries
// in one transaction, then acknowledged: one replayed after a reconnect (or a crash before
// the ack) is passed over, never applied twice.

export interface EventDeps {
  db: TerminalDb;
  clock: Clock;
  ledger: Ledger;
  screen: ScreenState;
  link(): LinkClient | undefined;
  changed(): void;
}

export class EventApplier {
  constructor(private readonly d: EventDeps) {}

  onEvent(msg: EventMessage): void {
    const { db } = this.d;
    if (msg.seq <= db.lastEventSeq) {
      this.ack(msg.seq);
      return;
    }
    const event = readEvent(msg);
    db.tx(() => {
      if (event) this.apply(event);
      db.setSetting('last_event_seq', String(msg.seq));
    });
    this.ack(msg.seq);
    this.d.changed();
  }

  private ack(seq: number): void {
    this.d.link()?.send({ v: LINK_VERSION, type: 'ack', seq });
  }

  private apply(e: LinkEvent): void {
    const { db, ledger, screen } = this.d;
    switch (e.event) {
      case 'payment.paid':
      case 'payment.failed':
      case 'payment.closed':
      case 'payment.reversed': {
        const view = e.payload;
        let sale = db.saleBy('out_trade_no', view.out_trade_no);
        let throughCheckout = false;
        // A checkout's channel orders are the bridge's: only the one that was paid is ours to show.
        if (!sale && e.event === 'payment.paid' && view.checkout_id) {
          sale = db.saleBy('checkout_id', view.checkout_id);
          throughCheckout = true;
        }
        if (!sale) return;
        if (sale.kind === 'checkout' && e.event !== 'payment.paid') return;
        // A second wallet's payment of a checkout already paid is refunded by the bridge: the
        // sale keeps the payment that settled it.
        if (throughCheckout && isPaidFamily(sale.status) && sale.payment_id && sale.payment_id !== view.id) return;
        if (e.event === 'payment.paid' && view.flagged && (throughCheckout || !isActive(sale.status))) {
          // Flagged for HQ and never the sale's payment: a wallet paid after the sale was
          // closed (the bridge refunds it automatically), or a checkout the bridge does not
          // settle with a flagged order. No receipt, and the reports leave it out.
          this.lateSeen(sale.id, view.id, e.seq);
          return;
        }
        ledger.applyPayment(sale, view, e.seq);
        return;
      }
      case 'checkout.paid':
      case 'checkout.expired':
      case 'checkout.cancelled': {
        const { checkout, payment } = e.payload;
        const sale = db.saleBy('checkout_id', checkout.id);
        if (!sale) return;
        if (e.event === 'checkout.paid' && payment) ledger.applyPayment(sale, payment, e.seq);
        else if (isActive(sale.status))
          db.updateSale(sale.id, { status: e.event === 'checkout.expired' ? 'expired' : 'closed' });
        db.journal(e.event, { id: sale.id, checkoutId: checkout.id, seq: e.seq });
        return;
      }
      case 'static_code.paid': {
        const pay = e.payload.payment;
        if (!pay || db.saleBy('out_trade_no', pay.out_trade_no)) return;
        const id = newId('sale');
        db.insertSale(
          newSale({
            id,
            kind: 'static',
            out_trade_no: pay.out_trade_no,
            checkout_id: e.payload.checkout.id,
            channel: pay.channel,
            amount_minor: pay.amount_minor,
            currency: pay.currency,
            status: 'pending',
            created_at: pay.created_at,
          }),
        );
        ledger.applyPayment(db.sale(id)!, pay, e.seq);
        screen.notice = {
          kind: 'info',
          en: `Store code payment received: ${(pay.amount_minor / 100).toFixed(2)} ${pay.currency} (${pay.channel})`,
          zh: `收到店铺码付款：${(pay.amount_minor / 100).toFixed(2)} ${pay.currency}`,
          at: this.now(),
        };
        return;
      }
      case 'refund.succeeded':
      case 'refund.failed': {
        const { refund: r, payment } = e.payload;
        const sale = db.saleBy('out_trade_no', payment.out_trade_no);
        if (sale && payment.flagged && !isPaidFamily(sale.status) && !db.refund(r.out_refund_no)) {
          // The refund of a payment this counter never took (a late one, above): the reports
          // counted neither, so they count neither.
          this.lateSeen(sale.id, payment.id, e.seq, r.out_refund_no);
          return;
        }
        if (db.refund(r.out_refund_no)) {
          db.updateRefund(r.out_refund_no, r.status);
          screen.notice =
            r.status === 'succeeded'
              ? { kind: 'info', en: 'Refund succeeded', zh: '退款成功', at: this.now() }
              : { kind: 'error', en: 'Refund failed at the channel', zh: '退款失败', at: this.now() };
        } else if (sale) {
          // A refund of this counter's sale made elsewhere (HQ, the merchant API, an automatic
          // one): kept here too, so the Z-report counts every refund of the counter's sales.
          const now = this.now();
          db.insertRefund({
            out_refund_no: r.out_refund_no,
            sale_id: sale.id,
            amount_minor: r.amount_minor,
            currency: r.currency,
            status: r.status,
            message: null,
            created_at: now,
            updated_at: now,
          });
        }
        if (sale) ledger.applyPayment(sale, payment, e.seq);
        db.journal(e.event, { outRefundNo: r.out_refund_no, seq: e.seq });
        return;
      }
    }
  }

  private lateSeen(saleId: string, paymentId: string, seq: number, outRefundNo?: string): void {
    this.d.db.journal('sale.late_payment', { id: saleId, paymentId, seq, ...(outRefundNo ? { outRefundNo } : {}) });
    // The customer may say they paid: the cashier sees why the sale is not paid.
    this.d.screen.notice = outRefundNo
      ? {
          kind: 'info',
          en: 'A late payment for a closed sale was refunded to the customer',
          zh: '已关闭交易的迟到付款已退还顾客',
          at: this.now(),
        }
      : {
          kind: 'info',
          en: 'A late payment for a closed sale arrived; it is refunded automatically',
          zh: '已关闭交易收到迟到付款，将自动退款',
          at: this.now(),
        };
  }

  private now(): string {
    return this.d.clock.now().toISOString();
  }
}
