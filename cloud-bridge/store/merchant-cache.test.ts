import { describe, it, expect, afterAll } from 'vitest';
import { createTestDatabase, pgUrl, type TestDatabase } from '../../test/support/stores.js';
import { waitFor } from '../../test/support/wait.js';
import { skipUnless } from '../../test/support/skip.js';
import { money } from '../../protocol/money.js';
import { AccountsRepo } from './accounts.js';
import { SecretBox } from './secret-box.js';

// On PostgreSQL every payment's merchant read (its maximum per payment) is served from
// memory, and a change made on another bridge is in force there as soon as it commits: the
// writer's NOTIFY makes every bridge forget the merchant. Two repos on two pools of one
// database stand for two bridges.

const box = new SecretBox('test-secret-key-0123456789');
const dbs: TestDatabase[] = [];
afterAll(async () => {
  for (const d of dbs) await d.drop();
});

/** Whether `check` comes to hold (a notification crosses the server) within 2 s. */
const eventually = (check: () => Promise<boolean>) =>
  waitFor('the change to reach the other bridge', check, 2000, 20).catch(() => false);

describe('merchant cache (PostgreSQL)', () => {
  it.skipIf(skipUnless(!!pgUrl, 'KAURI_TEST_PG_URL is not set: no PostgreSQL to test against'))(
    "serves merchants from memory and sees another bridge's change as it commits",
    async () => {
      const tdb = await createTestDatabase('postgres');
      dbs.push(tdb);
      const storeA = await tdb.open();
      const storeB = await tdb.open();
      const a = new AccountsRepo(storeA, box);
      const b = new AccountsRepo(storeB, box);
      await a.startCaches();
      await b.startCaches();
      try {
        const id = (await a.createMerchant({ name: 'Kiwi Books', maxPayment: money(100_00, 'NZD') })).id;
        expect((await b.getMerchant(id))?.max_payment_minor).toBe(100_00);

        // From memory: a row changed behind the repos' backs (no NOTIFY) is not seen.
        await storeA.db.updateTable('merchants').set({ name: 'changed quietly' }).where('id', '=', id).execute();
        expect((await b.getMerchant(id))?.name).toBe('Kiwi Books');

        // HQ raises the maximum on bridge A: bridge B has it as soon as the change commits.
        await a.setMaxPayment(id, money(500_00, 'NZD'));
        expect((await a.getMerchant(id))?.max_payment_minor).toBe(500_00);
        expect(await eventually(async () => (await b.getMerchant(id))?.max_payment_minor === 500_00)).toBe(true);
        expect((await b.getMerchant(id))?.name).toBe('changed quietly');

        await a.updateMerchant(id, { allowPrivateWebhooks: true });
        expect(await eventually(async () => (await b.getMerchant(id))?.allow_private_webhooks === 1)).toBe(true);

        // Without its listener a bridge reads every time (it cannot hear changes).
        await b.closeCaches();
        await storeA.db.updateTable('merchants').set({ name: 'read afresh' }).where('id', '=', id).execute();
        expect((await b.getMerchant(id))?.name).toBe('read afresh');
      } finally {
        await a.closeCaches();
        await b.closeCaches();
        await storeA.close();
        await storeB.close();
      }
    },
  );

  it.skipIf(skipUnless(!!pgUrl, 'KAURI_TEST_PG_URL is not set: no PostgreSQL to test against'))(
    'refuses a key revoked and an account turned off on another bridge as soon as the change commits',
    async () => {
      const tdb = await createTestDatabase('postgres');
      dbs.push(tdb);
      const storeA = await tdb.open();
      const storeB = await tdb.open();
      // A lifetime far past the test: only the announcement can make bridge B forget.
      const a = new AccountsRepo(storeA, box, { cacheTtlMs: 600_000 });
      const b = new AccountsRepo(storeB, box, { cacheTtlMs: 600_000 });
      await a.startCaches();
      await b.startCaches();
      try {
        const merchantId = (await a.createMerchant({ name: 'Kiwi Books' })).id;
        const other = (await a.createMerchant({ name: 'Tui Tea' })).id;
        const { id: keyId, key } = await a.createApiKey(merchantId);
        const { key: otherKey } = await a.createApiKey(other);
        const first = await a.createChannelAccount({
          merchantId,
          channel: 'wechat',
          config: { appid: 'wx1' },
          secrets: { apiKey: 'one' },
        });
        const theirs = await a.createChannelAccount({
          merchantId: other,
          channel: 'wechat',
          config: { appid: 'wx9' },
          secrets: { apiKey: 'nine' },
        });
        expect(await b.merchantForApiKey(key)).toBe(merchantId);
        expect(await b.merchantForApiKey(otherKey)).toBe(other);
        expect((await b.activeChannelAccount(merchantId, 'wechat'))?.id).toBe(first.id);
        expect((await b.activeChannelAccount(other, 'wechat'))?.id).toBe(theirs.id);
        expect((await b.getChannelAccount(first.id))?.disabledAt).toBeNull();

        // Cached: a change behind the repos' backs (no announcement) is not seen by B.
        await storeA.db.updateTable('api_keys').set({ revoked_at: '2026-01-01T00:00:00.000Z' }).execute();
        expect(await b.merchantForApiKey(otherKey)).toBe(other);
        await storeA.db.updateTable('api_keys').set({ revoked_at: null }).execute();

        // A leaked key revoked on bridge A: B refuses it as soon as the revocation commits.
        await a.revokeApiKey(keyId);
        expect(await eventually(async () => (await b.merchantForApiKey(key)) === undefined)).toBe(true);
        expect(await b.merchantForApiKey(otherKey)).toBe(other);

        // The account turned off on A: B's copy says so, by id and as the merchant's active one.
        await a.setChannelAccountDisabled(first.id, true);
        expect(
          await eventually(async () => (await b.activeChannelAccount(merchantId, 'wechat'))?.disabledAt != null),
        ).toBe(true);
        expect(await eventually(async () => (await b.getChannelAccount(first.id))?.disabledAt != null)).toBe(true);

        // A new account replacing it on A is the one B pays with.
        const second = await a.createChannelAccount({
          merchantId,
          channel: 'wechat',
          config: { appid: 'wx2' },
          secrets: { apiKey: 'two' },
        });
        expect(
          await eventually(async () => (await b.activeChannelAccount(merchantId, 'wechat'))?.id === second.id),
        ).toBe(true);

        // Another merchant's entries were not what was announced: still served from memory.
        await storeA.db.updateTable('channel_accounts').set({ active: 0 }).where('id', '=', theirs.id).execute();
        expect((await b.activeChannelAccount(other, 'wechat'))?.id).toBe(theirs.id);
      } finally {
        await a.closeCaches();
        await b.closeCaches();
        await storeA.close();
        await storeB.close();
      }
    },
  );
});
