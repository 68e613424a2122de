import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import {
  CHROMIUM,
  CHROMIUM_ARGS,
  UA,
  actAsWechat,
  startSim,
  startWorld,
  type Sim,
  type World,
} from './onecode-support.js';
import { skipUnless } from '../support/skip.js';

// One QR code, whichever wallet the customer has: a checkout's /c/<token> in real
// Chromium with WeChat's, Alipay's and a desktop browser's User-Agent, against the
// channel simulators, and the store sticker /s/<code> with the amount typed on the phone.

describe.skipIf(skipUnless(existsSync(CHROMIUM), `${CHROMIUM} is missing: the one-code browser tests are skipped`))(
  'one-code landing pages in Chromium',
  () => {
    let wechat: Sim;
    let alipay: Sim;
    let bank: Sim;
    let w: World;
    let browser: Browser;

    beforeAll(async () => {
      [wechat, alipay, bank] = await Promise.all([
        startSim('wechat', { KAURI_TIME_SCALE: '10' }),
        startSim('alipay', { KAURI_TIME_SCALE: '10' }),
        startSim('bank', { KAURI_TIME_SCALE: '10' }),
      ]);
      w = await startWorld({ wechat, alipay, bank }, { timeScale: 20 });
      // The demo accounts exist only now: pull the rates the chooser quotes from.
      await w.bridge.fx.pullAll();
      browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    }, 120_000);

    afterAll(async () => {
      await browser?.close();
      await w?.stop();
      await Promise.all([wechat?.stop(), alipay?.stop(), bank?.stop()]);
    });

    const newCheckout = async (amount: number, extra: Record<string, unknown> = {}) => {
      // An hour (3 minutes at 20× time), so a loaded machine does not expire it mid-test.
      const res = await w.api('POST', '/api/v1/checkouts', {
        amount_minor: amount,
        currency: 'NZD',
        store: w.seed.storeCode,
        expires_in_s: 3600,
        ...extra,
      });
      expect(res.status).toBe(201);
      return res.body as { token: string; url: string; id: string; status: string };
    };

    const phone = async (ua: string): Promise<BrowserContext> =>
      browser.newContext({ userAgent: ua, ignoreHTTPSErrors: true, locale: 'zh-CN' });

    it('WeChat: OAuth for the openid, the JSAPI page opens the pay sheet by itself, and the checkout is paid once WeChat says so', async () => {
      const c = await newCheckout(1888);
      const ctx = await phone(UA.wechat);
      const invoked = await actAsWechat(ctx, wechat);
      const seen: string[] = [];
      ctx.on('request', (r) => {
        if (r.isNavigationRequest()) seen.push(r.url());
      });
      try {
        const page = await ctx.newPage();
        await page.goto(c.url);
        await expect
          .poll(() => page.getByTestId('checkout-status').getAttribute('data-status'), { timeout: 20_000 })
          .toBe('paid');
        // Went through WeChat's OAuth (snsapi_base) and back to the bridge's JSAPI page.
        const authorize = seen.find((u) => u.startsWith(`${wechat.url}/connect/oauth2/authorize`));
        expect(authorize).toBeDefined();
        expect(new URL(authorize!).searchParams.get('scope')).toBe('snsapi_base');
        expect(seen.some((u) => u.startsWith(`${w.bridge.url}/c/${c.token}/pay/`))).toBe(true);
        expect(invoked).toHaveLength(1);
        expect(invoked[0]).toMatchObject({ appId: 'wx2421b1c4370ec43b', signType: 'MD5' });
        expect(invoked[0]!.package).toMatch(/^prepay_id=/);
        // The paid page says so in Chinese and English, with the amount and the merchant.
        const text = await page.locator('body').innerText();
        expect(text).toContain('已支付');
        expect(text).toContain('Paid');
        expect(await page.getByTestId('pay-amount').textContent()).toBe('NZD 18.88');
        expect(await page.getByTestId('merchant-name').textContent()).toBe('Kauri Demo Shop 奇异果小店');
      } finally {
        await ctx.close();
      }
      const paid = await w.waitForCheckout(c.token, (x) => x.status === 'paid');
      expect(paid.payment).toMatchObject({
        channel: 'wechat',
        mode: 'jsapi',
        amount_minor: 1888,
        currency: 'NZD',
        status: 'paid',
      });
      const events = await w.bridge.events.read(0, { types: ['checkout.paid'] });
      expect(events.filter((e) => (e.payload as any).checkout.id === c.id)).toHaveLength(1);
    });

    it('WeChat: a cancelled pay sheet offers to pay again, and nothing is marked paid on the JS "ok" alone', async () => {
      const c = await newCheckout(1200);
      const ctx = await phone(UA.wechat);
      await actAsWechat(ctx, wechat, { confirm: false });
      try {
        const page = await ctx.newPage();
        await page.goto(c.url);
        await expect.poll(() => page.getByTestId('jsapi-retry').isVisible(), { timeout: 20_000 }).toBe(true);
        expect(await page.getByTestId('jsapi-message').textContent()).toContain('取消');
        expect((await w.api('GET', `/api/v1/checkouts/${c.token}`)).body.status).toBe('open');
      } finally {
        await ctx.close();
      }
      // A JS bridge that lies ("ok" without paying) changes nothing either.
      const liar = await phone(UA.wechat);
      await liar.addInitScript(() => {
        (window as unknown as { WeixinJSBridge: unknown }).WeixinJSBridge = {
          invoke: (_n: string, _p: unknown, cb: (r: unknown) => void) => cb({ err_msg: 'get_brand_wcpay_request:ok' }),
        };
      });
      try {
        const page = await liar.newPage();
        await page.goto(c.url);
        await expect.poll(() => page.getByTestId('jsapi-message').textContent(), { timeout: 20_000 }).toContain('确认');
        await new Promise((r) => setTimeout(r, 1500));
        expect((await w.api('GET', `/api/v1/checkouts/${c.token}`)).body.status).toBe('open');
        expect(await page.getByTestId('jsapi-page').isVisible()).toBe(true);
      } finally {
        await liar.close();
      }
    });

    it('Alipay: straight to the precreated qr_code inside Alipay, the customer pays, the checkout is paid', async () => {
      const c = await newCheckout(2450);
      const ctx = await phone(UA.alipay);
      try {
        const page = await ctx.newPage();
        const res = await page.goto(c.url);
        expect(page.url()).toMatch(new RegExp(`^${alipay.url}/qr/`));
        expect(res?.request().redirectedFrom()?.url()).toBe(c.url);
        await page.getByTestId('sim-pay').click();
        const paid = await w.waitForCheckout(c.token, (x) => x.status === 'paid');
        expect(paid.payment).toMatchObject({
          channel: 'alipay',
          mode: 'precreate',
          amount_minor: 2450,
          status: 'paid',
        });
        // Scanning the paid code again shows that it is paid.
        const again = await page.goto(c.url);
        expect(again?.status()).toBe(200);
        expect(await page.getByTestId('checkout-status').getAttribute('data-status')).toBe('paid');
      } finally {
        await ctx.close();
      }
    });

    it('a desktop browser gets the chooser: amount, merchant, each wallet, and online banking in CNY with the exact amount, rate and time; it pays', async () => {
      const c = await newCheckout(990);
      const quote = (await w.api('GET', '/api/v1/fx/quote?channel=bank&amount_minor=990&currency=NZD')).body;
      const ctx = await browser.newContext({ userAgent: UA.desktop, locale: 'en-NZ' });
      try {
        const page = await ctx.newPage();
        await page.goto(c.url);
        expect(await page.getByTestId('pay-amount').textContent()).toBe('NZD 9.90');
        expect(await page.getByTestId('merchant-name').textContent()).toBe('Kauri Demo Shop 奇异果小店');
        expect(await page.getByTestId('chooser-wechat').textContent()).toContain('WeChat');
        expect(await page.getByTestId('chooser-alipay').textContent()).toContain('Alipay');
        expect(await page.locator('[data-testid=checkout-qr] svg').count()).toBe(1);
        const cny = `CNY ${(quote.cny_minor / 100).toFixed(2)}`;
        expect(await page.getByTestId('bank-cny').textContent()).toBe(cny);
        const rate = await page.getByTestId('bank-rate').textContent();
        expect(rate).toContain(`1 NZD = ${quote.rate} CNY + 2% exchange fee`);
        expect(await page.locator('[data-testid=bank-rate] time').getAttribute('datetime')).toBe(quote.rate_time);
        await page.getByTestId('lang-switch').click();
        expect(await page.locator('h2.choose').textContent()).toBe('请选择付款方式');
        expect(await page.getByTestId('pay-amount').textContent()).toBe('NZD 9.90');
        await page.getByTestId('pay-bank').click();
        await page.waitForURL(`${bank.url}/prs/user_payment.checkit`);
        expect(await page.getByTestId('sim-amount').textContent()).toBe((quote.cny_minor / 100).toFixed(2));
        await page.getByLabel('中国建设银行').check();
        await page.getByTestId('sim-pay').click();
        await page.waitForURL(new RegExp(`^${w.bridge.url}/return/bank/`));
      } finally {
        await ctx.close();
      }
      const paid = await w.waitForCheckout(c.token, (x) => x.status === 'paid');
      expect(paid.payment).toMatchObject({
        channel: 'bank',
        amount_minor: 990,
        currency: 'NZD',
        cny_quote_minor: quote.cny_minor,
        rate: quote.rate,
        status: 'paid',
      });
    });

    it('the chooser hides what the checkout does not allow', async () => {
      const c = await newCheckout(990, { allowed_channels: ['wechat'] });
      const ctx = await browser.newContext({ userAgent: UA.desktop });
      try {
        const page = await ctx.newPage();
        await page.goto(c.url);
        expect(await page.getByTestId('chooser-wechat').count()).toBe(1);
        expect(await page.getByTestId('chooser-alipay').count()).toBe(0);
        expect(await page.getByTestId('chooser-bank').count()).toBe(0);
      } finally {
        await ctx.close();
      }
      // An Alipay scan of a WeChat-only checkout is told so, and no Alipay order is made.
      const ali = await phone(UA.alipay);
      try {
        const page = await ali.newPage();
        await page.goto(c.url);
        expect(await page.getByTestId('wallet-not-offered').isVisible()).toBe(true);
      } finally {
        await ali.close();
      }
      expect((await w.api('GET', `/api/v1/checkouts/${c.token}/payments`)).body.data).toEqual([]);
    });

    it("the store sticker: the customer types the amount, within the store's limit, then pays in Alipay; the store hears of it", async () => {
      const ctx = await phone(UA.alipay);
      const head = await w.bridge.events.head();
      try {
        const page = await ctx.newPage();
        await page.goto(`${w.bridge.url}/s/${w.seed.storeCode}`);
        expect(await page.getByTestId('merchant-name').textContent()).toBe('Kauri Demo Shop 奇异果小店');
        // Over the store's maximum (NZD 5,000.00): refused, nothing created.
        await page.getByTestId('pay-amount-input').fill('5000.01');
        await page.getByTestId('pay-button').click();
        expect(await page.getByTestId('pay-amount-error').textContent()).toContain('5,000.00');
        await page.getByTestId('pay-amount-input').fill('12.34');
        await page.getByTestId('pay-button').click();
        await page.waitForURL(new RegExp(`^${alipay.url}/qr/`));
        expect(await page.getByTestId('sim-amount').textContent()).toContain('12.34');
        await page.getByTestId('sim-pay').click();
      } finally {
        await ctx.close();
      }
      await expect
        .poll(async () => (await w.bridge.events.read(head, { types: ['static_code.paid'] })).length, {
          timeout: 20_000,
        })
        .toBe(1);
      const [e] = await w.bridge.events.read(head, { types: ['static_code.paid'] });
      expect(e).toMatchObject({ merchantId: w.seed.merchantId, storeId: w.seed.storeId });
      expect((e!.payload as any).checkout).toMatchObject({ kind: 'static', amount_minor: 1234, status: 'paid' });
      expect((e!.payload as any).payment).toMatchObject({ channel: 'alipay', amount_minor: 1234, status: 'paid' });
    });

    it('an expired checkout answers 410 with a clear page, in both languages; an unknown one 404', async () => {
      const c = await newCheckout(500, { expires_in_s: 30 }); // 1.5 s at 20× time
      await new Promise((r) => setTimeout(r, 1800));
      const ctx = await phone(UA.wechat);
      try {
        const page = await ctx.newPage();
        const res = await page.goto(c.url);
        expect(res?.status()).toBe(410);
        expect(await page.getByTestId('checkout-status').getAttribute('data-status')).toBe('expired');
        const text = await page.locator('body').innerText();
        expect(text).toContain('已过期');
        expect(text).toContain('Expired');
        expect(await page.getByTestId('pay-amount').textContent()).toBe('NZD 5.00');
        const missing = await page.goto(`${w.bridge.url}/c/AAAAAAAAAAAAAAAAAAAAAA`);
        expect(missing?.status()).toBe(404);
        expect(await page.getByTestId('checkout-status').getAttribute('data-status')).toBe('not_found');
      } finally {
        await ctx.close();
      }
      expect((await w.api('GET', `/api/v1/checkouts/${c.token}`)).body.status).toBe('expired');
    });

    it('scanning the same code twice makes no second payable order', async () => {
      const c = await newCheckout(777);
      const ali = await phone(UA.alipay);
      const wx = await phone(UA.wechat);
      const invoked = await actAsWechat(wx, wechat, { confirm: false });
      try {
        const p1 = await ali.newPage();
        await p1.goto(c.url);
        const first = p1.url();
        const p2 = await ali.newPage();
        await p2.goto(c.url);
        expect(p2.url()).toBe(first);
        const w1 = await wx.newPage();
        await w1.goto(c.url);
        await expect.poll(() => invoked.length, { timeout: 20_000 }).toBe(1);
        const w2 = await wx.newPage();
        await w2.goto(c.url);
        await expect.poll(() => invoked.length, { timeout: 20_000 }).toBe(2);
        expect(invoked[1]!.package).toBe(invoked[0]!.package);
        expect(w2.url()).toBe(w1.url());
      } finally {
        await ali.close();
        await wx.close();
      }
      const orders = (await w.api('GET', `/api/v1/checkouts/${c.token}/payments`)).body.data as any[];
      expect(orders.map((o) => `${o.channel}:${o.mode}:${o.status}`).sort()).toEqual([
        'alipay:precreate:pending',
        'wechat:jsapi:pending',
      ]);
    });

    it('two wallets paying in a race end in one payment and one automatic refund, flagged', async () => {
      const c = await newCheckout(3300);
      const ali = await phone(UA.alipay);
      const wx = await phone(UA.wechat);
      // Both customers get as far as the wallet's confirm screen.
      await actAsWechat(wx, wechat, { confirm: false });
      let qr = '';
      try {
        const p1 = await ali.newPage();
        await p1.goto(c.url);
        qr = p1.url();
        const w1 = await wx.newPage();
        await w1.goto(c.url);
        await expect.poll(() => w1.getByTestId('jsapi-retry').isVisible(), { timeout: 20_000 }).toBe(true);
      } finally {
        await ali.close();
        await wx.close();
      }
      const orders = (await w.api('GET', `/api/v1/checkouts/${c.token}/payments`)).body.data as any[];
      const wxOrder = orders.find((o) => o.channel === 'wechat')!;
      const prepay = (
        await w.bridge.store.db
          .selectFrom('checkout_presentations')
          .select('data')
          .where('order_id', '=', wxOrder.id)
          .executeTakeFirstOrThrow()
      ).data;
      const prepayId = JSON.parse(prepay).jsapiParams.package.replace(/^prepay_id=/, '');
      // Both wallets confirm before the bridge can know of either: the notifies come late, and
      // the bridge's own order queries fail for a while (else a quick query of one payment
      // could close the other order before its customer confirms, and there is no race).
      expect(
        (await wechat.control('/sim/faults', { target: '/pay/orderquery', mode: 'http500', count: 40 })).status,
      ).toBe(200);
      expect(
        (await alipay.control('/sim/faults', { target: 'alipay.acquire.query', mode: 'http500', count: 40 })).status,
      ).toBe(200);
      await wechat.control('/sim/faults', { target: 'notify', mode: 'late-notify:2', count: 1 });
      await alipay.control('/sim/faults', { target: 'notify', mode: 'late-notify:2', count: 1 });
      const [a, b] = await Promise.all([
        alipay.control('/sim/pay', { qr_code: qr }),
        wechat.control('/sim/pay', { prepay_id: prepayId }),
      ]);
      expect([a.status, b.status]).toEqual([200, 200]);

      const paid = await w.waitForCheckout(c.token, (x) => x.status === 'paid', 30_000);
      const winner = paid.payment.out_trade_no;
      const loser = orders.find((o) => o.out_trade_no !== winner)!;
      // The loser's money goes back, one way or another, and HQ is told: refunded automatically
      // once seen paid; or reversed by its channel when the checkout closed it (Alipay cancels a
      // paid trade); or, when its notify wins against that cancel, paid with the automatic
      // refund refused because the cancel already gave the money back.
      const settled = (p: any, refunds: any[]) =>
        p.flagged === true &&
        (p.status === 'refunded' ||
          p.status === 'reversed' ||
          refunds.some((r) => r.automatic && r.status === 'failed'));
      let lost: any;
      let refunds: any[] = [];
      for (let i = 0; i < 600 && !(lost && settled(lost, refunds)); i++) {
        if (i) await new Promise((r) => setTimeout(r, 100));
        lost = (await w.api('GET', `/api/v1/payments/${loser.out_trade_no}`)).body;
        refunds = (await w.api('GET', `/api/v1/payments/${loser.out_trade_no}/refunds`)).body.data;
      }
      expect(settled(lost, refunds), JSON.stringify({ lost, refunds })).toBe(true);
      if (lost.status === 'refunded') {
        expect(lost.refunded_minor).toBe(3300);
        expect(refunds).toEqual([
          expect.objectContaining({ automatic: true, amount_minor: 3300, status: 'succeeded' }),
        ]);
      } else {
        // Only Alipay's close reverses a paid trade: the simulator shows the money given back.
        expect(lost.channel).toBe('alipay');
        const trade = (await alipay.get<{ orders: any[] }>('/sim/orders')).orders.find(
          (o) => o.trade_no === lost.channel_trade_no,
        );
        expect(trade?.cancel).toBe('refund');
      }
      const flags = await w.bridge.events.read(0, { types: ['payment.flagged'] });
      expect(flags.filter((e) => (e.payload as any).id === loser.id)).not.toHaveLength(0);
      const won = (await w.api('GET', `/api/v1/payments/${winner}`)).body;
      expect(won).toMatchObject({ status: 'paid', refunded_minor: 0 });
      expect(won.flagged).toBeUndefined();
      const events = await w.bridge.events.read(0, { types: ['checkout.paid'] });
      expect(events.filter((e) => (e.payload as any).checkout.id === c.id)).toHaveLength(1);
    }, 60_000);
  },
);
