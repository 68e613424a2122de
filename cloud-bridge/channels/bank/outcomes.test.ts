import { describe, expect, it } from 'vitest';
import { money } from '../../../protocol/money.js';
import {
  chinaYmd,
  rootOf,
  listedRefundOutcome,
  notifyOrderOutcome,
  paidOutcome,
  queryOutcome,
  querySignSource,
  readQueryReply,
  readRefundReply,
  refundOutcome,
  refundSignSource,
  returnStatus,
  type QueryReply,
  type RefundReply,
} from './outcomes.js';

// Every status PayEase can send, and the unknown ones, mapped to Kauri's states.

const OID = '20261120-8888-K1';
const order = (o: Partial<NonNullable<QueryReply['order']>> = {}): NonNullable<QueryReply['order']> => ({
  oid: OID,
  pstatus: '1',
  pstring: '支付成功',
  amount: '53.30',
  moneytype: '0',
  pmode: '招商银行',
  banktradeno: 'PE1',
  sign: 's',
  ...o,
});

describe('order query answers', () => {
  const ok = (o = order()) => ({ status: '0', statusdesc: 'Success', order: o });
  it.each([
    ['1', 'paid'],
    ['2', 'pending'],
    ['3', 'pending'],
    ['0', 'unknown'],
    ['4', 'unknown'],
    ['20', 'unknown'],
    ['', 'unknown'],
  ])('pstatus %s → %s', (pstatus, state) => {
    expect(queryOutcome(ok(order({ pstatus })), OID, true).state).toBe(state);
  });
  it.each([
    ['1', 'unknown'],
    ['2', 'pending'],
    ['9', 'unknown'],
    ['', 'unknown'],
    ['x', 'unknown'],
  ])('head status %s → %s', (status, state) => {
    expect(queryOutcome({ status, statusdesc: '', order: undefined }, OID, false).state).toBe(state);
  });
  it('paid carries the CNY charged and the bank trade number', () => {
    expect(queryOutcome(ok(), OID, true)).toMatchObject({
      state: 'paid',
      channelTradeNo: 'PE1',
      charged: money(5330, 'CNY'),
    });
    expect(queryOutcome(ok(order({ banktradeno: '' })), OID, true)).toMatchObject({
      state: 'paid',
      channelTradeNo: OID,
    });
  });
  it('never paid on a bad signature, another order, no order, another currency or an unreadable amount', () => {
    expect(queryOutcome(ok(), OID, false).state).toBe('unknown');
    expect(queryOutcome(ok(order({ oid: '20261120-8888-K2' })), OID, true).state).toBe('unknown');
    expect(queryOutcome({ status: '0', statusdesc: '' }, OID, true).state).toBe('unknown');
    expect(queryOutcome(ok(order({ moneytype: '1' })), OID, true).state).toBe('unknown');
    for (const amount of ['53.3', '1e3', '', '-1.00', '53.300'])
      expect(queryOutcome(ok(order({ amount })), OID, true).state).toBe('unknown');
  });
  it('reads the document and the published sign source', () => {
    const r = readQueryReply({
      ordermessage: {
        messagehead: { status: '0', statusdesc: 'Success' },
        messagebody: {
          order: [{ oid: OID, pstatus: '1', amount: '1.00', moneytype: '0', sign: 'ab', pmode: 'A&amp;B' }],
        },
      },
    });
    expect(r.order).toMatchObject({ oid: OID, pmode: 'A&B', sign: 'ab' });
    expect(querySignSource(r.order!)).toBe(`${OID}11.000`);
    expect(readQueryReply({}).status).toBe('');
  });
});

describe('refund answers', () => {
  const r = (o: Partial<RefundReply> = {}): RefundReply => ({
    status: '0',
    statusdesc: '退款成功',
    mid: '8888',
    oid: OID,
    refamount: '1.00',
    refoprt: 'kauri',
    refid: 'RF1',
    sign: 's',
    ...o,
  });
  it.each([
    ['0', 'succeeded'],
    ['1', 'failed'],
    ['2', 'failed'],
    ['3', 'failed'],
    ['9', 'unknown'],
    ['', 'unknown'],
  ])('status %s → %s', (status, state) => {
    expect(refundOutcome(r({ status }), true).state).toBe(state);
  });
  it('status 0 without a refund id, or a bad signature, is unknown', () => {
    expect(refundOutcome(r({ refid: '' }), true).state).toBe('unknown');
    expect(refundOutcome(r(), false).state).toBe('unknown');
  });
  it('reads the document and the published sign source', () => {
    const x = readRefundReply({
      refundmessage: {
        status: '0',
        mid: '8888',
        oid: OID,
        refamount: '1.00',
        refoprt: 'kauri',
        refid: 'RF1',
        sign: 'ab',
      },
    });
    expect(refundSignSource(x)).toBe(`08888${OID}1.00kauriRF1`);
  });
  it.each([
    ['1', 'succeeded'],
    ['0', 'processing'],
    ['2', 'processing'],
    ['', 'processing'],
  ])('listed refstatus %s → %s', (refstatus, state) => {
    expect(listedRefundOutcome('RF1', refstatus, true).state).toBe(state);
  });
  it('a listed refund whose signature fails is unknown', () => {
    expect(listedRefundOutcome('RF1', '1', false).state).toBe('unknown');
  });
});

