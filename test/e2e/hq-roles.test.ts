import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startBridge, type Bridge } from '../../cloud-bridge/bridge.js';
import { seedDemo } from '../../cloud-bridge/demo.js';
import { wechatDemoAccount } from '../../cloud-bridge/channels/wechat/index.js';
import { totpCodeOf } from '../../cloud-bridge/hq/totp.js';
import { startTestBridge, type TestBridge } from '../support/bridges.js';
import { merchantApi } from '../support/merchant-api.js';
import { runKauri } from '../support/processes.js';
import { skipUnless } from '../support/skip.js';
import { waitFor } from '../support/wait.js';
import { createTestDatabase, storeKinds, type TestDatabase } from '../support/stores.js';
import { CHROMIUM, CHROMIUM_ARGS } from './onecode-support.js';
import { startWechatSimProcess, type WechatSimProcess } from './wechat-support.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';

// Every back-office role's path through the console in Chromium, against a real bridge whose
// payments were made at the WeChat simulator (`kauri sim wechat --tls`), so a refund from the
// console goes to the simulator over mutual TLS: log in, find a payment, open it, refund it,
// export, create and revoke an API key, invite a user — each where the role may. And the
// refusals, each seen in the page and confirmed at the API with nothing changed behind it: a
// store manager and another store's payment or a refund above their limit, a viewer's forged
// refund, a merchant admin reading another merchant's payment by URL, HQ finance making a key.
// Three of the users arrive the way people do: an invite link made in the console (by HQ and
// by a merchant admin) or by `kauri admin user invite`, opened in a fresh browser, a password
// chosen. Then two-factor sign-in, in the browser, and a bridge that requires it for HQ admins.

const SECRET = 'e2e-hq-roles-secret-key-0123456789abcdef';
const HQ_PASSWORD = 'demo-hq-pass-1';
const PASSWORDS = {
  ma: 'aroha admin pass',
  fin: 'fiona finance pass',
  sm: 'sam manager pass',
  vw: 'vera viewer pass',
};

if (!existsSync(CHROMIUM)) console.warn(`${CHROMIUM} is missing: the back-office role tests are skipped`);

/** A CSV document as rows of cells (quoted cells, doubled quotes). */
function parseCsv(text: string): Record<string, string>[] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else cell += c;
  }
  if (cell !== '' || row.length > 0) rows.push([...row, cell]);
  const [head, ...body] = rows;
  return body.map((r) => Object.fromEntries(head!.map((h, i) => [h, r[i] ?? ''])));
}

interface Opened {
  ctx: BrowserContext;
  page: Page;
  problems: string[];
}

let browser: Browser;
let sim: WechatSimProcess;

async function open(): Promise<Opened> {
  const ctx = await browser.newContext({
    viewport: { width: 1280, height: 800 },
    locale: 'en-NZ',
    acceptDownloads: true,
  });
  const page = await ctx.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('console', (m) => {
    // A refusal the page shows is an answer, not an error: the browser logs the 403/404 itself.
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(m.text());
  });
  return { ctx, page, problems };
}

async function login(page: Page, base: string, username: string, password: string, totp?: string): Promise<void> {
  await page.goto(`${base}/hq`);
  await page.getByTestId('login-user').fill(username);
  await page.getByTestId('login-password').fill(password);
  await page.getByTestId('login-submit').click();
  if (totp !== undefined) {
    await page.getByTestId('login-totp').fill(totp);
    await page.getByTestId('login-submit').click();
  }
  await page.getByTestId('who').waitFor();
}

/** Searches the payments list for one order number and opens it. */
async function findAndOpen(page: Page, outTradeNo: string): Promise<void> {
  await page.getByTestId('nav-payments').click();
  await page.getByTestId('payments-search').fill(outTradeNo);
  await page.getByTestId('payments-search').press('Enter');
  await expect.poll(() => page.getByTestId('payments-row').count()).toBe(1);
  await page.locator(`[data-testid=payments-row][data-out-trade-no="${outTradeNo}"]`).click();
  await page.getByTestId('payment-status').waitFor();
}

/** Refunds the open payment through the form; answers what `refund-result` says. */
async function refundInPage(page: Page, amount: string, reason: string): Promise<string> {
  await page.getByTestId('payment-refund').click();
  await page.getByTestId('refund-amount').fill(amount);
  await page.getByTestId('refund-reason').fill(reason);
  await page.getByTestId('refund-confirm').click();
  await page.getByTestId('refund-result').waitFor();
  return (await page.getByTestId('refund-result').textContent()) ?? '';
}

