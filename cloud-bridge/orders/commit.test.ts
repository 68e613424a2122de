import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { sql } from 'kysely';
import { newId } from '../../protocol/ids.js';
import { createTestDatabase, storeKinds, type TestDatabase } from '../../test/support/stores.js';
import { testOrder } from '../../test/support/orders.js';
import { openStore, type Store } from '../store/db.js';
import { PREPARED_MARK } from '../store/pg-prepared.js';
import type { Order } from '../store/orders-repo.js';
import type { RecordedMessage } from './recorder.js';
import { TransitionWriter } from './commit.js';
import { SYNC_TASK, decide, syncTask } from './decide.js';
import { TestGateway, manualClock, paymentBridge } from './test-gateway.fixture.js';

// A transition's writes (on PostgreSQL one statement, on SQLite one transaction of several):
// all of them, in order, or none when the order moved meanwhile.

for (const kind of storeKinds()) {
  describe(`one transition, one commit, on ${kind}`, () => {
    let tdb: TestDatabase;
    let store: Store;
    const clock = manualClock();
    let bridge: ReturnType<typeof paymentBridge>;
    let writer: TransitionWriter;
    let merchantId: string;
    let accountId: string;

    beforeAll(async () => {
      tdb = await createTestDatabase(kind);
      store = await tdb.open();
      bridge = paymentBridge(store, new TestGateway(clock), clock);
      writer = writerOn(bridge);
      merchantId = (await bridge.accounts.createMerchant({ name: 'Commit Books' })).id;
      accountId = (
        await bridge.accounts.createChannelAccount({ merchantId, channel: 'wechat', config: {}, secrets: {} })
      ).id;
    });
    afterAll(async () => {
      await store?.close();
      await tdb?.drop();
    });

    function writerOn({ orders, events, scheduler, recorder }: ReturnType<typeof paymentBridge>) {
      return new TransitionWriter({ orders, events, scheduler, recorder, clock, publicBaseUrl: 'http://bridge.test' });
    }

    function newOrder(): Order {
      const id = newId('pay');
      return testOrder({
        id,
        merchant_id: merchantId,
        channel_account_id: accountId,
        created_at: clock.now().toISOString(),
      });
    }

    const messages = (orderId: string): RecordedMessage[] => [
      {
        channel: 'wechat',
        accountId,
        orderId,
        direction: 'request',
        endpoint: '/pay/unifiedorder',
        body: '<xml>1</xml>',
      },
      {
        channel: 'wechat',
        accountId,
        orderId,
        direction: 'response',
        endpoint: '/pay/unifiedorder',
        body: '<xml>2</xml>',
        httpStatus: 200,
      },
    ];

    const written = async (orderId: string) => ({
      order: await bridge.orders.byId(orderId),
      history: (await bridge.orders.history(orderId)).map((h) => `${h.from_status ?? '-'}>${h.to_status}`),
      messages: (await bridge.recorder.forOrder(orderId)).map((m) => m.direction),
      tasks: await store.db
        .selectFrom('tasks')
        .select(['kind', 'run_at'])
        .where('dedupe_key', '=', `${SYNC_TASK}:${orderId}`)
        .execute(),
    });

    it('writes a new order, its history and its task together, and a second insert of it writes nothing', async () => {
      const order = newOrder();
      await writer.insertOrder(order, 'api_create', [{ ...syncTask(order.id, 60_000), earlier: false }]);
      const after = await written(order.id);
      expect(after.order?.status).toBe('created');
      expect(after.history).toEqual(['->created']);
      expect(after.tasks).toHaveLength(1);

      await expect(writer.insertOrder(order, 'api_create', [])).rejects.toMatchObject({
        code: expect.stringMatching(/23505|SQLITE_CONSTRAINT/),
      });
      expect(await written(order.id)).toEqual(after);
    });

    it('commits a decision at the order’s version: state, history, the task brought forward, messages in order', async () => {
      const order = newOrder();
      await writer.insertOrder(order, 'api_create', [{ ...syncTask(order.id, 60_000), earlier: false }]);
      const queuedAt = (await written(order.id)).tasks[0]!.run_at;
      const decision = decide(
        order,
        { state: 'pending', qrCode: 'weixin://wxpay/1' },
        { cause: 'channel_create', now: clock.now(), syncAfterMs: 5000 },
      );
      const after = await writer.commit(order, decision, messages(order.id));
      expect(after).toMatchObject({ status: 'pending', qr_code: 'weixin://wxpay/1', version: 1 });
      const stored = await written(order.id);
      // What commit answers is the order as it is now stored.
      expect({ ...stored.order, pay_params: undefined }).toEqual({ ...after, pay_params: undefined });
      expect(stored.history).toEqual(['->created', 'created>pending']);
      expect(stored.messages).toEqual(['request', 'response']);
      expect(stored.tasks).toHaveLength(1);
      expect(stored.tasks[0]!.run_at < queuedAt).toBe(true);
    });

    it('writes nothing of a decision when the order moved meanwhile, and says so', async () => {
      const order = newOrder();
      await writer.insertOrder(order, 'api_create', [{ ...syncTask(order.id, 60_000), earlier: false }]);
      const moved = await writer.commit(
        order,
        decide(order, { state: 'pending' }, { cause: 'first', now: clock.now(), syncAfterMs: 5000 }),
        [],
      );
      expect(moved?.version).toBe(1);
      const before = await written(order.id);
      // Decided from the order as it was (version 0): loses to the change above.
      const stale = decide(
        order,
        { state: 'pending', qrCode: 'weixin://wxpay/2' },
        { cause: 'second', now: clock.now(), syncAfterMs: 1 },
      );
      expect(stale.to).toEqual(['pending']);
      expect(stale.tasks).toHaveLength(1);
      expect(await writer.commit(order, stale, messages(order.id))).toBeUndefined();
      expect(await written(order.id)).toEqual(before);
      expect(before.order?.status).toBe('pending');
    });

    if (kind === 'postgres')
      it('sends a transition as a statement prepared once per connection, which a migration under it does not break', async () => {
        // One connection, so what it has prepared is what pg_prepared_statements shows.
        const saved = process.env.KAURI_PG_POOL_MAX;
        process.env.KAURI_PG_POOL_MAX = '1';
        const single = await openStore(tdb.url, { migrate: false }).finally(() => {
          if (saved === undefined) delete process.env.KAURI_PG_POOL_MAX;
          else process.env.KAURI_PG_POOL_MAX = saved;
        });
        try {
          const own = writerOn(paymentBridge(single, new TestGateway(clock), clock));
          const prepared = async () =>
            (
              await sql<{
                name: string;
                statement: string;
              }>`select name, statement from pg_prepared_statements`.execute(single.db)
            ).rows;
          const pay = async () => {
            const order = newOrder();
            await own.insertOrder(order, 'api_create', [{ ...syncTask(order.id, 60_000), earlier: false }]);
            const decision = decide(
              order,
              { state: 'pending', qrCode: 'weixin://wxpay/3' },
              { cause: 'channel_create', now: clock.now(), syncAfterMs: 5000 },
            );
            await own.commit(order, decision, messages(order.id));
            return written(order.id);
          };
          expect(await prepared()).toEqual([]);
          await pay();
          const names = await prepared();
          // The insert and the transition: each parsed once, under a name, marked.
          expect(names).toHaveLength(2);
          for (const p of names) {
            expect(p.name).toMatch(/^kauri_[0-9a-f]{32}$/);
            expect(p.statement.startsWith(PREPARED_MARK)).toBe(true);
          }
          // Reused, not prepared again, by the next payment.
          await pay();
          expect(await prepared()).toEqual(names);
          // A migration while this bridge runs: PostgreSQL plans the prepared statements again
          // by itself, and their answer has one type whatever the table's columns.
          await sql`alter table orders add column added_later text`.execute(single.db);
          try {
            const after = await pay();
            expect(after.order?.status).toBe('pending');
            expect(after.history).toEqual(['->created', 'created>pending']);
            expect(after.messages).toEqual(['request', 'response']);
            expect(await prepared()).toEqual(names);
          } finally {
            await sql`alter table orders drop column added_later`.execute(single.db);
          }
        } finally {
          await single.close();
        }
      });
  });
}
