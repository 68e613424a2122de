import { describe, it, expect } from 'vitest';
import { PAYMENT_STATUSES, type PaymentStatus } from '../../protocol/payments.js';
import { money } from '../../protocol/money.js';
import type { ChannelOutcome } from '../channels/channel.js';
import type { Order } from '../store/orders-repo.js';
import { testOrder } from '../../test/support/orders.js';
import { AUTO_REFUND_TASK, REFUND_TASK, SYNC_TASK, decide, isEmpty, type Decision } from './decide.js';
import { canTransition } from './state-machine.js';

// Every state × every outcome, like state-machine.test.ts: what each report does to an order.

const NOW = new Date('2026-12-04T01:02:03.456Z');

function order(status: PaymentStatus, overrides: Partial<Order> = {}): Order {
  return testOrder({
    id: 'pay_1',
    merchant_id: 'mer_1',
    channel_account_id: 'cha_1',
    out_trade_no: 'T1',
    status,
    refunded_minor: status === 'partially_refunded' ? 400 : status === 'refunded' ? 1000 : 0,
    channel_order_no: 'K1',
    created_at: NOW.toISOString(),
    version: 3,
    ...overrides,
  });
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
    paid: { to: ['paid'], events: ['payment.flagged'], tasks: [AUTO_REFUND_TASK], flag: true },
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

  it("a second wallet's payment of a checkout another settled is booked, flagged and refunded, never announced as paid", () => {
    const elsewhere = { cause: 'channel_notify', now: NOW, paidElsewhere: true };
    for (const [status, to] of [
      ['created', ['pending', 'paid']],
      ['pending', ['paid']],
    ] as const) {
      const d = decide(order(status), OUTCOMES.paid!, elsewhere);
      expect(d).toMatchObject({
        to,
        cause: 'channel_notify:paid_elsewhere',
        events: ['payment.flagged'],
        flag: 'A second wallet paid a checkout that was already paid; refunded automatically',
        tasks: [
          {
            kind: AUTO_REFUND_TASK,
            payload: { orderId: 'pay_1', reason: 'checkout already paid' },
            dedupeKey: 'auto-refund:pay_1',
            delayMs: 0,
          },
        ],
      });
      expect(d.patch).toMatchObject({ channel_trade_no: expect.any(String), paid_at: NOW.toISOString() });
      expect(d.paid).toBeUndefined();
    }
    expect(decide(order('pending'), OUTCOMES.paid!, elsewhere).data).toEqual(OUTCOMES.paid!.raw);
    // A closed order is a late payment whatever the checkout; a final one is a person's to look at.
    expect(decide(order('closed'), OUTCOMES.paid!, elsewhere).cause).toBe('channel_notify:late_payment');
    for (const s of ['reversed', 'failed'] as const)
      expect(decide(order(s), OUTCOMES.paid!, elsewhere)).toMatchObject({
        to: [],
        note: { cause: 'paid_after_final' },
      });
    // Its own payment reported again changes nothing; another amount is still refused.
    expect(decide(order('paid'), OUTCOMES.paid!, elsewhere).to).toEqual([]);
    expect(decide(order('pending'), OUTCOMES.paid_wrong_currency!, elsewhere).refuse).toBeDefined();
    // Without the checkout paid elsewhere, the same report is the sale's payment.
    expect(decide(order('pending'), OUTCOMES.paid!, { cause: 'c', now: NOW })).toMatchObject({
      to: ['paid'],
      events: ['payment.paid'],
      paid: true,
    });
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

describe('decide: the words and the edges', () => {
  const ctx = { cause: 'c', now: NOW };

  it('the task names are the ones the scheduler registers', () => {
    expect([SYNC_TASK, REFUND_TASK, AUTO_REFUND_TASK]).toEqual(['order.sync', 'refund.sync', 'refund.automatic']);
  });

  it('a decision is empty only when it writes nothing at all', () => {
    const none: Decision = { to: [], cause: 'c', data: null, patch: {}, events: [], tasks: [] };
    expect(isEmpty(none)).toBe(true);
    expect(isEmpty({ ...none, data: { ignored: 1 }, cause: 'other' })).toBe(true);
    const task = { kind: SYNC_TASK, payload: {}, dedupeKey: 'k', delayMs: 1 };
    for (const change of [
      { to: ['pending'] as const },
      { patch: { qr_code: 'q' } },
      { events: ['payment.flagged'] },
      { tasks: [task] },
      { flag: 'look' },
      { note: { cause: 'n', data: null } },
      { reverseRemainder: 1 },
    ])
      expect(isEmpty({ ...none, ...change })).toBe(false);
  });

  it('asks again after the last step, not the first: a created order paid at once is not synced', () => {
    const d = decide(order('created'), OUTCOMES.paid!, { ...ctx, syncAfterMs: 5000 });
    expect(d.to).toEqual(['pending', 'paid']);
    expect(d.tasks).toEqual([]);
    expect(decide(order('pending'), OUTCOMES.unknown!, { ...ctx, syncAfterMs: 7 }).tasks).toEqual([
      { kind: SYNC_TASK, payload: { orderId: 'pay_1' }, dedupeKey: 'order.sync:pay_1', delayMs: 7, earlier: true },
    ]);
  });

  it('a pending answer fills the QR code, the wallet page, the trade number and the JSAPI parameters once', () => {
    const full: ChannelOutcome = {
      state: 'pending',
      qrCode: 'weixin://q2',
      redirectUrl: 'https://pay.example/r',
      channelTradeNo: 'W2',
      jsapiParams: { appId: 'wx' },
    };
    expect(decide(order('pending'), full, ctx).patch).toEqual({
      qr_code: 'weixin://q2',
      redirect_url: 'https://pay.example/r',
      channel_trade_no: 'W2',
      pay_params: '{"jsapi":{"appId":"wx"}}',
    });
    const known = order('pending', {
      qr_code: 'q',
      redirect_url: 'r',
      channel_trade_no: 't',
      pay_params: '{}',
    });
    expect(decide(known, full, ctx).patch).toEqual({});
    expect(decide(order('pending'), { state: 'pending' }, ctx).patch).toEqual({});
    const created = decide(order('created'), full, ctx);
    expect(created).toMatchObject({ to: ['pending'], cause: 'c', data: null, events: [], tasks: [] });
    expect(created.patch).toMatchObject({ qr_code: 'weixin://q2' });
    expect(decide(order('created'), { state: 'unknown', reason: 'r', raw: { x: 1 } }, ctx)).toMatchObject({
      cause: 'c:unknown',
      data: { x: 1 },
    });
    expect(decide(order('pending'), OUTCOMES.unknown!, ctx)).toEqual({
      to: [],
      cause: 'c',
      data: null,
      patch: {},
      events: [],
      tasks: [],
    });
  });

  it('a paid report without an amount is taken; one with another amount is refused in words', () => {
    const bare: ChannelOutcome = { state: 'paid', channelTradeNo: '4200' };
    const d = decide(order('pending'), bare, ctx);
    expect(d).toMatchObject({ to: ['paid'], data: null, paid: true });
    // Strict: a patch key holding undefined would still be a column the commit touches.
    expect(d.patch).toStrictEqual({ channel_trade_no: '4200', paid_at: NOW.toISOString(), channel_paid_at: null });
    const wrong = decide(order('pending'), OUTCOMES.paid_wrong_currency!, ctx);
    expect(wrong).toEqual({
      to: [],
      cause: 'c',
      data: null,
      patch: {},
      tasks: [],
      events: ['payment.flagged'],
      note: { cause: 'amount_mismatch', data: { reported: money(1000, 'AUD'), raw: undefined } },
      flag: 'The channel reported AUD 1000 paid for an order of NZD 1000',
      refuse: 'The paid amount does not match the order',
    });
    expect(decide(order('pending'), { ...bare, amount: money(1000, 'NZD'), raw: { r: 1 } }, ctx).data).toEqual({
      r: 1,
    });
  });

  it('a quoted payment: no CNY reported is taken; another CNY is refused in words', () => {
    const quoted = order('pending', { cny_quote_minor: 4800 });
    expect(decide(quoted, { state: 'paid', channelTradeNo: '4200' }, ctx).to).toEqual(['paid']);
    expect(decide(quoted, { ...OUTCOMES.paid!, charged: money(4801, 'CNY') } as ChannelOutcome, ctx)).toMatchObject({
      flag: 'The channel reported CNY 4801 paid where CNY 4800 was quoted',
      refuse: 'The paid CNY amount does not match the quote',
      events: ['payment.flagged'],
      note: { cause: 'amount_mismatch', data: { reported: money(4801, 'CNY'), quoted: 4800, raw: { paid: 1 } } },
    });
    expect(decide(quoted, { ...OUTCOMES.paid!, charged: money(4800, 'USD') } as ChannelOutcome, ctx).flag).toBe(
      'The channel reported USD 4800 paid where CNY 4800 was quoted',
    );
  });

  it('a duplicate paid report changes nothing; a late one without raw data still books and refunds', () => {
    for (const s of ['paid', 'partially_refunded', 'refunded'] as const)
      expect(decide(order(s), OUTCOMES.paid!, ctx)).toEqual({
        to: [],
        cause: 'c',
        data: null,
        patch: {},
        events: [],
        tasks: [],
      });
    const late = decide(order('closed'), { state: 'paid', channelTradeNo: '4200' }, ctx);
    expect(late).toMatchObject({
      to: ['paid'],
      data: null,
      flag: 'Paid after the order was closed; refunded automatically',
    });
    expect(late.paid).toBeUndefined();
  });

  it('paid after a final state: a note and a flag for a person, naming the state', () => {
    for (const s of ['reversed', 'failed'] as const) {
      const d = decide(order(s), OUTCOMES.paid!, ctx);
      expect(d).toEqual({
        to: [],
        cause: 'c',
        data: null,
        patch: {},
        tasks: [],
        events: ['payment.flagged'],
        note: { cause: 'paid_after_final', data: { raw: { paid: 1 } } },
        flag: `The channel reported a payment for a ${s} order`,
      });
    }
  });

  it('closing, reversing and failing: the reason as data, the right event, and nothing for a settled order', () => {
    expect(decide(order('created'), OUTCOMES.failed!, ctx)).toEqual({
      to: ['failed'],
      cause: 'c',
      data: { reason: 'declined' },
      patch: {},
      events: ['payment.failed'],
      tasks: [],
    });
    expect(decide(order('created'), OUTCOMES.closed!, ctx)).toMatchObject({
      to: ['pending', 'closed'],
      data: { reason: 'expired' },
      events: ['payment.closed'],
    });
    expect(decide(order('pending'), OUTCOMES.reversed!, ctx)).toMatchObject({
      to: ['reversed'],
      data: { reason: 'reversed' },
    });
    expect(decide(order('closed'), OUTCOMES.failed!, ctx)).toEqual({
      to: [],
      cause: 'c',
      data: null,
      patch: {},
      events: [],
      tasks: [],
    });
    const raced = decide(order('partially_refunded'), OUTCOMES.reversed!, ctx);
    expect(raced).toEqual({
      to: [],
      cause: 'c:reversed_after_paid',
      data: { reason: 'reversed' },
      patch: {},
      tasks: [],
      reverseRemainder: 600,
      flag: 'Reversed by the channel after it was paid (a close raced the payment); the customer was refunded',
      events: ['payment.flagged'],
    });
    expect(decide(order('paid', { refunded_minor: 999 }), OUTCOMES.reversed!, ctx).reverseRemainder).toBe(1);
    expect('reverseRemainder' in decide(order('paid', { refunded_minor: 1000 }), OUTCOMES.reversed!, ctx)).toBe(false);
  });
});