/** A request made by hand from the logged-in page, with its session's CSRF token: what a forger can do. */
async function forged(
  page: Page,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; code: string | undefined }> {
  return page.evaluate(
    async ({ method, path, body }) => {
      const me = (await (await fetch('/hq/api/me')).json()) as { csrf: string };
      const res = await fetch(path, {
        method,
        headers: { 'content-type': 'application/json', 'x-csrf-token': me.csrf },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const json = (await res.json().catch(() => ({}))) as { error?: { code?: string } };
      return { status: res.status, code: json.error?.code };
    },
    { method, path, body },
  );
}

/** Clicks the payments export and reads the CSV the browser downloaded. */
async function exportedPayments(page: Page): Promise<Record<string, string>[]> {
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-payments').click()]);
  const path = await download.path();
  return parseCsv(readFileSync(path, 'utf8'));
}

/** Opens an invite link in a fresh browser, chooses a name and password, and logs in with them. */
async function acceptInvite(link: string, base: string, username: string, password: string): Promise<Opened> {
  const o = await open();
  // The link names the bridge it was made on; this test's bridge is the same one.
  expect(link.startsWith(`${base}/hq#/invite/`)).toBe(true);
  await o.page.goto(link);
  await o.page.getByTestId('invite-username').fill(username);
  await o.page.getByTestId('invite-password').fill(password);
  await o.page.getByTestId('invite-password-again').fill(password);
  await o.page.getByTestId('invite-accept').click();
  await o.page.getByTestId('invite-accepted').waitFor();
  await o.page.getByTestId('invite-to-login').click();
  await o.page.getByTestId('login-user').fill(username);
  await o.page.getByTestId('login-password').fill(password);
  await o.page.getByTestId('login-submit').click();
  await o.page.getByTestId('who').waitFor();
  // Good once: the same link again is refused, in words.
  const again = await o.ctx.newPage();
  await again.goto(link);
  await again.getByTestId('invite-username').fill(`${username}-again`);
  await again.getByTestId('invite-password').fill(password);
  await again.getByTestId('invite-password-again').fill(password);
  await again.getByTestId('invite-accept').click();
  await expect.poll(() => again.locator('[role=alert]').getAttribute('data-code')).toBe('invite_expired');
  await again.close();
  return o;
}

describe.skipIf(skipUnless(existsSync(CHROMIUM), `${CHROMIUM} is missing: the back-office role tests are skipped`))(
  'back-office roles in Chromium',
  () => {
    beforeAll(async () => {
      // The simulator 10× fast: its refunds settle in half a second.
      [sim, browser] = await Promise.all([
        startWechatSimProcess({ KAURI_TIME_SCALE: '10' }),
        chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS }),
      ]);
    }, 90_000);
    afterAll(async () => {
      await browser?.close();
      await sim?.stop();
    });

    describe.each(storeKinds())('every role (%s)', (kind) => {
      let tb: TestBridge;
      let bridge: Bridge;
      let base = '';
      const run = `${kind === 'sqlite' ? 's' : 'p'}${Date.now().toString(36)}`;
      const ids = { A: '', B: '', A1: '', A2: '', B1: '' };
      const pay: Record<'a1' | 'a2' | 'b1', { id: string; no: string; channelNo: string }> = {} as never;
      const links: { sm?: string } = {};
      // Merchant A's webhook receiver: every payment of A has a delivery on its page.
      let hook: Server;

      /** Refund rows the bridge holds for a payment. */
      const refundRows = (orderId: string) =>
        bridge.store.db.selectFrom('refunds').selectAll().where('order_id', '=', orderId).execute();
      /** Refunds the WeChat simulator holds for a payment (its order number is the bridge's channel number). */
      const simRefunds = async (channelNo: string): Promise<unknown[]> => {
        const { orders } = await sim.get<{ orders: Array<{ out_trade_no: string; refunds: unknown[] }> }>(
          `/sim/orders?out_trade_no=${encodeURIComponent(channelNo)}`,
        );
        return orders[0]?.refunds ?? [];
      };
      /** Audit entries about one thing. */
      const auditOf = (target: string) =>
        bridge.store.db.selectFrom('audit_log').selectAll().where('target', '=', target).orderBy('id').execute();
      const deliveriesOf = (merchantId: string) =>
        bridge.store.db.selectFrom('webhook_deliveries').selectAll().where('merchant_id', '=', merchantId).execute();
      const orderStatus = async (id: string) =>
        (await bridge.store.db.selectFrom('orders').select('status').where('id', '=', id).executeTakeFirstOrThrow())
          .status;

      /** A paid payment made at the simulator: at a store as the counter makes it, or over the merchant API. */
      async function paid(merchantId: string, storeId: string | null, no: string, amount: number, apiKey?: string) {
        const { body: code } = await sim.control<{ auth_code: string }>('/sim/paycode', { behaviour: 'success' });
        const input = {
          out_trade_no: no,
          amount_minor: amount,
          currency: 'NZD',
          channel: 'wechat' as const,
          mode: 'micropay' as const,
          auth_code: code.auth_code,
        };
        let id: string;
        if (apiKey) {
          const r = await merchantApi(base, apiKey)('POST', '/api/v1/payments', input);
          expect(r.status, JSON.stringify(r.body)).toBeLessThan(300);
          id = r.body.id;
        } else id = (await bridge.payments.createPayment(merchantId, input, { storeId })).id;
        await waitFor(`${no} paid`, async () => (await orderStatus(id)) === 'paid', 20_000);
        const o = (await bridge.orders.byId(id))!;
        return { id, no, channelNo: o.channel_order_no };
      }

      beforeAll(async () => {
        tb = await startTestBridge({ kind, secretKey: SECRET, timeScale: 1, bridge: { fx: { pullAtStart: false } } });
        bridge = tb.bridge;
        base = bridge.url;
        const wechat = wechatDemoAccount({ url: sim.url, stateDir: sim.stateDir });
        // Merchant A is the demo merchant (its store Queen Street is A1), with the demo HQ admin.
        const seed = await seedDemo(bridge.accounts, {
          registry: bridge.channels,
          channelAccounts: [wechat],
          hqPassword: HQ_PASSWORD,
        });
        const a = bridge.accounts;
        ids.A = seed.merchantId;
        ids.A1 = seed.storeId;
        ids.A2 = (await a.createStore({ merchantId: ids.A, name: 'Ponsonby Road', code: `pons-${run}` })).id;
        ids.B = (await a.createMerchant({ name: 'Bellbird Cafe' })).id;
        ids.B1 = (await a.createStore({ merchantId: ids.B, name: 'Cuba Street', code: `cuba-${run}` })).id;
        await a.createChannelAccount({
          merchantId: ids.B,
          channel: 'wechat',
          config: wechat.config,
          secrets: wechat.secrets,
        });
        const keyB = (await a.createApiKey(ids.B, 'till')).key;
        await a.createUser({ username: 'aroha', password: PASSWORDS.ma, role: 'merchant_admin', merchantId: ids.A });
        hook = createServer((req, res) => req.resume().on('end', () => res.end('ok')));
        await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
        await bridge.webhooks.setEndpoint(ids.A, `http://127.0.0.1:${(hook.address() as { port: number }).port}/hook`);
        pay.a1 = await paid(ids.A, ids.A1, `A1-${run}`, 5000);
        pay.a2 = await paid(ids.A, ids.A2, `A2-${run}`, 8000);
        pay.b1 = await paid(ids.B, null, `B1-${run}`, 6000, keyB);
        await waitFor("the webhook deliveries of A's payments", async () => (await deliveriesOf(ids.A)).length >= 2);
      }, 90_000);

      afterAll(async () => {
        await bridge?.close();
        await tb?.cleanup();
        if (hook) await new Promise((r) => hook.close(r));
      });

      it('hq_admin: finds a payment of either merchant, refunds it at the channel, exports both, makes and revokes a key, invites HQ finance', async () => {
        const { ctx, page, problems } = await open();
        await login(page, base, 'hq', HQ_PASSWORD);
        await findAndOpen(page, pay.b1.no);
        expect(await page.getByTestId('payment-status').textContent()).toBe('paid');
        expect(await refundInPage(page, '15.00', 'hq goodwill')).toContain('NZD 15.00');
        // The refund went to the simulator for real, and the payment says so once it settled.
        await expect.poll(() => simRefunds(pay.b1.channelNo), { timeout: 15_000 }).toHaveLength(1);
        expect(await simRefunds(pay.b1.channelNo)).toMatchObject([{ refund_fee: expect.any(Number) }]);
        await expect.poll(() => orderStatus(pay.b1.id), { timeout: 15_000 }).toBe('partially_refunded');
        await page.reload();
        await expect.poll(() => page.getByTestId('payment-status').textContent()).toBe('partially refunded');
        expect(await page.getByTestId('payment-refund-row').count()).toBe(1);

        await page.getByTestId('nav-payments').click();
        await page.getByTestId('payments-search').fill('');
        await page.getByTestId('payments-search').press('Enter');
        const rows = await exportedPayments(page);
        expect(new Set(rows.map((r) => r.merchant_id))).toEqual(new Set([ids.A, ids.B]));
        expect(rows.map((r) => r.out_trade_no).sort()).toEqual([pay.a1.no, pay.a2.no, pay.b1.no].sort());

        await page.goto(`${base}/hq#/developers`);
        await page.locator('.developers input').first().fill(ids.B);
        await page.locator('.developers button[type=submit]').first().click();
        await page.getByTestId('apikey-row').first().waitFor();
        await page.locator('.developers input').nth(1).fill('hq made');
        await page.getByTestId('apikey-create').click();
        await expect.poll(() => page.getByTestId('apikey-secret').textContent()).toMatch(/^kauri_sk\./);
        const key = (await page.getByTestId('apikey-secret').textContent())!;
        expect(await bridge.accounts.merchantForApiKey(key)).toBe(ids.B);
        const row = page.locator('[data-testid=apikey-row]', { hasText: 'hq made' });
        await row.getByTestId('apikey-revoke').click();
        await expect.poll(() => row.textContent()).toContain('revoked');
        expect(await bridge.accounts.merchantForApiKey(key)).toBeUndefined();

        await page.getByTestId('nav-users').click();
        await page.locator('.page.users select').selectOption('hq_finance');
        await page.getByTestId('invite-create').click();
        const link = (await page.getByTestId('invite-link').textContent())!;
        const fin = await acceptInvite(link, base, 'fiona', PASSWORDS.fin);
        expect(await fin.page.getByTestId('who').textContent()).toContain('HQ finance');
        expect(fin.problems).toEqual([]);
        await fin.ctx.close();

        await page.goto(`${base}/hq#/audit`);
        await expect.poll(() => page.getByTestId('audit-row').count()).toBeGreaterThan(0);
        const actions = await page
          .locator('[data-testid=audit-row]')
          .evaluateAll((els) => els.map((e) => e.getAttribute('data-action')));
        for (const a of [
          'payment.refund',
          'export.payments',
          'apikey.create',
          'apikey.revoke',
          'user.invite',
          'user.accept_invite',
        ])
          expect(actions, a).toContain(a);
        expect(problems).toEqual([]);
        await ctx.close();
      });

      it('hq_finance (invited by HQ): reads and exports every merchant, has no refund button, and cannot make a key', async () => {
        const { ctx, page, problems } = await open();
        await login(page, base, 'fiona', PASSWORDS.fin);
        await findAndOpen(page, pay.a1.no);
        expect(await page.getByTestId('payment-status').textContent()).toBe('paid');
        expect(await page.getByTestId('payment-refund').count()).toBe(0);
        // The webhook deliveries are listed, but resending them is for admins: no button, and refused by hand.
        await expect.poll(() => page.getByTestId('delivery-row').count()).toBeGreaterThan(0);
        expect(await page.getByTestId('delivery-resend').count()).toBe(0);
        const delivery = (await deliveriesOf(ids.A))[0]!.id;
        expect(await forged(page, 'POST', `/hq/api/deliveries/${delivery}/resend`, {})).toEqual({
          status: 403,
          code: 'forbidden',
        });
        expect(
          await forged(page, 'POST', `/hq/api/payments/${pay.a1.id}/refunds`, { amountMinor: 100, reason: 'x' }),
        ).toEqual({ status: 403, code: 'forbidden' });

        await page.getByTestId('nav-payments').click();
        const rows = await exportedPayments(page);
        expect(new Set(rows.map((r) => r.merchant_id))).toEqual(new Set([ids.A, ids.B]));

        // No Developers page, and a key made by hand is refused, with nothing made.
        expect(await page.getByTestId('nav-developers').count()).toBe(0);
        const keysBefore = (await bridge.accounts.listApiKeys(ids.A)).length;
        expect(await forged(page, 'POST', '/hq/api/api-keys', { merchantId: ids.A, label: 'finance' })).toEqual({
          status: 403,
          code: 'forbidden',
        });
        expect((await bridge.accounts.listApiKeys(ids.A)).length).toBe(keysBefore);
        expect(await forged(page, 'POST', '/hq/api/invites', { role: 'viewer', merchantId: ids.A })).toMatchObject({
          status: 403,
        });
        expect(await refundRows(pay.a1.id)).toEqual([]);
        expect((await auditOf(pay.a1.id)).map((r) => r.action)).toEqual([]);
        expect(problems).toEqual([]);
        await ctx.close();
      });

      it("merchant_admin: refunds their own store's payment, exports only their merchant, makes and revokes a key, invites a store manager; another merchant's payment by URL is not found", async () => {
        const { ctx, page, problems } = await open();
        await login(page, base, 'aroha', PASSWORDS.ma);
        await findAndOpen(page, pay.a2.no);
        expect(await refundInPage(page, '10.00', 'damaged book')).toContain('NZD 10.00');
        await expect.poll(() => simRefunds(pay.a2.channelNo), { timeout: 15_000 }).toHaveLength(1);
        await expect.poll(() => orderStatus(pay.a2.id), { timeout: 15_000 }).toBe('partially_refunded');
        await page.reload();
        await expect.poll(() => page.getByTestId('payment-status').textContent()).toBe('partially refunded');
        // Their webhook's delivery of this payment, sent again from the page.
        const resends = (
          await bridge.store.db.selectFrom('audit_log').select('id').where('action', '=', 'webhook.resend').execute()
        ).length;
        await page.getByTestId('delivery-resend').first().click();
        await expect.poll(() => page.locator('.notice[role=status]').textContent()).toBe('Queued again.');
        expect(
          (await bridge.store.db.selectFrom('audit_log').select('id').where('action', '=', 'webhook.resend').execute())
            .length,
        ).toBe(resends + 1);

        // B's payment, typed by hand: the page says not found, the API the same as for no payment at all.
        await page.goto(`${base}/hq#/payments/${pay.b1.id}`);
        await expect.poll(() => page.locator('[role=alert]').getAttribute('data-code')).toBe('not_found');
        expect(await page.getByTestId('payment-status').count()).toBe(0);
        expect(await forged(page, 'GET', `/hq/api/payments/${pay.b1.id}`)).toEqual({ status: 404, code: 'not_found' });
        expect(await forged(page, 'GET', '/hq/api/payments/pay_nosuchpayment')).toEqual({
          status: 404,
          code: 'not_found',
        });
        const b1Refunds = (await refundRows(pay.b1.id)).length;
        expect(
          await forged(page, 'POST', `/hq/api/payments/${pay.b1.id}/refunds`, { amountMinor: 100, reason: 'x' }),
        ).toEqual({ status: 404, code: 'not_found' });
        expect((await refundRows(pay.b1.id)).length).toBe(b1Refunds);
        // B's payment is not in the search either.
        await page.getByTestId('nav-payments').click();
        await page.getByTestId('payments-search').fill(pay.b1.no);
        await page.getByTestId('payments-search').press('Enter');
        await expect.poll(() => page.url()).toContain(`q=${pay.b1.no}`);
        await expect.poll(() => page.getByTestId('payments-row').count()).toBe(0);
        await page.locator('.page.payments .empty').waitFor();

        await page.getByTestId('payments-search').fill('');
        await page.getByTestId('payments-search').press('Enter');
        const rows = await exportedPayments(page);
        expect(rows.map((r) => r.out_trade_no).sort()).toEqual([pay.a1.no, pay.a2.no].sort());
        expect(new Set(rows.map((r) => r.merchant_id))).toEqual(new Set([ids.A]));

        // Their own merchant's keys: no merchant to name.
        await page.getByTestId('nav-developers').click();
        await page.getByTestId('apikey-row').first().waitFor();
        await page.locator('.developers input').first().fill('online shop');
        await page.getByTestId('apikey-create').click();
        await expect.poll(() => page.getByTestId('apikey-secret').textContent()).toMatch(/^kauri_sk\./);
        const key = (await page.getByTestId('apikey-secret').textContent())!;
        expect(await bridge.accounts.merchantForApiKey(key)).toBe(ids.A);
        const row = page.locator('[data-testid=apikey-row]', { hasText: 'online shop' });
        await row.getByTestId('apikey-revoke').click();
        await expect.poll(() => row.textContent()).toContain('revoked');
        expect(await bridge.accounts.merchantForApiKey(key)).toBeUndefined();
        // Another merchant's keys are not theirs to make.
        expect(await forged(page, 'POST', '/hq/api/api-keys', { merchantId: ids.B, label: 'x' })).toEqual({
          status: 403,
          code: 'forbidden',
        });

        // A store manager of Queen Street with a refund limit of NZD 20.00; HQ roles are not on offer.
        await page.getByTestId('nav-users').click();
        const roleSelect = page.locator('.page.users select');
        expect(
          await roleSelect.locator('option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value)),
        ).toEqual(['merchant_admin', 'store_manager', 'viewer']);
        await roleSelect.selectOption('store_manager');
        await page.getByPlaceholder('st_…, st_…').fill(ids.A1);
        await page.locator('.page.users input[inputmode=decimal]').fill('20.00');
        await page.getByTestId('invite-create').click();
        links.sm = (await page.getByTestId('invite-link').textContent())!;
        expect(await forged(page, 'POST', '/hq/api/invites', { role: 'hq_admin' })).toEqual({
          status: 403,
          code: 'forbidden',
        });
        expect(problems).toEqual([]);
        await ctx.close();
      });

      it("store_manager (invited by the merchant admin): refunds at their store within their limit; above it, and another store's payment, are refused with nothing sent", async () => {
        expect(links.sm, 'the merchant admin test makes the invite').toBeDefined();
        const { ctx, page, problems } = await acceptInvite(links.sm!, base, 'sam', PASSWORDS.sm);
        expect(await page.getByTestId('who').textContent()).toContain('Store manager');
        expect(await page.getByTestId('nav-developers').count()).toBe(0);
        expect(await page.getByTestId('nav-users').count()).toBe(0);

        // Above the limit: refused by the server, in words, and nothing reaches the channel.
        await findAndOpen(page, pay.a1.no);
        await expect.poll(() => page.getByTestId('delivery-row').count()).toBeGreaterThan(0);
        expect(await page.getByTestId('delivery-resend').count()).toBe(0);
        const atA1 = await bridge.store.db
          .selectFrom('webhook_deliveries as d')
          .innerJoin('events as e', 'e.id', 'd.event_id')
          .select('d.id')
          .where('e.store_id', '=', ids.A1)
          .executeTakeFirstOrThrow();
        expect(await forged(page, 'POST', `/hq/api/deliveries/${atA1.id}/resend`, {})).toEqual({
          status: 403,
          code: 'forbidden',
        });
        expect(await refundInPage(page, '30.00', 'too much')).toContain('Above your refund limit');
        expect(await page.getByTestId('refund-result').locator('[role=alert]').getAttribute('data-code')).toBe(
          'refund_limit_exceeded',
        );
        expect(await refundRows(pay.a1.id)).toEqual([]);
        expect(await simRefunds(pay.a1.channelNo)).toEqual([]);
        expect(await auditOf(pay.a1.id)).toEqual([]);
        expect(
          await forged(page, 'POST', `/hq/api/payments/${pay.a1.id}/refunds`, { amountMinor: 2001, reason: 'x' }),
        ).toEqual({ status: 403, code: 'refund_limit_exceeded' });

        // Within it: the refund goes to the simulator.
        await page.reload();
        await page.getByTestId('payment-status').waitFor();
        expect(await refundInPage(page, '5.00', 'spilt coffee')).toContain('NZD 5.00');
        await expect.poll(() => simRefunds(pay.a1.channelNo), { timeout: 15_000 }).toHaveLength(1);
        expect((await refundRows(pay.a1.id)).map((r) => Number(r.amount_minor))).toEqual([500]);
        expect((await auditOf(pay.a1.id)).map((r) => [r.action, r.actor])).toEqual([['payment.refund', 'sam']]);

        // The other store's payment: not in the search, not found by URL, and its refund is refused.
        await page.getByTestId('nav-payments').click();
        await page.getByTestId('payments-search').fill(pay.a2.no);
        await page.getByTestId('payments-search').press('Enter');
        await expect.poll(() => page.url()).toContain(`q=${pay.a2.no}`);
        await expect.poll(() => page.getByTestId('payments-row').count()).toBe(0);
        await page.locator('.page.payments .empty').waitFor();
        await page.goto(`${base}/hq#/payments/${pay.a2.id}`);
        await expect.poll(() => page.locator('[role=alert]').getAttribute('data-code')).toBe('not_found');
        expect(await page.getByTestId('payment-refund').count()).toBe(0);
        const a2Before = {
          rows: (await refundRows(pay.a2.id)).length,
          sim: (await simRefunds(pay.a2.channelNo)).length,
        };
        const a2Audit = (await auditOf(pay.a2.id)).length;
        expect(
          await forged(page, 'POST', `/hq/api/payments/${pay.a2.id}/refunds`, { amountMinor: 100, reason: 'x' }),
        ).toEqual({ status: 404, code: 'not_found' });
        expect((await refundRows(pay.a2.id)).length).toBe(a2Before.rows);
        expect((await simRefunds(pay.a2.channelNo)).length).toBe(a2Before.sim);
        expect((await auditOf(pay.a2.id)).length).toBe(a2Audit);

        // The export holds only their store's payments.
        await page.getByTestId('nav-payments').click();
        await page.getByTestId('payments-search').fill('');
        await page.getByTestId('payments-search').press('Enter');
        const rows = await exportedPayments(page);
        expect(rows.map((r) => [r.out_trade_no, r.store_id])).toEqual([[pay.a1.no, ids.A1]]);

        // Keys and invites are not theirs.
        expect(await forged(page, 'POST', '/hq/api/api-keys', { label: 'x' })).toEqual({
          status: 403,
          code: 'forbidden',
        });
        expect(await forged(page, 'POST', '/hq/api/invites', { role: 'viewer' })).toEqual({
          status: 403,
          code: 'forbidden',
        });
        expect(problems).toEqual([]);
        await ctx.close();
      });

      it('viewer (invited with kauri admin user invite): reads in scope, has no refund button or export, and a forged refund or export is refused', async () => {
        const inv = await runKauri(
          [
            'admin',
            'user',
            'invite',
            '--role',
            'viewer',
            '--merchant',
            ids.A,
            '--url',
            base,
            '--db',
            tb.db.url,
            '--json',
          ],
          { env: { KAURI_SECRET_KEY: SECRET } },
        );
        expect(inv.code, inv.stderr).toBe(0);
        const { ctx, page, problems } = await acceptInvite(JSON.parse(inv.stdout).link, base, 'vera', PASSWORDS.vw);
        expect(await page.getByTestId('who').textContent()).toContain('Viewer');
        // The store manager's refund is confirmed by the channel in the background: wait for it.
        await expect.poll(() => orderStatus(pay.a1.id), { timeout: 15_000 }).toBe('partially_refunded');
        await findAndOpen(page, pay.a1.no);
        expect(await page.getByTestId('payment-status').textContent()).toBe('partially refunded');
        expect(await page.getByTestId('payment-refund').count()).toBe(0);
        const before = (await refundRows(pay.a1.id)).length;
        const audit = (await auditOf(pay.a1.id)).length;
        expect(
          await forged(page, 'POST', `/hq/api/payments/${pay.a1.id}/refunds`, { amountMinor: 100, reason: 'x' }),
        ).toEqual({ status: 403, code: 'forbidden' });
        expect((await refundRows(pay.a1.id)).length).toBe(before);
        expect((await simRefunds(pay.a1.channelNo)).length).toBe(before);
        expect((await auditOf(pay.a1.id)).length).toBe(audit);

        await page.getByTestId('nav-payments').click();
        await expect.poll(() => page.getByTestId('payments-row').count()).toBe(2);
        expect(await page.getByTestId('export-payments').count()).toBe(0);
        expect(await forged(page, 'GET', '/hq/api/exports/payments.csv')).toEqual({ status: 403, code: 'forbidden' });
        expect(await forged(page, 'POST', '/hq/api/api-keys', { label: 'x' })).toEqual({
          status: 403,
          code: 'forbidden',
        });
        // Someone else's merchant, by URL: not found.
        await page.goto(`${base}/hq#/payments/${pay.b1.id}`);
        await expect.poll(() => page.locator('[role=alert]').getAttribute('data-code')).toBe('not_found');
        expect(problems).toEqual([]);
        await ctx.close();
      });

      it("the merchant admin's audit log shows the refunds made and none of the refused ones", async () => {
        const { ctx, page, problems } = await open();
        await login(page, base, 'aroha', PASSWORDS.ma);
        await page.goto(`${base}/hq#/audit`);
        await expect.poll(() => page.getByTestId('audit-row').count()).toBeGreaterThan(0);
        const refunds = page.locator('[data-testid=audit-row][data-action="payment.refund"]');
        // Theirs (A2) and the store manager's (A1); not HQ's on B's payment, and no refused attempt.
        await expect.poll(() => refunds.count()).toBe(2);
        const text = (await refunds.allTextContents()).join('\n');
        expect(text).toContain(pay.a1.id);
        expect(text).toContain(pay.a2.id);
        expect(text).not.toContain(pay.b1.id);
        expect(await page.locator('[data-testid=audit-row]', { hasText: pay.b1.id }).count()).toBe(0);
        const all = await bridge.store.db
          .selectFrom('audit_log')
          .select(['action', 'target'])
          .where('action', '=', 'payment.refund')
          .execute();
        expect(all.map((r) => r.target).sort()).toEqual([pay.a1.id, pay.a2.id, pay.b1.id].sort());
        expect(problems).toEqual([]);
        await ctx.close();
      });

      it('turns on two-factor sign-in in the console; the next login asks for a code; a wrong or used code is refused', async () => {
        const { ctx, page, problems } = await open();
        await login(page, base, 'fiona', PASSWORDS.fin);
        await page.getByTestId('nav-account').click();
        expect(await page.getByTestId('totp-state').textContent()).toBe('Off');
        await page.getByTestId('totp-setup').click();
        const url = (await page.getByTestId('totp-otpauth').textContent())!;
        expect(url).toMatch(/^otpauth:\/\/totp\/Kauri:fiona\?/);
        // The QR code carries the same URL the text shows.
        expect(await page.getByTestId('totp-qr').getAttribute('alt')).toBe(url);
        // A wrong code does not turn it on.
        const now = bridge.clock.now().getTime();
        const wrong = String((Number(totpCodeOf(url, now)) + 1) % 1_000_000).padStart(6, '0');
        await page.getByTestId('totp-code').fill(wrong);
        await page.getByTestId('totp-submit').click();
        await expect
          .poll(() => page.locator('.two-factor [role=alert]').getAttribute('data-code'))
          .toBe('totp_invalid');
        await page.getByTestId('totp-code').fill(totpCodeOf(url, now));
        await page.getByTestId('totp-submit').click();
        await expect.poll(() => page.getByTestId('totp-state').textContent()).toBe('On');
        await page.getByTestId('logout').click();
        await page.getByTestId('login-user').waitFor();

        // The password alone is not enough now.
        await page.getByTestId('login-user').fill('fiona');
        await page.getByTestId('login-password').fill(PASSWORDS.fin);
        await page.getByTestId('login-submit').click();
        await page.getByTestId('login-totp').waitFor();
        await page.getByTestId('login-totp').fill(wrong);
        await page.getByTestId('login-submit').click();
        await expect.poll(() => page.locator('.login [role=alert]').getAttribute('data-code')).toBe('totp_invalid');
        expect(await page.getByTestId('who').count()).toBe(0);
        // The code of the next step (the one used to turn it on is spent; one step of drift is allowed).
        const next = totpCodeOf(url, bridge.clock.now().getTime() + 30_000);
        await page.getByTestId('login-totp').fill(next);
        await page.getByTestId('login-submit').click();
        await page.getByTestId('who').waitFor();
        await page.getByTestId('logout').click();
        // The same code again is refused, however valid it still is.
        await page.getByTestId('login-user').fill('fiona');
        await page.getByTestId('login-password').fill(PASSWORDS.fin);
        await page.getByTestId('login-submit').click();
        await page.getByTestId('login-totp').fill(next);
        await page.getByTestId('login-submit').click();
        await expect.poll(() => page.locator('.login [role=alert]').getAttribute('data-code')).toBe('totp_invalid');
        expect(await page.getByTestId('who').count()).toBe(0);
        expect(problems).toEqual([]);
        await ctx.close();
      });
    });

    describe('a bridge started with --require-totp hq_admin', () => {
      let db: TestDatabase;
      let files: string;
      let bridge: Bridge;
      beforeAll(async () => {
        db = await createTestDatabase('sqlite');
        files = mkdtempSync(join(tmpdir(), 'kauri-require-totp-'));
        bridge = await startBridge({
          dbUrl: db.url,
          port: 0,
          secretKey: SECRET,
          filesDir: files,
          log: pino({ level: 'silent' }),
          fx: { pullAtStart: false },
          runJobs: false,
          hq: { requireTotp: ['hq_admin'] },
        });
        await bridge.accounts.createUser({ username: 'root', password: 'root admin pass', role: 'hq_admin' });
        await bridge.accounts.createUser({ username: 'fin', password: 'fin finance pass', role: 'hq_finance' });
      });
      afterAll(async () => {
        await bridge?.close();
        await db?.drop();
        if (files) rmSync(files, { recursive: true, force: true });
      });

      it('an hq_admin without TOTP reaches only its setup; once on, the console opens and the next login asks for a code', async () => {
        const { ctx, page, problems } = await open();
        await login(page, bridge.url, 'root', 'root admin pass');
        await page.locator('.notice').waitFor();
        expect(await page.locator('.notice').textContent()).toContain('set up your authenticator');
        expect(
          await page.locator('nav.side a').evaluateAll((as) => as.map((a) => a.getAttribute('data-testid'))),
        ).toEqual(['nav-account']);
        // Typing another page's address changes nothing, and the API refuses it.
        await page.goto(`${bridge.url}/hq#/payments`);
        await page.getByTestId('totp-setup').waitFor();
        expect(await page.getByTestId('payments-search').count()).toBe(0);
        expect(await forged(page, 'GET', '/hq/api/payments')).toEqual({ status: 403, code: 'totp_setup_required' });
        expect(await forged(page, 'POST', '/hq/api/invites', { role: 'viewer' })).toEqual({
          status: 403,
          code: 'totp_setup_required',
        });

        await page.getByTestId('totp-setup').click();
        const url = (await page.getByTestId('totp-otpauth').textContent())!;
        await page.getByTestId('totp-code').fill(totpCodeOf(url, bridge.clock.now().getTime()));
        await page.getByTestId('totp-submit').click();
        // The page asked for (payments) opens at once.
        await page.getByTestId('payments-search').waitFor();
        expect(await page.locator('.notice').count()).toBe(0);
        // It cannot be turned off while the role requires it.
        await page.getByTestId('nav-account').click();
        await expect.poll(() => page.getByTestId('totp-state').textContent()).toBe('On');
        await page.getByTestId('totp-code').fill(totpCodeOf(url, bridge.clock.now().getTime() + 30_000));
        await page.getByTestId('totp-submit').click();
        await expect.poll(() => page.locator('.two-factor [role=alert]').getAttribute('data-code')).toBe('forbidden');
        await page.getByTestId('nav-users').click();
        await page.getByTestId('invite-create').waitFor();

        await page.getByTestId('logout').click();
        await page.getByTestId('login-user').fill('root');
        await page.getByTestId('login-password').fill('root admin pass');
        await page.getByTestId('login-submit').click();
        await page.getByTestId('login-totp').waitFor();
        expect(problems).toEqual([]);
        await ctx.close();

        // A role not named goes straight in.
        const fin = await open();
        await login(fin.page, bridge.url, 'fin', 'fin finance pass');
        await fin.page.getByTestId('payments-search').waitFor();
        expect(await fin.page.locator('.notice').count()).toBe(0);
        await fin.ctx.close();
      });
    });
  },
);
