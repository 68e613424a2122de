import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createTestDatabase, storeKinds, type TestDatabase } from '../../test/support/stores.js';
import { testOrder } from '../../test/support/orders.js';
import type { Store } from './db.js';
import { AccountsRepo } from './accounts.js';
import { OrdersRepo, type Order } from './orders-repo.js';
import { SecretBox } from './secret-box.js';
import { EventLog } from '../events/event-log.js';
import { FileStore } from '../files/file-store.js';
import { newId } from '../../protocol/ids.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// The same repository suite on SQLite and on PostgreSQL.
for (const kind of storeKinds()) {
  describe(`store on ${kind}`, () => {
    let tdb: TestDatabase;
    let store: Store;
    let accounts: AccountsRepo;
    let orders: OrdersRepo;
    let merchantId: string;
    let accountId: string;
    const box = new SecretBox('test-secret-key-0123456789');

    beforeAll(async () => {
      tdb = await createTestDatabase(kind);
      store = await tdb.open();
      accounts = new AccountsRepo(store, box);
      orders = new OrdersRepo(store);
      merchantId = (await accounts.createMerchant({ name: 'Kiwi Books', allowedDomains: ['books.example'] })).id;
      accountId = (
        await accounts.createChannelAccount({
          merchantId,
          channel: 'wechat',
          config: { appid: 'wx1' },
          secrets: { api_key: 'sekret-key-value-123' },
        })
      ).id;
    });
    afterAll(async () => {
      await store?.close();
      await tdb?.drop();
    });

    function newOrder(overrides: Partial<Order> = {}): Order {
      const id = newId('pay');
      return testOrder({
        id,
        merchant_id: merchantId,
        channel_account_id: accountId,
        out_trade_no: `T${id.slice(-10)}`,
        status: 'pending',
        ...overrides,
      });
    }

    it('keeps API keys only as hashes and refuses wrong and revoked keys', async () => {
      const { id, key } = await accounts.createApiKey(merchantId);
      expect(await accounts.merchantForApiKey(key)).toBe(merchantId);
      const row = await store.db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      expect(row.secret_hash).not.toContain(key.split('.')[2]);
      expect(await accounts.merchantForApiKey(`${key}x`)).toBeUndefined();
      expect(await accounts.merchantForApiKey('garbage')).toBeUndefined();
      await accounts.revokeApiKey(id);
      expect(await accounts.merchantForApiKey(key)).toBeUndefined();
    });

    it('seals channel credentials at rest', async () => {
      const raw = await store.db
        .selectFrom('channel_accounts')
        .selectAll()
        .where('id', '=', accountId)
        .executeTakeFirstOrThrow();
      expect(raw.secrets).not.toContain('sekret-key-value-123');
      const acc = await accounts.getChannelAccount(accountId);
      expect(acc?.secrets.api_key).toBe('sekret-key-value-123');
      expect((await accounts.activeChannelAccount(merchantId, 'wechat'))?.id).toBe(accountId);
      expect(await accounts.activeChannelAccount(merchantId, 'alipay')).toBeUndefined();
    });

    it('authenticates people by password, HQ without a merchant', async () => {
      await accounts.createUser({ username: `hq-${kind}`, password: 'long password', role: 'hq_admin' });
      expect((await accounts.authenticateUser(`hq-${kind}`, 'long password'))?.role).toBe('hq_admin');
      expect(await accounts.authenticateUser(`hq-${kind}`, 'wrong password')).toBeUndefined();
      await expect(
        accounts.createUser({ username: 'x', password: 'long password', role: 'merchant_user' }),
      ).rejects.toThrow(/needs a merchant/);
    });

    it('makes (merchant, out_trade_no) unique', async () => {
      const a = newOrder();
      expect(await orders.insert(a, 'test')).toBe(true);
      expect(await orders.insert({ ...newOrder(), out_trade_no: a.out_trade_no }, 'test')).toBe(false);
      expect((await orders.byOutTradeNo(merchantId, a.out_trade_no))?.id).toBe(a.id);
    });

    it('applies a transition once when two race, and records every transition', async () => {
      const o = newOrder();
      await orders.insert(o, 'test');
      const [x, y] = await Promise.all([
        orders.transition(o, 'paid', 'notify', { n: 1 }, { channel_trade_no: 'T1' }),
        orders.transition(o, 'paid', 'notify', { n: 2 }, { channel_trade_no: 'T2' }),
      ]);
      expect([x, y].filter(Boolean)).toHaveLength(1);
      const history = await orders.history(o.id);
      expect(history.map((h) => `${h.from_status}>${h.to_status}`)).toEqual(['null>pending', 'pending>paid']);
      await expect(orders.transition((await orders.byId(o.id))!, 'pending', 'x', null)).rejects.toMatchObject({
        code: 'invalid_transition',
      });
    });

    it('never refunds more than was paid, even when refunds race', async () => {
      const o = newOrder({ status: 'paid', amount_minor: 1000 });
      await orders.insert(o, 'test');
      const now = new Date().toISOString();
      const refund = (n: number, amount: number) => ({
        id: newId('ref'),
        merchant_id: merchantId,
        order_id: o.id,
        out_refund_no: `R${n}-${o.id.slice(-6)}`,
        channel_refund_no: newId('R'),
        channel_refund_id: null,
        amount_minor: amount,
        currency: 'NZD',
        status: 'processing' as const,
        reason: null,
        automatic: 0,
        request_hash: 'h',
        created_at: now,
        updated_at: now,
      });
      const results = await Promise.allSettled(
        [1, 2, 3, 4].map((n) => orders.reserveRefund(o.id, refund(n, 400), 'test')),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
      expect(
        results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason.code),
      ).toEqual(['refund_exceeds_remainder', 'refund_exceeds_remainder']);
      const after = (await orders.byId(o.id))!;
      expect(after.refunded_minor).toBe(800);
      expect(after.status).toBe('paid'); // moves only when a refund succeeds
      const [r1, r2] = await orders.refundsOf(o.id);
      await orders.settleRefund(r1!.id, 'succeeded', 'W1', null);
      expect((await orders.byId(o.id))!.status).toBe('partially_refunded');
      await orders.settleRefund(r2!.id, 'failed', null, { reason: 'NOTENOUGH' });
      const final = (await orders.byId(o.id))!;
      expect(final.refunded_minor).toBe(400);
      expect(final.status).toBe('partially_refunded');
      // settling again changes nothing
      await orders.settleRefund(r2!.id, 'succeeded', null, null);
      expect((await orders.byId(o.id))!.refunded_minor).toBe(400);
    });

    it('refuses refunds of unpaid orders', async () => {
      const o = newOrder({ status: 'pending' });
      await orders.insert(o, 'test');
      await expect(
        orders.reserveRefund(
          o.id,
          {
            id: newId('ref'),
            merchant_id: merchantId,
            order_id: o.id,
            out_refund_no: 'Rx',
            channel_refund_no: newId('R'),
            channel_refund_id: null,
            amount_minor: 1,
            currency: 'NZD',
            status: 'processing',
            reason: null,
            automatic: 0,
            request_hash: 'h',
            created_at: '',
            updated_at: '',
          },
          'test',
        ),
      ).rejects.toMatchObject({ code: 'order_not_refundable' });
    });

    it('keeps event cursors across a restart', async () => {
      const events = new EventLog(store);
      const start = await events.head();
      for (let i = 0; i < 5; i++) await events.append({ type: 'test.event', merchantId, payload: { i } });
      const batch = await events.read(start, { merchantId });
      expect(batch.map((e) => (e.payload as { i: number }).i)).toEqual([0, 1, 2, 3, 4]);
      await events.advance('webhooks', batch[2]!.seq);
      await events.advance('webhooks', batch[1]!.seq); // never moves back
      await store.close();
      store = await tdb.open();
      accounts = new AccountsRepo(store, box);
      orders = new OrdersRepo(store);
      const reopened = new EventLog(store);
      const cursor = await reopened.cursor('webhooks');
      expect(cursor).toBe(batch[2]!.seq);
      expect((await reopened.read(cursor, { merchantId })).map((e) => (e.payload as { i: number }).i)).toEqual([3, 4]);
    });

    it('stores files by content, once, and verifies them on read', async () => {
      const files = new FileStore(mkdtempSync(join(tmpdir(), 'kauri-files-')), store);
      const a = await files.put(Buffer.from('statement 1'), {
        kind: 'statement',
        channel: 'wechat',
        day: '2026-11-20',
      });
      const b = await files.put(Buffer.from('statement 1'), {
        kind: 'statement',
        channel: 'wechat',
        day: '2026-11-20',
      });
      expect(a.sha256).toBe(b.sha256);
      expect((await files.read(a.sha256)).toString()).toBe('statement 1');
      expect(await files.list({ channel: 'wechat' })).toHaveLength(1);
    });
  });
}
