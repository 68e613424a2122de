import { describe, it, expect, afterAll } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/support/stores.js';
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
const pgUrl = process.env.KAURI_TEST_PG_URL;

/** Waits until `check` holds (a notification crosses the server), at most 2 s. */
async function eventually(check: () => Promise<boolean>): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

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
});
