import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { chromium, type Browser } from 'playwright-core';
import { skipUnless } from '../support/skip.js';
import { MERCHANT, call, signFields, simJson, startSim, type RunningSim } from './wechat-sim-harness.js';

// The customer's side in a real browser: the simulator's wallet page (`sim-pay`), and
// a JSAPI page that gets the payer's openid through the simulator's OAuth endpoints
// and pays through its WeixinJSBridge stand-in.

const CHROMIUM = '/usr/bin/chromium';
const UA =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.50(0x1800323c) NetType/WIFI Language/zh_CN';

let sim: RunningSim;
let browser: Browser;
let shop: Server;
let shopUrl: string;
const shopLog: { openid?: string; out_trade_no?: string } = {};

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) return;
  sim = await startSim(['--port', '0']);
  // A minimal merchant JSAPI page, written the way WeChat's docs describe it.
  shop = createServer(async (req, res) => {
    const u = new URL(req.url!, shopUrl);
    if (u.pathname === '/notify')
      return void req.resume().on('end', () => res.end('<xml><return_code>SUCCESS</return_code></xml>'));
    if (u.pathname !== '/pay') return void res.writeHead(404).end();
    const code = u.searchParams.get('code');
    if (!code) {
      const auth = new URL(`${sim.url}/connect/oauth2/authorize`);
      auth.search = new URLSearchParams({
        appid: MERCHANT.appid,
        redirect_uri: `${shopUrl}/pay`,
        response_type: 'code',
        scope: 'snsapi_base',
        state: 'shop',
      }).toString();
      return void res.writeHead(302, { location: `${auth}#wechat_redirect` }).end();
    }
    if (u.searchParams.get('state') !== 'shop') return void res.writeHead(400).end();
    const token = (await (
      await fetch(
        `${sim.url}/sns/oauth2/access_token?appid=${MERCHANT.appid}&secret=kauri-demo-appsecret&code=${code}&grant_type=authorization_code`,
      )
    ).json()) as { openid: string };
    shopLog.openid = token.openid;
    shopLog.out_trade_no = `JS-${randomBytes(4).toString('hex')}`;
    const order = await call(sim.url, '/pay/unifiedorder', {
      appid: MERCHANT.appid,
      mch_id: MERCHANT.mch_id,
      body: 'JSAPI page',
      out_trade_no: shopLog.out_trade_no,
      total_fee: '1550',
      fee_type: 'NZD',
      spbill_create_ip: '127.0.0.1',
      notify_url: `${shopUrl}/notify`,
      trade_type: 'JSAPI',
      openid: token.openid,
    });
    const params: Record<string, string> = {
      appId: MERCHANT.appid,
      timeStamp: String(Math.floor(Date.now() / 1000)),
      nonceStr: randomBytes(8).toString('hex'),
      package: `prepay_id=${order.prepay_id}`,
      signType: 'MD5',
    };
    params.paySign = signFields(params, MERCHANT.key);
    res.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html><html><body>
<script src="${sim.url}/sim/jsbridge.js"></script>
<p data-testid="shop-status">ready</p>
<button data-testid="pay-button" onclick='WeixinJSBridge.invoke("getBrandWCPayRequest", ${JSON.stringify(params)}, function(r){ document.querySelector("[data-testid=shop-status]").textContent = r.err_msg; })'>Pay</button>
</body></html>`);
  });
  await new Promise<void>((r) => shop.listen(0, '127.0.0.1', r));
  shopUrl = `http://127.0.0.1:${(shop.address() as AddressInfo).port}`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
});

afterAll(async () => {
  await browser?.close();
  await sim?.stop();
  shop?.close();
});