describe('notify orders', () => {
  const g = (o: Partial<{ oid: string; pstatus: string; amount: string; moneytype: string; pmode: string }> = {}) => ({
    oid: OID,
    pstatus: '1',
    amount: '1.00',
    moneytype: '0',
    pmode: '',
    ...o,
  });
  it.each([
    ['1', 'paid'],
    ['3', 'pending'],
  ])('v_pstatus %s → %s', (pstatus, state) => {
    const r = notifyOrderOutcome(g({ pstatus }), '8888');
    expect('outcome' in r && r.outcome.state).toBe(state);
  });
  it.each(['20', '30', '2', '0', ''])('v_pstatus %s is refused', (pstatus) => {
    expect(notifyOrderOutcome(g({ pstatus }), '8888')).toHaveProperty('rejected');
  });
  it("refuses another merchant's order, another currency, an amount that is not yuan.fen", () => {
    expect(notifyOrderOutcome(g({ oid: '20261120-9999-K1' }), '8888')).toHaveProperty('rejected');
    expect(notifyOrderOutcome(g({ moneytype: '1' }), '8888')).toHaveProperty('rejected');
    expect(notifyOrderOutcome(g({ amount: '1' }), '8888')).toHaveProperty('rejected');
  });
});

describe('browser return and dates', () => {
  it.each([
    ['20', 'PAID'],
    ['30', 'FAILED'],
    ['1', 'PENDING'],
    [undefined, 'PENDING'],
    ['x', 'PENDING'],
  ])('v_pstatus %s → %s', (s, said) => {
    expect(returnStatus(s)).toBe(said);
  });
  it('dates a v_oid in China time', () => {
    expect(chinaYmd(new Date('2026-11-20T15:59:59Z'))).toBe('20261120');
    expect(chinaYmd(new Date('2026-11-20T16:00:00Z'))).toBe('20261121');
  });
  it('paidOutcome refuses a non-CNY payment', () => {
    expect(paidOutcome(OID, '1.00', '1', OID, {}).state).toBe('unknown');
  });
});

