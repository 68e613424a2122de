import { afterEach, describe, expect, it } from 'vitest';
import { storeKinds } from '../../../test/support/stores.js';
import { wechatStatement } from '../fixtures.js';
import { china, harness, type Harness } from './recon-harness.fixture.js';

// WeChat's bill gives each row's fee to 5 decimals (0.6 % of NZD 1.00 = 0.00600) and the
// summary's 手续费总金额 / Transaction fee is their total, which the convertor checks at the cent.
// The settlement line (basis of payouts) must carry that total, not a sum of per-row roundings.

const D = '2026-11-18';

describe.each(storeKinds())('WeChat fees in the settlement (%s)', (kind) => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it("the day's fees are the statement's fee total (0.06), not ten rows each rounded up (0.10)", async () => {
    h = await harness(kind, 'wechat');
    const rows = Array.from({ length: 10 }, (_, i) => ({
      kind: 'payment' as const,
      status: 'paid' as const,
      outTradeNo: `KF${i}`,
      tradeNo: `42000F${i}`,
      amountMinor: 100,
      currency: 'NZD',
      timeMs: china(D, '12:00') + i * 1000,
      feeMicro: 6000, // 0.00600
    }));
    for (const r of rows)
      await h.order({
        id: `ord_${r.outTradeNo}`,
        channelOrderNo: r.outTradeNo,
        amountMinor: 100,
        status: 'paid',
        paidAtMs: r.timeMs,
      });
    const text = wechatStatement(rows);
    expect(text.trimEnd().split('\n').pop()).toMatch(/`0\.06\d*$/); // the file's own fee total
    await h.service.reconcileDay('wechat', D, { statement: { body: Buffer.from(text), fileName: 'f.csv' } });
    const [line] = await h.service.settlement({ from: D, to: D });
    expect(line).toMatchObject({ payments: 10, grossMinor: 1000, feesMinor: 6, netMinor: 994 });
  }, 30_000);
});
