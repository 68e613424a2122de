import { describe, it, expect } from 'vitest';
import { PAYMENT_STATUSES, type PaymentStatus } from '../../protocol/payments.js';
import { money } from '../../protocol/money.js';
import type { ChannelOutcome } from '../channels/channel.js';
import type { Order } from '../store/orders-repo.js';
import { AUTO_REFUND_TASK, SYNC_TASK, decide, isEmpty } from './decide.js';
import { canTransition } from './state-machine.js';

// Every state × every outcome, like state-machine.test.ts: what each report does to an order.

const NOW = new Date('2026-12-04T01:02:03.456Z');

function order(status: PaymentStatus, overrides: Partial<Order> = {}): Order {
  return {
    id: 'pay_1',
    merchant_id: 'mer_1',
    store_id: null,
    terminal_id: null,
    checkout_id: null,
    out_trade_no: 'T1',
    channel: 'wechat',
    channel_account_id: 'cha_1',
    mode: 'native',
    amount_minor: 1000,
    currency: 'NZD',
    status,
    refunded_minor: status === 'partially_refunded' ? 400 : status === 'refunded' ? 1000 : 0,
    description: null,
    channel_order_no: 'K1',
    channel_trade_no: null,
    qr_code: null,
    redirect_url: null,
    openid: null,
    quote_id: null,
    cny_quote_minor: null,
    cny_charged_minor: null,
    rate: null,
    rate_time: null,
    return_url: null,
    request_hash: 'h',
    flagged: false,
    flag_reason: null,
    expires_at: null,
    created_at: NOW.toISOString(),
    updated_at: NOW.toISOString(),
    paid_at: null,
    channel_paid_at: null,
    version: 3,
    ...overrides,
  };
}

const OUTCOMES: Record<string, ChannelOutcome> = {
  pending: { state: 'pending', qrCode: 'weixin://q', channelTradeNo: 'W1', raw: { p: 1 } },
  unknown: { state: 'unknown', reason: 'timeout' },
  paid: {
    state: 'paid',
    channelTradeNo: '4200',
    amount: money(1000, 'NZD'),
    charged: money(4800, 'CNY'),
    rate: '4.8',
    paidAt: new Date('2026-12-04T01:00:00.000Z'),
    raw: { paid: 1 },
  },
  paid_wrong_amount: { state: 'paid', channelTradeNo: '4200', amount: money(999, 'NZD') },
  paid_wrong_currency: { state: 'paid', channelTradeNo: '4200', amount: money(1000, 'AUD') },
  closed: { state: 'closed', reason: 'expired' },
  reversed: { state: 'reversed', reason: 'reversed' },
  failed: { state: 'failed', reason: 'declined' },
};

interface Expect {
  to: PaymentStatus[];
  events?: string[];
  tasks?: string[];
  flag?: boolean;
  refuse?: boolean;
  reverse?: number;
  paid?: boolean;
}

