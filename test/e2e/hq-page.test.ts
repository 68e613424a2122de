import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { pino } from 'pino';
import WebSocket from 'ws';
import { startBridge, type Bridge } from '../../cloud-bridge/bridge.js';
import { newId } from '../../protocol/ids.js';
import { LINK_SUBPROTOCOL, terminalAuthorization } from '../../protocol/link.js';
import { wechatStatement, type FixtureRow } from '../../cloud-bridge/reconcile/fixtures.js';
import { createTestDatabase, storeKinds, type TestDatabase } from '../support/stores.js';
import { repoRoot } from '../support/processes.js';
import { skipUnless } from '../support/skip.js';

// The HQ page in Chromium: log in, see the days, open one, resolve its differences with a
// note, sign it off, be refused when changing it afterwards; files, settlement CSV and a
// terminal pairing code; the counters and their devices' health; a merchant's user sees
// only their own settlement and counters. The day's statement is given to the bridge (the
// simulator path is reconcile-db-day.test.ts).

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
const SHOTS = process.env.KAURI_SCREENSHOTS ?? join(repoRoot, 'test-results', 'hq');
const D = '2026-11-18';
const china = (hhmm: string) => Date.parse(`${D}T${hhmm}:00+08:00`);

describe
  .skipIf(skipUnless(existsSync(CHROMIUM), `${CHROMIUM} is missing: the HQ page tests are skipped`))
  .each(storeKinds())('the HQ page (%s)', (kind) => {
  let db: TestDatabase;
  let bridge: Bridge;
  let browser: Browser;
  let filesDir: string;
  const ids = { a: '', b: '' };
  const counters = { front: '', back: '', kea: '' };
  let link: WebSocket | undefined;

  async function order(
    merchantId: string,
    accountId: string,
    no: string,
    amount: number,
    status: string,
    paidMs: number | null,
  ): Promise<void> {
    const now = new Date(paidMs ?? china('09:00')).toISOString();
    await bridge.store.db
      .insertInto('orders')
      .values({
        id: newId('pay'),
        merchant_id: merchantId,
        store_id: null,
        terminal_id: null,
        checkout_id: null,
        out_trade_no: `m-${no}`,
        channel: 'wechat',
        channel_account_id: accountId,
        mode: 'native',
        amount_minor: amount,
        currency: 'NZD',
        status,
        refunded_minor: 0,
        description: 'tea',
        channel_order_no: no,
        channel_trade_no: paidMs ? `42000${no}` : null,
        qr_code: null,
        redirect_url: null,
        openid: null,
        quote_id: null,
        cny_quote_minor: null,
        cny_charged_minor: null,
        rate: null,
        rate_time: null,
        return_url: null,
        request_hash: 'x',
        flagged: 0,
        flag_reason: null,
        expires_at: null,
        created_at: now,
        updated_at: now,
        paid_at: paidMs ? now : null,
        channel_paid_at: paidMs ? now : null,
        version: 0,
      } as never)
      .execute();
  }
  const row = (no: string, amount: number, hhmm: string, fee = 0): FixtureRow => ({
    kind: 'payment',
    status: 'paid',
    outTradeNo: no,
    tradeNo: `42000${no}`,
    amountMinor: amount,
    currency: 'NZD',
    timeMs: china(hhmm),
    feeMicro: fee,
  });

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    filesDir = mkdtempSync(join(tmpdir(), 'kauri-hq-files-'));
    bridge = await startBridge({
      dbUrl: db.url,
      port: 0,
      secretKey: 'e2e-hq-secret-key-0123456789abcdef0123',
      filesDir,
      log: pino({ level: 'silent' }),
      fx: { pullAtStart: false },
      reconcile: { lookbackDays: 0 },
    });
    const acc = bridge.accounts;
    const a = await acc.createMerchant({ name: 'Tui Tea 图伊茶' });
    // A name a spreadsheet would run as a formula: the CSV defuses it.
    const b = await acc.createMerchant({ name: '=Kea Kiwi, "Kea"' });
    ids.a = a.id;
    ids.b = b.id;
    await acc.createStore({ merchantId: a.id, name: 'Cuba St', code: 'tui-cuba' });
    await acc.createStore({ merchantId: b.id, name: 'Lambton Quay', code: 'kea-lambton' });
    // Counters: Tui's front one linked with its printer out of paper, its back one never
    // reported; Kea's reported all well. The link path itself is terminals/health.test.ts.
    const pair = async (store: string, name: string) => {
      const { code } = await bridge.terminals.createPairingCode(store, { terminalName: name });
      return bridge.terminals.repo.pair(code);
    };
    const front = await pair('tui-cuba', 'Front counter 前台');
    counters.front = front.terminal.id;
    counters.back = (await pair('tui-cuba', 'Back counter')).terminal.id;
    counters.kea = (await pair('kea-lambton', 'Till 1')).terminal.id;
    await bridge.terminals.repo.recordHealth(counters.front, [
      { kind: 'printer', state: 'held', detail: 'paper out' },
      { kind: 'display', state: 'connected', detail: '/dev/ttyUSB1' },
      { kind: 'scanner', state: 'disconnected', detail: 'unplugged' },
    ]);
    await bridge.terminals.repo.recordHealth(counters.kea, [
      { kind: 'printer', state: 'ready' },
      { kind: 'display', state: 'none' },
      { kind: 'scanner', state: 'keyboard' },
    ]);
    link = new WebSocket(`${bridge.url.replace('http', 'ws')}/terminal`, LINK_SUBPROTOCOL, {
      headers: { authorization: terminalAuthorization(front.terminal.id, front.secret) },
    });
    await new Promise((resolve, reject) => {
      link!.once('open', resolve);
      link!.once('error', reject);
    });
    link.send(JSON.stringify({ v: 1, type: 'hello', lastSeq: 0 }));
    const wa = await acc.createChannelAccount({
      merchantId: a.id,
      channel: 'wechat',
      config: { mch_id: '1' },
      secrets: { key: 'k' },
    });
    const wb = await acc.createChannelAccount({
      merchantId: b.id,
      channel: 'wechat',
      config: { mch_id: '2' },
      secrets: { key: 'k' },
    });
    await acc.createUser({ username: 'fin', password: 'finance-pass-1', role: 'hq_finance' });
    await acc.createUser({ username: 'kea', password: 'kea-pass-1', role: 'merchant_user', merchantId: b.id });
    // Merchant A: one matched, one amount mismatch, one only on the platform (paid at 14:00).
    await order(a.id, wa.id, 'A1', 1000, 'paid', china('10:00'));
    await order(a.id, wa.id, 'A2', 2000, 'paid', china('11:00'));
    await order(a.id, wa.id, 'A3', 3000, 'paid', china('14:00'));
    await order(b.id, wb.id, 'B1', 5000, 'paid', china('12:00'));
    const stA = wechatStatement([row('A1', 1000, '10:00', 60_000), row('A2', 2100, '11:00', 126_000)], 'en', {
      bom: true,
      crlf: true,
    });
    const stB = wechatStatement([row('B1', 5000, '12:00', 300_000)], 'en', { bom: true, crlf: true });
    await bridge.reconcile.reconcileDay('wechat', D, {
      merchantId: a.id,
      statement: { body: Buffer.from(stA), fileName: 'tui.csv' },
      actor: 'test',
    });
    await bridge.reconcile.reconcileDay('wechat', D, {
      merchantId: b.id,
      statement: { body: Buffer.from(stB), fileName: 'kea.csv' },
      actor: 'test',
    });
    mkdirSync(SHOTS, { recursive: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  }, 60_000);

  afterAll(async () => {
    link?.close();
    await browser?.close();
    await bridge?.close();
    await db?.drop();
    rmSync(filesDir, { recursive: true, force: true });
  });

  async function login(page: Page, user: string, password: string): Promise<void> {
    // The workspace's own address; /hq is the console, which frames it.
    await page.goto(`${bridge.url}/hq/workspace`);
    await page.fill('#login-form input[name=username]', user);
    await page.fill('#login-form input[name=password]', password);
    await page.click('#login-form button[type=submit]');
  }

  it('HQ finance: sees the day, resolves with a note, signs off, and cannot change the day afterwards', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await ctx.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    // Refusals (401, 409) are answers the page shows; script errors are bugs.
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(m.text());
    });
    await login(page, 'fin', 'wrong-password');
    await expect.poll(() => page.textContent('#login-error')).toContain('wrong user name or password');
    await page.fill('#login-form input[name=password]', 'finance-pass-1');
    await page.click('#login-form button[type=submit]');
    const cell = page.locator(`a.cell[data-day="${D}"][data-channel="wechat"]`);
    await page.fill('#ov-from', '2026-11-10');
    await page.fill('#ov-to', '2026-11-20');
    await page.click('#ov-load');
    await expect.poll(() => cell.textContent()).toContain('reconciled · 3 rows · 2 matched · 2 open / 2 differences');
    // The chart is drawn by Chart.js (served by the bridge).
    expect(await page.evaluate(() => typeof (window as unknown as { Chart?: unknown }).Chart)).toBe('function');
    await page.screenshot({ path: join(SHOTS, `${kind}-1-days.png`), fullPage: true });

    await cell.click();
    await expect.poll(() => page.textContent('#day-title')).toBe(`wechat · ${D}`);
    const rows = page.locator('#diffs tbody tr');
    await expect.poll(() => rows.count()).toBe(2);
    expect(await page.textContent('#diffs')).toContain('amountMismatch');
    expect(await page.textContent('#diffs')).toContain('platformOnly');
    await page.screenshot({ path: join(SHOTS, `${kind}-2-day.png`), fullPage: true });

    // The day's exports: its differences, and the platform side as the orders CSV of docs/CONTRACTS.md.
    const [diffCsv, platCsv] = await page.evaluate(
      async (hrefs: string[]) => Promise.all(hrefs.map(async (h) => (await fetch(h)).text())),
      [(await page.getAttribute('#diff-csv', 'href'))!, (await page.getAttribute('#platform-csv', 'href'))!],
    );
    expect(diffCsv.trim().split('\n')).toHaveLength(3);
    expect(diffCsv).toMatch(/^merchant_id,state,action,note,actor,at,category,kind,id,/);
    expect(platCsv.trim().split('\n').sort()).toEqual([
      'A1,,wechat,42000A1,payment,1000,NZD,paid,2026-11-18T02:00:00.000Z',
      'A2,,wechat,42000A2,payment,2000,NZD,paid,2026-11-18T03:00:00.000Z',
      'A3,,wechat,42000A3,payment,3000,NZD,paid,2026-11-18T06:00:00.000Z',
      'B1,,wechat,42000B1,payment,5000,NZD,paid,2026-11-18T04:00:00.000Z',
      'out_trade_no,out_refund_no,channel,channel_trade_no,kind,amount_minor,currency,status,paid_at',
    ]);

    // Signing off with open differences is refused.
    await page.click('#sign-off');
    await expect.poll(() => page.textContent('#error')).toContain('still has 2 open differences');

    // Resolve the amount mismatch by an adjustment, the platform-only order by accepting it.
    const amountRow = page.locator('#diffs tbody tr', { hasText: 'amountMismatch' });
    await amountRow.locator('button.resolve').click();
    await page.selectOption('#resolve-form select[name=action]', 'adjust');
    await page.fill('#resolve-form input[name=adjustMinor]', '100');
    await page.click('#resolve-form button[type=submit]');
    // No note, no resolution: the form will not go (and the API refuses it too).
    expect(await page.evaluate(() => (document.getElementById('resolve-dialog') as HTMLDialogElement).open)).toBe(true);
    expect(
      await page.evaluate(
        () => (document.querySelector('#resolve-form textarea') as HTMLTextAreaElement).validity.valueMissing,
      ),
    ).toBe(true);
    await page.fill('#resolve-form textarea[name=note]', 'WeChat settled 1.00 more: passed on');
    await page.screenshot({ path: join(SHOTS, `${kind}-3-resolve.png`) });
    await page.click('#resolve-form button[type=submit]');
    await expect.poll(() => amountRow.textContent()).toContain('WeChat settled 1.00 more: passed on (fin');
    const onlyRow = page.locator('#diffs tbody tr', { hasText: 'platformOnly' });
    await onlyRow.locator('button.resolve').click();
    await page.fill('#resolve-form textarea[name=note]', 'customer paid cash; order voided in the shop');
    await page.click('#resolve-form button[type=submit]');
    await expect.poll(() => onlyRow.getAttribute('data-state')).toBe('resolved');

    await page.click('#sign-off');
    await expect.poll(() => page.textContent('#locked')).toContain('Signed off by fin');
    expect(await page.isDisabled('#sign-off')).toBe(true);
    await page.screenshot({ path: join(SHOTS, `${kind}-4-signed-off.png`), fullPage: true });

    // Changing a resolution of the signed-off day: refused, and nothing changes.
    await amountRow.locator('button.resolve').click();
    await page.selectOption('#resolve-form select[name=action]', 'accept');
    await page.fill('#resolve-form textarea[name=note]', 'on second thoughts');
    await page.click('#resolve-form button[type=submit]');
    await expect
      .poll(() => page.textContent('#resolve-error'))
      .toMatch(/signed off by fin .* cannot change\. Record a correction as an adjustment on a later day/);
    await page.click('#resolve-cancel');
    const key = await amountRow.getAttribute('data-key');
    // A correction is an adjustment on a later day; never on the signed-off one.
    const adjust = (day: string) =>
      page.evaluate(
        async ([d, k, m]: string[]) => {
          const me = await (await fetch('/hq/api/me')).json();
          const r = await fetch('/hq/api/adjustments', {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-csrf-token': me.csrf },
            body: JSON.stringify({
              channel: 'wechat',
              day: d,
              merchantId: m,
              currency: 'NZD',
              amountMinor: -100,
              note: 'WeChat took the 1.00 back',
              refersTo: k,
            }),
          });
          return { status: r.status, body: await r.json() };
        },
        [day, key!, ids.a],
      );
    expect(await adjust(D)).toMatchObject({ status: 409, body: { error: { code: 'day_signed_off' } } });
    expect((await adjust('2026-11-19')).status).toBe(200);
    expect((await bridge.reconcile.history(key!)).map((v) => [v.version, v.state, v.action, v.actor])).toEqual([
      [1, 'open', null, 'system'],
      [2, 'resolved', 'adjust', 'fin'],
    ]);

    // Files, settlement (with its CSV) and a pairing code.
    await page.click('#tabs button[data-tab=files]');
    await expect.poll(() => page.textContent('#file-list')).toContain('tui.csv');
    await page.click('#tabs button[data-tab=settlement]');
    await page.fill('#st-from', D);
    await page.fill('#st-to', D);
    await page.click('#st-load');
    await expect.poll(() => page.locator('#st-list tbody tr').count()).toBe(2);
    const csv = await page.evaluate(
      async (href: string) => (await fetch(href)).text(),
      (await page.getAttribute('#st-csv', 'href'))!,
    );
    expect(csv.split('\n').slice(0, 3)).toEqual(
      [
        'merchant_id,merchant_name,channel,day,currency,payments,gross_minor,refunds,refunds_minor,fees_minor,adjustments_minor,net_minor,signed_off',
        `${ids.a},Tui Tea 图伊茶,wechat,${D},NZD,2,3100,0,0,19,100,3181,true`,
        `${ids.b},"'=Kea Kiwi, ""Kea""",wechat,${D},NZD,1,5000,0,0,30,0,4970,true`,
      ].sort((x, y) => (x.startsWith('merchant_id') ? -1 : y.startsWith('merchant_id') ? 1 : x.localeCompare(y))),
    );
    await page.screenshot({ path: join(SHOTS, `${kind}-5-settlement.png`), fullPage: true });
    // Counters: every merchant's, the linked one connected, problems highlighted.
    await page.click('#tabs button[data-tab=counters]');
    const front = page.locator(`#counter-list tr[data-terminal="${counters.front}"]`);
    await expect.poll(() => front.textContent()).toContain('connected');
    expect(await page.locator('#counter-list tbody tr').count()).toBe(3);
    expect(await front.textContent()).toContain('Cuba St (tui-cuba)');
    expect(await front.getAttribute('class')).toBe('has-problem');
    expect(await front.locator('.dev-problem').allTextContents()).toEqual([
      'printer: held (paper out)',
      'scanner: disconnected (unplugged)',
    ]);
    expect(await front.locator('.dev[data-kind=display]').getAttribute('class')).toBe('dev');
    expect(await page.locator(`#counter-list tr[data-terminal="${counters.back}"]`).textContent()).toContain(
      'no report yet',
    );
    const kea = page.locator(`#counter-list tr[data-terminal="${counters.kea}"]`);
    expect(await kea.textContent()).toContain('not linked to this bridge');
    expect(await kea.locator('.dev-problem').count()).toBe(0);
    await page.locator('#counters').screenshot({ path: join(SHOTS, `${kind}-7-counters.png`) });
    // HQ finance changes nothing: no Terminals tab to pair a counter, and the API refuses it.
    expect(await page.locator('#tabs button[data-tab=terminals]').isHidden()).toBe(true);
    const refused = await page.evaluate(async () => {
      const me = (await (await fetch('/hq/api/me')).json()) as { csrf: string };
      const r = await fetch('/hq/api/pairing-codes', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': me.csrf },
        body: JSON.stringify({ store: 'tui-cuba', terminalName: 'Counter 2' }),
      });
      return { status: r.status, body: (await r.json()) as { error?: { code?: string }; code?: string } };
    });
    expect(refused.status).toBe(403);
    expect(errors).toEqual([]);
    await ctx.close();
  }, 120_000);

  it("a merchant's user sees only their own merchant's settlement and counters", async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await login(page, 'kea', 'kea-pass-1');
    await expect.poll(() => page.isVisible('#settlement')).toBe(true);
    expect(await page.isVisible('#tabs button[data-tab=overview]')).toBe(false);
    await page.fill('#st-from', D);
    await page.fill('#st-to', D);
    await page.click('#st-load');
    // The table shows a one-row "no settlement" placeholder until the answer arrives: wait
    // for the merchant's row itself, then count.
    await expect.poll(() => page.textContent('#st-list')).toContain('Kea Kiwi');
    expect(await page.locator('#st-list tbody tr').count()).toBe(1);
    expect(await page.textContent('#st-list')).not.toContain('Tui Tea');
    const probe = await page.evaluate(
      async ([d, other]: string[]) => {
        const get = async (p: string) => {
          const r = await fetch(p);
          return { status: r.status, text: await r.text() };
        };
        return {
          overview: (await get('/hq/api/overview')).status,
          day: (await get(`/hq/api/days/wechat/${d}`)).status,
          files: (await get('/hq/api/files')).status,
          other: await get(`/hq/api/settlement?from=${d}&to=${d}&merchant=${other}`),
          csv: await get(`/hq/api/settlement.csv?from=${d}&to=${d}&merchant=${other}`),
        };
      },
      [D, ids.a],
    );
    expect(probe).toMatchObject({ overview: 403, day: 403, files: 403 });
    expect(probe.other.text).not.toContain(ids.a);
    expect(probe.csv.text).not.toContain(ids.a);
    expect(probe.csv.text).toContain(ids.b);
    await page.screenshot({ path: join(SHOTS, `${kind}-6-merchant.png`), fullPage: true });
    // Their counters, and never another merchant's.
    await page.click('#tabs button[data-tab=counters]');
    await expect.poll(() => page.locator('#counter-list tbody tr').count()).toBe(1);
    expect(await page.locator('#counter-list tbody tr').getAttribute('data-terminal')).toBe(counters.kea);
    expect(await page.textContent('#counter-list')).not.toContain('Cuba St');
    const api = await page.evaluate(async () => (await fetch('/hq/api/terminals?merchant=all')).text());
    expect(api).not.toContain(counters.front);
    expect(api).not.toContain(counters.back);
    await ctx.close();
  }, 60_000);

  it('sessions: HttpOnly SameSite=Strict cookie, CSRF token required for changes, logins rate-limited', async () => {
    const res = await fetch(`${bridge.url}/hq/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'fin', password: 'finance-pass-1' }),
    });
    const cookie = res.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^kauri_hq=[A-Za-z0-9_-]{43}; Path=\/hq; HttpOnly; SameSite=Strict; Max-Age=43200$/);
    const { csrf } = (await res.json()) as { csrf: string };
    const headers = { cookie: cookie.split(';')[0]!, 'content-type': 'application/json' };
    const signOff = (h: Record<string, string>) =>
      fetch(`${bridge.url}/hq/api/days/wechat/2026-11-17/sign-off`, { method: 'POST', headers: h, body: '{}' });
    expect((await signOff(headers)).status).toBe(403);
    expect((await signOff({ ...headers, 'x-csrf-token': 'forged' })).status).toBe(403);
    const form = await fetch(`${bridge.url}/hq/api/days/wechat/2026-11-17/sign-off`, {
      method: 'POST',
      headers: { cookie: headers.cookie, 'content-type': 'application/x-www-form-urlencoded', 'x-csrf-token': csrf },
      body: 'a=1',
    });
    expect(form.status).toBe(403);
    const ok = await signOff({ ...headers, 'x-csrf-token': csrf });
    expect(ok.status).toBe(409); // past CSRF: refused only because the day was never reconciled
    expect(((await ok.json()) as { error: { message: string } }).error.message).toContain('has not been reconciled');
    expect((await fetch(`${bridge.url}/hq/api/overview`)).status).toBe(401);
    const page = await fetch(`${bridge.url}/hq`);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");

    const attempt = () =>
      fetch(`${bridge.url}/hq/api/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'kea', password: 'guess' }),
      });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await attempt()).status);
    // Three free attempts and one more, then this client waits (hq/sessions.test.ts: growing delays, other clients unaffected).
    expect(statuses).toEqual([401, 401, 401, 401, 429, 429]);
    const right = await fetch(`${bridge.url}/hq/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'kea', password: 'kea-pass-1' }),
    });
    expect(right.status).toBe(429);
  }, 60_000);
});
