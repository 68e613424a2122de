import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { ChannelRegistry } from '../../cloud-bridge/channels/channel.js';
import { TestGateway } from '../../cloud-bridge/orders/test-gateway.fixture.js';
import { handClock, HQ_PASSWORD, openHq, type HqTest } from '../support/hq-routes.js';
import { repoRoot } from '../support/processes.js';
import { skipUnless } from '../support/skip.js';

// The console shows a payment's times in its store's time zone, with the zone's abbreviation,
// whatever zone the browser is in: one list across a store in Auckland and one in Sydney shows
// each row in its own store's time, and so does the payment's page.

const CHROMIUM = '/usr/bin/chromium';
const CONSOLE_INDEX = join(repoRoot, 'cloud-bridge', 'hq', 'console', 'dist', 'index.html');

describe.skipIf(
  skipUnless(
    existsSync(CHROMIUM) && existsSync(CONSOLE_INDEX),
    `${CHROMIUM} or the built console is missing: the store-time console test is skipped`,
  ),
)("the console shows a payment's times in its store's time", () => {
  // 01:30 UTC on 15 November 2026: 14:30 in Auckland (NZDT, +13), 12:30 in Sydney (AEDT, +11).
  const clock = handClock(Date.parse('2026-11-15T01:30:00Z'));
  let hq: HqTest;
  let browser: Browser;

  beforeAll(async () => {
    const gateway = new TestGateway(clock);
    hq = await openHq('sqlite', { clock, channels: new ChannelRegistry().register(gateway) });
    const a = hq.bridge.accounts;
    const m = (await a.createMerchant({ name: 'Two Shores Ltd' })).id;
    const akl = (await a.createStore({ merchantId: m, name: 'Ponsonby', timezone: 'Pacific/Auckland' })).id;
    const syd = (await a.createStore({ merchantId: m, name: 'Darling Harbour', timezone: 'Australia/Sydney' })).id;
    await a.createChannelAccount({ merchantId: m, channel: 'wechat', config: {}, secrets: {} });
    await hq.users([{ username: 'hq', role: 'hq_admin' }]);
    const pay = (out: string, storeId: string) =>
      hq.bridge.payments.createPayment(
        m,
        { out_trade_no: out, amount_minor: 1000, currency: 'NZD', channel: 'wechat', mode: 'native' },
        { storeId },
      );
    await pay('AKL-1', akl);
    await pay('SYD-1', syd);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
  });
  afterAll(async () => {
    await browser?.close();
    await hq?.close();
  });

  it('in the list, each row in its own store’s zone; on the page, the store’s zone', async () => {
    // A browser in New York: its own zone must not be the one shown.
    const ctx = await browser.newContext({ timezoneId: 'America/New_York', locale: 'en-US' });
    const page = await ctx.newPage();
    await page.goto(`${hq.bridge.url}/hq`);
    await page.getByTestId('login-user').fill('hq');
    await page.getByTestId('login-password').fill(HQ_PASSWORD);
    await page.getByTestId('login-submit').click();
    await page.getByTestId('nav-payments').click();
    const row = (out: string) => page.locator(`[data-testid=payments-row][data-out-trade-no="${out}"] td`).first();
    await expect.poll(() => row('AKL-1').textContent()).toMatch(/15 Nov.*14:30.*NZDT/);
    expect(await row('SYD-1').textContent()).toMatch(/15 Nov.*12:30.*AEDT/);

    await page.locator('[data-testid=payments-row][data-out-trade-no="SYD-1"]').click();
    await expect.poll(() => page.getByTestId('payment-created').textContent()).toMatch(/15 Nov 2026.*12:30:00.*AEDT/);
    await ctx.close();
  });
});
