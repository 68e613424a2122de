import { afterEach, describe, expect, it } from 'vitest';
import { storeKinds } from '../../../test/support/stores.js';
import { wechatStatement } from '../fixtures.js';
import { china, harness, type Harness } from './recon-harness.fixture.js';

// Two bridge instances (the morning schedule on one, an HQ "Reconcile again" on the other)
// reconcile the same channel-day at the same moment. Each must finish; the day must read
// "reconciled" with each difference recorded once.

const D = '2026-11-18';

describe.each(storeKinds())('the same day on two bridge instances (%s)', (kind) => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('both runs finish and the day is reconciled, not failed', async () => {
    h = await harness(kind, 'wechat');
    const rows = [1, 2, 3, 4, 5, 6].map((k) => ({
      kind: 'payment' as const,
      status: 'paid' as const,
      outTradeNo: `K${k}`,
      tradeNo: `420000${k}`,
      amountMinor: 100 * k,
      currency: 'NZD',
      timeMs: china(D, '12:00'),
    }));
    const statement = { body: Buffer.from(wechatStatement(rows)), fileName: 's.csv' };
    const a = h.service;
    const b = h.another();
    const results = await Promise.allSettled([
      a.reconcileDay('wechat', D, { statement }),
      b.reconcileDay('wechat', D, { statement }),
    ]);
    expect(results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok'))).toEqual(['ok', 'ok']);
    const [cell] = await a.overview(D, D);
    expect(cell).toMatchObject({ state: 'reconciled', open: 6 });
    const versions = await h.store.db.selectFrom('recon_differences').select(['diff_key', 'version']).execute();
    expect(versions).toHaveLength(6);
  }, 30_000);
});
