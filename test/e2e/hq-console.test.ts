import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { pino } from 'pino';
import { startBridge, type Bridge } from '../../cloud-bridge/bridge.js';
import { seedDemo } from '../../cloud-bridge/demo.js';
import { newId } from '../../protocol/ids.js';
import { createTestDatabase, type TestDatabase } from '../support/stores.js';
import { repoRoot } from '../support/processes.js';
import { skipUnless } from '../support/skip.js';
import { waitFor } from '../support/wait.js';
import { wechatDemoAccount } from '../../cloud-bridge/channels/wechat/index.js';
import { startWechatSimProcess, type WechatSimProcess } from './wechat-support.js';

// The back-office console at /hq in Chromium, against a real bridge and real data: as the demo
// HQ admin log in, open payments, search, open a payment, open the audit log; the language
// switch; the reconciliation workspace framed inside it; an API key created and revoked on the
// Developers page; no Content-Security-Policy violation. The last test drives the lists (more
// than a page of seeded payments), their totals, a payment made at the WeChat simulator and the
// refund form as a store manager with a refund limit (refused above it by the bridge, sent to the
// simulator within it), then the audit log, reports and developers pages as HQ. No answer is
// made up for the browser: every /hq/api call reaches the bridge.

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
const LENA_PASSWORD = 'lena store manager';
const WEBHOOK_URL = 'http://127.0.0.1:9/kauri-hook';
const DESKTOP = { width: 1280, height: 800 };
const TABLET = { width: 1024, height: 768 };