// The whole table: [state][outcome] → what happens. Anything missing here fails the test below.
const TABLE: Record<PaymentStatus, Record<keyof typeof OUTCOMES, Expect>> = {
  created: {
    pending: { to: ['pending'] },
    unknown: { to: ['pending'] },
    paid: { to: ['pending', 'paid'], events: ['payment.paid'], paid: true },
    paid_wrong_amount: { to: [], events: ['payment.flagged'], flag: true, refuse: true },
    paid_wrong_currency: { to: [], events: ['payment.flagged'], flag: true, refuse: true },
    closed: { to: ['pending', 'closed'], events: ['payment.closed'] },
    reversed: { to: ['pending', 'reversed'], events: ['payment.reversed'] },
    failed: { to: ['failed'], events: ['payment.failed'] },
  },
  pending: {
    pending: { to: [] },
    unknown: { to: [] },
    paid: { to: ['paid'], events: ['payment.paid'], paid: true },
    paid_wrong_amount: { to: [], events: ['payment.flagged'], flag: true, refuse: true },
    paid_wrong_currency: { to: [], events: ['payment.flagged'], flag: true, refuse: true },
    closed: { to: ['closed'], events: ['payment.closed'] },
    reversed: { to: ['reversed'], events: ['payment.reversed'] },
    failed: { to: ['failed'], events: ['payment.failed'] },
  },
  paid: {
    pending: { to: [] },
    unknown: { to: [] },
    paid: { to: [] },
    paid_wrong_amount: { to: [], events: ['payment.flagged'], flag: true, refuse: true },
    paid_wrong_currency: { to: [], events: ['payment.flagged'], flag: true, refuse: true },
    closed: { to: [] },
    reversed: { to: [], events: ['payment.flagged'], flag: true, reverse: 1000 },
    failed: { to: [] },
  },
  partially_refunded: {
    pending: { to: [] },
    unknown: { to: [] },
    paid: { to: [] },
    paid_wrong_amount: { to: [], events: ['payment.flagged'], flag: true, refuse: true },
    paid_wrong_currency: { to: [], events: ['payment.flagged'], flag: true, refuse: true },
    closed: { to: [] },
    reversed: { to: [], events: ['payment.flagged'], flag: true, reverse: 600 },
    failed: { to: [] },
  },
  refunded: {
    pending: { to: [] },
    unknown: { to: [] },
    paid: { to: [] },
    paid_wrong_amount: { to: [], events: ['payment.flagged'], flag: true, refuse: true },
    paid_wrong_currency: { to: [], events: ['payment.flagged'], flag: true, refuse: true },
    closed: { to: [] },
    reversed: { to: [] },
    failed: { to: [] },
  },
  closed: {
    pending: { to: [] },
    unknown: { to: [] },
    paid: { to: ['paid'], events: ['payment.paid', 'payment.flagged'], tasks: [AUTO_REFUND_TASK], flag: true },
    paid_wrong_amount: { to: [], events: ['payment.flagged'], flag: true, refuse: true },
    paid_wrong_currency: { to: [], events: ['payment.flagged'], flag: true, refuse: true },
    closed: { to: [] },
    reversed: { to: [] },
    failed: { to: [] },
  },
  reversed: {
    pending: { to: [] },
    unknown: { to: [] },
    paid: { to: [], events: ['payment.flagged'], flag: true },
    paid_wrong_amount: { to: [], events: ['payment.flagged'], flag: true, refuse: true },
    paid_wrong_currency: { to: [], events: ['payment.flagged'], flag: true, refuse: true },
    closed: { to: [] },
    reversed: { to: [] },
    failed: { to: [] },
  },
  failed: {
    pending: { to: [] },
    unknown: { to: [] },
    paid: { to: [], events: ['payment.flagged'], flag: true },
    paid_wrong_amount: { to: [], events: ['payment.flagged'], flag: true, refuse: true },
    paid_wrong_currency: { to: [], events: ['payment.flagged'], flag: true, refuse: true },
    closed: { to: [] },
    reversed: { to: [] },
    failed: { to: [] },
  },
};

describe('decide: every state × every outcome', () => {
  for (const status of PAYMENT_STATUSES) {
    for (const [name, outcome] of Object.entries(OUTCOMES)) {
      const want = TABLE[status][name]!;
      it(`${status} + ${name} → ${want.to.length ? want.to.join(' → ') : 'no state change'}`, () => {
        const d = decide(order(status), outcome, { cause: 'channel_notify', now: NOW });
        expect(d.to).toEqual(want.to);
        expect(d.events).toEqual(want.events ?? []);
        expect(d.tasks.map((t) => t.kind)).toEqual(want.tasks ?? []);
        expect(Boolean(d.flag)).toBe(Boolean(want.flag));
        expect(Boolean(d.refuse)).toBe(Boolean(want.refuse));
        expect(d.reverseRemainder).toBe(want.reverse);
        expect(Boolean(d.paid)).toBe(Boolean(want.paid));
        // Every step is one the state machine allows.
        let from: PaymentStatus = status;
        for (const to of d.to) {
          expect(canTransition(from, to)).toBe(true);
          from = to;
        }
      });
    }
  }
});

