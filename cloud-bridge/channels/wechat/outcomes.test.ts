import { describe, expect, it } from 'vitest';
import {
  rateTimeFromWechat,
  beijingDay,
  beijingTime,
  micropayOutcome,
  paidOutcome,
  parseBeijingTime,
  rateFromWechat,
  refundOutcome,
  refundQueryOutcome,
  tradeStateOutcome,
  unifiedOrderFailure,
} from './outcomes.js';

const PAID = {
  result_code: 'SUCCESS',
  trade_state: 'SUCCESS',
  transaction_id: '4200001',
  out_trade_no: 'K1',
  total_fee: '888',
  fee_type: 'NZD',
  cash_fee: '3685',
  cash_fee_type: 'CNY',
  rate: '415000000',
  time_end: '20261122081612',
};

describe('WeChat outcomes', () => {
  it('reads Beijing times and days', () => {
    expect(parseBeijingTime('20261122081612')?.toISOString()).toBe('2026-11-22T00:16:12.000Z');
    expect(parseBeijingTime('2026-11-22')).toBeUndefined();
    expect(beijingTime(new Date('2026-11-21T16:30:00Z'))).toBe('20261122003000');
    expect(beijingDay(new Date('2026-11-21T15:59:59Z'))).toBe('20261121');
  });

  it('reads rate_time of 8 characters (the official example) and of 14 (WxJava), and refuses others', () => {
    expect(rateTimeFromWechat('20150807', '20150807')?.toISOString()).toBe('2015-08-07T02:00:00.000Z');
    expect(rateTimeFromWechat('20150807131545', '20150807')?.toISOString()).toBe('2015-08-07T05:15:45.000Z');
    expect(rateTimeFromWechat(undefined, '20150807')?.toISOString()).toBe('2015-08-07T02:00:00.000Z');
    expect(rateTimeFromWechat('2015-08-07', '20150807')).toBeUndefined();
    expect(rateTimeFromWechat('201508071315', '20150807')).toBeUndefined();
  });

  it('turns rate × 10^8 into a decimal string', () => {
    expect(rateFromWechat('415000000')).toBe('4.15');
    expect(rateFromWechat('4700000')).toBe('0.047');
    expect(rateFromWechat('65012345678')).toBe('650.12345678');
    expect(rateFromWechat('')).toBeUndefined();
    expect(rateFromWechat('4.15')).toBeUndefined();
    expect(rateFromWechat('0')).toBeUndefined();
  });

  it('maps a paid order with the priced amount, the CNY charged and the rate', () => {
    expect(tradeStateOutcome(PAID)).toMatchObject({
      state: 'paid',
      channelTradeNo: '4200001',
      amount: { minor: 888, currency: 'NZD' },
      charged: { minor: 3685, currency: 'CNY' },
      rate: '4.15',
      paidAt: new Date('2026-11-22T00:16:12Z'),
    });
    expect(tradeStateOutcome({ ...PAID, trade_state: 'REFUND' }).state).toBe('paid');
    const { rate: _r, cash_fee: _c, ...bare } = PAID;
    const o = paidOutcome(bare);
    expect(o.state === 'paid' && o.rate).toBeFalsy();
    expect(o.state === 'paid' && o.charged).toBeFalsy();
    expect(() => paidOutcome({ ...PAID, total_fee: '8.88' })).toThrow(/unreadable amount/);
    expect(() => paidOutcome({ ...PAID, fee_type: 'XXX' })).toThrow(/unreadable amount/);
    expect(() => paidOutcome({ ...PAID, transaction_id: '' })).toThrow(/transaction_id/);
  });

  it('maps every trade_state', () => {
    const s = (trade_state: string) => tradeStateOutcome({ ...PAID, trade_state });
    expect(s('NOTPAY')).toMatchObject({ state: 'pending' });
    expect(s('USERPAYING')).toMatchObject({ state: 'pending', userPaying: true });
    expect(s('CLOSED').state).toBe('closed');
    expect(s('REVOKED').state).toBe('reversed');
    expect(s('PAYERROR').state).toBe('failed');
    expect(s('SOMETHING_NEW').state).toBe('unknown');
  });

  it('treats uncertain micropay answers as unknown and definite ones as failed', () => {
    const fail = (err_code: string) => micropayOutcome({ result_code: 'FAIL', err_code, err_code_des: 'x' });
    expect(micropayOutcome(PAID).state).toBe('paid');
    expect(fail('USERPAYING')).toMatchObject({ state: 'pending', userPaying: true });
    for (const c of ['SYSTEMERROR', 'BANKERROR', 'ORDERPAID', 'NEW_CODE']) expect(fail(c).state).toBe('unknown');
    for (const c of ['AUTHCODEEXPIRE', 'AUTH_CODE_ERROR', 'AUTH_CODE_INVALID', 'NOTENOUGH', 'NOTSUPORTCARD'])
      expect(fail(c)).toMatchObject({ state: 'failed', reason: `${c}: x` });
    expect(fail('ORDERREVERSED').state).toBe('reversed');
  });

  it('maps unifiedorder failures', () => {
    expect(unifiedOrderFailure({ err_code: 'SYSTEMERROR' }).state).toBe('unknown');
    expect(unifiedOrderFailure({ err_code: 'PARAM_ERROR', err_code_des: 'fee_type' })).toMatchObject({
      state: 'failed',
      reason: 'PARAM_ERROR: fee_type',
    });
  });

  it('maps refunds and refund queries', () => {
    expect(refundOutcome({ result_code: 'SUCCESS', refund_id: '5000' })).toMatchObject({
      state: 'processing',
      channelRefundId: '5000',
    });
    expect(refundOutcome({ result_code: 'FAIL', err_code: 'SYSTEMERROR' }).state).toBe('unknown');
    expect(refundOutcome({ result_code: 'FAIL', err_code: 'NOTENOUGH' }).state).toBe('failed');
    const q = (status: string) =>
      refundQueryOutcome(
        {
          result_code: 'SUCCESS',
          refund_count: '2',
          out_refund_no_0: 'R0',
          refund_status_0: 'SUCCESS',
          out_refund_no_1: 'R1',
          refund_status_1: status,
          refund_id_1: '51',
        },
        'R1',
      );
    expect(q('SUCCESS')).toMatchObject({ state: 'succeeded', channelRefundId: '51' });
    expect(q('PROCESSING').state).toBe('processing');
    expect(q('REFUNDCLOSE').state).toBe('failed');
    expect(q('CHANGE').state).toBe('unknown');
    expect(refundQueryOutcome({ result_code: 'SUCCESS', refund_count: '0' }, 'R1').state).toBe('unknown');
  });
});
