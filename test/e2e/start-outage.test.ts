import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { CHROMIUM } from './onecode-support.js';
import { paymentCode, startCounterScreens, textOf, type CounterScreens, type Endpoints } from './terminal-support.js';
import { repoRoot, spawnKauri, type KauriProcess } from '../support/processes.js';
import type { Sim } from '../support/sim-control.js';
import { skipUnless } from '../support/skip.js';

// What the counter issue asks a new user to try, through `kauri start` and the cashier's
// screen in Chromium: sell, pick the sale by scanning its receipt, take the bridge down
// (`kauri demo-bridge stop`, as the start banner says), see the counter go offline and
// refuse new payments while a refund waits in its outbox, bring the bridge back and see
// the counter reconnect, deliver the refund and show it.

describe.skipIf(
  skipUnless(existsSync(CHROMIUM), `${CHROMIUM} is missing: the outage test through the cashier screen is skipped`),
)('kauri start: the bridge down and back, as the cashier sees it', () => {
  let screens: CounterScreens;
  let data: string;
  let kauri: KauriProcess;
  let ep: Endpoints;
  let cashier: Page;
  let wechat: Sim;

  beforeAll(async () => {
    // Twice real speed: the customer still confirming (three polls, 2.5 s apart) outlasts
    // taking the bridge down, and the refund's confirmation (15 s) is not a long wait.
    screens = await startCounterScreens({ timeScale: '2' });
    ({ data, kauri, ep, cashier, wechat } = screens);
  }, 150_000);

  afterAll(async () => {
    await screens?.stop();
  });

  async function demoBridge(action: 'stop' | 'start'): Promise<string> {
    const cli = await spawnKauri(['demo-bridge', action, '--data', data]);
    expect(await cli.finished()).toBe(0);
    return cli.stdout();
  }

  it('prints the HQ page and the outage switch at start', () => {
    expect(kauri.stdout()).toMatch(/HQ\s+http:\/\/127\.0\.0\.1:\d+\/hq/);
    expect(kauri.stdout()).toContain('kauri demo-bridge stop --data');
  });

  it('sells, picks the sale by its receipt, goes offline with the bridge and catches up when it is back', async () => {
    // A sale paid with the customer's code.
    await cashier.getByTestId('amount-input').fill('18.40');
    await cashier.getByTestId('scan-input').fill(await paymentCode(wechat));
    await cashier.getByTestId('scan-input').press('Enter');
    await expect.poll(() => textOf(cashier, 'payment-status'), { timeout: 20_000 }).toContain('PAID');
    const orderNo = (await textOf(cashier, 'order-no')).replace(/^.*?(K\w+)$/, '$1');
    expect(orderNo).toMatch(/^K[0-9A-Z]{26}$/);
    await cashier.getByTestId('done-button').click();

    // The receipt's QR carries the order number: scanned into the scan field, it picks the sale.
    await cashier.getByTestId('scan-input').fill(orderNo);
    await cashier.getByTestId('scan-input').press('Enter');
    await expect.poll(() => cashier.getByTestId('refund-sale').inputValue()).toBe(orderNo);
    expect(await textOf(cashier, 'notice')).toContain('up to 18.40 NZD can be refunded');
    expect(await cashier.getByTestId('scan-error').count()).toBe(0);
    expect(await textOf(cashier, 'payment-status')).toContain('Ready for the next sale'); // no payment started

    // The bridge goes down: the counter says so, and no new payment can start.
    expect(await demoBridge('stop')).toContain('bridge stopped');
    await expect.poll(() => textOf(cashier, 'connection-status'), { timeout: 20_000 }).toBe('OFFLINE');
    expect(await cashier.getByTestId('offline-banner').textContent()).toContain('no new payment can start');
    expect(await cashier.getByTestId('charge-button').isDisabled()).toBe(true);
    await cashier.getByTestId('amount-input').fill('5.00');
    await cashier.getByTestId('scan-input').fill(await paymentCode(wechat));
    await cashier.getByTestId('scan-input').press('Enter');
    await expect.poll(() => textOf(cashier, 'scan-error')).toContain('Offline');
    expect(await cashier.getByTestId('action-error').count()).toBe(0); // said once, in scan-error

    // A refund asked for offline waits in the outbox.
    await cashier.getByTestId('refund-amount').fill('3.00');
    await cashier.getByTestId('manager-pin').fill(ep.demo.managerPin);
    await cashier.getByTestId('refund-button').click();
    await expect.poll(() => textOf(cashier, 'outbox-count')).toBe('1');
    expect(await cashier.getByTestId('offline-banner').textContent()).toContain('1 item(s) waiting');
    if (process.env.KAURI_UPDATE_SCREENSHOTS === '1') {
      mkdirSync(join(repoRoot, 'docs'), { recursive: true });
      await cashier.screenshot({ path: join(repoRoot, 'docs', 'cashier-offline.png') });
    }

    // The bridge comes back: the counter reconnects by itself, sends the refund once and shows it.
    expect(await demoBridge('start')).toContain('bridge running');
    await expect.poll(() => textOf(cashier, 'connection-status'), { timeout: 30_000 }).toBe('ONLINE');
    await expect.poll(() => textOf(cashier, 'outbox-count'), { timeout: 20_000 }).toBe('0');
    const row = cashier.locator(`[data-testid="sale-row"][data-out-trade-no="${orderNo}"]`);
    await expect.poll(() => row.locator('.status').textContent(), { timeout: 60_000 }).toBe('PARTIALLY REFUNDED');
    expect(await row.locator('.refunded').textContent()).toBe('−3.00');
    // Exactly one refund reached the channel (the bridge names its channel orders itself).
    const { orders } = await wechat.get<{ orders: Array<{ refunds: unknown[] }> }>('/sim/orders');
    expect(orders.flatMap((o) => o.refunds)).toHaveLength(1);
  });

  it('a payment the customer is still confirming when the bridge goes down is shown PAID once it is back', async () => {
    if (await cashier.getByTestId('done-button').isVisible()) await cashier.getByTestId('done-button').click();
    await cashier.getByTestId('amount-input').fill('7.70');
    await cashier.getByTestId('scan-input').fill(await paymentCode(wechat, 'userpaying:3'));
    await cashier.getByTestId('scan-input').press('Enter');
    await expect.poll(() => textOf(cashier, 'payment-status'), { timeout: 20_000 }).toContain('PENDING');

    await demoBridge('stop');
    await expect.poll(() => textOf(cashier, 'connection-status'), { timeout: 20_000 }).toBe('OFFLINE');
    expect(await textOf(cashier, 'payment-status')).toContain('PENDING'); // not a failure: it resolves later

    await demoBridge('start');
    // The cashier need not wait out the reconnect backoff.
    const tryNow = cashier.getByTestId('reconnect-button');
    if (await tryNow.isVisible()) await tryNow.click({ timeout: 2000 }).catch(() => undefined); // gone already if it reconnected first
    await expect.poll(() => textOf(cashier, 'connection-status'), { timeout: 30_000 }).toBe('ONLINE');
    await expect.poll(() => textOf(cashier, 'payment-status'), { timeout: 40_000 }).toContain('PAID');
    expect(await cashier.locator('[data-testid="sale-row"]').filter({ hasText: 'NZD 7.70' }).count()).toBe(1);
  });
});
