import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { CHROMIUM, UA, actAsWechat, type Sim } from './onecode-support.js';
import {
  paymentCode,
  readQr,
  startCounterScreens,
  textOf,
  type CounterScreens,
  type Endpoints,
} from './terminal-support.js';
import { repoRoot } from '../support/processes.js';
import { skipUnless } from '../support/skip.js';

// The counter as a shop uses it, against `kauri start`: the cashier's and the customer's
// screens in Chromium, the customer's phone played by Chromium with a wallet's
// User-Agent, and the QR read from the customer screen's pixels.

const SOCAT = '/usr/bin/socat';

describe.skipIf(skipUnless(existsSync(CHROMIUM), `${CHROMIUM} is missing: the counter screen tests are skipped`))(
  'counter screens against kauri start',
  () => {
    let screens: CounterScreens;
    let data: string;
    let ep: Endpoints;
    let browser: Browser;
    let cashier: Page;
    let customer: Page;
    let wechat: Sim;

    beforeAll(async () => {
      screens = await startCounterScreens({ timeScale: '10' });
      ({ data, ep, browser, cashier, customer, wechat } = screens);
    }, 150_000);

    afterAll(async () => {
      await screens?.stop();
    });

    const status = () => textOf(cashier, 'payment-status');
    const printerOut = () => (ep as Endpoints & { printerOut?: string }).printerOut;
    /** Every job the printer simulator decoded so far, as text. */
    const printed = () => {
      const dir = printerOut();
      return dir && existsSync(dir)
        ? readdirSync(dir)
            .filter((f) => /^\d{4}\.txt$/.test(f))
            .sort()
            .map((f) => readFileSync(join(dir, f), 'utf8'))
            .join('\n')
        : '';
    };
    async function closeDay(pin: string) {
      if (!(await cashier.getByTestId('close-day-pin').isVisible()))
        await cashier.getByTestId('close-day-button').click();
      await cashier.getByTestId('close-day-pin').fill(pin);
      await cashier.getByTestId('close-day-pin').press('Enter');
    }
    const customerStatus = () => textOf(customer, 'customer-status');

    async function nextSale() {
      if (await cashier.getByTestId('done-button').isVisible()) await cashier.getByTestId('done-button').click();
    }

    it("shows the idle customer screen with the store's own code", async () => {
      await expect.poll(() => customer.getByTestId('customer-static-qr').isVisible(), { timeout: 10_000 }).toBe(true);
      expect(await readQr(customer.getByTestId('customer-static-qr'))).toBe(`${ep.bridge}/s/${ep.demo.storeCode}`);
      expect(await textOf(cashier, 'outbox-count')).toBe('0');
    });

    it('one-code sale paid as WeChat: keypad 12.50, Charge, the phone reads the QR, pays; both screens say PAID', async () => {
      await nextSale();
      for (const k of ['1', '2', '.', '5', '0']) await cashier.getByRole('button', { name: k, exact: true }).click();
      expect(await cashier.getByTestId('amount-input').inputValue()).toBe('12.50');
      await cashier.getByTestId('charge-button').click();
      await expect.poll(status, { timeout: 15_000 }).toContain('WAITING');
      await expect.poll(() => customer.getByTestId('customer-qr').isVisible(), { timeout: 10_000 }).toBe(true);
      expect(await textOf(customer, 'customer-amount')).toBe('NZD 12.50');
      expect(await customer.getByTestId('customer-cny-wechat').isVisible()).toBe(true);
      expect(await customer.getByTestId('customer-cny-alipay').isVisible()).toBe(true);
      expect(await customerStatus()).toContain('WAITING');
      const url = await readQr(customer.getByTestId('customer-qr'));
      expect(url).toMatch(new RegExp(`^${ep.bridge}/c/`));

      const phone = await browser.newContext({ userAgent: UA.wechat, ignoreHTTPSErrors: true, locale: 'zh-CN' });
      await actAsWechat(phone, wechat);
      try {
        const page = await phone.newPage();
        await page.goto(url);
        await expect.poll(status, { timeout: 30_000 }).toContain('PAID');
      } finally {
        await phone.close();
      }
      await expect.poll(customerStatus, { timeout: 10_000 }).toContain('PAID');
      expect(await customer.locator('.charged').textContent()).toMatch(/¥\d+\.\d\d/);
    });

    it('one-code sale paid as Alipay', async () => {
      await nextSale();
      await cashier.getByTestId('amount-input').fill('12.50');
      await cashier.getByTestId('amount-input').press('Enter');
      await expect.poll(status, { timeout: 15_000 }).toContain('WAITING');
      await expect.poll(() => customer.getByTestId('customer-qr').isVisible(), { timeout: 10_000 }).toBe(true);
      const url = await readQr(customer.getByTestId('customer-qr'));
      const phone = await browser.newContext({ userAgent: UA.alipay, locale: 'zh-CN' });
      try {
        const page = await phone.newPage();
        await page.goto(url);
        await page.getByTestId('sim-pay').click();
        await expect.poll(status, { timeout: 30_000 }).toContain('PAID');
      } finally {
        await phone.close();
      }
      await expect.poll(customerStatus, { timeout: 10_000 }).toContain('PAID');
    });

    it('scan-code sale: a WeChat code typed into the scan field is paid at once', async () => {
      await nextSale();
      await cashier.getByTestId('amount-input').fill('8.20');
      await cashier.getByTestId('scan-input').fill(await paymentCode(wechat, 'success'));
      await cashier.getByTestId('scan-input').press('Enter');
      await expect.poll(status, { timeout: 20_000 }).toContain('PAID');
      await expect.poll(customerStatus, { timeout: 10_000 }).toContain('PAID');
    });

    it('scan-code sale with userpaying:3: PENDING while the customer confirms, then PAID', async () => {
      await nextSale();
      await cashier.getByTestId('amount-input').fill('3.30');
      await cashier.getByTestId('scan-input').fill(await paymentCode(wechat, 'userpaying:3'));
      await cashier.getByTestId('scan-input').press('Enter');
      await expect.poll(status, { timeout: 10_000 }).toContain('PENDING');
      await expect.poll(customerStatus, { timeout: 10_000 }).toContain('PENDING');
      await expect.poll(status, { timeout: 30_000 }).toContain('PAID');
    });

    it('refuses garbage in the scan field and a double scan, starting no payment', async () => {
      await nextSale();
      const before = await cashier.getByTestId('sale-row').count();
      await cashier.getByTestId('amount-input').fill('1.00');
      await cashier.getByTestId('scan-input').fill('hello-123');
      await cashier.getByTestId('scan-input').press('Enter');
      await expect.poll(() => textOf(cashier, 'scan-error')).toContain('Not a WeChat or Alipay payment code');
      expect(await cashier.getByTestId('sale-row').count()).toBe(before);
      const code = await paymentCode(wechat, 'success');
      await cashier.getByTestId('scan-input').fill(code);
      await cashier.getByTestId('scan-input').press('Enter');
      await expect.poll(status, { timeout: 20_000 }).toContain('PAID');
      await cashier.getByTestId('done-button').click();
      await cashier.getByTestId('amount-input').fill('1.00');
      await cashier.getByTestId('scan-input').fill(code);
      await cashier.getByTestId('scan-input').press('Enter');
      await expect.poll(() => textOf(cashier, 'scan-error')).toContain('just scanned');
      expect(await cashier.getByTestId('sale-row').count()).toBe(before + 1);
    });

    it('partial refund with the manager PIN; a wrong PIN is refused and refunds nothing', async () => {
      await nextSale();
      const row = cashier.getByTestId('sale-row').filter({ hasText: 'NZD 8.20' }).first();
      const outTradeNo = await row.getAttribute('data-out-trade-no');
      await row.getByTestId('refund-select').click();
      expect(await cashier.getByTestId('refund-sale').inputValue()).toBe(outTradeNo);
      await cashier.getByTestId('refund-amount').fill('2.00');
      await cashier.getByTestId('manager-pin').fill(ep.demo.managerPin === '000000' ? '111111' : '000000');
      await cashier.getByTestId('refund-button').click();
      await expect
        .poll(() => textOf(cashier, 'refund-error'), { timeout: 15_000 })
        .toContain('manager PIN is not correct');
      const before = await (
        await fetch(`${ep.bridge}/api/v1/payments/${outTradeNo}`, {
          headers: { authorization: `Bearer ${ep.demo.apiKey}` },
        })
      ).json();
      expect(before.refunded_minor).toBe(0);

      await cashier.getByTestId('refund-amount').fill('2.00');
      await cashier.getByTestId('manager-pin').fill(ep.demo.managerPin);
      await cashier.getByTestId('refund-button').click();
      await expect.poll(() => row.locator('.status').textContent(), { timeout: 30_000 }).toBe('PARTIALLY REFUNDED');
      const after = await (
        await fetch(`${ep.bridge}/api/v1/payments/${outTradeNo}`, {
          headers: { authorization: `Bearer ${ep.demo.apiKey}` },
        })
      ).json();
      expect(after).toMatchObject({ refunded_minor: 200, status: 'partially_refunded' });
    });

    it('a payment on the store sticker appears at the counter as it happens', async () => {
      const before = await cashier.getByTestId('sale-row').count();
      const phone = await browser.newContext({ userAgent: UA.alipay, locale: 'zh-CN' });
      try {
        const page = await phone.newPage();
        await page.goto(`${ep.bridge}/s/${ep.demo.storeCode}`);
        await page.getByTestId('pay-amount-input').fill('6.66');
        await page.getByTestId('pay-button').click();
        await page.getByTestId('sim-pay').click();
      } finally {
        await phone.close();
      }
      await expect.poll(() => cashier.getByTestId('sale-row').count(), { timeout: 30_000 }).toBe(before + 1);
      expect(await textOf(cashier, 'notice')).toContain('Store code payment received: 6.66 NZD');
      expect(
        await cashier.getByTestId('sale-row').filter({ hasText: 'NZD 6.66' }).locator('.status').textContent(),
      ).toBe('PAID');
    });

    it('shows the settlement report with the journal head, and the screens for the README', async () => {
      await cashier.getByTestId('settlement-button').click();
      await expect.poll(() => cashier.getByTestId('settlement-report').isVisible()).toBe(true);
      const report = await textOf(cashier, 'settlement-report');
      expect(report).toContain('wechat');
      expect(report).toMatch(/#\d+ [0-9a-f]{16}/);
      expect(report).toContain('X-report');
      // With socat, kauri start wires the simulated printer: the sales printed their receipts,
      // and the settlement button the day's X-report, into the printer
      // simulator's folder.
      if (existsSync(SOCAT)) {
        expect(printerOut()).toBeTruthy();
        await expect.poll(printed, { timeout: 30_000 }).toContain('NZD 8.20');
        await expect.poll(printed, { timeout: 30_000 }).toContain('X-REPORT');
        expect(printed()).not.toContain('Z-REPORT');
      }
      // The README's screenshots are refreshed on request only, so a test run leaves the tree as it was.
      const docs = process.env.KAURI_UPDATE_SCREENSHOTS === '1' ? join(repoRoot, 'docs') : join(data, 'screens');
      mkdirSync(docs, { recursive: true });
      await cashier.screenshot({ path: join(docs, 'cashier-screen.png') });
      await cashier
        .getByTestId('done-button')
        .click()
        .catch(() => undefined);
      await cashier.getByTestId('amount-input').fill('25.80');
      await cashier.getByTestId('charge-button').click();
      await expect.poll(() => customer.getByTestId('customer-qr').isVisible(), { timeout: 15_000 }).toBe(true);
      await customer.screenshot({ path: join(docs, 'customer-screen.png') });
      await cashier.getByTestId('cancel-button').click();
      await expect.poll(status, { timeout: 20_000 }).toContain('CLOSED');
    });

    it('closes the day (Z) with the manager PIN: refused while a payment is in progress, printed once, then refused again', async () => {
      await nextSale();
      await cashier.getByTestId('amount-input').fill('5.00');
      await cashier.getByTestId('charge-button').click();
      await expect.poll(status, { timeout: 15_000 }).toContain('WAITING');
      await closeDay(ep.demo.managerPin);
      await expect
        .poll(() => textOf(cashier, 'close-day-error'), { timeout: 15_000 })
        .toContain('A payment is in progress');
      expect(await textOf(cashier, 'close-day-error')).toContain('仍有结果未知或进行中的支付');
      await cashier.getByTestId('cancel-button').click();
      await expect.poll(status, { timeout: 20_000 }).toContain('CLOSED');

      await closeDay(ep.demo.managerPin === '000000' ? '111111' : '000000');
      await expect
        .poll(() => textOf(cashier, 'close-day-error'), { timeout: 15_000 })
        .toContain('manager PIN is not correct');
      expect(printed()).not.toContain('Z-REPORT');

      await closeDay(ep.demo.managerPin);
      await expect
        .poll(() => textOf(cashier, 'settlement-report'), { timeout: 15_000 })
        .toContain('Z-report · close no. 1');
      expect(await cashier.getByTestId('close-day-error').count()).toBe(0);
      const state = await (await fetch(new URL('/api/state', ep.cashier))).json();
      expect(state.settlement).toMatchObject({ report: 'Z', closeNumber: 1 });
      if (existsSync(SOCAT)) {
        await expect.poll(printed, { timeout: 30_000 }).toContain('Z-REPORT');
        const z = printed().slice(printed().lastIndexOf('Z-REPORT'));
        expect(z).toMatch(/Close no\. 日结号\s+1/);
        expect(z).toContain(`NET 净额`);
        expect(z).toContain('End of day 日结完成');
      }
      await cashier.screenshot({ path: join(data, 'screens', 'cashier-z.png') });

      // One Z per store day: a second close says so and prints nothing.
      await closeDay(ep.demo.managerPin);
      await expect
        .poll(() => textOf(cashier, 'close-day-error'), { timeout: 15_000 })
        .toContain('is already closed (close no. 1 at');
      expect(await textOf(cashier, 'close-day-error')).toContain('本营业日已日结');
      expect(printed().split('Z-REPORT').length - 1).toBe(1);
    });
  },
);
