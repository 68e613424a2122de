import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createTestDatabase, storeKinds, type TestDatabase } from '../../test/support/stores.js';
import type { Store } from '../store/db.js';
import { nowIso } from '../store/db.js';
import type { CrashPoint } from './commit.js';
import { CrashError, TestGateway, manualClock, paymentBridge } from './test-gateway.fixture.js';

// Fail between every two steps of creating, paying, late-paying, closing and
// refunding; start a new bridge on the same database; show nothing was lost or repeated.

const APPLY_POINTS: CrashPoint[] = [
  'apply:state',
  'apply:history',
  'apply:events',
  'apply:tasks',
  'apply:messages',
  'apply:committed',
];

for (const kind of storeKinds()) {
  describe(`crash windows on ${kind}`, () => {
    let tdb: TestDatabase;
    let store: Store;
    const clock = manualClock();
    let merchantId: string;
    let n = 0;

    beforeAll(async () => {
      tdb = await createTestDatabase(kind);
      store = await tdb.open();
      const { accounts } = paymentBridge(store, new TestGateway(clock), clock);
      merchantId = (await accounts.createMerchant({ name: 'Crash Books' })).id;
      await accounts.createChannelAccount({ merchantId, channel: 'wechat', config: {}, secrets: {} });
    });
    afterAll(async () => {
      await store?.close();
      await tdb?.drop();
    });

    /** Lets the restarted bridge's scheduler run everything due, moving time on in steps. */
    async function drain(bridge: ReturnType<typeof paymentBridge>, steps = 8, stepMs = 70_000): Promise<void> {
      bridge.scheduler.start();
      try {
        for (let i = 0; i < steps; i++) {
          clock.advance(stepMs);
          bridge.scheduler.kick();
          for (let quiet = 0; quiet < 3;) {
            await new Promise((r) => setTimeout(r, 15));
            const busy = await store.db
              .selectFrom('tasks')
              .select('id')
              .where((eb) =>
                eb.or([
                  eb('status', '=', 'running'),
                  eb.and([eb('status', '=', 'queued'), eb('run_at', '<=', nowIso(clock.now()))]),
                ]),
              )
              .execute();
            quiet = busy.length ? 0 : quiet + 1;
          }
        }
      } finally {
        await bridge.scheduler.stop();
      }
    }

    async function eventsOf(orderId: string, type: string): Promise<number> {
      const rows = await store.db.selectFrom('events').select('payload').where('type', '=', type).execute();
      return rows.filter(
        (r) =>
          (JSON.parse(r.payload) as { id?: string; payment?: { id: string } }).id === orderId ||
          (JSON.parse(r.payload) as { payment?: { id: string } }).payment?.id === orderId,
      ).length;
    }

    async function history(orderId: string, to: string): Promise<number> {
      const rows = await store.db
        .selectFrom('order_events')
        .select('id')
        .where('order_id', '=', orderId)
        .where('to_status', '=', to)
        .where('from_status', '!=', to)
        .execute();
      return rows.length;
    }

    async function crashes<T>(work: Promise<T>, point: CrashPoint): Promise<void> {
      await expect(work).rejects.toBeInstanceOf(CrashError);
      void point;
    }

    const notify = (no: string, extra: Record<string, unknown> = {}) => ({
      method: 'POST',
      headers: {},
      query: {},
      body: Buffer.from(JSON.stringify({ no, state: 'paid', sig: 'good', ...extra })),
    });

    describe('creating', () => {
      for (const point of ['create:inserted', 'create:answered', ...APPLY_POINTS] as CrashPoint[]) {
        it(`a crash at ${point}: the order is found out about, once (paid if the customer paid, closed if the gateway never had it)`, async () => {
          const gateway = new TestGateway(clock);
          const first = paymentBridge(store, gateway, clock, point);
          const no = `create-${point}-${n++}`;
          await crashes(
            first.payments.createPayment(merchantId, {
              out_trade_no: no,
              amount_minor: 1000,
              currency: 'NZD',
              channel: 'wechat',
              mode: 'native',
            }),
            point,
          );
          const order = (await first.orders.byOutTradeNo(merchantId, no))!;
          expect(order).toBeDefined();
          const reachedGateway = gateway.orders.has(order.channel_order_no);
          expect(reachedGateway).toBe(point !== 'create:inserted');
          if (reachedGateway) gateway.pay(order.channel_order_no);

          const second = paymentBridge(store, gateway, clock);
          // The merchant's retry of the same request gets the same payment, never a second one.
          const replay = await second.payments.createPaymentResult(merchantId, {
            out_trade_no: no,
            amount_minor: 1000,
            currency: 'NZD',
            channel: 'wechat',
            mode: 'native',
          });
          expect(replay).toMatchObject({ created: false, order: { id: order.id } });
          await drain(second);
          const after = (await second.orders.byId(order.id))!;
          expect(after.status).toBe(reachedGateway ? 'paid' : 'closed');
          expect(gateway.calls.create).toBe(reachedGateway ? 1 : 0);
          expect(await eventsOf(order.id, 'payment.paid')).toBe(reachedGateway ? 1 : 0);
          expect(await eventsOf(order.id, 'payment.closed')).toBe(reachedGateway ? 0 : 1);
          expect(await history(order.id, 'paid')).toBe(reachedGateway ? 1 : 0);
          expect(await history(order.id, 'pending')).toBe(1);
        });
      }
    });

    async function pendingOrder(gateway: TestGateway) {
      const b = paymentBridge(store, gateway, clock);
      const no = `order-${n++}`;
      const order = await b.payments.createPayment(merchantId, {
        out_trade_no: no,
        amount_minor: 1000,
        currency: 'NZD',
        channel: 'wechat',
        mode: 'native',
      });
      expect(order.status).toBe('pending');
      return order;
    }

    describe('paying', () => {
      for (const point of APPLY_POINTS) {
        it(`a crash at ${point} while a notify is applied: the resent notify (or the query) makes it paid, with one payment.paid`, async () => {
          const gateway = new TestGateway(clock);
          const order = await pendingOrder(gateway);
          gateway.pay(order.channel_order_no);
          const first = paymentBridge(store, gateway, clock, point);
          const reply = await first.payments
            .handleNotify('wechat', order.channel_account_id, notify(order.channel_order_no))
            .catch((e: unknown) => e);
          if (point !== 'apply:committed') expect(reply).toMatchObject({ body: 'FAIL' }); // the gateway will resend
          const mid = (await first.orders.byId(order.id))!;
          expect(mid.status).toBe(point === 'apply:committed' ? 'paid' : 'pending');

          const second = paymentBridge(store, gateway, clock);
          expect(
            await second.payments.handleNotify('wechat', order.channel_account_id, notify(order.channel_order_no)),
          ).toMatchObject({ body: 'SUCCESS' });
          await drain(second, 2);
          expect((await second.orders.byId(order.id))!.status).toBe('paid');
          expect(await eventsOf(order.id, 'payment.paid')).toBe(1);
          expect(await history(order.id, 'paid')).toBe(1);
          // The notify the decision came from is kept with it (and a forged one never is).
          const kept = await store.db
            .selectFrom('channel_messages')
            .select('body')
            .where('order_id', '=', order.id)
            .where('direction', '=', 'notify')
            .execute();
          expect(kept.length).toBeGreaterThanOrEqual(1);
        });
      }
    });

    describe('late paying', () => {
      for (const point of APPLY_POINTS) {
        it(`a crash at ${point} while a payment after close is applied: the customer is refunded exactly once`, async () => {
          const gateway = new TestGateway(clock);
          const order = await pendingOrder(gateway);
          const b = paymentBridge(store, gateway, clock);
          await b.payments.closeOrder(order, 'api_close');
          // The wallet took the money anyway (a race the gateway lost).
          gateway.orders.get(order.channel_order_no)!.state = 'paid';
          const first = paymentBridge(store, gateway, clock, point);
          await first.payments
            .handleNotify('wechat', order.channel_account_id, notify(order.channel_order_no))
            .catch(() => undefined);

          const second = paymentBridge(store, gateway, clock);
          await second.payments.handleNotify('wechat', order.channel_account_id, notify(order.channel_order_no));
          await drain(second, 4);
          const after = (await second.orders.byId(order.id))!;
          expect(after).toMatchObject({ status: 'refunded', refunded_minor: 1000, flagged: true });
          expect(gateway.refunds.map((r) => r.amount)).toEqual([1000]);
          // Announced once, as flagged and not as paid: the money goes back.
          expect(await eventsOf(order.id, 'payment.flagged')).toBe(1);
          expect(await eventsOf(order.id, 'payment.paid')).toBe(0);
          expect(await eventsOf(order.id, 'refund.succeeded')).toBe(1);
        });
      }
    });

    describe('closing', () => {
      for (const point of APPLY_POINTS) {
        it(`a crash at ${point} while closing: the order ends closed, with one payment.closed`, async () => {
          const gateway = new TestGateway(clock);
          const order = await pendingOrder(gateway);
          const first = paymentBridge(store, gateway, clock, point);
          const closing = first.payments.closeOrder(order, 'api_close');
          if (point === 'apply:committed') await expect(closing).rejects.toBeInstanceOf(CrashError);
          else await crashes(closing, point);
          const second = paymentBridge(store, gateway, clock);
          // The merchant asks again; the sweep and sync tasks do the rest.
          await second.payments.closeOrder((await second.orders.byId(order.id))!, 'api_close');
          await drain(second, 2);
          expect((await second.orders.byId(order.id))!.status).toBe('closed');
          expect(await eventsOf(order.id, 'payment.closed')).toBe(1);
          expect(await history(order.id, 'closed')).toBe(1);
        });
      }
    });

    it('a refund whose call is in flight is never re-sent, whatever re-checks it meanwhile', async () => {
      const gateway = new TestGateway(clock);
      gateway.listLagMs = 200_000;
      const order = await pendingOrder(gateway);
      gateway.pay(order.channel_order_no);
      const b = paymentBridge(store, gateway, clock);
      await b.payments.handleNotify('wechat', order.channel_account_id, notify(order.channel_order_no));
      let release!: () => void;
      gateway.hold = new Promise<void>((r) => (release = r));
      const sending = b.payments.refund(merchantId, order.out_trade_no, {
        out_refund_no: `fly-${order.id}`,
        amount_minor: 400,
      });
      while (gateway.calls.refund === 0) await new Promise((r) => setTimeout(r, 5));
      const refund = (await b.orders.refundByOutRefundNo(merchantId, `fly-${order.id}`))!;
      // Another bridge re-checks it (as the old sweep did) while the call hangs.
      const other = paymentBridge(store, gateway, clock);
      await other.scheduler.enqueue('refund.sync', { refundId: refund.id });
      await other.payments.sweep();
      await drain(other, 4, 25_000);
      expect(gateway.calls.refund).toBe(1);
      gateway.hold = undefined;
      release();
      await sending;
      await drain(other, 4, 60_000);
      expect(gateway.calls.refund).toBe(1);
      expect(gateway.refundsOf(refund.channel_refund_no)).toBe(1);
      expect((await other.orders.refundById(refund.id))!.status).toBe('succeeded');
    });

    describe('refunding', () => {
      const points: CrashPoint[] = ['refund:reserved', 'refund:answered', 'refund:settled', 'refund:committed'];
      for (const keyless of [false, true]) {
        for (const point of points) {
          it(`a crash at ${point} (${keyless ? 'gateway without a refund key, list lagging' : 'keyed gateway'}): refunded exactly once`, async () => {
            const gateway = new TestGateway(clock, keyless ? { keyless: { refundListLagMs: 600_000 } } : {});
            // The refund list shows a refund only 200 s after it was taken: later than the send lease.
            gateway.listLagMs = 200_000;
            const order = await pendingOrder(gateway);
            gateway.pay(order.channel_order_no);
            const b = paymentBridge(store, gateway, clock);
            await b.payments.handleNotify('wechat', order.channel_account_id, notify(order.channel_order_no));
            const first = paymentBridge(store, gateway, clock, point);
            await crashes(
              first.payments.refund(merchantId, order.out_trade_no, {
                out_refund_no: `r-${order.id}`,
                amount_minor: 1000,
              }),
              point,
            );

            const second = paymentBridge(store, gateway, clock);
            // The merchant's retry is answered from the refund already reserved: never a second refund.
            const retry = await second.payments.refund(merchantId, order.out_trade_no, {
              out_refund_no: `r-${order.id}`,
              amount_minor: 1000,
            });
            await drain(second, 16, 60_000);
            const refund = (await second.orders.refundById(retry.refund.id))!;
            expect(refund.status).toBe('succeeded');
            expect(gateway.refundsOf(refund.channel_refund_no)).toBe(1);
            expect((await second.orders.byId(order.id))!).toMatchObject({ status: 'refunded', refunded_minor: 1000 });
            expect(await eventsOf(order.id, 'refund.succeeded')).toBe(1);
            expect(await history(order.id, 'refunded')).toBe(1);
          });
        }
      }
    });
  });
}
