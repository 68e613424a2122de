import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM } from './onecode-support.js';
import { layoutProblems } from './layout-check.js';
import {
  counterAction,
  counterState,
  paymentCode,
  startCounterScreens,
  waitFor,
  type CounterScreens,
} from './terminal-support.js';
import { skipUnless } from '../support/skip.js';

// The cashier's and the customer's screens at the window sizes counters have, in both
// languages at once, in their busiest state: a QR waiting, today's list longer than its
// panel, an X-report open, and the cashier told three things at once (a receipt picked for
// refund, a refused scan, an action refused). Nothing may scroll the page, spill out of its
// box, be cut off or be drawn over other text. Screenshots are kept (KAURI_LAYOUT_SHOTS=dir)
// for a person to look at.

const SIZES = [
  { width: 1024, height: 768 },
  { width: 1280, height: 800 },
  { width: 1920, height: 1080 },
];

describe.skipIf(
  skipUnless(existsSync(CHROMIUM), `${CHROMIUM} is missing: the counter screen layout tests are skipped`),
)('counter screen layouts', () => {
  let screens: CounterScreens;
  const shots = process.env.KAURI_LAYOUT_SHOTS ?? mkdtempSync(join(tmpdir(), 'kauri-layout-'));

  beforeAll(async () => {
    screens = await startCounterScreens({ timeScale: '1' });
    mkdirSync(shots, { recursive: true });
  }, 150_000);
  afterAll(async () => {
    await screens?.stop();
  });

  async function sell(sim: 'wechat' | 'alipay', amount: string): Promise<string> {
    const { ep } = screens;
    const code = await paymentCode(screens[sim]);
    const r = await counterAction(ep.cashier, 'scan', { code, amount });
    expect(r.status).toBe(200);
    await waitFor(
      () => counterState(ep.cashier),
      (s) => s.current?.status === 'PAID',
      30_000,
      `the ${amount} sale paid`,
    );
    expect((await counterAction(ep.cashier, 'dismiss')).status).toBe(200);
    return r.body.outTradeNo as string;
  }

  it('fits 1024×768, 1280×800 and 1920×1080 with a QR waiting, a long list, a report and three messages', async () => {
    const { ep, cashier, customer } = screens;
    const orders: string[] = [];
    for (let i = 0; i < 9; i++) orders.push(await sell(i % 3 === 2 ? 'alipay' : 'wechat', `${45 + i}.90`));
    // A one-code sale cancelled before anyone paid: a row whose wallet is never known.
    expect((await counterAction(ep.cashier, 'charge', { amount: '12.00' })).status).toBe(200);
    await waitFor(
      () => counterState(ep.cashier),
      (s) => s.current?.status === 'WAITING',
      30_000,
      'the QR',
    );
    await counterAction(ep.cashier, 'cancel');
    await waitFor(
      () => counterState(ep.cashier),
      (s) => !s.current?.active,
      30_000,
      'the cancel',
    );
    await counterAction(ep.cashier, 'dismiss');
    // The sale on screen: a QR waiting for the customer.
    await cashier.getByTestId('amount-input').fill('1234.56');
    await cashier.getByTestId('charge-button').click();
    await customer.getByTestId('customer-qr').waitFor({ timeout: 30_000 });
    // Charge pressed again while a payment is in progress (the action's error), a receipt
    // scanned to refund (a notice) and garbage from the scanner (its error). Keying an amount
    // clears a refused scan, so the amount comes first.
    await cashier.getByTestId('amount-input').fill('3.00');
    await cashier.getByTestId('charge-button').click({ force: true });
    await cashier.getByTestId('action-error').waitFor();
    const scan = cashier.getByTestId('scan-input');
    await scan.fill(orders[0]!);
    await scan.press('Enter');
    await cashier.getByTestId('notice').waitFor();
    await scan.fill('garbage-from-a-scanner-0123456789-that-is-long');
    await scan.press('Enter');
    await cashier.getByTestId('scan-error').waitFor();
    await cashier.keyboard.press('F4');
    await cashier.getByTestId('settlement-report').waitFor();
    await customer.getByTestId('customer-cny').waitFor();

    const found: string[] = [];
    for (const size of SIZES) {
      for (const [page, who] of [
        [cashier, 'cashier'],
        [customer, 'customer'],
      ] as const) {
        await page.setViewportSize(size);
        await page.waitForTimeout(300);
        await page.screenshot({ path: join(shots, `${who}-${size.width}x${size.height}.png`) });
        const problems = await layoutProblems(page, {
          scrolls: ['.sales', '.panel.side', '.report'],
          inView: [
            '[data-testid="scan-error"]',
            '[data-testid="action-error"]',
            '[data-testid="notice"]',
            '[data-testid="charge-button"]',
            '[data-testid="customer-qr"]',
            '[data-testid="customer-amount"]',
          ],
        });
        found.push(...problems.map((p) => `${who} ${size.width}×${size.height}: ${p}`));
      }
    }
    // The rows of the list: the wallet (or how the sale was made) beside, not into, the amount.
    const rows = await cashier.getByTestId('sale-row').allTextContents();
    expect(rows.some((t) => t.includes('QR 二维码'))).toBe(true);
    expect(rows.every((t) => !t.includes('—'))).toBe(true);
    expect(found).toEqual([]);
  }, 240_000);
});
