import { afterEach, describe, expect, it } from 'vitest';
import { storeKinds } from '../../../test/support/stores.js';
import { wechatStatement } from '../fixtures.js';
import { china, harness, type Harness } from './recon-harness.fixture.js';

// A payment at 23:55 China time on D that WeChat never books: suspense on D, then a
// platformOnly difference of D+1. Re-running D+1 (same file; "Reconcile again", a second
// scheduler, a crash after clearCarried) must not make that difference disappear.

const D = '2026-11-18';
const D1 = '2026-11-19';
const other = (no: string, day: string) => ({
  kind: 'payment' as const,
  status: 'paid' as const,
  outTradeNo: no,
  tradeNo: `42${no}`,
  amountMinor: 500,
  currency: 'NZD',
  timeMs: china(day, '12:00'),
});

/**
 * Day D's orders: KA, which D's statement has, and KLATE, paid at 23:55 China time, which it
 * does not (suspense on D); and (unless told not to) KB on D+1, which D+1's statement has.
 */
async function twoDays(h: Harness, o: { nextDay?: boolean } = {}) {
  await h.order({ id: 'ord_a', channelOrderNo: 'KA', amountMinor: 500, status: 'paid', paidAtMs: china(D, '12:00') });
  if (o.nextDay !== false)
    await h.order({
      id: 'ord_b',
      channelOrderNo: 'KB',
      amountMinor: 500,
      status: 'paid',
      paidAtMs: china(D1, '12:00'),
    });
  await h.order({
    id: 'ord_late',
    channelOrderNo: 'KLATE',
    amountMinor: 4200,
    status: 'paid',
    paidAtMs: china(D, '23:55'),
  });
  return {
    sD: { body: Buffer.from(wechatStatement([other('KA', D)])), fileName: 'd.csv' },
    sD1: { body: Buffer.from(wechatStatement([other('KB', D1)])), fileName: 'd1.csv' },
  };
}

describe.each(storeKinds())('suspense carried to the next day (%s)', (kind) => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('a payment missing at the channel stays a difference of D+1 when D+1 is reconciled again', async () => {
    h = await harness(kind, 'wechat');
    const { sD, sD1 } = await twoDays(h);

    const r0 = await h.service.reconcileDay('wechat', D, { statement: sD });
    expect(r0.summary.suspense).toBe(1);
    const r1 = await h.service.reconcileDay('wechat', D1, { statement: sD1 });
    expect(r1.summary.platformOnly).toBe(1);
    const open1 = (await h.service.differences({ channel: 'wechat' })).filter((d) => d.state === 'open');
    expect(open1.map((d) => [d.day, d.category, d.id])).toEqual([[D1, 'platformOnly', 'KLATE']]);

    // The same day, the same file, again.
    const r2 = await h.service.reconcileDay('wechat', D1, { statement: sD1 });
    expect(r2.summary.platformOnly).toBe(1);
    const open2 = (await h.service.differences({ channel: 'wechat' })).filter((d) => d.state === 'open');
    expect(open2.map((d) => [d.day, d.category, d.id])).toEqual([[D1, 'platformOnly', 'KLATE']]);
  }, 30_000);

  it('re-running D after D+1 settled its suspense does not reopen it on D', async () => {
    h = await harness(kind, 'wechat');
    const { sD } = await twoDays(h, { nextDay: false });
    // WeChat booked it just after midnight: it is on D+1's statement, so all is well.
    const late = { ...other('KLATE', D1), amountMinor: 4200, timeMs: china(D1, '00:01') };
    const sD1 = { body: Buffer.from(wechatStatement([late])), fileName: 'd1.csv' };
    await h.service.reconcileDay('wechat', D, { statement: sD });
    const r1 = await h.service.reconcileDay('wechat', D1, { statement: sD1 });
    expect(r1.summary.matched).toBe(1);
    expect((await h.service.differences({ channel: 'wechat' })).filter((d) => d.state === 'open')).toEqual([]);

    await h.service.reconcileDay('wechat', D, { statement: sD });
    const open = (await h.service.differences({ channel: 'wechat' })).filter((d) => d.state === 'open');
    expect(open.map((d) => [d.day, d.category, d.id])).toEqual([]);
  }, 30_000);
  it('a suspense item resolved so D could be signed off is still looked for on D+1', async () => {
    h = await harness(kind, 'wechat');
    const { sD, sD1 } = await twoDays(h);
    await h.service.reconcileDay('wechat', D, { statement: sD });
    // Finance closes D (sign-off needs nothing open): the suspense item is accepted as
    // "expected on tomorrow's statement".
    const [s] = await h.service.differences({ channel: 'wechat', day: D });
    expect(s).toMatchObject({ category: 'suspense', id: 'KLATE', state: 'open' });
    await h.service.resolve(s!.key, {
      action: 'accept',
      note: 'paid 23:55, expect it on the next statement',
      actor: 'fin',
    });
    await h.service.signOff('wechat', D, 'fin');

    // D+1's statement does not have it either: WeChat never got the 42.00.
    const r1 = await h.service.reconcileDay('wechat', D1, { statement: sD1 });
    expect(r1.summary.platformOnly).toBe(1);
  }, 30_000);

  it('stops looking for it on D+1 once a corrected statement of D has it', async () => {
    h = await harness(kind, 'wechat');
    const { sD, sD1 } = await twoDays(h);
    await h.service.reconcileDay('wechat', D, { statement: sD });
    expect((await h.service.reconcileDay('wechat', D1, { statement: sD1 })).summary.platformOnly).toBe(1);
    // WeChat sends D's statement again, corrected: the 42.00 was booked on D after all.
    const late = { ...other('KLATE', D), amountMinor: 4200, timeMs: china(D, '23:55') };
    const corrected = { body: Buffer.from(wechatStatement([other('KA', D), late])), fileName: 'd-corrected.csv' };
    expect((await h.service.reconcileDay('wechat', D, { statement: corrected })).summary).toMatchObject({
      matched: 2,
      suspense: 0,
    });
    expect((await h.service.reconcileDay('wechat', D1, { statement: sD1 })).summary.platformOnly).toBe(0);
    expect((await h.service.differences({ channel: 'wechat' })).filter((d) => d.state === 'open')).toEqual([]);
  }, 30_000);
});