describe('decide: what a change carries', () => {
  it('a payment keeps the trade number, both paid times, the CNY charged and the rate', () => {
    const d = decide(order('pending'), OUTCOMES.paid!, { cause: 'channel_query', now: NOW });
    expect(d.patch).toEqual({
      channel_trade_no: '4200',
      paid_at: NOW.toISOString(),
      channel_paid_at: '2026-12-04T01:00:00.000Z',
      cny_charged_minor: 4800,
      rate: '4.8',
    });
    expect(d.data).toEqual({ paid: 1 });
    expect(d.cause).toBe('channel_query');
  });

  it('a late payment is flagged, refunded automatically (once per order) and says why', () => {
    const d = decide(order('closed'), OUTCOMES.paid!, { cause: 'channel_notify', now: NOW });
    expect(d.cause).toBe('channel_notify:late_payment');
    expect(d.flag).toMatch(/after the order was closed/);
    expect(d.tasks).toEqual([
      {
        kind: AUTO_REFUND_TASK,
        payload: { orderId: 'pay_1', reason: 'paid after close' },
        dedupeKey: 'auto-refund:pay_1',
        delayMs: 0,
      },
    ]);
  });

  it('pending fills only what is missing, and an unknown answer marks the cause and keeps the reason', () => {
    expect(decide(order('pending', { qr_code: 'old' }), OUTCOMES.pending!, { cause: 'c', now: NOW }).patch).toEqual({
      channel_trade_no: 'W1',
    });
    expect(
      decide(order('pending'), { state: 'pending', jsapiParams: { a: '1' } }, { cause: 'c', now: NOW }).patch,
    ).toEqual({ pay_params: '{"jsapi":{"a":"1"}}' });
    const u = decide(order('created'), OUTCOMES.unknown!, { cause: 'channel_create', now: NOW });
    expect(u).toMatchObject({ cause: 'channel_create:unknown', data: { reason: 'timeout' } });
    expect(decide(order('created'), OUTCOMES.pending!, { cause: 'channel_create', now: NOW })).toMatchObject({
      cause: 'channel_create',
      data: { p: 1 },
    });
    expect(decide(order('created'), { state: 'pending' }, { cause: 'x', now: NOW }).data).toBeNull();
  });

  it('closing reports carry the channel data, or the reason when there is none', () => {
    expect(decide(order('pending'), OUTCOMES.closed!, { cause: 'c', now: NOW }).data).toEqual({ reason: 'expired' });
    expect(
      decide(order('pending'), { state: 'closed', reason: 'x', raw: { r: 1 } }, { cause: 'c', now: NOW }).data,
    ).toEqual({ r: 1 });
  });

  it('a quoted payment must be charged the quoted CNY to the fen', () => {
    const quoted = order('pending', { cny_quote_minor: 4800 });
    expect(decide(quoted, OUTCOMES.paid!, { cause: 'c', now: NOW }).to).toEqual(['paid']);
    const off = decide(quoted, { ...OUTCOMES.paid!, charged: money(4801, 'CNY') } as ChannelOutcome, {
      cause: 'c',
      now: NOW,
    });
    expect(off).toMatchObject({ to: [], refuse: expect.stringContaining('CNY'), note: { cause: 'amount_mismatch' } });
    expect(
      decide(quoted, { ...OUTCOMES.paid!, charged: money(4800, 'USD') } as ChannelOutcome, { cause: 'c', now: NOW })
        .refuse,
    ).toBeDefined();
    // Without a quote, the CNY charged is recorded, not checked.
    expect(
      decide(order('pending'), { ...OUTCOMES.paid!, charged: money(1, 'CNY') } as ChannelOutcome, {
        cause: 'c',
        now: NOW,
      }).refuse,
    ).toBeUndefined();
  });

  it('a reversal of an already flagged paid order refunds without flagging again; nothing left, nothing booked', () => {
    const d = decide(order('paid', { flagged: true }), OUTCOMES.reversed!, { cause: 'c', now: NOW });
    expect(d).toMatchObject({ reverseRemainder: 1000, events: [], cause: 'c:reversed_after_paid' });
    expect(d.flag).toBeUndefined();
    expect(
      decide(order('partially_refunded', { refunded_minor: 1000 }), OUTCOMES.reversed!, { cause: 'c', now: NOW })
        .reverseRemainder,
    ).toBeUndefined();
  });

  it('an order still open is asked again when the caller says so; a closed one or a refused report is not', () => {
    const open = decide(order('created'), OUTCOMES.pending!, { cause: 'c', now: NOW, syncAfterMs: 5000 });
    expect(open.tasks).toEqual([
      { kind: SYNC_TASK, payload: { orderId: 'pay_1' }, dedupeKey: `${SYNC_TASK}:pay_1`, delayMs: 5000, earlier: true },
    ]);
    expect(decide(order('pending'), OUTCOMES.closed!, { cause: 'c', now: NOW, syncAfterMs: 5000 }).tasks).toEqual([]);
    expect(
      decide(order('pending'), OUTCOMES.paid_wrong_amount!, { cause: 'c', now: NOW, syncAfterMs: 5000 }).tasks,
    ).toEqual([]);
    expect(isEmpty(decide(order('pending'), OUTCOMES.unknown!, { cause: 'c', now: NOW }))).toBe(true);
    expect(isEmpty(decide(order('pending'), OUTCOMES.unknown!, { cause: 'c', now: NOW, syncAfterMs: 1 }))).toBe(false);
  });
});
