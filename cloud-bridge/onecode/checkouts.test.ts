import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import pino from 'pino';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBridge, type Bridge } from '../bridge.js';
import { createTestDatabase, storeKinds, type TestDatabase } from '../../test/support/stores.js';
import { testOrder } from '../../test/support/orders.js';
import { ChannelRegistry } from '../channels/channel.js';
import { CheckoutService, assertAllowedUrl } from './checkouts.js';
import { money } from '../../protocol/money.js';
import type { Order } from '../store/orders-repo.js';

describe.each(storeKinds())('checkout service (%s)', (kind) => {
  let tdb: TestDatabase;
  let bridge: Bridge;
  let checkouts: CheckoutService;
  let merchantId: string;
  let storeId: string;

  beforeAll(async () => {
    tdb = await createTestDatabase(kind);
    bridge = await startBridge({
      dbUrl: tdb.url,
      port: 0,
      secretKey: 'test-secret-key-0123456789',
      log: pino({ level: 'silent' }),
      filesDir: mkdtempSync(join(tmpdir(), 'kauri-files-')),
      channels: new ChannelRegistry(),
      runJobs: false,
    });
    checkouts =
      (bridge as Bridge & { checkouts?: CheckoutService }).checkouts ??
      new CheckoutService({
        store: bridge.store,
        accounts: bridge.accounts,
        orders: bridge.orders,
        payments: bridge.payments,
        events: bridge.events,
        scheduler: bridge.scheduler,
        channels: bridge.channels,
        clock: bridge.clock,
        log: bridge.log,
        publicBaseUrl: bridge.url,
      });
    merchantId = (await bridge.accounts.createMerchant({ name: 'Shop', allowedDomains: ['shop.example'] })).id;
    storeId = (await bridge.accounts.createStore({ merchantId, name: 'Main St', code: 'main-st' })).id;
  });
  afterAll(async () => {
    await bridge?.close();
    await tdb?.drop();
  });

  /** An H5 order of NZD 7.00 under a checkout, waiting, with what the test says. */
  const checkoutOrder = (checkoutId: string, accountId: string, over: Partial<Order> & Pick<Order, 'id'>): Order =>
    testOrder({
      merchant_id: merchantId,
      store_id: storeId,
      checkout_id: checkoutId,
      channel_account_id: accountId,
      mode: 'h5',
      amount_minor: 700,
      status: 'pending',
      expires_at: new Date().toISOString(),
      ...over,
    });

  const wechatAccount = () =>
    bridge.accounts.createChannelAccount({ merchantId, channel: 'wechat', config: {}, secrets: {} });
  /** The orders whose automatic refund is queued (or was run). */
  const autoRefunded = async () =>
    (await bridge.store.db.selectFrom('tasks').select('payload').where('kind', '=', 'refund.automatic').execute()).map(
      (t) => (JSON.parse(t.payload) as { orderId: string }).orderId,
    );
  const pastExpiry = (checkoutId: string) =>
    bridge.store.db
      .updateTable('checkouts')
      .set({ expires_at: new Date(Date.now() - 1000).toISOString() })
      .where('id', '=', checkoutId)
      .execute();

  it('creates a checkout with an unguessable token and an absolute URL, and finds it again', async () => {
    const c = await checkouts.create(merchantId, { amountMinor: 1250, currency: 'NZD', storeId, terminalId: 'trm_1' });
    expect(c.status).toBe('open');
    expect(Buffer.from(c.token, 'base64url').length).toBeGreaterThanOrEqual(16);
    expect(c.url).toBe(`${bridge.url}/c/${c.token}`);
    expect(Date.parse(c.expiresAt) - Date.parse(c.createdAt)).toBeGreaterThan(0);
    const again = await checkouts.get(c.token);
    expect(again).toMatchObject({
      id: c.id,
      amountMinor: 1250,
      currency: 'NZD',
      storeId,
      terminalId: 'trm_1',
      status: 'open',
    });
    expect(await checkouts.getById(c.id)).toMatchObject({ token: c.token });
    const other = await checkouts.create(merchantId, { amountMinor: 1250, currency: 'NZD' });
    expect(other.token).not.toBe(c.token);
  });

  it('does not find guessed or malformed tokens', async () => {
    expect(await checkouts.get('AAAAAAAAAAAAAAAAAAAAAA')).toBeUndefined();
    expect(await checkouts.get('../../etc/passwd')).toBeUndefined();
  });

  it('refuses bad amounts, expiries, stores and channels, storing nothing', async () => {
    const before = (await checkouts.list(merchantId, { limit: 200 })).length;
    await expect(checkouts.create(merchantId, { amountMinor: 0, currency: 'NZD' })).rejects.toMatchObject({
      code: 'invalid_amount',
    });
    await expect(checkouts.create(merchantId, { amountMinor: 1.5, currency: 'NZD' })).rejects.toMatchObject({
      code: 'invalid_amount',
    });
    await expect(checkouts.create(merchantId, { amountMinor: 100, currency: 'XXX' })).rejects.toMatchObject({
      code: 'unknown_currency',
    });
    await expect(
      checkouts.create(merchantId, { amountMinor: 100, currency: 'NZD', expiresInS: 5 }),
    ).rejects.toMatchObject({ code: 'invalid_request' });
    await expect(
      checkouts.create(merchantId, { amountMinor: 100, currency: 'NZD', storeId: 'sto_nope' }),
    ).rejects.toMatchObject({ code: 'not_found' });
    await expect(
      checkouts.create(merchantId, { amountMinor: 100, currency: 'NZD', allowedChannels: ['paypal' as never] }),
    ).rejects.toMatchObject({ code: 'invalid_request' });
    await expect(
      checkouts.create(merchantId, { amountMinor: 100, currency: 'NZD', returnUrl: 'https://evil.example/x' }),
    ).rejects.toMatchObject({ code: 'url_not_allowed' });
    expect((await checkouts.list(merchantId, { limit: 200 })).length).toBe(before);
  });

  it('cancels an open checkout once, and announces it', async () => {
    const c = await checkouts.create(merchantId, { amountMinor: 990, currency: 'NZD', storeId });
    const head = await bridge.events.head();
    const cancelled = await checkouts.cancel(merchantId, c.token);
    expect(cancelled.status).toBe('cancelled');
    expect((await checkouts.cancel(merchantId, c.id)).status).toBe('cancelled');
    const events = await bridge.events.read(head, { types: ['checkout.cancelled'] });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ merchantId, storeId, payload: { checkout: { id: c.id, status: 'cancelled' } } });
    const stranger = (await bridge.accounts.createMerchant({ name: 'Other' })).id;
    await expect(checkouts.cancel(stranger, c.token)).rejects.toMatchObject({ code: 'checkout_not_found' });
  });

  it('expires a checkout past its time, on read and by the job', async () => {
    const a = await checkouts.create(merchantId, { amountMinor: 500, currency: 'NZD', storeId, expiresInS: 30 });
    const b = await checkouts.create(merchantId, { amountMinor: 600, currency: 'NZD', storeId, expiresInS: 30 });
    const past = new Date(Date.now() - 1000).toISOString();
    await bridge.store.db.updateTable('checkouts').set({ expires_at: past }).where('id', 'in', [a.id, b.id]).execute();
    expect((await checkouts.get(a.token))!.status).toBe('expired');
    expect(await checkouts.expireDue()).toBe(1);
    expect((await checkouts.getById(b.id))!.status).toBe('expired');
    await expect(
      checkouts.startPayment((await checkouts.getById(b.id))!, { channel: 'wechat', mode: 'native' }),
    ).rejects.toMatchObject({ code: 'checkout_expired' });
  });

  it('settles a checkout whose paid order the hook missed, instead of expiring it', async () => {
    const c = await checkouts.create(merchantId, { amountMinor: 700, currency: 'NZD', storeId, expiresInS: 30 });
    const account = await wechatAccount();
    await bridge.orders.insert(
      checkoutOrder(c.id, account.id, {
        id: `pay_missed${kind}`,
        out_trade_no: `missed-${kind}`,
        mode: 'jsapi',
        status: 'paid',
        channel_order_no: `KMISSED${kind}`,
        channel_trade_no: '4200',
        openid: 'o1',
        paid_at: new Date().toISOString(),
      }),
      'test',
    );
    await pastExpiry(c.id);
    const head = await bridge.events.head();
    await checkouts.expireDue();
    const after = (await checkouts.getById(c.id))!;
    expect(after.status).toBe('paid');
    expect(after.payment).toMatchObject({ out_trade_no: `missed-${kind}`, status: 'paid' });
    expect((await bridge.events.read(head)).map((e) => e.type)).toEqual(['checkout.paid']);
    // A second paid order the hook missed on the now-paid checkout is flagged and refunded at the next pass.
    await bridge.orders.insert(
      {
        ...(await bridge.orders.byId(`pay_missed${kind}`))!,
        id: `pay_missed2${kind}`,
        out_trade_no: `missed2-${kind}`,
        channel_order_no: `KMISSED2${kind}`,
        paid_at: new Date().toISOString(),
      },
      'test',
    );
    await checkouts.expireDue();
    expect((await bridge.orders.byId(`pay_missed2${kind}`))!.flagged).toBe(true);
    expect((await bridge.orders.byId(`pay_missed${kind}`))!.flagged).toBe(false);
    expect(await autoRefunded()).toContain(`pay_missed2${kind}`);
    await checkouts.expireDue();
    expect((await bridge.events.read(head, { types: ['payment.flagged'] })).length).toBe(1);
  });

  it('is never settled by a payment made after its order closed: that one is refunded, and the customer is told', async () => {
    const c = await checkouts.create(merchantId, { amountMinor: 700, currency: 'NZD', storeId, expiresInS: 600 });
    const account = await wechatAccount();
    const id = `pay_late${kind}`;
    // The customer's first H5 order under the checkout; the bridge closes it while the checkout
    // stays open (a renewed link, an HQ close), and then the wallet reports it paid after all.
    await bridge.orders.insert(checkoutOrder(c.id, account.id, { id }), 'test');
    await bridge.payments.apply(id, { state: 'closed', reason: 'closed' }, 'link_expired');
    const head = await bridge.events.head();
    const late = await bridge.payments.apply(
      id,
      { state: 'paid', channelTradeNo: '4200LATE', amount: money(700, 'NZD') },
      'channel_notify',
    );
    expect(late).toMatchObject({ status: 'paid', flagged: true });
    // Told as flagged, never as paid: nobody hands goods over for money that goes back.
    expect((await bridge.events.read(head)).map((e) => e.type)).toEqual(['payment.flagged']);
    expect(await autoRefunded()).toContain(id);

    // The checkout job (every 5 s) and its expiry pass it over: the checkout stays open.
    await checkouts.expireDue();
    expect((await checkouts.getById(c.id))!.status).toBe('open');
    expect((await bridge.events.read(head)).map((e) => e.type)).toEqual(['payment.flagged']);
    await pastExpiry(c.id);
    await checkouts.expireDue();
    expect((await checkouts.getById(c.id))!.status).toBe('expired');
    expect((await bridge.events.read(head)).map((e) => e.type)).toEqual(['payment.flagged', 'checkout.expired']);

    // Back from the wallet, the customer reads that the payment is coming back to them.
    const back = await checkouts.checkReturn(id);
    expect(back?.state).toBe('refunding');
  });

  it("books a second wallet's payment of a paid checkout as one to refund, in the commit that books it", async () => {
    const c = await checkouts.create(merchantId, { amountMinor: 700, currency: 'NZD', storeId, expiresInS: 600 });
    const account = await wechatAccount();
    const first = `pay_first${kind}`;
    const second = `pay_second${kind}`;
    await bridge.orders.insert(checkoutOrder(c.id, account.id, { id: first }), 'test');
    await bridge.orders.insert(checkoutOrder(c.id, account.id, { id: second }), 'test');
    const paid = { state: 'paid', channelTradeNo: '4200FIRST', amount: money(700, 'NZD') } as const;
    await bridge.payments.apply(first, paid, 'channel_notify');
    expect((await checkouts.getById(c.id))!).toMatchObject({ status: 'paid', payment: { id: first } });
    // The second wallet's order could not be closed in time, and its payment is reported too.
    const head = await bridge.events.head();
    const extra = await bridge.payments.apply(second, { ...paid, channelTradeNo: '4200SECOND' }, 'channel_notify');
    expect(extra).toMatchObject({ status: 'paid', flagged: true });
    expect((await bridge.events.read(head)).map((e) => e.type)).toEqual(['payment.flagged']);
    expect(await autoRefunded()).toContain(second);
    expect((await checkouts.getById(c.id))!).toMatchObject({ status: 'paid', payment: { id: first } });
    expect((await checkouts.checkReturn(second))?.state).toBe('refunding');
    expect((await checkouts.checkReturn(first))?.state).toBe('paid');
    // Nothing is left for the checkout job to flag or refund a second time.
    await checkouts.expireDue();
    expect((await bridge.events.read(head)).map((e) => e.type)).toEqual(['payment.flagged']);
  });

  it("allows return URLs only on the merchant's domains", () => {
    expect(assertAllowedUrl('https://shop.example/done', ['shop.example'], 'return_url').host).toBe('shop.example');
    expect(assertAllowedUrl('https://pay.shop.example/done', ['shop.example'], 'return_url').host).toBe(
      'pay.shop.example',
    );
    for (const bad of [
      'https://shop.example.evil.com/',
      'https://evilshop.example/',
      'javascript:alert(1)',
      'https://user:pw@shop.example/',
      '/relative',
    ]) {
      expect(() => assertAllowedUrl(bad, ['shop.example'], 'return_url'), bad).toThrow();
    }
  });
});
