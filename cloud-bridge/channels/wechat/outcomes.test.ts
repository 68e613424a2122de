import { describe, expect, it } from 'vitest';
import {
  UnreadablePaymentError,
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

  it('refuses times that are not exactly yyyyMMddHHmmss or name no real instant', () => {
    expect(parseBeijingTime(undefined)).toBeUndefined();
    expect(parseBeijingTime('')).toBeUndefined();
    expect(parseBeijingTime('x20261122081612')).toBeUndefined();
    expect(parseBeijingTime('20261122081612x')).toBeUndefined();
    expect(parseBeijingTime('2026112208161')).toBeUndefined();
    expect(parseBeijingTime('20261322081612')).toBeUndefined(); // month 13
    expect(parseBeijingTime('20261122081699')).toBeUndefined(); // second 99
    expect(rateTimeFromWechat('', '20150807')?.toISOString()).toBe('2015-08-07T02:00:00.000Z');
    expect(rateTimeFromWechat('x20150807', '20150807')).toBeUndefined();
    expect(rateTimeFromWechat('20150807x', '20150807')).toBeUndefined();
    expect(rateTimeFromWechat('x20150807131545', '20150807')).toBeUndefined();
    expect(rateTimeFromWechat('20150807131545x', '20150807')).toBeUndefined();
  });

  it('reads a rate of up to 20 digits that is not all zeros, and nothing else', () => {
    expect(rateFromWechat(undefined)).toBeUndefined();
    expect(rateFromWechat('00000000')).toBeUndefined();
    expect(rateFromWechat('0100000000')).toBe('1');
    expect(rateFromWechat('x415000000')).toBeUndefined();
    expect(rateFromWechat('415000000x')).toBeUndefined();
    expect(rateFromWechat('1'.repeat(20))).toBe('111111111111.11111111');
    expect(rateFromWechat('1'.repeat(21))).toBeUndefined();
  });

  it('reads amounts of up to 15 digits, in CNY when no currency is named', () => {
    const { fee_type: _f, cash_fee_type: _c, time_end: _t, ...plain } = PAID;
    const o = paidOutcome(plain);
    expect(o).toEqual({
      state: 'paid',
      channelTradeNo: '4200001',
      amount: { minor: 888, currency: 'CNY' },
      charged: { minor: 3685, currency: 'CNY' },
      rate: '4.15',
      raw: plain,
    });
    expect(paidOutcome({ ...PAID, fee_type: '' })).toMatchObject({ amount: { currency: 'CNY' } });
    expect(paidOutcome({ ...PAID, total_fee: '9'.repeat(15) })).toMatchObject({ amount: { minor: 999999999999999 } });
    expect(() => paidOutcome({ ...PAID, total_fee: '1'.repeat(16) })).toThrow(/unreadable amount/);
    expect(() => paidOutcome({ ...PAID, total_fee: 'x888' })).toThrow(/unreadable amount/);
    expect(() => paidOutcome({ ...PAID, total_fee: '888x' })).toThrow(/unreadable amount/);
    const { total_fee: _tf, ...noFee } = PAID;
    let err: unknown;
    try {
      paidOutcome({ ...noFee, fee_type: 'XXX' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UnreadablePaymentError);
    expect(err).toMatchObject({
      name: 'UnreadablePaymentError',
      reason: 'a paid answer with an unreadable amount (total_fee "", fee_type "XXX")',
      message: 'a paid answer with an unreadable amount (total_fee "", fee_type "XXX")',
    });
    expect(() => paidOutcome({ ...PAID, total_fee: '1', fee_type: undefined as unknown as string })).not.toThrow();
    expect(() => paidOutcome({ ...PAID, transaction_id: '' })).toThrow('a paid answer without transaction_id');
    // A CNY charged in an unreadable form is left out, never guessed.
    expect('charged' in paidOutcome({ ...PAID, cash_fee: '36.85' })).toBe(false);
    expect('charged' in paidOutcome({ ...PAID, cash_fee_type: 'XXX' })).toBe(false);
    expect(paidOutcome({ ...PAID, cash_fee_type: '' })).toMatchObject({ charged: { currency: 'CNY' } });
    expect('paidAt' in paidOutcome({ ...PAID, time_end: 'soon' })).toBe(false);
  });

  it('says why an order is not paid, with WeChat description when there is one', () => {
    const s = (trade_state: string | undefined, trade_state_desc?: string) =>
      tradeStateOutcome({
        out_trade_no: 'K1',
        ...(trade_state ? { trade_state } : {}),
        ...(trade_state_desc ? { trade_state_desc } : {}),
      });
    expect(s('ACCEPT')).toEqual({ state: 'pending', raw: { out_trade_no: 'K1', trade_state: 'ACCEPT' } });
    expect(s('NOTPAY')).toEqual({ state: 'pending', raw: { out_trade_no: 'K1', trade_state: 'NOTPAY' } });
    expect(s('CLOSED', '订单已关闭')).toMatchObject({ reason: 'WeChat closed the order: 订单已关闭' });
    expect(s('CLOSED')).toMatchObject({ reason: 'WeChat closed the order' });
    expect(s('REVOKED', 'r')).toMatchObject({ reason: 'WeChat revoked the order: r' });
    expect(s('PAYERROR', 'bank')).toMatchObject({ reason: 'the payment failed: bank' });
    expect(s('NEW')).toMatchObject({ state: 'unknown', reason: 'orderquery answered trade_state "NEW"' });
    expect(s(undefined)).toMatchObject({ state: 'unknown', reason: 'orderquery answered trade_state ""' });
  });

  it('words and settles every micropay and unifiedorder error code as the documentation says', () => {
    const fail = (err_code?: string, err_code_des?: string) =>
      micropayOutcome({
        result_code: 'FAIL',
        ...(err_code ? { err_code } : {}),
        ...(err_code_des ? { err_code_des } : {}),
      });
    expect(fail()).toMatchObject({ state: 'unknown', reason: 'FAIL' });
    expect(fail('SYSTEMERROR')).toMatchObject({ state: 'unknown', reason: 'SYSTEMERROR' });
    expect(fail('ORDERCLOSED', 'closed')).toMatchObject({ state: 'closed', reason: 'ORDERCLOSED: closed' });
    expect(fail('ORDERREVERSED', 'r')).toMatchObject({ state: 'reversed', reason: 'ORDERREVERSED: r' });
    for (const c of [
      'BUYER_MISMATCH',
      'PARAM_ERROR',
      'NOAUTH',
      'TRADE_ERROR',
      'INVALID_REQUEST',
      'XML_FORMAT_ERROR',
      'REQUIRE_POST_METHOD',
      'SIGNERROR',
      'LACK_PARAMS',
      'NOT_UTF8',
      'APPID_NOT_EXIST',
      'MCHID_NOT_EXIST',
      'APPID_MCHID_NOT_MATCH',
      'POST_DATA_EMPTY',
      'OUT_TRADE_NO_USED',
      'INVALID_TRANSACTIONID',
    ])
      expect(fail(c).state).toBe('failed');
    const uo = (err_code?: string) => unifiedOrderFailure(err_code ? { err_code, err_code_des: 'd' } : {});
    for (const c of ['SYSTEMERROR', 'ORDERPAID', 'BIZERR_NEED_RETRY'])
      expect(uo(c)).toMatchObject({ state: 'unknown', reason: `${c}: d` });
    expect(uo('ORDERCLOSED')).toMatchObject({ state: 'closed', reason: 'ORDERCLOSED: d' });
    expect(uo()).toMatchObject({ state: 'failed', reason: 'FAIL' });
  });

  it('maps refund errors and finds the asked refund among at most 50 listed', () => {
    expect(refundOutcome({ result_code: 'SUCCESS', refund_id: '' })).toEqual({
      state: 'processing',
      channelRefundId: undefined,
      raw: { result_code: 'SUCCESS', refund_id: '' },
    });
    for (const c of ['SYSTEMERROR', 'BIZERR_NEED_RETRY', 'FREQUENCY_LIMITED'])
      expect(refundOutcome({ result_code: 'FAIL', err_code: c, err_code_des: 'busy' })).toMatchObject({
        state: 'unknown',
        reason: `${c}: busy`,
      });
    expect(refundOutcome({ result_code: 'FAIL', err_code: 'NOTENOUGH' })).toMatchObject({ reason: 'NOTENOUGH' });
    expect(refundOutcome({ result_code: 'FAIL' })).toMatchObject({ state: 'failed', reason: 'FAIL' });

    expect(refundQueryOutcome({ result_code: 'FAIL', err_code: 'REFUNDNOTEXIST' }, 'R1')).toMatchObject({
      state: 'unknown',
      reason: 'REFUNDNOTEXIST',
    });
    expect(refundQueryOutcome({ result_code: 'SUCCESS', out_refund_no_0: 'R1' }, 'R1')).toMatchObject({
      state: 'unknown',
      reason: 'refundquery did not list R1',
    });
    const listed = (n: number, at: number, extra: Record<string, string> = {}) => {
      const f: Record<string, string> = { result_code: 'SUCCESS', refund_count: String(n), ...extra };
      for (let i = 0; i < Math.max(n, at + 1); i++) f[`out_refund_no_${i}`] = i === at ? 'R1' : `X${i}`;
      f[`refund_status_${at}`] = f[`refund_status_${at}`] ?? 'SUCCESS';
      return refundQueryOutcome(f, 'R1');
    };
    expect(listed(50, 49)).toMatchObject({ state: 'succeeded' });
    expect(listed(60, 50)).toMatchObject({ state: 'unknown', reason: 'refundquery did not list R1' });
    // refund_count bounds the search: an entry past it is not read.
    expect(listed(1, 1)).toMatchObject({ state: 'unknown', reason: 'refundquery did not list R1' });
    expect(listed(2, 1, { refund_id_1: '' })).toMatchObject({ state: 'succeeded', channelRefundId: undefined });
    expect(listed(2, 1, { refund_status_1: 'PROCESSING', refund_id_1: '' })).toEqual({
      state: 'processing',
      channelRefundId: undefined,
      raw: expect.anything(),
    });
    expect(listed(2, 1, { refund_status_1: 'REFUNDCLOSE' })).toMatchObject({
      reason: 'WeChat closed the refund (REFUNDCLOSE)',
    });
    expect(listed(2, 1, { refund_status_1: 'CHANGE' })).toMatchObject({ reason: 'refund_status CHANGE' });
    const noStatus = refundQueryOutcome({ result_code: 'SUCCESS', refund_count: '1', out_refund_no_0: 'R1' }, 'R1');
    expect(noStatus).toMatchObject({ state: 'unknown', reason: 'refund_status (none)' });
  });
});
