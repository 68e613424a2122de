import { describe, expect, it } from 'vitest';
import { money } from '../../protocol/money.js';
import { checkMaxPayment, parseMaxPayment } from './limits.js';

describe('maximum per payment', () => {
  const merchant = { id: 'mch_1', max_payment_minor: 5_000_000, max_payment_currency: 'NZD' };

  it('takes up to the maximum and refuses a cent more with amount_too_large (HTTP 422, English and Chinese)', () => {
    expect(() => checkMaxPayment(merchant, money(5_000_000, 'NZD'))).not.toThrow();
    let err: any;
    try {
      checkMaxPayment(merchant, money(5_000_001, 'NZD'));
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({
      code: 'amount_too_large',
      status: 422,
      message:
        "NZD 50,000.01 is more than this merchant's maximum per payment, NZD 50,000.00; split it, or ask HQ to raise the maximum",
    });
    expect(err.zh).toBe('金额超过该商户单笔支付上限');
  });

  it('refuses another currency than the maximum is set in, saying how HQ sets it', () => {
    expect(() => checkMaxPayment(merchant, money(100, 'AUD'))).toThrow(/set in NZD.*--max-payment "AMOUNT AUD"/);
  });

  it("parses HQ's --max-payment, in NZD unless another currency is named", () => {
    expect(parseMaxPayment('50000.00')).toEqual(money(5_000_000, 'NZD'));
    expect(parseMaxPayment('80,000')).toEqual(money(8_000_000, 'NZD'));
    expect(parseMaxPayment('1000 jpy')).toEqual(money(1000, 'JPY'));
    for (const bad of ['', '0', '-5', '12.345', 'lots', '99999999999999999', '10 XXX']) {
      expect(() => parseMaxPayment(bad), bad).toThrow(/not a maximum per payment/);
    }
  });
});
