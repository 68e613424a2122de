import { describe, expect, it } from 'vitest';
import { businessDaysBetween, merchantPayout, operatorFeeOf, scheduleDue, type PayoutAccount } from './arithmetic.js';

const account: PayoutAccount = {
  id: 'bac_1',
  accountNumber: '01-0902-0068389-000',
  accountName: 'Shop',
  minimumMinor: 500,
  payableFrom: '2026-11-01T00:00:00.000Z',
};
const day = (
  gross: number,
  payments: number,
  extra: Partial<{ refundsMinor: number; fees: number; adj: number }> = {},
) => ({
  channel: 'wechat',
  day: '2026-11-02',
  currency: 'NZD',
  payments,
  grossMinor: gross,
  refunds: extra.refundsMinor ? 1 : 0,
  refundsMinor: extra.refundsMinor ?? 0,
  channelFeesMinor: extra.fees ?? 0,
  adjustmentsMinor: extra.adj ?? 0,
});
const now = '2026-11-10T00:00:00.000Z';

describe('payout arithmetic', () => {
  it('rounds the operator percentage half up to the cent, then adds the fixed fee per payment', () => {
    expect(operatorFeeOf({ grossMinor: 1100, payments: 1 }, { percent: '0.5', fixedMinor: 0 })).toBe(6); // 5.5
    expect(operatorFeeOf({ grossMinor: 1090, payments: 1 }, { percent: '0.5', fixedMinor: 0 })).toBe(5); // 5.45
    expect(operatorFeeOf({ grossMinor: 30000, payments: 3 }, { percent: '1.5', fixedMinor: 30 })).toBe(540);
    expect(operatorFeeOf({ grossMinor: 1, payments: 0 }, { percent: '0', fixedMinor: 25 })).toBe(0);
    expect(() => operatorFeeOf({ grossMinor: 1, payments: 1 }, { percent: '1e2', fixedMinor: 0 })).toThrow();
  });

  it('pays the balance at or above the minimum, carries a negative or small one, holds without an account', () => {
    const fees = new Map([['wechat', { percent: '1', fixedMinor: 10 }]]);
    const paid = merchantPayout({
      merchantId: 'm',
      days: [day(10000, 2, { fees: 60 })],
      fees,
      carriedInMinor: -400,
      account,
      now,
    });
    // 10000 − 60 − (100 + 20) − 400 = 9420
    expect(paid).toMatchObject({
      status: 'pay',
      operatorFeesMinor: 120,
      balanceMinor: 9420,
      amountMinor: 9420,
      carriedOutMinor: 0,
    });
    const small = merchantPayout({
      merchantId: 'm',
      days: [day(499, 1)],
      fees: new Map(),
      carriedInMinor: 0,
      account,
      now,
    });
    expect(small).toMatchObject({ status: 'carried', amountMinor: 0, carriedOutMinor: 499 });
    const exact = merchantPayout({
      merchantId: 'm',
      days: [day(500, 1)],
      fees: new Map(),
      carriedInMinor: 0,
      account,
      now,
    });
    expect(exact).toMatchObject({ status: 'pay', amountMinor: 500 });
    const negative = merchantPayout({
      merchantId: 'm',
      days: [day(0, 0, { refundsMinor: 3000, adj: -200 })],
      fees: new Map(),
      carriedInMinor: 1000,
      account,
      now,
    });
    expect(negative).toMatchObject({ status: 'carried', balanceMinor: -2200, carriedOutMinor: -2200 });
    const held = merchantPayout({
      merchantId: 'm',
      days: [day(9000, 1)],
      fees: new Map(),
      carriedInMinor: 0,
      account: null,
      now,
    });
    expect(held).toMatchObject({ status: 'held', amountMinor: 0, carriedOutMinor: 9000 });
    const cooling = merchantPayout({
      merchantId: 'm',
      days: [day(9000, 1)],
      fees: new Map(),
      carriedInMinor: 0,
      account: { ...account, payableFrom: '2026-11-10T12:00:00.000Z' },
      now,
    });
    expect(cooling.status).toBe('held');
    const cny = merchantPayout({
      merchantId: 'm',
      days: [{ ...day(9000, 1), currency: 'CNY' }],
      fees,
      carriedInMinor: 0,
      account,
      now,
    });
    expect(cny).toMatchObject({ items: [], balanceMinor: 0, status: 'carried' });
  });

  it('counts NZ business days and knows when a schedule pays', () => {
    expect(businessDaysBetween('2026-12-04', '2026-12-09')).toBe(3); // Fri → Wed: Mon, Tue, Wed
    expect(businessDaysBetween('2026-12-04', '2026-12-06')).toBe(0);
    expect(scheduleDue('daily', null, '2026-12-06')).toBe(true);
    expect(scheduleDue('weekly', 5, '2026-12-04')).toBe(true);
    expect(scheduleDue('weekly', 1, '2026-12-04')).toBe(false);
    expect(scheduleDue('monthly', 4, '2026-12-04')).toBe(true);
  });
});
