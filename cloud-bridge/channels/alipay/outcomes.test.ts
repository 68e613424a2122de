import { describe, expect, it } from 'vitest';
import {
  beijing,
  cancelOutcome,
  forexRefundOutcome,
  gatewayRefusal,
  inStoreQueryOutcome,
  onlineQueryRefused,
  onlineTradeOutcome,
  parseBeijing,
  precreateOutcome,
  refundNotifyOutcome,
  refundQueryOutcome,
  spotPayOutcome,
  spotRefundOutcome,
  timeoutRuleFor,
  tradeNotifyOutcome,
  UNCERTAIN_ERRORS,
} from './outcomes.js';

const ONLINE_PAID = {
  trade_no: '2026112200001',
  out_trade_no: 'K1',
  total_fee: '8.88',
  currency: 'NZD',
  rmb_total_fee: '36.85',
  forex_rate: '4.15',
  gmt_payment: '2026-11-22 08:16:12',
};

const SPOT_PAID = {
  result_code: 'SUCCESS',
  alipay_trans_id: '2026112200009',
  trans_amount: '8.88',
  currency: 'NZD',
  trans_amount_cny: '36.85',
  exchange_rate: '4.15',
  alipay_pay_time: '20261122081612',
};

describe('Alipay outcomes', () => {
  it('reads and writes Beijing time, refusing roll-overs', () => {
    expect(beijing(Date.parse('2026-11-21T16:30:00Z'))).toEqual({
      compact: '20261122003000',
      dashed: '2026-11-22 00:30:00',
      day: '20261122',
    });
    expect(parseBeijing('2026-11-22 08:16:12')?.toISOString()).toBe('2026-11-22T00:16:12.000Z');
    expect(parseBeijing('20261122081612')?.toISOString()).toBe('2026-11-22T00:16:12.000Z');
    expect(parseBeijing('2026-11-31 08:00:00')).toBeUndefined();
    expect(parseBeijing('2026-13-01 08:00:00')).toBeUndefined();
    expect(parseBeijing('yesterday')).toBeUndefined();
    expect(parseBeijing(undefined)).toBeUndefined();
  });

  it('picks the longest timeout_rule within the order, at least 5m', () => {
    expect(timeoutRuleFor(60_000)).toBe('5m');
    expect(timeoutRuleFor(5 * 60_000)).toBe('5m');
    expect(timeoutRuleFor(14 * 60_000)).toBe('10m');
    expect(timeoutRuleFor(15 * 60_000)).toBe('15m');
    expect(timeoutRuleFor(2 * 3600_000 + 1)).toBe('2h');
    expect(timeoutRuleFor(3 * 24 * 3600_000)).toBe('1d');
  });

  it('tells uncertain gateway errors from refusals', () => {
    for (const code of UNCERTAIN_ERRORS) expect(gatewayRefusal(code, 's').state).toBe('unknown');
    expect(gatewayRefusal(undefined, 's').state).toBe('unknown');
    expect(gatewayRefusal('ILLEGAL_SIGN', 's')).toMatchObject({ state: 'failed', reason: 's refused: ILLEGAL_SIGN' });
  });

  it('maps precreate answers', () => {
    expect(precreateOutcome({ result_code: 'SUCCESS', qr_code: 'https://qr/x' })).toMatchObject({
      state: 'pending',
      qrCode: 'https://qr/x',
    });
    expect(precreateOutcome({ result_code: 'SUCCESS' }).state).toBe('unknown');
    expect(precreateOutcome({ result_code: 'FAILED', detail_error_code: 'X' })).toMatchObject({
      state: 'failed',
      reason: 'X',
    });
    expect(precreateOutcome({ result_code: 'UNKNOW' }).state).toBe('unknown');
  });

  it('maps spot pay answers', () => {
    const paid = spotPayOutcome(SPOT_PAID);
    expect(paid).toMatchObject({ state: 'paid', channelTradeNo: '2026112200009', rate: '4.15' });
    if (paid.state !== 'paid') throw new Error('not paid');
    expect(paid.amount).toEqual({ minor: 888, currency: 'NZD' });
    expect(paid.charged).toEqual({ minor: 3685, currency: 'CNY' });
    expect(paid.paidAt?.toISOString()).toBe('2026-11-22T00:16:12.000Z');
    expect(spotPayOutcome({ result_code: 'FAILED', error: 'BUYER_BALANCE_NOT_ENOUGH' })).toMatchObject({
      state: 'failed',
      reason: 'BUYER_BALANCE_NOT_ENOUGH',
    });
    expect(spotPayOutcome({ result_code: 'UNKNOW' }).state).toBe('unknown');
    expect(() => spotPayOutcome({ ...SPOT_PAID, alipay_trans_id: '' })).toThrow(/alipay_trans_id/);
    expect(() => spotPayOutcome({ ...SPOT_PAID, trans_amount: '8.888' })).toThrow(/not valid/);
  });

  it('maps every online trade status', () => {
    expect(onlineQueryRefused('TRADE_NOT_EXIST')).toMatchObject({ state: 'pending' });
    expect(onlineQueryRefused('SYSTEM_ERROR').state).toBe('unknown');
    expect(onlineTradeOutcome({ trade_status: 'WAIT_BUYER_PAY', trade_no: 'T' })).toMatchObject({
      state: 'pending',
      userPaying: true,
    });
    for (const s of ['TRADE_SUCCESS', 'TRADE_FINISHED'])
      expect(onlineTradeOutcome({ ...ONLINE_PAID, trade_status: s })).toMatchObject({
        state: 'paid',
        amount: { minor: 888, currency: 'NZD' },
        charged: { minor: 3685, currency: 'CNY' },
      });
    // Closed after being paid (fully refunded): it was paid.
    expect(onlineTradeOutcome({ ...ONLINE_PAID, trade_status: 'TRADE_CLOSED' }).state).toBe('paid');
    expect(onlineTradeOutcome({ trade_status: 'TRADE_CLOSED' }).state).toBe('closed');
    expect(onlineTradeOutcome({ trade_status: 'TRADE_PENDING' }).state).toBe('unknown');
    expect(onlineTradeOutcome({}).state).toBe('unknown');
    expect(() => onlineTradeOutcome({ ...ONLINE_PAID, trade_no: '', trade_status: 'TRADE_SUCCESS' })).toThrow();
  });

  it('maps every in-store query status, for precreate and spot', () => {
    expect(inStoreQueryOutcome({ result_code: 'FAILED', error: 'TRADE_NOT_EXIST' }, false).state).toBe('unknown');
    expect(inStoreQueryOutcome({ result_code: 'SUCCESS', trade_status: 'WAIT_BUYER_PAY' }, false)).toMatchObject({
      state: 'pending',
      userPaying: true,
    });
    expect(
      inStoreQueryOutcome(
        { result_code: 'SUCCESS', trade_status: 'TRADE_SUCCESS', trade_no: 'T', total_fee: '1.00', currency: 'NZD' },
        false,
      ),
    ).toMatchObject({ state: 'paid', channelTradeNo: 'T', amount: { minor: 100, currency: 'NZD' } });
    expect(inStoreQueryOutcome({ ...SPOT_PAID, alipay_trans_status: 'TRADE_FINISHED' }, true)).toMatchObject({
      state: 'paid',
      channelTradeNo: '2026112200009',
    });
    expect(inStoreQueryOutcome({ result_code: 'SUCCESS', trade_status: 'TRADE_CLOSED' }, false).state).toBe('closed');
    expect(inStoreQueryOutcome({ result_code: 'SUCCESS', alipay_trans_status: 'TRADE_CLOSED' }, true).state).toBe(
      'reversed',
    );
    expect(inStoreQueryOutcome({ result_code: 'SUCCESS', trade_status: 'ODD' }, false).state).toBe('unknown');
  });

  it('maps cancel answers, asking the query when only it can say', () => {
    expect(cancelOutcome({ result_code: 'SUCCESS' }, false)).toMatchObject({ outcome: { state: 'closed' } });
    expect(cancelOutcome({ result_code: 'SUCCESS', action: 'refund' }, false)).toMatchObject({
      outcome: { state: 'reversed' },
    });
    expect(cancelOutcome({ result_code: 'SUCCESS' }, true)).toMatchObject({ outcome: { state: 'reversed' } });
    expect(cancelOutcome({ result_code: 'FAILED', error: 'TRADE_NOT_EXIST' }, false)).toMatchObject({
      outcome: { state: 'closed' },
    });
    expect(cancelOutcome({ result_code: 'FAILED', detail_error_code: 'TRADE_NOT_EXIST' }, true)).toMatchObject({
      outcome: { state: 'reversed' },
    });
    expect(cancelOutcome({ result_code: 'FAILED', error: 'REASON_TRADE_BEEN_FREEZEN' }, false)).toMatchObject({
      ask: true,
      ifStillPending: { state: 'unknown' },
    });
    expect(cancelOutcome({ result_code: 'FAILED', retry_flag: 'Y' }, false)).toMatchObject({
      outcome: { state: 'unknown' },
    });
    expect(cancelOutcome({ result_code: 'UNKNOW' }, false)).toMatchObject({ outcome: { state: 'unknown' } });
  });

  it('maps refund answers, queries and notifies', () => {
    expect(forexRefundOutcome(true, undefined, 'R1')).toEqual({ state: 'processing', channelRefundId: 'R1' });
    expect(forexRefundOutcome(false, 'SYSTEM_BUSY', 'R1').state).toBe('unknown');
    expect(forexRefundOutcome(false, 'RETURN_AMOUNT_EXCEED', 'R1').state).toBe('failed');
    expect(spotRefundOutcome(true, undefined, { result_code: 'SUCCESS' }, 'R1').state).toBe('succeeded');
    expect(spotRefundOutcome(true, undefined, { result_code: 'FAILED' }, 'R1').state).toBe('failed');
    expect(spotRefundOutcome(true, undefined, { result_code: 'UNKNOW' }, 'R1').state).toBe('unknown');
    expect(spotRefundOutcome(false, 'SYSTEM_ERROR', {}, 'R1').state).toBe('unknown');
    expect(spotRefundOutcome(false, 'ILLEGAL_ARGUMENT', {}, 'R1').state).toBe('failed');
    expect(refundQueryOutcome({ response_code: 'NOT_FOUND' }, 'R1').state).toBe('not_found');
    expect(refundQueryOutcome({ response_code: 'SYSTEM_ERROR' }, 'R1').state).toBe('unknown');
    const q = (code: string) => refundQueryOutcome({ response_code: 'SUCCESS', refund_result_code: code }, 'R1').state;
    expect(q('SUCCESS')).toBe('succeeded');
    expect(q('FAILED')).toBe('failed');
    expect(q('CANCELED')).toBe('failed');
    expect(q('PROCESSING')).toBe('processing');
    expect(q('ODD')).toBe('unknown');
    expect(refundNotifyOutcome({ out_return_no: 'R1', refund_status: 'REFUND_SUCCESS' }).outcome.state).toBe(
      'succeeded',
    );
    expect(refundNotifyOutcome({ out_return_no: 'R1', refund_status: 'REFUND_FAIL', error_code: 'E' })).toMatchObject({
      channelRefundNo: 'R1',
      outcome: { state: 'failed', reason: 'REFUND_FAIL (E)' },
    });
    expect(() => refundNotifyOutcome({ out_return_no: 'R1', refund_status: 'ODD' })).toThrow(/ODD/);
    expect(() => refundNotifyOutcome({ refund_status: 'REFUND_SUCCESS' })).toThrow(/out_return_no/);
  });

  it('maps every trade notify status', () => {
    expect(tradeNotifyOutcome({ ...ONLINE_PAID, trade_status: 'TRADE_SUCCESS', trans_currency: 'NZD' })).toMatchObject({
      state: 'paid',
      amount: { minor: 888, currency: 'NZD' },
    });
    expect(tradeNotifyOutcome({ ...ONLINE_PAID, trade_status: 'TRADE_FINISHED' }).state).toBe('paid');
    expect(tradeNotifyOutcome({ trade_status: 'TRADE_CLOSED' }).state).toBe('closed');
    expect(tradeNotifyOutcome({ trade_status: 'WAIT_BUYER_PAY' }).state).toBe('pending');
    expect(() => tradeNotifyOutcome({ trade_status: 'TRADE_SUCCESS' })).toThrow(/trade_no/);
    expect(() => tradeNotifyOutcome({ trade_status: 'ODD' })).toThrow(/ODD/);
  });
});