describe.skipIf(skipUnless(existsSync(CHROMIUM), `${CHROMIUM} is missing: the wallet page tests are skipped`))(
  'the simulated customer in a browser',
  () => {
    it('pays a NATIVE order on the wallet page', async () => {
      const u = await call(sim.url, '/pay/unifiedorder', {
        appid: MERCHANT.appid,
        mch_id: MERCHANT.mch_id,
        body: 'Wallet page',
        out_trade_no: 'W-1',
        total_fee: '880',
        fee_type: 'NZD',
        spbill_create_ip: '127.0.0.1',
        notify_url: 'http://127.0.0.1:9/n',
        trade_type: 'NATIVE',
        product_id: 'P',
      });
      const page = await browser.newPage({ userAgent: UA });
      await page.goto(`${sim.url}/sim/wallet?code_url=${encodeURIComponent(u.code_url!)}`);
      await expect(page.getByTestId('sim-amount').textContent()).resolves.toBe('8.80 NZD');
      await page.getByTestId('sim-pay').click();
      await page.getByTestId('sim-state').filter({ hasText: 'SUCCESS' }).waitFor();
      const q = await call(sim.url, '/pay/orderquery', {
        appid: MERCHANT.appid,
        mch_id: MERCHANT.mch_id,
        out_trade_no: 'W-1',
      });
      expect(q.trade_state).toBe('SUCCESS');
      await page.reload();
      expect(await page.getByTestId('sim-pay').count()).toBe(0); // a paid order offers no button
      await page.close();
    });

    it('runs a JSAPI page: OAuth openid → unifiedorder → getBrandWCPayRequest → wallet → paid', async () => {
      const page = await browser.newPage({ userAgent: UA });
      await page.goto(`${shopUrl}/pay`);
      const { openid, out_trade_no } = shopLog; // the page reloads after paying (with a spent code)
      expect(openid).toMatch(/^o/);
      const onclick = (await page.getByTestId('pay-button').getAttribute('onclick'))!;
      const params = JSON.parse(onclick.slice(onclick.indexOf('{'), onclick.indexOf('}') + 1)) as Record<
        string,
        string
      >;
      await page.getByTestId('pay-button').click();
      await page.waitForURL(/\/sim\/wallet\?prepay_id=/);
      await expect(page.getByTestId('sim-amount').textContent()).resolves.toBe('15.50 NZD');
      await page.getByTestId('sim-pay').click();
      await page.waitForURL(/\/pay\?code=/); // back to the shop page
      const { json } = await simJson(sim.url, '/sim/orders');
      const order = json.orders.find((o: { out_trade_no: string }) => o.out_trade_no === out_trade_no);
      expect(order).toMatchObject({ trade_type: 'JSAPI', trade_state: 'SUCCESS', payer_openid: openid });
      // A page that asks again on its return (as Kauri's does at load) is answered like a closing
      // pay sheet, not sent round to the wallet again.
      const again = await page.evaluate(
        (p) =>
          new Promise<string>((resolve) =>
            (
              window as unknown as {
                WeixinJSBridge: { invoke(n: string, p: unknown, cb: (r: { err_msg: string }) => void): void };
              }
            ).WeixinJSBridge.invoke('getBrandWCPayRequest', p, (r) => resolve(r.err_msg)),
          ),
        params,
      );
      expect(again).toBe('get_brand_wcpay_request:ok');
      expect(page.url()).toMatch(/\/pay\?code=/);
      await page.close();
    });

    it('refuses JSAPI parameters with a wrong paySign', async () => {
      const page = await browser.newPage({ userAgent: UA });
      await page.goto(`${shopUrl}/pay`);
      await page.evaluate(() => {
        const b = document.querySelector('[data-testid=pay-button]')!;
        b.setAttribute(
          'onclick',
          b.getAttribute('onclick')!.replace(/"paySign":"[0-9A-F]+"/, '"paySign":"00000000000000000000000000000000"'),
        );
      });
      await page.getByTestId('pay-button').click();
      await page.getByTestId('shop-status').filter({ hasText: 'get_brand_wcpay_request:fail' }).waitFor();
      await page.close();
    });
  },
);
