import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import Fastify, { type FastifyInstance } from 'fastify';
import { createTestDatabase, storeKinds, type TestDatabase } from '../../test/support/stores.js';
import type { Store } from '../store/db.js';
import { Metrics } from '../server/metrics.js';
import { registerNotifyRoutes } from './notify-route.js';
import { TestGateway, manualClock, paymentBridge } from './test-gateway.fixture.js';

// A notify's body is stored only once its signature verifies; a forged or
// oversized one is counted and refused without growing the database; the route is rate-limited
// per source. And a channel's refund notify settles the refund it names.

for (const kind of storeKinds()) {
  describe(`notify route on ${kind}`, () => {
    let tdb: TestDatabase;
    let store: Store;
    let app: FastifyInstance;
    let metrics: Metrics;
    let bridge: ReturnType<typeof paymentBridge>;
    const clock = manualClock();
    const gateway = new TestGateway(clock);
    let merchantId: string;
    let accountId: string;

    beforeAll(async () => {
      tdb = await createTestDatabase(kind);
      store = await tdb.open();
      bridge = paymentBridge(store, gateway, clock);
      merchantId = (await bridge.accounts.createMerchant({ name: 'Notify Books' })).id;
      accountId = (
        await bridge.accounts.createChannelAccount({ merchantId, channel: 'wechat', config: {}, secrets: {} })
      ).id;
      metrics = new Metrics();
      app = Fastify({ trustProxy: true });
      await registerNotifyRoutes(app, { payments: bridge.payments, metrics, rateLimitPerMinute: 20 });
    });
    afterAll(async () => {
      await app?.close();
      await store?.close();
      await tdb?.drop();
    });

    const post = (body: string | Buffer, ip = '203.0.113.1') =>
      app.inject({
        method: 'POST',
        url: `/notify/wechat/${accountId}`,
        headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
        payload: body,
      });

    async function messageCount(): Promise<number> {
      return (await store.db.selectFrom('channel_messages').select('id').execute()).length;
    }

    async function counted(result: string): Promise<number> {
      const m = (await metrics.notifies.get()).values.find((v) => v.labels.result === result);
      return m?.value ?? 0;
    }

    it('stores nothing of a forged or oversized notify, counts it and answers FAIL', async () => {
      const before = await messageCount();
      const forged = await post(
        JSON.stringify({ no: 'K1', state: 'paid', sig: 'forged', filler: 'x'.repeat(150_000) }),
        '203.0.113.2',
      );
      expect(forged.statusCode).toBe(200);
      expect(forged.body).toBe('FAIL');
      expect((await post('not json at all', '203.0.113.2')).body).toBe('FAIL');
      expect(await messageCount()).toBe(before);
      expect(await counted('unverified')).toBe(2);
    });

    it('keeps a verified notify with the change it caused, and the reply', async () => {
      const order = await bridge.payments.createPayment(merchantId, {
        out_trade_no: 'N1',
        amount_minor: 500,
        currency: 'NZD',
        channel: 'wechat',
        mode: 'native',
      });
      gateway.pay(order.channel_order_no);
      const res = await post(JSON.stringify({ no: order.channel_order_no, state: 'paid', sig: 'good' }), '203.0.113.3');
      expect(res.body).toBe('SUCCESS');
      expect((await bridge.orders.byId(order.id))!.status).toBe('paid');
      const kept = await store.db
        .selectFrom('channel_messages')
        .selectAll()
        .where('direction', 'in', ['notify', 'reply'])
        .execute();
      expect(kept.filter((m) => m.direction === 'notify' && m.order_id === order.id)).toHaveLength(1);
      expect(kept.some((m) => m.direction === 'reply' && m.body === 'SUCCESS')).toBe(true);
      expect(await counted('applied')).toBe(1);
    });

    it("settles the refund a channel's refund notify names, once", async () => {
      const order = await bridge.payments.createPayment(merchantId, {
        out_trade_no: 'N2',
        amount_minor: 800,
        currency: 'NZD',
        channel: 'wechat',
        mode: 'native',
      });
      gateway.pay(order.channel_order_no);
      await post(JSON.stringify({ no: order.channel_order_no, state: 'paid', sig: 'good' }), '203.0.113.4');
      // The gateway answers the refund "processing"; its notify later says it succeeded.
      const refundCall = gateway.refund.bind(gateway);
      gateway.refund = async () => ({ state: 'processing' });
      const { refund } = await bridge.payments.refund(merchantId, 'N2', { out_refund_no: 'N2-r', amount_minor: 300 });
      gateway.refund = refundCall;
      expect(refund.status).toBe('processing');
      for (let i = 0; i < 2; i++) {
        const res = await post(JSON.stringify({ refund: refund.channel_refund_no, sig: 'good' }), '203.0.113.4');
        expect(res.body).toBe('SUCCESS');
      }
      expect((await bridge.orders.refundById(refund.id))!.status).toBe('succeeded');
      expect((await bridge.orders.byId(order.id))!).toMatchObject({
        status: 'partially_refunded',
        refunded_minor: 300,
      });
      const events = await store.db
        .selectFrom('events')
        .select('payload')
        .where('type', '=', 'refund.succeeded')
        .execute();
      expect(events.filter((e) => e.payload.includes(refund.id))).toHaveLength(1);
    });

    it('limits notifies per source address, not for everyone', async () => {
      const codes: number[] = [];
      for (let i = 0; i < 22; i++) codes.push((await post('{}', '198.51.100.7')).statusCode);
      expect(codes.slice(0, 20).every((c) => c === 200)).toBe(true);
      expect(codes.slice(20)).toEqual([429, 429]);
      expect((await post('{}', '198.51.100.8')).statusCode).toBe(200);
      expect(await counted('rate_limited')).toBe(2);
    });
  });
}
