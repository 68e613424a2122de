import { createServer, type Server } from 'node:http';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { money } from '../../protocol/money.js';
import {
  startAlipaySimProcess,
  startBridgeForAlipay,
  uniqueNo,
  type AlipaySimProcess,
  type BridgeUnderTest,
} from './alipay-support.js';
import { skipUnless } from '../support/skip.js';

// The online flow as a customer lives it, in real Chromium: the merchant's site sends the
// browser to create_forex_trade, Alipay's cashier (the simulator's) shows the order, the
// customer confirms (`sim-pay`), the browser lands on the shop's return URL, and the
// order is paid once Alipay's notify reaches the bridge.

const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

describe.skipIf(skipUnless(existsSync(CHROMIUM), `${CHROMIUM} is missing: the Alipay browser tests are skipped`))(
  'Alipay web payment in Chromium',
  () => {
    let sim: AlipaySimProcess;
    let b: BridgeUnderTest;
    let browser: Browser;
    let shop: Server;
    let shopUrl: string;

    beforeAll(async () => {
      sim = await startAlipaySimProcess({ KAURI_TIME_SCALE: '10' });
      b = await startBridgeForAlipay(sim, 'sqlite', { timeScale: 20 });
      browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
      shop = createServer((req, res) => {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(
          `<!doctype html><title>Thanks</title><h1 data-testid="shop-thanks">Thank you for your order</h1><p>${(req.url ?? '').replace(/[<>&"]/g, '')}</p>`,
        );
      });
      await new Promise<void>((r) => shop.listen(0, '127.0.0.1', r));
      const addr = shop.address();
      shopUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    });

    afterAll(async () => {
      await browser?.close();
      await new Promise((r) => shop?.close(r));
      await b?.stop();
      await sim?.stop();
    });

    it('redirect link → cashier → sim-pay → return URL; paid once the notify arrives', async () => {
      const no = uniqueNo('web');
      const created = await b.api('POST', '/api/v1/payments', {
        out_trade_no: no,
        amount_minor: 4590,
        currency: 'NZD',
        channel: 'alipay',
        mode: 'web',
        description: 'Wool blanket 羊毛毯',
        return_url: `${shopUrl}/thanks/${no}`,
      });
      expect(created.body.status).toBe('pending');
      const page = await browser.newPage();
      try {
        await page.goto(created.body.redirect_url);
        expect(page.url()).toMatch(new RegExp(`^${sim.url}/cashier/`));
        await expect.poll(() => page.getByTestId('sim-amount').textContent()).toBe('45.90 NZD');
        expect(await page.getByTestId('sim-order-body').textContent()).toBe('Wool blanket 羊毛毯');
        await page.getByTestId('sim-pay').click();
        await page.waitForURL(new RegExp(`^${shopUrl}/thanks/${no}\\?`));
        const back = new URL(page.url());
        expect(back.searchParams.get('trade_status')).toBe('TRADE_FINISHED');
        expect(back.searchParams.get('total_fee')).toBe('45.90');
        expect(back.searchParams.get('sign_type')).toBe('MD5');
        expect(await page.getByTestId('shop-thanks').isVisible()).toBe(true);
      } finally {
        await page.close();
      }
      const paid = await b.waitFor(no, (p) => p.status === 'paid');
      expect(paid.channel_trade_no).toMatch(/^\d{28}$/);
    });

    it('the auto-submitting form posts to the gateway and reaches the same cashier', async () => {
      const { ctx } = await b.context();
      const channel = b.bridge.channels.get('alipay')!;
      const now = new Date();
      const outcome = await channel.create(ctx, {
        orderId: 'pay_form1',
        channelOrderNo: uniqueNo('KFORM'),
        mode: 'web',
        amount: money(1200, 'NZD'),
        description: '奇异果 Kiwifruit box',
        returnUrl: `${shopUrl}/form-return`,
        expiresAt: new Date(now.getTime() + 15 * 60_000),
        createdAt: now,
      });
      expect(outcome.state).toBe('pending');
      const html = outcome.state === 'pending' ? outcome.page!.html : '';
      expect(html).toContain('method="post"');
      const page = await browser.newPage();
      try {
        await page.setContent(html);
        await page.waitForURL(new RegExp(`^${sim.url}/cashier/`));
        await expect.poll(() => page.getByTestId('sim-order-body').textContent()).toBe('奇异果 Kiwifruit box');
        await page.getByTestId('sim-pay').click();
        await page.waitForURL(new RegExp(`^${shopUrl}/form-return\\?`));
      } finally {
        await page.close();
      }
    });
  },
);
