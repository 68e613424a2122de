import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, UA, startSim, startWorld, type Sim, type World } from './onecode-support.js';
import { skipUnless } from '../support/skip.js';

// Paying from a phone's own browser (Safari on an iPhone, played by Chromium with its
// User-Agent): the one-code chooser offers buttons that open WeChat (H5, MWEB) and Alipay
// (mobile cashier); the simulators play the wallets' pages; the wallet sends the browser
// back to the bridge's return page, which asks before it says paid.

const IPHONE_SAFARI =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1';
// 30× time: WeChat's 5-minute mweb_url lasts 10 s, and the bridge renews one after 8 s.
const SCALE = 30;

describe.skipIf(skipUnless(existsSync(CHROMIUM), `${CHROMIUM} is missing: the phone-browser tests are skipped`))(
  'one-code pages in a phone browser (WeChat H5, Alipay mobile cashier)',
  () => {
    let wechat: Sim;
    let alipay: Sim;
    let bank: Sim;
    let w: World;
    let browser: Browser;

    beforeAll(async () => {
      [wechat, alipay, bank] = await Promise.all([
        startSim('wechat', { KAURI_TIME_SCALE: String(SCALE) }),
        startSim('alipay', { KAURI_TIME_SCALE: String(SCALE) }),
        startSim('bank', { KAURI_TIME_SCALE: String(SCALE) }),
      ]);
      w = await startWorld({ wechat, alipay, bank }, { timeScale: SCALE });
      await w.bridge.fx.pullAll();
      browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    }, 120_000);

    afterAll(async () => {
      await browser?.close();
      await w?.stop();
      await Promise.all([wechat?.stop(), alipay?.stop(), bank?.stop()]);
    });

    const newCheckout = async (amount: number) => {
      // A day (48 minutes at 30×): it never expires under a test.
      const res = await w.api('POST', '/api/v1/checkouts', {
        amount_minor: amount,
        currency: 'NZD',
        store: w.seed.storeCode,
        expires_in_s: 86_400,
      });
      expect(res.status).toBe(201);
      return res.body as { token: string; url: string; id: string };
    };

    const iphone = async (): Promise<BrowserContext> =>
      browser.newContext({
        userAgent: IPHONE_SAFARI,
        ignoreHTTPSErrors: true,
        locale: 'en-NZ',
        viewport: { width: 390, height: 760 },
        isMobile: true,
      });

    /** The Referer each request to WeChat's H5 page carried (undefined: none). */
    const watchMweb = (ctx: BrowserContext): Array<{ url: string; referer?: string }> => {
      const seen: Array<{ url: string; referer?: string }> = [];
      ctx.on('request', (r) => {
        if (r.url().startsWith(`${wechat.url}/cgi-bin/mmpayweb-bin/checkmweb`) && r.method() === 'GET')
          seen.push({ url: r.url(), referer: r.headers().referer });
      });
      return seen;
    };

    const returnState = async (page: Page, state: 'paid' | 'not_paid' | 'checking') => {
      await expect
        .poll(async () => (await page.getByTestId('return-page').count()) > 0 && page.url(), { timeout: 45_000 })
        .toMatch(new RegExp(`^${w.bridge.url}/r/pay_`));
      await expect.poll(() => page.getByTestId('return-page').getAttribute('data-status')).toBe(state);
      return (await page.getByTestId('return-status').textContent()) ?? '';
    };

    const ordersOf = async (checkoutId: string) => w.bridge.orders.ofCheckout(checkoutId);

    it('WeChat H5: the chooser opens WeChat with the bridge as Referer, the customer pays, and the return page says PAID', async () => {
      const c = await newCheckout(2350);
      const ctx = await iphone();
      const mweb = watchMweb(ctx);
      try {
        const page = await ctx.newPage();
        await page.goto(c.url);
        // A phone cannot scan its own screen: buttons instead of the QR code.
        await page.getByTestId('pay-wechat-h5').waitFor();
        expect(await page.getByTestId('pay-alipay-wap').isVisible()).toBe(true);
        expect(await page.getByTestId('pay-bank').isVisible()).toBe(true);
        expect(await page.getByTestId('checkout-qr').count()).toBe(0);
        const shots = process.env.KAURI_SCREENSHOT_DIR;
        if (shots) {
          mkdirSync(shots, { recursive: true });
          await page.screenshot({ path: join(shots, 'onecode-phone.png'), fullPage: true });
        }
        await page.getByTestId('pay-wechat-h5').click();
        await page.getByTestId('sim-pay').waitFor({ timeout: 45_000 });
        // WeChat sees where the payment started: the bridge's origin, never the checkout's path.
        expect(mweb).toHaveLength(1);
        expect(mweb[0]!.referer).toBe(`${w.bridge.url}/`);
        const redirect = new URL(mweb[0]!.url).searchParams.get('redirect_url');
        expect(redirect).toMatch(new RegExp(`^${w.bridge.url}/r/pay_`));
        expect(await page.getByTestId('sim-amount').textContent()).toBe('23.50 NZD');
        await page.getByTestId('sim-pay').click();
        const text = await returnState(page, 'paid');
        expect(text).toContain('PAID');
        expect(text).not.toContain('NOT PAID');
        expect(await page.getByTestId('return-check').count()).toBe(0);
        // The return page works without JavaScript too: a reload asks again and says the same.
        await page.reload();
        expect(await page.getByTestId('return-page').getAttribute('data-status')).toBe('paid');
      } finally {
        await ctx.close();
      }
      const paid = await w.waitForCheckout(c.token, (x) => x.status === 'paid');
      expect(paid.payment).toMatchObject({ channel: 'wechat', mode: 'h5', amount_minor: 2350, status: 'paid' });
      // The order WeChat got was an H5 one, from the payer's address, with its scene.
      const sim = await wechat.get<{ orders: any[] }>('/sim/orders');
      const order = sim.orders.find((o) => o.trade_type === 'MWEB' && o.total_fee === 2350);
      expect(order.trade_type).toBe('MWEB');
      expect(order.spbill_create_ip).toBe('127.0.0.1');
      expect(JSON.parse(order.scene_info)).toEqual({
        h5_info: { type: 'Wap', wap_url: w.bridge.url, wap_name: 'Kauri' },
      });
    });

    it('Alipay mobile cashier: chosen per payment, paid, back through the signed return_url to PAID', async () => {
      const c = await newCheckout(1999);
      const ctx = await iphone();
      const services: string[] = [];
      ctx.on('request', (r) => {
        if (r.url().startsWith(`${alipay.url}/gateway.do`))
          services.push(new URL(r.url()).searchParams.get('service') ?? '');
      });
      try {
        const page = await ctx.newPage();
        await page.goto(c.url);
        await page.getByTestId('pay-alipay-wap').click();
        await page.getByTestId('sim-pay').waitFor({ timeout: 45_000 });
        expect(services).toEqual(['create_forex_trade_wap']);
        await page.getByTestId('sim-pay').click();
        const text = await returnState(page, 'paid');
        expect(text).toContain('PAID');
        // Alipay appended its signed result to the return page's address.
        const back = new URL(page.url());
        expect(back.searchParams.get('sign')).toBeTruthy();
        expect(back.searchParams.get('trade_status')).toMatch(/^TRADE_(SUCCESS|FINISHED)$/);
      } finally {
        await ctx.close();
      }
      const paid = await w.waitForCheckout(c.token, (x) => x.status === 'paid');
      expect(paid.payment).toMatchObject({ channel: 'alipay', mode: 'wap', amount_minor: 1999, status: 'paid' });
    });

    it('a customer who cancels in the wallet lands on NOT PAID, tries again, and the checkout is paid once', async () => {
      const c = await newCheckout(4200);
      const ctx = await iphone();
      try {
        const page = await ctx.newPage();
        await page.goto(c.url);
        await page.getByTestId('pay-wechat-h5').click();
        await page.getByTestId('sim-cancel').click();
        let text = await returnState(page, 'not_paid');
        expect(text).toContain('NOT PAID');
        // Checking again asks WeChat again: still not paid.
        await page.getByTestId('return-check').click();
        text = await returnState(page, 'not_paid');
        expect(text).toContain('NOT PAID');
        expect((await w.api('GET', `/api/v1/checkouts/${c.token}`)).body.status).toBe('open');

        // Alipay's mobile cashier, backed out of, says the same.
        await page.getByTestId('return-retry').click();
        await page.getByTestId('pay-alipay-wap').click();
        await page.getByTestId('sim-cancel').click();
        expect(await returnState(page, 'not_paid')).toContain('NOT PAID');

        // Try again with WeChat: the same order while its link is fresh (a new one after), paid this time.
        await page.getByTestId('return-retry').click();
        await page.getByTestId('pay-wechat-h5').click();
        await page.getByTestId('sim-pay').click();
        expect(await returnState(page, 'paid')).toContain('PAID');
      } finally {
        await ctx.close();
      }
      await w.waitForCheckout(c.token, (x) => x.status === 'paid');
      const orders = await ordersOf(c.id);
      expect(orders.filter((o) => ['paid', 'partially_refunded', 'refunded'].includes(o.status))).toHaveLength(1);
      // Any H5 order besides the paid one is one whose link lapsed on a slow machine: closed.
      for (const o of orders.filter((x) => x.mode === 'h5' && x.status !== 'paid')) expect(o.status).toBe('closed');
      // The Alipay order the customer backed out of: Alipay has no close for an online trade whose
      // cashier was opened, so it stays WAIT_BUYER_PAY there until its timeout_rule and pending
      // here (the checkout's close asked, and was told so); paid late, it would be refunded.
      const wap = (await ordersOf(c.id)).find((o) => o.mode === 'wap');
      expect(wap?.status).toBe('pending');
    });

    it("WeChat refuses an mweb_url opened without the merchant's Referer, and one past its 5 minutes", async () => {
      const c = await newCheckout(1500);
      const ctx = await iphone();
      const mweb = watchMweb(ctx);
      try {
        const page = await ctx.newPage();
        await page.goto(c.url);
        await page.getByTestId('pay-wechat-h5').click();
        await page.getByTestId('sim-pay').waitFor({ timeout: 45_000 });
        const url = mweb[0]!.url;
        // Typed or pasted (no Referer), or linked from another site: WeChat's error page.
        await page.goto(url);
        expect(await page.getByTestId('sim-error').textContent()).toBe('商家参数格式有误，请联系商家解决');
        await page.goto(url, { referer: 'https://elsewhere.example/shop' });
        expect(await page.getByTestId('sim-error').textContent()).toBe('商家参数格式有误，请联系商家解决');
        // From the bridge, but after 5 minutes (10 s here): WeChat says the request lapsed.
        await sleep(10_500);
        await page.goto(url, { referer: `${w.bridge.url}/` });
        expect(await page.getByTestId('sim-error').textContent()).toBe('支付请求已失效，请重新发起支付');
      } finally {
        await ctx.close();
      }
    });

    it('an H5 page opened after its mweb_url expired gets a new one, and that one pays', async () => {
      const c = await newCheckout(3100);
      const ctx = await iphone();
      const mweb = watchMweb(ctx);
      try {
        const page = await ctx.newPage();
        await page.goto(c.url);
        await page.getByTestId('pay-wechat-h5').click();
        await page.getByTestId('sim-pay').waitFor({ timeout: 45_000 });
        const first = new URL(mweb[0]!.url).searchParams.get('prepay_id');
        const firstOrder = (await ordersOf(c.id)).find((o) => o.mode === 'h5')!;
        // The customer leaves the phone, comes back after the link's 5 minutes (8 s to the bridge
        // at 30×, which renews a minute early) and taps WeChat again.
        await sleep(8_500);
        await page.goto(c.url);
        await page.getByTestId('pay-wechat-h5').click();
        await page.getByTestId('sim-pay').waitFor({ timeout: 45_000 });
        expect(mweb).toHaveLength(2);
        const second = new URL(mweb[1]!.url).searchParams.get('prepay_id');
        expect(second).not.toBe(first);
        await page.getByTestId('sim-pay').click();
        expect(await returnState(page, 'paid')).toContain('PAID');
        // The lapsed order was closed at WeChat; the new one is the one paid.
        const orders = await ordersOf(c.id);
        expect(orders.find((o) => o.id === firstOrder.id)?.status).toBe('closed');
        expect(orders.filter((o) => o.status === 'paid')).toHaveLength(1);
        expect(orders.find((o) => o.status === 'paid')?.id).not.toBe(firstOrder.id);
      } finally {
        await ctx.close();
      }
    });

    it('a desktop browser still sees the QR chooser, and the return page serves only phone payments of this bridge', async () => {
      const c = await newCheckout(900);
      const ctx = await browser.newContext({ userAgent: UA.desktop, locale: 'en-NZ' });
      try {
        const page = await ctx.newPage();
        await page.goto(c.url);
        await page.getByTestId('checkout-qr').waitFor();
        expect(await page.getByTestId('pay-wechat-h5').count()).toBe(0);
        expect(await page.getByTestId('pay-alipay-wap').count()).toBe(0);
        // No such payment, not a payment id, or a payment not made from a phone browser: not found.
        for (const path of ['/r/pay_01JZZZZZZZZZZZZZZZZZZZZZZZ', '/r/..%2Fc', '/r/https%3A%2F%2Fevil.example']) {
          const res = await page.goto(`${w.bridge.url}${path}`);
          expect(res?.status()).toBe(404);
        }
        const native = await w.api('POST', '/api/v1/payments', {
          out_trade_no: `native-${Date.now()}`,
          amount_minor: 100,
          currency: 'NZD',
          channel: 'wechat',
          mode: 'native',
        });
        expect(native.status).toBe(201);
        expect((await page.goto(`${w.bridge.url}/r/${native.body.id}`))?.status()).toBe(404);
      } finally {
        await ctx.close();
      }
    });

    it('the merchant API takes mode h5 with the payer_ip, answering the mweb_url with redirect_url to the return page', async () => {
      const res = await w.api('POST', '/api/v1/payments', {
        out_trade_no: `h5-${Date.now()}`,
        amount_minor: 1234,
        currency: 'NZD',
        channel: 'wechat',
        mode: 'h5',
        payer_ip: '203.0.113.7',
      });
      expect(res.status).toBe(201);
      const url = new URL(res.body.redirect_url);
      expect(`${url.origin}${url.pathname}`).toBe(`${wechat.url}/cgi-bin/mmpayweb-bin/checkmweb`);
      expect(url.searchParams.get('redirect_url')).toBe(`${w.bridge.url}/r/${res.body.id}`);
      const sim = await wechat.get<{ orders: any[] }>('/sim/orders');
      expect(sim.orders.find((o) => o.prepay_id === url.searchParams.get('prepay_id'))?.spbill_create_ip).toBe(
        '203.0.113.7',
      );
      const bad = await w.api('POST', '/api/v1/payments', {
        out_trade_no: `h5-bad-${Date.now()}`,
        amount_minor: 1234,
        currency: 'NZD',
        channel: 'wechat',
        mode: 'h5',
        payer_ip: 'not-an-ip',
      });
      expect(bad.status).toBe(400);
    });
  },
);
