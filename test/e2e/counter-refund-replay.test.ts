import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Counter } from '../../terminal/core/counter.js';
import {
  cleanupDir,
  openCounter,
  pairedDir,
  paymentCode,
  PIN,
  sleep,
  startProxy,
  startWorld,
  until,
  type World,
} from './counter-world.js';

// A refund keyed at the counter whose answer is lost (the counter is killed, or the link
// drops, after the bridge took the command). The refund succeeds at WeChat meanwhile.
// When the counter comes back, its store's events are replayed (refund.succeeded) and its
// outbox is sent again; the bridge answers the resent refund.create from its record, which
// still says "processing". The counter must end with the refund succeeded and counted.

describe('a refund whose answer was lost, replayed after the refund succeeded', () => {
  let w: World;
  let dir: string;
  let counter: Counter | undefined;

  beforeAll(async () => {
    w = await startWorld(20);
    dir = await pairedDir(w);
  }, 120_000);
  afterAll(async () => {
    counter?.stop();
    await w?.stop();
    cleanupDir(dir);
  });

  it('ends succeeded in the counter, the sale partly refunded, and is counted by the X/Z report', async () => {
    const proxy = await startProxy(w.wsUrl);
    counter = openCounter(dir);
    counter.start(proxy.url);
    await until('online', () => counter!.online);

    const sale = counter.scan(await paymentCode(w), '20.00');
    await until('paid', () => counter!.db.sale(sale.id)?.status === 'paid');
    counter.dismiss();

    // The bridge takes the refund; its answer never reaches the counter.
    proxy.loseAnswers(true);
    void counter.refund(sale.outTradeNo!, '5.00', PIN).catch(() => undefined);
    const refundNo = counter.db.refundsOf(sale.id)[0]!.out_refund_no;
    await until('the refund succeeded at the bridge', async () => {
      const r = await w.b.api('GET', `/api/v1/payments/${sale.outTradeNo}/refunds`);
      return r.body.data?.[0]?.status === 'succeeded';
    });
    // The counter is killed (its answer lost with it), and started again.
    counter.stop();
    counter = undefined;
    await proxy.close();
    expect((await w.b.api('GET', `/api/v1/payments/${sale.outTradeNo}/refunds`)).body.data[0]).toMatchObject({
      out_refund_no: refundNo,
      status: 'succeeded',
      amount_minor: 500,
    });

    counter = openCounter(dir);
    counter.start(w.wsUrl);
    await until('online and drained', () => counter!.online && counter!.db.outboxCount() === 0);
    await sleep(1500); // anything else the bridge has to say

    expect(counter.db.refund(refundNo)?.status).toBe('succeeded');
    expect(counter.db.sale(sale.id)).toMatchObject({ status: 'partially_refunded', refunded_minor: 500 });
    const x = counter.buildSettlement('X');
    expect(x.channels).toEqual([
      { channel: 'wechat', count: 1, grossMinor: 2000, refundCount: 1, refundsMinor: 500, netMinor: 1500 },
    ]);
  });
});