if (!existsSync(CHROMIUM)) console.warn(`${CHROMIUM} is missing: the console tests are skipped`);

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

    let sim: WechatSimProcess;
    /** The payment made at the simulator (the one refunded for real). */
    const real = { id: '', no: `T-${Date.now().toString(36)}`, channelNo: '' };
    /** Seeded past days: [day, channel, gross of the day's payments in minor units]. */
    const history: Array<[string, 'wechat' | 'alipay', number]> = [];

    async function order(
      merchantId: string,
      accountId: string,
      outTradeNo: string,
      amount: number,
      status: string,
      channel: 'wechat' | 'alipay' = 'wechat',
      at = new Date().toISOString(),
    ): Promise<string> {
      const id = newId('pay');
      const now = at;
      await bridge.store.db
        .insertInto('orders')
        .values({
          id,
          merchant_id: merchantId,
          store_id: storeId,
          terminal_id: null,
          checkout_id: null,
          out_trade_no: outTradeNo,
          channel,
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
      // The simulator 10× fast: its refunds settle in half a second.
      sim = await startWechatSimProcess({ KAURI_TIME_SCALE: '10' });
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
      await order(seed.merchantId, account.id, `${paid}-c`, 990, 'pending');
      // More than a page (50) of payments on three past days and two channels, for paging and reports.
      const alipay = await bridge.accounts.createChannelAccount({
        merchantId: seed.merchantId,
        channel: 'alipay',
        config: { app_id: '1' },
        secrets: { key: 'k' },
      });
      for (let d = 2; d <= 4; d++) {
        // 00:30 UTC is the early afternoon in Auckland: the same date in the store's zone.
        const day = new Date(Date.now() - d * 86400e3).toISOString().slice(0, 10);
        for (const channel of ['wechat', 'alipay'] as const) {
          let gross = 0;
          for (let i = 0; i < 9; i++) {
            const amount = 1000 + 10 * d + i;
            gross += amount;
            await order(
              seed.merchantId,
              channel === 'wechat' ? account.id : alipay.id,
              `H-${day}-${channel}-${i}`,
              amount,
              'paid',
              channel,
              `${day}T00:30:0${i}.000Z`,
            );
          }
          history.push([day, channel, gross]);
        }
      }
      // Two paid at the WeChat simulator, as a counter at the demo store takes them (refunds go there).
      const wechat = wechatDemoAccount({ url: sim.url, stateDir: sim.stateDir });
      await bridge.accounts.createChannelAccount({
        merchantId,
        channel: 'wechat',
        config: wechat.config,
        secrets: wechat.secrets,
      });
      const simPaid = async (no: string, amount: number) => {
        const { body: code } = await sim.control<{ auth_code: string }>('/sim/paycode', { behaviour: 'success' });
        const made = await bridge.payments.createPayment(
          merchantId,
          {
            out_trade_no: no,
            amount_minor: amount,
            currency: 'NZD',
            channel: 'wechat',
            mode: 'micropay',
            auth_code: code.auth_code,
          },
          { storeId },
        );
        await waitFor(`${no} paid`, async () => (await bridge.orders.byId(made.id))?.status === 'paid', 20_000);
        return made;
      };
      await simPaid(`${paid}-b`, 4800);
      const made = await simPaid(real.no, 3050);
      real.id = made.id;
      real.channelNo = made.channel_order_no;
      await bridge.accounts.createUser({
        username: 'lena',
        password: LENA_PASSWORD,
        role: 'store_manager',
        merchantId,
        storeIds: [storeId],
        refundLimitMinor: 2000,
      });
      await bridge.webhooks.setEndpoint(merchantId, WEBHOOK_URL);
      mkdirSync(SHOTS, { recursive: true });
      browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    }, 60_000);

    afterAll(async () => {
      await browser?.close();
      await bridge?.close();
      await db?.drop();
      await sim?.stop();
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

    async function login(page: Page, username = 'hq', password = HQ_PASSWORD): Promise<void> {
      await page.goto(`${bridge.url}/hq`);
      await page.getByTestId('login-user').fill(username);
      await page.getByTestId('login-password').fill(password);
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

      await expect.poll(() => page.getByTestId('payments-row').count()).toBeGreaterThanOrEqual(3);
      await page.getByTestId('payments-search').fill(`${paid}-b`);
      await page.getByTestId('payments-search').press('Enter');
      await expect.poll(() => page.getByTestId('payments-row').count()).toBe(1);
      expect(await page.getByTestId('export-payments').getAttribute('href')).toContain(`q=${paid}-b`);
      await page.screenshot({ path: join(SHOTS, '2-payments-live.png') });
      await page.locator(`[data-testid=payments-row][data-out-trade-no="${paid}-b"]`).click();
      await expect.poll(() => page.getByTestId('payment-status').textContent()).toBe('paid');
      expect(await page.locator('.facts').textContent()).toContain('NZD 48.00');
      // The refund goes to the WeChat simulator; the page shows what came back.
      await page.getByTestId('payment-refund').click();
      await page.getByTestId('refund-amount').fill('10.00');
      await page.getByTestId('refund-reason').fill('e2e');
      expect(await page.getByTestId('refund-after').textContent()).toBe('NZD 38.00');
      await page.getByTestId('refund-confirm').click();
      await expect.poll(() => page.getByTestId('refund-result').textContent()).toContain('NZD 10.00');
      await page.screenshot({ path: join(SHOTS, '3-payment-live.png') });
      await page.goto(`${bridge.url}/hq#/audit`);
      await page.locator('.page.audit h1').waitFor();
      await page.getByTestId('audit-table').waitFor();
      expect(await page.locator('[role=alert]').count()).toBe(0);
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

    it('with real data: lists, totals, paging, a payment, the refund form against a real limit, the audit log, reports and developers', async () => {
      const { ctx, page, problems } = await open();
      // A store manager of the demo store with a refund limit of NZD 20.00 (everything here is at that store).
      await login(page, 'lena', LENA_PASSWORD);
      await page.getByTestId('nav-payments').click();
      const inStore = await bridge.store.db
        .selectFrom('orders')
        .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.sum<number>('amount_minor').as('sum')])
        .where('store_id', '=', storeId)
        .executeTakeFirstOrThrow();
      const count = Number(inStore.n);
      expect(count).toBeGreaterThan(50); // more than one page
      await expect.poll(() => page.getByTestId('payments-row').count()).toBe(50);
      expect(await page.getByTestId('payments-totals').textContent()).toContain(
        `${count} × NZD ${(Number(inStore.sum) / 100).toFixed(2).replace(/\B(?=(\d{3})+(?!\d))/g, ',')}`,
      );
      await page.getByTestId('payments-more').click();
      await expect.poll(() => page.getByTestId('payments-row').count()).toBe(count);
      await page.screenshot({ path: join(SHOTS, '2-payments.png') });
      await page.setViewportSize(TABLET);
      await page.screenshot({ path: join(SHOTS, '2-payments-tablet.png') });
      await page.setViewportSize(DESKTOP);

      await page.getByTestId('payments-search').fill(real.no);
      await page.getByTestId('payments-search').press('Enter');
      await expect.poll(() => page.getByTestId('payments-row').count()).toBe(1);
      expect(await page.getByTestId('export-payments').getAttribute('href')).toBe(
        `/hq/api/exports/payments.csv?q=${real.no}`,
      );
      await page.locator(`[data-testid=payments-row][data-out-trade-no="${real.no}"]`).click();
      await expect.poll(() => page.getByTestId('payment-status').textContent()).toBe('paid');
      const charged = (await bridge.orders.byId(real.id))!.cny_charged_minor!;
      expect(charged).toBeGreaterThan(0);
      expect(await page.locator('.facts').first().textContent()).toContain(`CNY ${(charged / 100).toFixed(2)}`);

      await page.getByTestId('payment-refund').click();
      expect(await page.getByTestId('refund-amount').inputValue()).toBe('30.50');
      await page.getByTestId('refund-amount').fill('25');
      await page.getByTestId('refund-reason').fill('customer changed their mind');
      expect(await page.getByTestId('refund-after').textContent()).toBe('NZD 5.50');
      expect(await page.getByTestId('refund-confirm').count()).toBe(1);
      await page.getByTestId('refund-confirm').click();
      // The bridge refuses it: above this user's limit; nothing reached the channel.
      await expect.poll(() => page.getByTestId('refund-result').textContent()).toContain('Above your refund limit');
      expect(await bridge.orders.refundsOf(real.id)).toEqual([]);
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
      expect((await bridge.orders.refundsOf(real.id)).map((r) => [Number(r.amount_minor), r.reason])).toEqual([
        [1500, 'customer changed their mind'],
      ]);
      // …and it went to the WeChat simulator.
      await expect
        .poll(
          async () =>
            (await sim.get<{ orders: any[] }>(`/sim/orders?out_trade_no=${real.channelNo}`)).orders[0]?.refunds,
        )
        .toHaveLength(1);
      await page.screenshot({ path: join(SHOTS, '3-payment.png'), fullPage: true });
      const status = (await page.getByTestId('payment-status').textContent())!;
      await page.getByTestId('lang-switch').click();
      expect(await page.getByTestId('payment-status').textContent()).toBe(
        { paid: '已支付', 'partially refunded': '部分退款' }[status],
      );
      await page.screenshot({ path: join(SHOTS, '3-payment-zh.png') });
      await page.getByTestId('lang-switch').click();
      expect(problems).toEqual([]);
      await ctx.close();

      // HQ reads the refund in the audit log, and the reports and developers pages.
      const hq = await open();
      await login(hq.page);
      await hq.page.goto(`${bridge.url}/hq#/audit`);
      const refundRow = hq.page.locator('[data-testid=audit-row][data-action="payment.refund"]', { hasText: real.id });
      await expect.poll(() => refundRow.count()).toBe(1);
      expect(await refundRow.textContent()).toContain('lena');
      expect(await refundRow.textContent()).toContain('1500');
      await hq.page.screenshot({ path: join(SHOTS, '4-audit.png') });

      await hq.page.goto(`${bridge.url}/hq#/reports`);
      const reportRows = await hq.page.evaluate(async () => {
        const today = new Date();
        const iso = (d: Date) => d.toISOString().slice(0, 10);
        const from = iso(new Date(today.getTime() - 13 * 86400e3));
        const res = await fetch(`/hq/api/reports?period=day&from=${from}&to=${iso(today)}`);
        return ((await res.json()) as { rows: unknown[] }).rows.length;
      });
      expect(reportRows).toBeGreaterThanOrEqual(history.length);
      await expect.poll(() => hq.page.locator('[data-testid=reports-table] tbody tr').count()).toBe(reportRows);
      expect(await hq.page.getByTestId('reports-chart').count()).toBe(1);
      // One seeded day and channel, summed here and there.
      const [day, channel, gross] = history[1]!;
      const line = hq.page.locator('[data-testid=reports-table] tbody tr', { hasText: day }).filter({
        hasText: channel === 'alipay' ? 'Alipay' : 'WeChat Pay',
      });
      expect(await line.count()).toBe(1);
      expect(await line.textContent()).toContain(`NZD ${(gross / 100).toFixed(2)}`);
      await hq.page.screenshot({ path: join(SHOTS, '5-reports.png') });

      const keys = (await bridge.accounts.listApiKeys(merchantId)).length;
      await hq.page.goto(`${bridge.url}/hq#/developers`);
      await hq.page.locator('.developers input').first().fill(merchantId);
      await hq.page.locator('.developers button[type=submit]').first().click();
      await expect.poll(() => hq.page.getByTestId('apikey-row').count()).toBe(keys);
      await hq.page.locator('.developers input').nth(1).fill('till');
      await hq.page.getByTestId('apikey-create').click();
      await expect.poll(() => hq.page.getByTestId('apikey-secret').textContent()).toMatch(/^kauri_sk\./);
      expect(await bridge.accounts.merchantForApiKey((await hq.page.getByTestId('apikey-secret').textContent())!)).toBe(
        merchantId,
      );
      await expect.poll(() => hq.page.getByTestId('apikey-row').count()).toBe(keys + 1);
      // The webhook endpoint the merchant has is the one the page shows.
      expect(await hq.page.locator('.developers input[type=url]').inputValue()).toBe(WEBHOOK_URL);
      await hq.page.screenshot({ path: join(SHOTS, '7-developers.png') });
      expect(hq.problems).toEqual([]);
      await hq.ctx.close();
    });
  },
);
