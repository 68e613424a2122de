import { describe, it, expect, afterAll } from 'vitest';
import { createTestDatabase, storeKinds, type TestDatabase } from '../../test/support/stores.js';
import { AccountsRepo } from './accounts.js';
import { SecretBox } from './secret-box.js';

// What every request reads (its API key, the merchant's channel account) is cached, and
// a change is seen at once by the instance that made it and within the cache's lifetime
// by the others (two repos on one database stand for two bridges).

const box = new SecretBox('test-secret-key-0123456789');
const dbs: TestDatabase[] = [];
afterAll(async () => {
  for (const d of dbs) await d.drop();
});
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('accounts cache', () => {
  for (const kind of storeKinds()) {
    it(`serves API keys and channel accounts from memory, and sees changes (${kind})`, async () => {
      const tdb = await createTestDatabase(kind);
      dbs.push(tdb);
      const storeA = await tdb.open();
      const storeB = await tdb.open();
      const a = new AccountsRepo(storeA, box, { cacheTtlMs: 300 });
      const b = new AccountsRepo(storeB, box, { cacheTtlMs: 300 });
      const merchantId = (await a.createMerchant({ name: 'Kiwi Books' })).id;
      const { id, key } = await a.createApiKey(merchantId);
      const first = await a.createChannelAccount({
        merchantId,
        channel: 'wechat',
        config: { appid: 'wx1' },
        secrets: { apiKey: 'one' },
      });
      expect(await a.merchantForApiKey(key)).toBe(merchantId);
      expect(await b.merchantForApiKey(key)).toBe(merchantId);
      expect((await b.activeChannelAccount(merchantId, 'wechat'))?.id).toBe(first.id);

      // Read from memory: the rows are gone from the database and the answers stay.
      await storeA.db.updateTable('channel_accounts').set({ config: '{"appid":"tampered"}' }).execute();
      expect((await b.getChannelAccount(first.id))?.config).toEqual({ appid: 'wx1' });
      expect((await b.activeChannelAccount(merchantId, 'wechat'))?.config).toEqual({ appid: 'wx1' });
      // …and a wrong secret for a cached key is still refused.
      const last = key.slice(-1);
      expect(await b.merchantForApiKey(`${key.slice(0, -1)}${last === 'x' ? 'y' : 'x'}`)).toBeUndefined();

      // A revocation is seen at once where it was made, and by the other instance within the lifetime.
      await a.revokeApiKey(id);
      expect(await a.merchantForApiKey(key)).toBeUndefined();
      const second = await a.createChannelAccount({
        merchantId,
        channel: 'wechat',
        config: { appid: 'wx2' },
        secrets: { apiKey: 'two' },
      });
      expect((await a.activeChannelAccount(merchantId, 'wechat'))?.id).toBe(second.id);
      await wait(350);
      expect(await b.merchantForApiKey(key)).toBeUndefined();
      expect((await b.activeChannelAccount(merchantId, 'wechat'))?.id).toBe(second.id);
      await storeA.close();
      await storeB.close();
    });
  }
});
