import { describe, expect, it } from 'vitest';
import { money } from '../../../protocol/money.js';
import {
  chinaYmd,
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
