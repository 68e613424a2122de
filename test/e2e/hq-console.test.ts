import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page, type Route } from 'playwright-core';
import { pino } from 'pino';
import { startBridge, type Bridge } from '../../cloud-bridge/bridge.js';
import { seedDemo } from '../../cloud-bridge/demo.js';
import { newId } from '../../protocol/ids.js';
import { createTestDatabase, type TestDatabase } from '../support/stores.js';
import { repoRoot } from '../support/processes.js';
import { skipUnless } from '../support/skip.js';

// The back-office console at /hq in Chromium, as the demo HQ admin: log in, open payments,
// search, open a payment, open the audit log; the language switch; the reconciliation
// workspace framed inside it; an API key created and revoked on the Developers page; no
// Content-Security-Policy violation. The bridge's back-office API grows route by route: where a
// route is not there yet, the console must say so politely rather than break, and this test
// checks that instead of the data. The last test drives the
// refund form and the lists with the contract's answers (docs/back-office.md) given to the
// browser, so the console's own logic is covered before every route exists.

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
const CONSOLE_INDEX = join(repoRoot, 'cloud-bridge', 'hq', 'console', 'dist', 'index.html');
const SHOTS = process.env.KAURI_SCREENSHOTS ?? join(repoRoot, 'test-results', 'console');
const HQ_PASSWORD = 'demo-hq-pass-1';
const DESKTOP = { width: 1280, height: 800 };
const TABLET = { width: 1024, height: 768 };

if (!existsSync(CHROMIUM)) console.warn(`${CHROMIUM} is missing: the console tests are skipped`);

/** Whether the bridge answered "no such route" (a back-office route not built yet). */
async function missingRoute(page: Page, path: string): Promise<boolean> {
  return page.evaluate(async (p) => {
    const res = await fetch(p);
    if (res.status !== 404) return false;
    const body = (await res.json().catch(() => ({}))) as { error?: { message?: string } };
    return /^No route /.test(body.error?.message ?? '');
  }, path);
}

