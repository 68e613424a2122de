import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../../protocol/clock.js';
import { LINK_VERSION, type EventMessage } from '../../../protocol/link.js';
import { TerminalDb } from '../db.js';
import { EventApplier } from './events.js';
import { Ledger, newSale } from './ledger.js';
import { quietScreen, type ScreenState } from './types.js';
import type { SaleRow } from '../db.js';

// What the counter makes of its store's events when the money is not the sale's: a wallet
// that paid after the sale was closed (the bridge refunds it automatically), and a second
// wallet paying a checkout another already paid.

describe("the counter's events", () => {
  let dir: string;
  let db: TerminalDb;
  let screen: ScreenState;
  let printed: string[];
  let events: EventApplier;
  let seq: number;
  const at = new Date().toISOString();

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kauri-events-'));
    db = new TerminalDb(dir);
    screen = quietScreen();
    printed = [];
    seq = 0;
    const clock = systemClock(1);
    const ledger = new Ledger(db, clock, { health: () => [], printSale: (r) => printed.push(r.paymentId) });
    events = new EventApplier({ db, clock, ledger, screen, link: () => undefined, changed: () => undefined });
  });
  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const sale = (over: Partial<SaleRow> & Pick<SaleRow, 'id' | 'kind' | 'status'>) =>
    db.insertSale(newSale({ amount_minor: 700, currency: 'NZD', created_at: at, ...over }));
  const payment = (over: Record<string, unknown>) => ({
    id: 'pay_1',
    out_trade_no: 'T1',
    channel: 'wechat',
    mode: 'native',
    amount_minor: 700,
    currency: 'NZD',
    status: 'paid',
    refunded_minor: 0,
    created_at: at,
    channel_trade_no: '4200000001',
    paid_at: at,
    ...over,
  });
  const send = (event: string, payload: unknown) => {
    const msg: EventMessage = { v: LINK_VERSION, type: 'event', seq: ++seq, event, at, payload };
    events.onEvent(msg);
  };
  const lateEntries = () => db.journalEntries().filter((j) => j.kind === 'sale.late_payment');

  it('takes a checkout paid when its payment arrives', () => {
    sale({ id: 'sale_1', kind: 'checkout', checkout_id: 'chk_1', status: 'waiting' });
    send('payment.paid', payment({ checkout_id: 'chk_1' }));
    expect(db.sale('sale_1')).toMatchObject({ status: 'paid', payment_id: 'pay_1' });
    expect(printed).toHaveLength(1);
  });

  it('never takes a flagged payment as the payment of a checkout, open or closed', () => {
    const flagged = { flagged: true, flag_reason: 'Paid after the order was closed; refunded automatically' };
    sale({ id: 'sale_1', kind: 'checkout', checkout_id: 'chk_1', status: 'closed', cancel_requested: 1 });
    send('payment.paid', payment({ checkout_id: 'chk_1', ...flagged }));
    sale({ id: 'sale_2', kind: 'checkout', checkout_id: 'chk_2', status: 'waiting' });
    send('payment.paid', payment({ id: 'pay_2', out_trade_no: 'T2', checkout_id: 'chk_2', ...flagged }));
    expect(db.sale('sale_1')!.status).toBe('closed');
    expect(db.sale('sale_2')!.status).toBe('waiting');
    expect(printed).toEqual([]);
    expect(lateEntries().map((j) => JSON.parse(j.data))).toMatchObject([{ id: 'sale_1' }, { id: 'sale_2' }]);
    expect(screen.notice).toMatchObject({ en: expect.stringContaining('refunded automatically') });
  });

  it('leaves a closed sale closed when its late payment and the automatic refund arrive, and reports neither', () => {
    sale({ id: 'sale_1', kind: 'scan', out_trade_no: 'T1', status: 'closed' });
    send('payment.paid', payment({ flagged: true }));
    send('refund.succeeded', {
      refund: {
        id: 'ref_1',
        out_refund_no: 'auto-1',
        amount_minor: 700,
        currency: 'NZD',
        status: 'succeeded',
        automatic: true,
      },
      payment: payment({ status: 'refunded', refunded_minor: 700, flagged: true }),
    });
    expect(db.sale('sale_1')!.status).toBe('closed');
    expect(db.refundsOf('sale_1')).toEqual([]);
    expect(printed).toEqual([]);
    expect(db.unreportedSales().map((s) => s.id)).not.toContain('sale_1');
    expect(db.unreportedRefunds()).toEqual([]);
    expect(lateEntries()).toHaveLength(2);
    expect(screen.notice).toMatchObject({ en: expect.stringContaining('was refunded to the customer') });
  });

  it('keeps the payment that settled a checkout when a second wallet pays it too', () => {
    sale({ id: 'sale_1', kind: 'checkout', checkout_id: 'chk_1', status: 'waiting' });
    send('payment.paid', payment({ checkout_id: 'chk_1' }));
    send(
      'payment.paid',
      payment({ id: 'pay_2', out_trade_no: 'T2', channel: 'alipay', channel_trade_no: '2026X', checkout_id: 'chk_1' }),
    );
    expect(db.sale('sale_1')).toMatchObject({ status: 'paid', payment_id: 'pay_1', channel: 'wechat' });
    expect(printed).toHaveLength(1);
  });
});