describe('bank answers in words, with what was read', () => {
  const q = (o: Partial<NonNullable<QueryReply['order']>> = {}) => ({
    status: '0',
    statusdesc: 'Success',
    order: order(o),
  });

  it('paid only with two decimals and nothing around them; the reasons name the order', () => {
    expect(paidOutcome(OID, '1.00', '1', 'T', { r: 1 })).toEqual({
      state: 'unknown',
      reason: `the gateway reports ${OID} paid in v_moneytype 1, not CNY`,
      raw: { r: 1 },
    });
    expect(paidOutcome(OID, '53.30 ', '0', 'T', {})).toEqual({
      state: 'unknown',
      reason: `the gateway reports an unreadable amount "53.30 " for ${OID}`,
      raw: {},
    });
    expect(paidOutcome(OID, ' 53.30', '0', 'T', {}).state).toBe('unknown');
    expect(paidOutcome(OID, '999999999999.99', '0', 'T', {})).toMatchObject({ charged: money(99999999999999, 'CNY') });
    expect(paidOutcome(OID, '1999999999999.99', '0', 'T', {}).state).toBe('unknown');
    expect(paidOutcome(OID, '0.01', '0', 'T', {})).toEqual({
      state: 'paid',
      channelTradeNo: 'T',
      charged: money(1, 'CNY'),
      raw: {},
    });
  });

  it('order query: what each refusal says and keeps', () => {
    expect(queryOutcome({ status: '2', statusdesc: 'no order' }, OID, false)).toEqual({
      state: 'pending',
      raw: { status: '2', desc: 'no order' },
    });
    expect(queryOutcome({ status: '9', statusdesc: '' }, OID, true)).toEqual({
      state: 'unknown',
      reason: 'order query status 9',
      raw: { status: '9', desc: '' },
    });
    expect(queryOutcome({ ...q(), status: '1', statusdesc: 'busy' }, OID, true)).toEqual({
      state: 'unknown',
      reason: 'order query status 1 busy',
      raw: { status: '1', desc: 'busy' },
    });
    expect(queryOutcome({ status: '0', statusdesc: '' }, OID, true)).toEqual({
      state: 'unknown',
      reason: 'order query reply has no order',
    });
    expect(queryOutcome(q({ oid: 'X' }), OID, true)).toEqual({
      state: 'unknown',
      reason: 'order query answered for another order (X)',
    });
    expect(queryOutcome(q(), OID, false)).toEqual({
      state: 'unknown',
      reason: 'order query reply signature does not verify',
    });
    const raw = { oid: OID, pstatus: '2', amount: '53.30', moneytype: '0', pmode: '招商银行', banktradeno: 'PE1' };
    expect(queryOutcome(q({ pstatus: '2' }), OID, true)).toEqual({ state: 'pending', raw });
    expect(queryOutcome(q({ pstatus: '7' }), OID, true)).toEqual({
      state: 'unknown',
      reason: 'order query pstatus "7" is not one Kauri knows',
      raw: { ...raw, pstatus: '7' },
    });
    expect(readQueryReply({ ordermessage: { messagebody: {} } }).order).toBeUndefined();
  });

  it('refund answers: the root whatever its name, every field, and what each state says', () => {
    const fields = {
      status: '1',
      statusdesc: '余额不足',
      mid: '8888',
      oid: OID,
      refamount: '1.00',
      refoprt: 'kauri',
      refid: 'RF1',
      sign: 'ab',
    };
    expect(readRefundReply({ '?xml': '', note: null, anything: fields })).toEqual(fields);
    expect(rootOf({ a: 'text', b: null, c: { x: 1 } })).toEqual({ x: 1 });
    expect(rootOf({ a: 'text' })).toEqual({});
    const raw = { status: '1', statusdesc: '余额不足', refid: 'RF1', refamount: '1.00' };
    expect(refundOutcome(fields, true)).toEqual({ state: 'failed', reason: '余额不足 (status 1)', raw });
    expect(refundOutcome({ ...fields, statusdesc: '' }, true)).toMatchObject({ reason: 'refused (status 1)' });
    expect(refundOutcome({ ...fields, status: '9', statusdesc: '' }, true)).toMatchObject({
      state: 'unknown',
      reason: 'refund status 9',
    });
    expect(refundOutcome({ ...fields, status: '9', statusdesc: 'busy' }, true)).toMatchObject({
      reason: 'refund status 9 busy',
    });
    expect(refundOutcome(fields, false)).toEqual({
      state: 'unknown',
      reason: 'refund reply signature does not verify',
    });
    expect(refundOutcome({ ...fields, status: '0' }, true)).toEqual({
      state: 'succeeded',
      channelRefundId: 'RF1',
      raw: { ...raw, status: '0' },
    });
    expect(listedRefundOutcome('RF1', '1', false)).toEqual({
      state: 'unknown',
      reason: 'refund query signature does not verify',
    });
    expect(listedRefundOutcome('RF1', '1', true)).toEqual({ state: 'succeeded', channelRefundId: 'RF1' });
    expect(listedRefundOutcome('RF1', '0', true)).toEqual({ state: 'processing', channelRefundId: 'RF1' });
  });

  it('notify orders: why each one is refused, and yuan amounts of any size', () => {
    const g = { oid: OID, pstatus: '1', amount: '1.00', moneytype: '0', pmode: '' };
    const n = (o: Partial<typeof g>) => notifyOrderOutcome({ ...g, ...o }, '8888');
    expect(n({ oid: '20261120-9999-K1' })).toEqual({
      rejected: 'v_oid 20261120-9999-K1 is not an order of merchant 8888',
    });
    expect(n({ moneytype: '1' })).toEqual({ rejected: 'v_moneytype 1 is not CNY' });
    for (const amount of ['1', 'x1.00', '1.00x', '1.0'])
      expect(n({ amount })).toEqual({ rejected: `v_amount "${amount}" is not yuan with two decimals` });
    expect(n({ pstatus: '2' })).toEqual({ rejected: 'v_pstatus "2" is neither 1 nor 3' });
    expect(n({ amount: '1234.50' })).toMatchObject({ outcome: { state: 'paid', charged: money(123450, 'CNY') } });
    expect(n({ pstatus: '3' })).toEqual({ outcome: { state: 'pending', raw: { ...g, pstatus: '3' } } });
    expect(n({})).toEqual({ outcome: { state: 'paid', channelTradeNo: OID, charged: money(100, 'CNY'), raw: g } });
  });
});