// What an outcome tells the operator and the bridge beyond its state: the reason names Alipay's
// own code (the word an operator looks up in Alipay's documentation), an answer that lacks what
// it needs is never read as a success, and a field Alipay left out is shown as such.
describe('Alipay outcomes: reasons and incomplete answers', () => {
  it('reads a time only when it is the whole field', () => {
    expect(parseBeijing('x2026-11-22 08:16:12')).toBeUndefined();
    expect(parseBeijing('2026-11-22 08:16:12x')).toBeUndefined();
    expect(parseBeijing('2026-11-22 08:16:12.000')).toBeUndefined();
  });

  it('refuses an amount without its currency, or a currency without its amount, saying so', () => {
    const noAmount = { ...SPOT_PAID, trans_amount: '' };
    expect(() => spotPayOutcome(noAmount)).toThrow(expect.objectContaining({ code: 'channel_error' }));
    expect(() => spotPayOutcome(noAmount)).toThrow("Alipay's spot payment has no amount or currency");
    const { currency: _c, ...noCurrency } = SPOT_PAID;
    expect(() => spotPayOutcome(noCurrency)).toThrow("Alipay's spot payment has no amount or currency");
    expect(() => onlineTradeOutcome({ ...ONLINE_PAID, trade_status: 'TRADE_SUCCESS', currency: '' })).toThrow(
      "Alipay's trade has no amount or currency",
    );
    expect(() =>
      inStoreQueryOutcome(
        { result_code: 'SUCCESS', trade_status: 'TRADE_SUCCESS', trade_no: 'T', currency: 'NZD' },
        false,
      ),
    ).toThrow("Alipay's trade has no amount or currency");
    expect(() => tradeNotifyOutcome({ ...ONLINE_PAID, trade_status: 'TRADE_SUCCESS', total_fee: '' })).toThrow(
      "Alipay's notify has no amount or currency",
    );
  });

  it("names the gateway's error in an uncertain or refused answer", () => {
    expect(gatewayRefusal('SYSTEM_BUSY', 'alipay.acquire.precreate')).toEqual({
      state: 'unknown',
      reason: 'alipay.acquire.precreate: SYSTEM_BUSY',
    });
    expect(gatewayRefusal(undefined, 'alipay.acquire.precreate')).toEqual({
      state: 'unknown',
      reason: 'alipay.acquire.precreate: UNKNOWN',
    });
    expect(gatewayRefusal('ILLEGAL_SIGN', 'alipay.acquire.precreate')).toMatchObject({
      raw: { error: 'ILLEGAL_SIGN' },
    });
  });

  it('takes a QR code only from a precreate that succeeded', () => {
    expect(precreateOutcome({ result_code: 'FAILED', qr_code: 'https://qr/x' }).state).toBe('failed');
    expect(precreateOutcome({ qr_code: 'https://qr/x' })).toMatchObject({
      state: 'unknown',
      reason: 'precreate result missing',
    });
    expect(precreateOutcome({ result_code: 'UNKNOW' })).toMatchObject({ reason: 'precreate result UNKNOW' });
    // A refusal naming a trade already paid (or a system error) may hide a payment: asked, never failed.
    expect(precreateOutcome({ result_code: 'FAILED', error: 'TRADE_HAS_SUCCESS' })).toMatchObject({
      state: 'unknown',
      reason: 'precreate result FAILED (TRADE_HAS_SUCCESS)',
    });
    expect(precreateOutcome({ result_code: 'FAIL', detail_error_code: 'TRADE_HAS_SUCCESS' }).state).toBe('unknown');
    expect(precreateOutcome({ result_code: 'FAIL', detail_error_code: 'SYSTEM_ERROR' }).state).toBe('unknown');
    expect(precreateOutcome({ result_code: 'FAIL', error: 'TRADE_SUCCESS' }).state).toBe('unknown');
    // The simulator's own word for an out_trade_no already paid or closed.
    expect(precreateOutcome({ result_code: 'FAIL', error: 'TRADE_HAS_SUCCESS_OR_CLOSE' }).state).toBe('unknown');
    expect(precreateOutcome({ result_code: 'FAILED' })).toMatchObject({ state: 'failed', reason: 'FAILED' });
    // Alipay's own word for a refused pre-order (its SDK's response definition): FAIL.
    expect(precreateOutcome({ result_code: 'FAIL', detail_error_code: 'TOTAL_FEE_EXCEED' })).toMatchObject({
      state: 'failed',
      reason: 'TOTAL_FEE_EXCEED',
    });
    expect(precreateOutcome({ result_code: 'FAIL' })).toMatchObject({ state: 'failed', reason: 'FAIL' });
    expect(precreateOutcome({ result_code: 'UNKNOWN' }).state).toBe('unknown');
  });

  it('keeps a payment whose CNY amount is unreadable, leaving that amount out', () => {
    for (const trans_amount_cny of ['36.855', 'abc', '36,85'])
      expect(spotPayOutcome({ ...SPOT_PAID, trans_amount_cny })).toMatchObject({
        state: 'paid',
        amount: { minor: 888, currency: 'NZD' },
        charged: undefined,
      });
  });

  it('says why a spot payment is not paid', () => {
    expect(spotPayOutcome({ result_code: 'FAILED' })).toMatchObject({ state: 'failed', reason: 'FAILED' });
    expect(spotPayOutcome({ result_code: 'UNKNOW', error: 'SYSTEM_ERROR' })).toMatchObject({
      state: 'unknown',
      reason: 'spot pay result UNKNOW (SYSTEM_ERROR)',
    });
    expect(spotPayOutcome({ result_code: 'UNKNOW' })).toMatchObject({ reason: 'spot pay result UNKNOW' });
    expect(spotPayOutcome({})).toMatchObject({ state: 'unknown', reason: 'spot pay result missing' });
  });

  it('keeps the refusal of an online trade query, and names it', () => {
    expect(onlineQueryRefused('TRADE_NOT_EXIST')).toEqual({ state: 'pending', raw: { error: 'TRADE_NOT_EXIST' } });
    expect(onlineQueryRefused('SYSTEM_ERROR')).toEqual({
      state: 'unknown',
      reason: 'single_trade_query: SYSTEM_ERROR',
    });
    expect(onlineQueryRefused(undefined)).toEqual({ state: 'unknown', reason: 'single_trade_query: refused' });
  });

  it('reads TRADE_SUCCESS as paid even without gmt_payment, and names a status it does not know', () => {
    const { gmt_payment: _g, ...noTime } = ONLINE_PAID;
    for (const trade_status of ['TRADE_SUCCESS', 'TRADE_FINISHED'])
      expect(onlineTradeOutcome({ ...noTime, trade_status })).toMatchObject({ state: 'paid', paidAt: undefined });
    expect(onlineTradeOutcome({ trade_status: 'TRADE_CLOSED' })).toMatchObject({ reason: 'TRADE_CLOSED' });
    expect(onlineTradeOutcome({ trade_status: 'TRADE_PENDING' })).toMatchObject({
      reason: 'trade_status TRADE_PENDING',
    });
    expect(onlineTradeOutcome({})).toMatchObject({ reason: 'trade_status missing' });
    expect(() => onlineTradeOutcome({ ...ONLINE_PAID, trade_no: '', trade_status: 'TRADE_SUCCESS' })).toThrow(
      expect.objectContaining({ code: 'channel_error', message: 'Alipay reported a paid trade without trade_no' }),
    );
  });

  it('believes an in-store query only when its result_code is SUCCESS', () => {
    const paidTrade = { trade_status: 'TRADE_SUCCESS', trade_no: 'T', total_fee: '1.00', currency: 'NZD' };
    expect(inStoreQueryOutcome({ ...paidTrade, result_code: 'FAILED', error: 'TRADE_NOT_EXIST' }, false)).toMatchObject(
      { state: 'unknown', reason: 'query result FAILED TRADE_NOT_EXIST' },
    );
    expect(inStoreQueryOutcome({ ...paidTrade }, false)).toMatchObject({
      state: 'unknown',
      reason: 'query result missing',
    });
    expect(
      inStoreQueryOutcome({ result_code: 'FAILED', error: 'SYSTEM_ERROR', detail_error_code: 'X' }, true),
    ).toMatchObject({ reason: 'query result FAILED SYSTEM_ERROR' });
    expect(inStoreQueryOutcome({ result_code: 'FAILED', detail_error_code: 'TRADE_NOT_EXIST' }, true)).toMatchObject({
      reason: 'query result FAILED TRADE_NOT_EXIST',
    });
    expect(inStoreQueryOutcome({ result_code: 'UNKNOW' }, true)).toMatchObject({ reason: 'query result UNKNOW' });
    expect(inStoreQueryOutcome({ result_code: 'SUCCESS', trade_status: 'TRADE_CLOSED' }, false)).toMatchObject({
      reason: 'TRADE_CLOSED',
    });
    expect(inStoreQueryOutcome({ result_code: 'SUCCESS', trade_status: 'ODD' }, false)).toMatchObject({
      reason: 'trade status ODD',
    });
    expect(inStoreQueryOutcome({ result_code: 'SUCCESS' }, true)).toMatchObject({
      state: 'unknown',
      reason: 'trade status missing',
    });
  });

  it('says how a cancel ended, and why it is uncertain', () => {
    expect(cancelOutcome({ result_code: 'SUCCESS' }, false)).toMatchObject({
      outcome: { reason: 'cancelled (close)' },
    });
    expect(cancelOutcome({ result_code: 'SUCCESS', action: 'refund' }, true)).toMatchObject({
      outcome: { reason: 'cancelled (refund)' },
    });
    expect(cancelOutcome({ result_code: 'FAILED', error: 'TRADE_NOT_EXIST' }, false)).toMatchObject({
      outcome: { reason: 'no such trade at Alipay' },
    });
    expect(cancelOutcome({ result_code: 'FAILED', error: 'REASON_TRADE_BEEN_FREEZEN' }, false)).toMatchObject({
      ifStillPending: { reason: 'cancel result FAILED REASON_TRADE_BEEN_FREEZEN' },
    });
    expect(cancelOutcome({ result_code: 'UNKNOW' }, false)).toMatchObject({
      outcome: { reason: 'cancel result UNKNOW' },
    });
    // Alipay's own words for a cancel (its SDK's response definition): SUCCESS / FAIL / UNKNOWN.
    expect(
      cancelOutcome({ result_code: 'FAIL', retry_flag: 'N', detail_error_code: 'TRADE_NOT_EXIST' }, false),
    ).toMatchObject({ outcome: { state: 'closed', reason: 'no such trade at Alipay' } });
    expect(
      cancelOutcome({ result_code: 'FAIL', retry_flag: 'N', error: 'REASON_TRADE_BEEN_FINISHED' }, false),
    ).toMatchObject({ ask: true, ifStillPending: { state: 'unknown' } });
    expect(cancelOutcome({ result_code: 'FAIL', retry_flag: 'Y' }, false)).toMatchObject({
      outcome: { state: 'unknown' },
    });
    expect(cancelOutcome({ result_code: 'UNKNOWN', retry_flag: 'Y' }, false)).toMatchObject({
      outcome: { state: 'unknown', reason: 'cancel result UNKNOWN' },
    });
    expect(cancelOutcome({}, true)).toMatchObject({ outcome: { state: 'unknown', reason: 'cancel result missing' } });
  });

  it("names the refund's error, or says there was none", () => {
    expect(forexRefundOutcome(false, 'SYSTEM_BUSY', 'R1')).toEqual({
      state: 'unknown',
      reason: 'forex_refund: SYSTEM_BUSY',
    });
    expect(forexRefundOutcome(false, 'RETURN_AMOUNT_EXCEED', 'R1')).toEqual({
      state: 'failed',
      reason: 'forex_refund refused: RETURN_AMOUNT_EXCEED',
      raw: { error: 'RETURN_AMOUNT_EXCEED' },
    });
    expect(forexRefundOutcome(false, undefined, 'R1')).toMatchObject({
      state: 'failed',
      reason: 'forex_refund refused: unknown error',
    });
    expect(spotRefundOutcome(false, 'SYSTEM_ERROR', {}, 'R1')).toEqual({
      state: 'unknown',
      reason: 'spot refund: SYSTEM_ERROR',
    });
    expect(spotRefundOutcome(false, 'ILLEGAL_ARGUMENT', {}, 'R1')).toEqual({
      state: 'failed',
      reason: 'spot refund refused: ILLEGAL_ARGUMENT',
    });
    expect(spotRefundOutcome(false, undefined, {}, 'R1')).toEqual({
      state: 'failed',
      reason: 'spot refund refused: unknown error',
    });
    expect(
      spotRefundOutcome(true, undefined, { result_code: 'FAILED', error: 'REFUND_AMT_RESTRICTION' }, 'R1'),
    ).toMatchObject({ state: 'failed', reason: 'REFUND_AMT_RESTRICTION' });
    expect(spotRefundOutcome(true, undefined, { result_code: 'FAILED' }, 'R1')).toMatchObject({ reason: 'FAILED' });
    expect(spotRefundOutcome(true, undefined, { result_code: 'UNKNOW' }, 'R1')).toMatchObject({
      reason: 'spot refund result UNKNOW',
    });
    expect(spotRefundOutcome(true, undefined, {}, 'R1')).toMatchObject({
      state: 'unknown',
      reason: 'spot refund result missing',
    });
  });

  it('believes a refund query only when its response_code is SUCCESS', () => {
    expect(refundQueryOutcome({ response_code: 'NOT_FOUND' }, 'R1')).toMatchObject({
      reason: 'Alipay has no such refund (NOT_FOUND)',
    });
    expect(refundQueryOutcome({ refund_result_code: 'SUCCESS' }, 'R1')).toMatchObject({
      state: 'unknown',
      reason: 'refund query: no response_code',
    });
    expect(refundQueryOutcome({ response_code: 'SYSTEM_ERROR', refund_result_code: 'SUCCESS' }, 'R1')).toMatchObject({
      state: 'unknown',
      reason: 'refund query: SYSTEM_ERROR',
    });
    const q = (r: Record<string, string>) => refundQueryOutcome({ response_code: 'SUCCESS', ...r }, 'R1');
    expect(q({ refund_result_code: 'FAILED', refund_error_code: 'REFUND_AMT_RESTRICTION' })).toMatchObject({
      reason: 'FAILED (REFUND_AMT_RESTRICTION)',
    });
    expect(q({ refund_result_code: 'CANCELED' })).toMatchObject({ reason: 'CANCELED' });
    expect(q({ refund_result_code: 'ODD' })).toMatchObject({ reason: 'refund_result_code ODD' });
    expect(q({})).toMatchObject({ state: 'unknown', reason: 'refund_result_code missing' });
  });

  it('names a notify status it does not know, showing an absent one as empty', () => {
    expect(tradeNotifyOutcome({ trade_status: 'TRADE_CLOSED' })).toMatchObject({ reason: 'TRADE_CLOSED' });
    expect(() => tradeNotifyOutcome({})).toThrow('trade_status "" is not one Kauri knows');
    expect(() => refundNotifyOutcome({ out_return_no: 'R1' })).toThrow('refund_status "" is not one Kauri knows');
    expect(refundNotifyOutcome({ out_return_no: 'R1', refund_status: 'REFUND_FAIL' }).outcome).toMatchObject({
      state: 'failed',
      reason: 'REFUND_FAIL',
    });
  });
});