describe.skipIf(skipUnless(existsSync(CHROMIUM), `${CHROMIUM} is missing: the back-office console tests are skipped`))(
  'the back-office console',
  () => {
    let db: TestDatabase;
    let bridge: Bridge;
    let browser: Browser;
    let storeId = '';
    let merchantId = '';
    let filesDir = '';
    const paid = `demo-${Date.now()}`;

    async function order(
      merchantId: string,
      accountId: string,
      outTradeNo: string,
      amount: number,
      status: string,
    ): Promise<string> {
      const id = newId('pay');
      const now = new Date().toISOString();
      await bridge.store.db
        .insertInto('orders')
        .values({
          id,
          merchant_id: merchantId,
          store_id: storeId,
          terminal_id: null,
          checkout_id: null,
          out_trade_no: outTradeNo,
          channel: 'wechat',
          channel_account_id: accountId,
          mode: 'micropay',
          amount_minor: amount,
          currency: 'NZD',
          status,
          refunded_minor: 0,
          description: 'flat white',
          channel_order_no: `wx-${outTradeNo}`,
          channel_trade_no: status === 'paid' ? `4200${outTradeNo}` : null,
          qr_code: null,
          redirect_url: null,
          openid: null,
          quote_id: null,
          cny_quote_minor: null,
          cny_charged_minor: status === 'paid' ? Math.round(amount * 4.2) : null,
          rate: status === 'paid' ? '4.2000' : null,
          rate_time: status === 'paid' ? now : null,
          return_url: null,
          request_hash: 'x',
          flagged: 0,
          flag_reason: null,
          expires_at: null,
          created_at: now,
          updated_at: now,
          paid_at: status === 'paid' ? now : null,
          channel_paid_at: status === 'paid' ? now : null,
          version: 0,
        } as never)
        .execute();
      return id;
    }

    beforeAll(async () => {
      expect(existsSync(CONSOLE_INDEX), 'the console is not built: run npm run build').toBe(true);
      db = await createTestDatabase('sqlite');
      bridge = await startBridge({
        dbUrl: db.url,
        port: 0,
        secretKey: 'e2e-console-secret-key-0123456789abcdef',
        filesDir: (filesDir = mkdtempSync(join(tmpdir(), 'kauri-console-files-'))),
        log: pino({ level: 'silent' }),
        fx: { pullAtStart: false },
        reconcile: { lookbackDays: 0 },
      });
      // What `--demo` seeds (without the simulators' channel accounts): the merchant, its store
      // and the HQ admin `hq`.
      const seed = await seedDemo(bridge.accounts, { channelAccounts: [], hqPassword: HQ_PASSWORD });
      storeId = seed.storeId;
      merchantId = seed.merchantId;
      const account = await bridge.accounts.createChannelAccount({
        merchantId: seed.merchantId,
        channel: 'wechat',
        config: { mch_id: '1' },
        secrets: { key: 'k' },
      });
      await order(seed.merchantId, account.id, `${paid}-a`, 1250, 'paid');
      await order(seed.merchantId, account.id, `${paid}-b`, 4800, 'paid');
      await order(seed.merchantId, account.id, `${paid}-c`, 990, 'pending');
      mkdirSync(SHOTS, { recursive: true });
      browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    }, 60_000);

    afterAll(async () => {
      await browser?.close();
      await bridge?.close();
      await db?.drop();
      if (filesDir) rmSync(filesDir, { recursive: true, force: true });
    });

    /** A page that records script errors and CSP reports (refusals the page shows are not errors). */
    async function open(viewport = DESKTOP): Promise<{ ctx: BrowserContext; page: Page; problems: string[] }> {
      const ctx = await browser.newContext({ viewport, locale: 'en-NZ' });
      const page = await ctx.newPage();
      const problems: string[] = [];
      page.on('pageerror', (e) => problems.push(e.message));
      page.on('console', (m) => {
        if (/Content Security Policy|Refused to/i.test(m.text())) problems.push(m.text());
        else if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(m.text());
      });
      return { ctx, page, problems };
    }

    async function login(page: Page): Promise<void> {
      await page.goto(`${bridge.url}/hq`);
      await page.getByTestId('login-user').fill('hq');
      await page.getByTestId('login-password').fill(HQ_PASSWORD);
      await page.getByTestId('login-submit').click();
      await page.getByTestId('nav-payments').waitFor();
    }

    it('the demo HQ admin logs in, searches payments, opens one, and reads the audit log', async () => {
      const { ctx, page, problems } = await open();
      await page.goto(`${bridge.url}/hq`);
      await page.getByTestId('login-user').waitFor();
      await page.screenshot({ path: join(SHOTS, '1-login.png') });
      // A wrong password is refused on the login page, in words.
      await page.getByTestId('login-user').fill('hq');
      await page.getByTestId('login-password').fill('not-the-password');
      await page.getByTestId('login-submit').click();
      await expect
        .poll(() => page.locator('.login [role=alert]').textContent())
        .toContain('wrong user name or password');
      expect(await page.getByTestId('login-totp').count()).toBe(0); // the demo admin has no TOTP

      await login(page);
      expect(await page.getByTestId('who').textContent()).toContain('hq');
      await page.getByTestId('nav-payments').click();
      await expect.poll(() => page.url()).toMatch(/\/hq#\/payments/);

      if (await missingRoute(page, '/hq/api/payments')) {
        // Not on this bridge yet: the page says so and keeps working.
        await expect.poll(() => page.locator('[role=alert]').textContent()).toContain('not available yet');
        await page.screenshot({ path: join(SHOTS, '2-payments-before-the-route.png') });
        await page.getByTestId('payments-search').fill(`${paid}-b`);
        await page.getByTestId('payments-search').press('Enter');
        await expect.poll(() => page.url()).toContain(`q=${paid}-b`);
      } else {
        await expect.poll(() => page.getByTestId('payments-row').count()).toBeGreaterThanOrEqual(3);
        await page.getByTestId('payments-search').fill(`${paid}-b`);
        await page.getByTestId('payments-search').press('Enter');
        await expect.poll(() => page.getByTestId('payments-row').count()).toBe(1);
        expect(await page.getByTestId('export-payments').getAttribute('href')).toContain(`q=${paid}-b`);
        await page.screenshot({ path: join(SHOTS, '2-payments-live.png') });
        await page.locator(`[data-testid=payments-row][data-out-trade-no="${paid}-b"]`).click();
        await expect.poll(() => page.getByTestId('payment-status').textContent()).toBe('paid');
        expect(await page.locator('.facts').textContent()).toContain('NZD 48.00');
        // The refund goes to the server, which answers with the refund or a refusal; either is shown.
        await page.getByTestId('payment-refund').click();
        await page.getByTestId('refund-amount').fill('10.00');
        await page.getByTestId('refund-reason').fill('e2e');
        expect(await page.getByTestId('refund-after').textContent()).toBe('NZD 38.00');
        await page.getByTestId('refund-confirm').click();
        await page.getByTestId('refund-result').waitFor();
        await page.screenshot({ path: join(SHOTS, '3-payment-live.png') });
      }

      await page.goto(`${bridge.url}/hq#/audit`);
      await page.locator('.page.audit h1').waitFor();
      if (await missingRoute(page, '/hq/api/audit')) {
        await expect.poll(() => page.locator('[role=alert]').textContent()).toContain('not available yet');
      } else {
        await page.getByTestId('audit-table').waitFor();
        expect(await page.locator('[role=alert]').count()).toBe(0);
      }
      await page.getByTestId('nav-users').click();
      await page.locator('.page.users h1').waitFor();
      await page.screenshot({ path: join(SHOTS, '8-users.png') });
      await page.getByTestId('nav-account').click();
      await page.locator('.page.account h1').waitFor();
      await page.screenshot({ path: join(SHOTS, '9-account.png') });
      expect(problems).toEqual([]);
      await ctx.close();
    });

    it('switches between English and 中文 and remembers the choice', async () => {
      const { ctx, page, problems } = await open();
      await login(page);
      expect(await page.getByTestId('nav-payments').textContent()).toBe('Payments');
      await page.getByTestId('lang-switch').click();
      expect(await page.getByTestId('nav-payments').textContent()).toBe('支付');
      expect(await page.evaluate(() => document.documentElement.lang)).toBe('zh-CN');
      await page.reload();
      await expect.poll(() => page.getByTestId('nav-payments').textContent()).toBe('支付');
      await page.getByTestId('lang-switch').click();
      expect(await page.getByTestId('nav-payments').textContent()).toBe('Payments');
      expect(problems).toEqual([]);
      await ctx.close();
    });

    it('frames the reconciliation workspace, logged in by the same session, without its own bar', async () => {
      const { ctx, page, problems } = await open();
      await login(page);
      await page.getByTestId('nav-reconciliation').click();
      const frame = page.frameLocator('iframe.workspace');
      await expect.poll(() => frame.locator('#tabs button[data-tab="overview"]').isVisible()).toBe(true);
      expect(await frame.locator('body > header').isVisible()).toBe(false);
      await page.goto(`${bridge.url}/hq#/reconciliation/counters`);
      await expect
        .poll(() => frame.locator('#tabs button.active').getAttribute('data-tab'), { timeout: 10_000 })
        .toBe('counters');
      await page.screenshot({ path: join(SHOTS, '6-reconciliation.png') });
      // The workspace may be framed by this origin only; the console by nobody.
      const ws = await fetch(`${bridge.url}/hq/workspace`);
      expect(ws.headers.get('content-security-policy')).toContain("frame-ancestors 'self'");
      const con = await fetch(`${bridge.url}/hq`);
      expect(con.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
      expect(await con.text()).toMatch(/<script type="module" crossorigin src="\/hq\/console\/assets\/[\w-]+\.js">/);
      expect((await fetch(`${bridge.url}/hq/console/assets/..%2Findex.html`)).status).toBe(404);
      expect(problems).toEqual([]);
      await ctx.close();
    });

    it('creates and revokes an API key against the bridge; the key is shown once', async () => {
      const { ctx, page, problems } = await open();
      await login(page);
      const before = (await bridge.accounts.listApiKeys(merchantId)).length;
      await page.goto(`${bridge.url}/hq#/developers`);
      await page.locator('.developers input').first().fill(merchantId);
      await page.locator('.developers button[type=submit]').first().click();
      await expect.poll(() => page.getByTestId('apikey-row').count()).toBe(before);
      await page.locator('.developers input').nth(1).fill('e2e till');
      await page.getByTestId('apikey-create').click();
      await expect
        .poll(() => page.getByTestId('apikey-secret').textContent())
        .toMatch(/^kauri_sk\.key_[^.]+\.[\w-]{20,}$/);
      const key = (await page.getByTestId('apikey-secret').textContent())!;
      expect(await bridge.accounts.merchantForApiKey(key)).toBe(merchantId);
      const row = page.locator('[data-testid=apikey-row]', { hasText: 'e2e till' });
      await expect.poll(() => row.count()).toBe(1);
      expect((await page.locator('[data-testid=apikey-row]').allTextContents()).join(' ')).not.toContain(key);
      await page.screenshot({ path: join(SHOTS, '7-developers-live.png') });

      await row.getByTestId('apikey-revoke').click();
      await expect.poll(() => row.textContent()).toContain('revoked');
      expect(await bridge.accounts.merchantForApiKey(key)).toBeUndefined();
      const audit = await bridge.audit.list(
        { userId: 'x', username: 'x', role: 'hq_admin', merchantId: null, storeIds: null, refundLimitMinor: null },
        { action: 'apikey.' },
      );
      expect(audit.items.map((r) => [r.action, r.actor])).toEqual([
        ['apikey.revoke', 'hq'],
        ['apikey.create', 'hq'],
      ]);
      expect(JSON.stringify(audit.items)).not.toContain(key.split('.')[2]!);

      // Shown once: after a reload the page has the key's row but not the key.
      await page.reload();
      await page.locator('.developers input').first().fill(merchantId);
      await page.locator('.developers button[type=submit]').first().click();
      await expect.poll(() => page.getByTestId('apikey-row').count()).toBe(before + 1);
      expect(await page.getByTestId('apikey-secret').count()).toBe(0);
      expect(await page.content()).not.toContain(key.split('.')[2]!);
      expect(problems).toEqual([]);
      await ctx.close();
    });

    it("against the contract's answers: lists, totals, paging, a payment, the refund form and the audit log", async () => {
      const { ctx, page, problems } = await open();
      const at = '2026-12-04T01:02:03.000Z';
      const row = (n: number, status = 'paid') => ({
        id: `pay_${n}`,
        outTradeNo: `T-${n}`,
        merchantId: 'mch_demo',
        merchantName: 'Kauri Demo Shop 奇异果小店',
        storeId,
        storeName: 'Queen Street 皇后街店',
        terminalId: 'trm_1',
        channel: n % 2 ? 'wechat' : 'alipay',
        mode: 'micropay',
        status,
        amount: { minor: 1000 * n + 50, currency: 'NZD' },
        charged: { minor: 4200 * n + 210, currency: 'CNY' },
        refunded: { minor: 0, currency: 'NZD' },
        flagged: n === 2,
        createdAt: at,
        paidAt: at,
      });
      const asked: string[] = [];
      const refunds: unknown[] = [];
      const json = (route: Route, body: unknown, status = 200) =>
        route.fulfill({ status, contentType: 'application/json', body: JSON.stringify(body) });
      await page.route(/\/hq\/api\/payments(\?.*)?$/, (route) => {
        const url = new URL(route.request().url());
        asked.push(url.search);
        if (url.searchParams.get('cursor') === 'c2')
          return json(route, { items: [row(1)], nextCursor: null, totals: [] });
        if (url.searchParams.get('q') === 'T-3')
          return json(route, {
            items: [row(3)],
            nextCursor: null,
            totals: [{ currency: 'NZD', count: 1, amount: { minor: 3050, currency: 'NZD' } }],
          });
        return json(route, {
          items: [row(3), row(2)],
          nextCursor: 'c2',
          totals: [{ currency: 'NZD', count: 3, amount: { minor: 6150, currency: 'NZD' } }],
        });
      });
      await page.route(/\/hq\/api\/payments\/pay_3$/, (route) =>
        json(route, {
          ...row(3),
          rate: '4.2000',
          rateAt: at,
          source: 'counter',
          history: [
            { state: 'pending', at, reason: null },
            { state: 'paid', at, reason: null },
          ],
          refunds,
          deliveries: [
            {
              id: 'dlv_1',
              eventType: 'payment.paid',
              url: 'https://shop.example/hook',
              state: 'failed',
              attempts: 3,
              lastError: 'HTTP 500',
              at,
            },
          ],
          messages: [{ direction: 'out', body: '<xml><sign>[redacted]</sign></xml>' }],
        }),
      );
      await page.route(/\/hq\/api\/payments\/pay_3\/refunds$/, async (route) => {
        const body = route.request().postDataJSON() as { amountMinor: number; reason: string };
        refunds.push(body);
        if (body.amountMinor > 2000)
          return json(route, { error: { code: 'refund_limit_exceeded', message: 'your limit is NZD 20.00' } }, 403);
        return json(route, { id: 'ref_1', amount: { minor: body.amountMinor, currency: 'NZD' }, status: 'succeeded' });
      });
      await page.route(/\/hq\/api\/audit(\?.*)?$/, (route) =>
        json(route, {
          items: [
            {
              id: 'a1',
              at,
              actor: 'hq',
              role: 'hq_admin',
              action: 'refund.create',
              merchantId: 'mch_demo',
              target: 'pay_3',
              ip: '127.0.0.1',
              details: { amountMinor: 1500 },
            },
            {
              id: 'a2',
              at,
              actor: 'hq',
              role: 'hq_admin',
              action: 'user.login',
              merchantId: null,
              target: null,
              ip: '127.0.0.1',
              details: null,
            },
          ],
          nextCursor: null,
        }),
      );

      await login(page);
      await page.getByTestId('nav-payments').click();
      await expect.poll(() => page.getByTestId('payments-row').count()).toBe(2);
      expect(await page.getByTestId('payments-totals').textContent()).toContain('3 × NZD 61.50');
      await page.getByTestId('payments-more').click();
      await expect.poll(() => page.getByTestId('payments-row').count()).toBe(3);
      expect(asked.some((q) => q.includes('cursor=c2'))).toBe(true);
      await page.screenshot({ path: join(SHOTS, '2-payments.png') });
      await page.setViewportSize(TABLET);
      await page.screenshot({ path: join(SHOTS, '2-payments-tablet.png') });
      await page.setViewportSize(DESKTOP);

      await page.getByTestId('payments-search').fill('T-3');
      await page.getByTestId('payments-search').press('Enter');
      await expect.poll(() => page.getByTestId('payments-row').count()).toBe(1);
      expect(await page.getByTestId('export-payments').getAttribute('href')).toBe('/hq/api/exports/payments.csv?q=T-3');
      await page.locator('[data-testid=payments-row][data-out-trade-no="T-3"]').click();
      await expect.poll(() => page.getByTestId('payment-status').textContent()).toBe('paid');
      expect(await page.locator('.facts').first().textContent()).toContain('CNY 128.10');

      await page.getByTestId('payment-refund').click();
      expect(await page.getByTestId('refund-amount').inputValue()).toBe('30.50');
      await page.getByTestId('refund-amount').fill('25');
      await page.getByTestId('refund-reason').fill('customer changed their mind');
      expect(await page.getByTestId('refund-after').textContent()).toBe('NZD 5.50');
      expect(await page.getByTestId('refund-confirm').count()).toBe(1);
      await page.getByTestId('refund-confirm').click();
      await expect.poll(() => page.getByTestId('refund-result').textContent()).toContain('Above your refund limit');
      // Amounts that are not a refund of this payment never reach the server.
      await page.getByTestId('refund-amount').fill('30.51');
      expect(await page.getByTestId('refund-confirm').isDisabled()).toBe(true);
      await page.getByTestId('refund-amount').fill('0.291');
      expect(await page.getByTestId('refund-confirm').isDisabled()).toBe(true);
      await page.getByTestId('refund-amount').fill('15.00');
      await page.screenshot({ path: join(SHOTS, '3-payment-refund-form.png'), fullPage: true });
      await page.getByTestId('refund-confirm').click();
      await expect.poll(() => page.getByTestId('refund-result').textContent()).toContain('NZD 15.00');
      // Sent once: the form gives way to its result, so a second press cannot send it again.
      expect(await page.getByTestId('refund-confirm').count()).toBe(0);
      expect(refunds).toEqual([
        { amountMinor: 2500, reason: 'customer changed their mind' },
        { amountMinor: 1500, reason: 'customer changed their mind' },
      ]);
      await page.screenshot({ path: join(SHOTS, '3-payment.png'), fullPage: true });
      await page.getByTestId('lang-switch').click();
      expect(await page.getByTestId('payment-status').textContent()).toBe('已支付');
      await page.screenshot({ path: join(SHOTS, '3-payment-zh.png') });
      await page.getByTestId('lang-switch').click();

      await page.goto(`${bridge.url}/hq#/audit`);
      await expect.poll(() => page.getByTestId('audit-row').count()).toBe(2);
      expect(await page.getByTestId('audit-row').first().textContent()).toContain('refund.create');
      await page.screenshot({ path: join(SHOTS, '4-audit.png') });

      const report = (period: string, channel: string, gross: number, refunds: number) => ({
        period,
        storeId,
        storeName: 'Queen Street 皇后街店',
        channel,
        count: Math.round(gross / 1000),
        gross: { minor: gross, currency: 'NZD' },
        refunds: { minor: refunds, currency: 'NZD' },
        net: { minor: gross - refunds, currency: 'NZD' },
        charged: { minor: gross * 4, currency: 'CNY' },
      });
      await page.route(/\/hq\/api\/reports(\?.*)?$/, (route) =>
        json(route, {
          rows: [
            report('2026-12-01', 'wechat', 120000, 0),
            report('2026-12-01', 'alipay', 80000, 5000),
            report('2026-12-02', 'wechat', 150000, 2000),
            report('2026-12-03', 'alipay', 60000, 0),
            report('2026-12-03', 'wechat', 90000, 0),
          ],
        }),
      );
      await page.goto(`${bridge.url}/hq#/reports`);
      await expect.poll(() => page.locator('[data-testid=reports-table] tbody tr').count()).toBe(5);
      expect(await page.getByTestId('reports-chart').count()).toBe(1);
      expect(await page.locator('[data-testid=reports-table]').textContent()).toContain('NZD 750.00');
      await page.screenshot({ path: join(SHOTS, '5-reports.png') });

      const keys = [{ id: 'key_1', label: 'shop website', createdAt: at, lastUsedAt: null, revokedAt: null }];
      let createdFor: unknown;
      await page.route(/\/hq\/api\/api-keys(\?.*)?$/, (route) => {
        if (route.request().method() === 'GET') return json(route, { items: keys });
        createdFor = route.request().postDataJSON();
        keys.push({ id: 'key_2', label: 'till', createdAt: at, lastUsedAt: null, revokedAt: null });
        return json(route, { id: 'key_2', key: 'kauri_sk.key_2.s3cr3t' });
      });
      await page.route(/\/hq\/api\/webhook(\?.*)?$/, (route) => json(route, { url: 'https://shop.example/hook' }));
      await page.goto(`${bridge.url}/hq#/developers`);
      await page.locator('.developers input').first().fill('mch_demo');
      await page.locator('.developers button[type=submit]').first().click();
      await expect.poll(() => page.getByTestId('apikey-row').count()).toBe(1);
      await page.locator('.developers input').nth(1).fill('till');
      await page.getByTestId('apikey-create').click();
      await expect.poll(() => page.getByTestId('apikey-secret').textContent()).toBe('kauri_sk.key_2.s3cr3t');
      expect(createdFor).toEqual({ label: 'till', merchantId: 'mch_demo' });
      await expect.poll(() => page.getByTestId('apikey-row').count()).toBe(2);
      await page.screenshot({ path: join(SHOTS, '7-developers.png') });
      expect(problems).toEqual([]);
      await ctx.close();
    });
  },
);
