import { afterEach, describe, expect, it } from 'vitest';
import { storeKinds } from '../../../test/support/stores.js';
import { bankStatement } from '../fixtures.js';
import { china, harness, type Harness } from './recon-harness.fixture.js';

// The bank gateway takes CNY only: an NZD 25.00 sale is charged CNY 118.00 (the order keeps
// amount_minor in NZD and cny_charged_minor in fen), and the bank's statement lists 118.00 CNY.
// Reconciled from the database, the payment must match its statement row.

const D = '2026-11-18';

describe.each(storeKinds())('bank day reconciled from the database (%s)', (kind) => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('an NZD order paid in CNY matches the bank statement row for what was charged', async () => {
    h = await harness(kind, 'bank');
    await h.order({
      id: 'ord_bank1',
      channelOrderNo: '20261118-8888-K000001',
      amountMinor: 2500,
      currency: 'NZD',
      status: 'paid',
      paidAtMs: china(D, '10:15'),
      cnyChargedMinor: 11800,
    });
    const body = bankStatement(
      [
        {
          kind: 'payment',
          status: 'paid',
          outTradeNo: '20261118-8888-K000001',
          tradeNo: 'PE20261118000000001',
          amountMinor: 11800,
          currency: 'CNY',
          timeMs: china(D, '10:15'),
        },
      ],
      D,
    );
    const r = await h.service.reconcileDay('bank', D, { statement: { body: Buffer.from(body), fileName: 'b.csv' } });
    expect(r.summary).toMatchObject({ matched: 1, currencyMismatch: 0 });
    expect(r.summary.totals).toEqual({ channelMinor: 11800, platformMinor: 11800, currency: 'CNY' });
    expect((await h.service.differences({ channel: 'bank' })).filter((d) => d.state === 'open')).toEqual([]);
  }, 30_000);

  it("partial refunds match the bank's rows in CNY, each part from the running total as the bridge asked", async () => {
    h = await harness(kind, 'bank');
    // NZD 10.00 charged CNY 1,002.01; refunded in three parts of NZD 3.00, 3.00 and 4.00.
    await h.order({
      id: 'ord_bank2',
      channelOrderNo: '20261118-8888-K000002',
      amountMinor: 1000,
      currency: 'NZD',
      status: 'refunded',
      paidAtMs: china(D, '09:00'),
      cnyChargedMinor: 100201,
    });
    const parts = [300, 300, 400];
    // As the gateway was asked: 30,060 (30,060.3), 30,061 (60,120.6 → 60,121 in all), 40,080.
    const cny = [30060, 30061, 40080];
    for (const [i, amountMinor] of parts.entries())
      await h.refund({
        id: `ref_b${i}`,
        orderId: 'ord_bank2',
        channelRefundNo: `R00${i}`,
        channelRefundId: `RF00${i}`,
        amountMinor,
        status: 'succeeded',
        createdAtMs: china(D, `1${i}:00`),
      });
    const body = bankStatement(
      [
        {
          kind: 'payment',
          status: 'paid',
          outTradeNo: '20261118-8888-K000002',
          tradeNo: 'PE20261118000000002',
          amountMinor: 100201,
          currency: 'CNY',
          timeMs: china(D, '09:00'),
        },
        ...cny.map((amountMinor, i) => ({
          kind: 'refund' as const,
          status: 'succeeded' as const,
          outTradeNo: '20261118-8888-K000002',
          refundId: `RF00${i}`,
          tradeNo: `PE2026111800000010${i}`,
          amountMinor,
          currency: 'CNY',
          timeMs: china(D, `1${i}:00`),
        })),
      ],
      D,
    );
    expect(cny.reduce((a, b) => a + b, 0)).toBe(100201);
    const r = await h.service.reconcileDay('bank', D, { statement: { body: Buffer.from(body), fileName: 'b.csv' } });
    expect(r.summary).toMatchObject({ matched: 4, currencyMismatch: 0, amountMismatch: 0 });
    expect((await h.service.differences({ channel: 'bank' })).filter((d) => d.state === 'open')).toEqual([]);
  }, 30_000);
});
