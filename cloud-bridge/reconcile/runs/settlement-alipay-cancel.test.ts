import { afterEach, describe, expect, it } from 'vitest';
import { storeKinds } from '../../../test/support/stores.js';
import { alipayTransactionFile } from '../fixtures.js';
import { china, harness, type Harness } from './recon-harness.fixture.js';

// An in-store Alipay payment cancelled the same Beijing day (money back to the customer,
// fee returned). The day's transaction file lists it twice: the PAYMENT row and the reversal
// (same Partner_transaction_id). The bridge has the order as `reversed`. Nothing is owed to
// the merchant for it and nothing moved net at the channel.

const D = '2026-11-18';
/** The day's transaction file as Alipay lists such a trade: its PAYMENT row and its REVERSAL row (fee returned). */
function transactionFile(): string {
  const trade = { outTradeNo: 'KCANCEL1', tradeNo: '2026111822001400000000000001', currency: 'NZD', amountMinor: 1500 };
  return alipayTransactionFile(
    [
      { ...trade, kind: 'payment', status: 'paid', timeMs: china(D, '11:00'), feeMicro: 270_000 },
      { ...trade, kind: 'payment', status: 'revoked', timeMs: china(D, '11:02'), feeMicro: -270_000 },
    ],
    D,
  );
}

describe.each(storeKinds())('Alipay same-day cancel (%s)', (kind) => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('a cancelled payment adds nothing to the channel net nor to the merchant settlement', async () => {
    h = await harness(kind, 'alipay');
    await h.order({
      id: 'ord_c',
      channelOrderNo: 'KCANCEL1',
      amountMinor: 1500,
      status: 'reversed',
      paidAtMs: china(D, '11:00'),
    });
    const body = transactionFile();
    const r = await h.service.reconcileDay('alipay', D, { statement: { body: Buffer.from(body), fileName: 'tx.txt' } });
    expect(r.summary).toMatchObject({ statementRows: 2, matched: 1, duplicates: 0, statusMismatch: 0 });
    // What the channel netted for the day: the payment went back, so 0 (README: revoked payments count zero).
    expect(r.summary.totals).toEqual({ channelMinor: 0, platformMinor: 0, currency: 'NZD' });
    // The settlement export, basis for payouts, must not owe the merchant the cancelled 15.00.
    const [line] = await h.service.settlement({ from: D, to: D });
    expect(line).toMatchObject({ payments: 0, grossMinor: 0, feesMinor: 0, netMinor: 0 });
  }, 30_000);
});
