import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KauriError } from '../../protocol/errors.js';
import { createTestDatabase, storeKinds, type TestDatabase } from '../../test/support/stores.js';
import type { Store } from '../store/db.js';
import { TestGateway, manualClock, paymentBridge } from './test-gateway.fixture.js';

// A merchant or channel account HQ turned off starts no payment. Every payment (merchant API,
// one-code checkout, counter) is made by PaymentService.createPayment, so it is refused there,
// with its own code, before anything is stored or sent; on again, payments go through.

for (const kind of storeKinds()) {
  describe(`an off merchant or channel account, on ${kind}`, () => {
    let tdb: TestDatabase;
    let store: Store;
    const clock = manualClock();
    const gateway = new TestGateway(clock);
    let bridge: ReturnType<typeof paymentBridge>;
    let merchantId: string;
    let accountId: string;
    let n = 0;

    beforeAll(async () => {
      tdb = await createTestDatabase(kind);
      store = await tdb.open();
      bridge = paymentBridge(store, gateway, clock);
      merchantId = (await bridge.accounts.createMerchant({ name: 'Off And On Books' })).id;
      accountId = (
        await bridge.accounts.createChannelAccount({ merchantId, channel: 'wechat', config: {}, secrets: {} })
      ).id;
    });
    afterAll(async () => {
      await bridge?.scheduler.stop();
      await store?.close();
      await tdb?.drop();
    });

    const pay = () =>
      bridge.payments.createPayment(merchantId, {
        out_trade_no: `OFF-${++n}`,
        amount_minor: 1200,
        currency: 'NZD',
        channel: 'wechat',
        mode: 'native',
      });
    const refusal = async (p: Promise<unknown>) => {
      try {
        await p;
      } catch (err) {
        expect(err).toBeInstanceOf(KauriError);
        return (err as KauriError).code;
      }
      return 'accepted';
    };
    const stored = async () =>
      (await store.db.selectFrom('orders').select('id').where('merchant_id', '=', merchantId).execute()).length;

    it('refuses an off merchant with merchant_disabled, storing and sending nothing', async () => {
      await bridge.accounts.updateMerchant(merchantId, { disabled: true });
      expect(await refusal(pay())).toBe('merchant_disabled');
      expect(gateway.calls.create).toBe(0);
      expect(await stored()).toBe(0);
      await bridge.accounts.updateMerchant(merchantId, { disabled: false });
      expect((await pay()).status).not.toBe('failed');
      expect(gateway.calls.create).toBe(1);
    });

    it('refuses an off channel account with channel_account_disabled, at once on this instance', async () => {
      // The account is cached for payments; turning it off must not wait for the cache.
      await pay();
      const before = gateway.calls.create;
      expect(await bridge.accounts.setChannelAccountDisabled(accountId, true)).toMatchObject({ merchantId });
      expect(await refusal(pay())).toBe('channel_account_disabled');
      expect(gateway.calls.create).toBe(before);
      await bridge.accounts.setChannelAccountDisabled(accountId, false);
      await pay();
      expect(gateway.calls.create).toBe(before + 1);
    });

    it('a replaced account stays replaced when turned on again', async () => {
      const newer = await bridge.accounts.createChannelAccount({
        merchantId,
        channel: 'wechat',
        config: {},
        secrets: {},
      });
      await bridge.accounts.setChannelAccountDisabled(accountId, true);
      await bridge.accounts.setChannelAccountDisabled(accountId, false);
      expect((await bridge.accounts.activeChannelAccount(merchantId, 'wechat'))!.id).toBe(newer.id);
      expect(await refusal(pay())).toBe('accepted');
    });
  });
}
