import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, UA, startSim, startWorld, type Sim, type World } from './onecode-support.js';
import { skipUnless } from '../support/skip.js';

// The pages a customer (or HQ) opens may not be framed by another site (clickjacking), and
// they run only scripts and styles we wrote: each page in real Chromium inside a foreign
// iframe (refused), its headers, and each page still working under its policy with no
// violation reported.

describe.skipIf(skipUnless(existsSync(CHROMIUM), `${CHROMIUM} is missing: the page security tests are skipped`))(
  'page security headers in Chromium',
  () => {
    let bank: Sim;
    let w: World;
    let browser: Browser;
    let framer: Server;
    let framerUrl = '';
    const pages: Record<string, string> = {};

    beforeAll(async () => {
      bank = await startSim('bank', { KAURI_TIME_SCALE: '10' });
      w = await startWorld({ bank }, { timeScale: 20 });
      await w.bridge.fx.pullAll();
      browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
      // Another site (another origin: another port) that frames whatever ?src= names.
      framer = createServer((req, res) => {
        const src = new URL(req.url ?? '/', 'http://x').searchParams.get('src') ?? '';
        res
          .writeHead(200, { 'content-type': 'text/html' })
          .end(
            `<!doctype html><h1>Win a prize</h1><iframe id="victim" src="${src.replace(/"/g, '&quot;')}" width="600" height="600"></iframe>`,
          );
      });
      await new Promise<void>((r) => framer.listen(0, '127.0.0.1', r));
      framerUrl = `http://127.0.0.1:${(framer.address() as { port: number }).port}/`;

      const c = (
        await w.api('POST', '/api/v1/checkouts', {
          amount_minor: 2450,
          currency: 'NZD',
          store: w.seed.storeCode,
          expires_in_s: 3600,
        })
      ).body;
      pages.checkout = c.url;
      pages.sticker = `${w.bridge.url}/s/${w.seed.storeCode}`;
      const quote = (await w.api('GET', '/api/v1/fx/quote?channel=bank&amount_minor=3100&currency=NZD')).body;
      const pay = await w.api('POST', '/api/v1/payments', {
        out_trade_no: `sec-${Date.now()}`,
        amount_minor: 3100,
        currency: 'NZD',
        channel: 'bank',
        mode: 'bank',
        quote_id: quote.quote_id,
      });
      expect(pay.status).toBe(201);
      pages.bank = pay.body.redirect_url;
      pages.hq = `${w.bridge.url}/hq`;
    }, 120_000);

    afterAll(async () => {
      await browser?.close();
      await new Promise((r) => framer?.close(r));
      await w?.stop();
      await bank?.stop();
    });

    /** Console messages about the Content-Security-Policy while `fn` runs. */
    const cspReports = async (fn: (page: Page) => Promise<void>): Promise<string[]> => {
      const ctx = await browser.newContext({ userAgent: UA.desktop, locale: 'en-NZ' });
      const said: string[] = [];
      try {
        const page = await ctx.newPage();
        page.on('console', (m) => {
          if (/Content Security Policy|frame-ancestors|Refused to/i.test(m.text())) said.push(m.text());
        });
        await fn(page);
      } finally {
        await ctx.close();
      }
      return said;
    };

    for (const name of ['checkout', 'sticker', 'bank', 'hq'] as const) {
      it(`${name}: strict CSP with frame-ancestors 'none', nosniff and a Referrer-Policy`, async () => {
        const res = await fetch(pages[name]!, { headers: { 'user-agent': UA.desktop }, redirect: 'manual' });
        expect(res.status).toBe(200);
        const csp = res.headers.get('content-security-policy') ?? '';
        expect(csp).toMatch(/frame-ancestors 'none'/);
        expect(csp).toMatch(/default-src 'none'|default-src 'self'/);
        expect(csp).toMatch(/script-src 'self'/);
        expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
        expect(csp).toMatch(/base-uri 'none'/);
        expect(res.headers.get('x-content-type-options')).toBe('nosniff');
        expect(res.headers.get('referrer-policy')).toMatch(/^(no-referrer|same-origin)$/);
        await res.text();
      });

      it(`${name}: refused inside another site's iframe`, async () => {
        let framed = -1;
        const said = await cspReports(async (page) => {
          await page.goto(`${framerUrl}?src=${encodeURIComponent(pages[name]!)}`);
          await expect.poll(() => page.frames().length).toBe(2);
          const frame = page.frames()[1]!;
          await frame.waitForLoadState('load').catch(() => undefined);
          // The page would show its merchant, amount, form or login; refused, the frame is empty.
          framed = await frame
            .locator('[data-testid], form, input')
            .count()
            .catch(() => 0);
        });
        expect(framed).toBe(0);
        expect(said.join('\n')).toMatch(/frame-ancestors 'none'/);
      });
    }

    it("hq's reconciliation workspace: framed by the console's own origin only", async () => {
      const workspace = `${pages.hq!}/workspace`;
      const res = await fetch(workspace);
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).toMatch(/frame-ancestors 'self'/);
      expect(csp).toMatch(/script-src 'self'/);
      expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
      await res.text();
      let framed = -1;
      const said = await cspReports(async (page) => {
        await page.goto(`${framerUrl}?src=${encodeURIComponent(workspace)}`);
        await expect.poll(() => page.frames().length).toBe(2);
        const frame = page.frames()[1]!;
        await frame.waitForLoadState('load').catch(() => undefined);
        framed = await frame
          .locator('[data-testid], form, input')
          .count()
          .catch(() => 0);
      });
      expect(framed).toBe(0);
      expect(said.join('\n')).toMatch(/frame-ancestors 'self'/);
    });

    it('the pages still work under their policy, reporting no violation', async () => {
      const said = await cspReports(async (page) => {
        await page.goto(pages.checkout!);
        await expect.poll(() => page.getByTestId('pay-amount').textContent()).toBe('NZD 24.50');
        // The stylesheet applied (a style-src violation would leave the page unstyled).
        expect(await page.evaluate(() => getComputedStyle(document.body).fontFamily)).not.toBe('');
        expect(await page.evaluate(() => document.styleSheets.length)).toBeGreaterThan(0);
        await page.goto(pages.sticker!);
        await expect.poll(() => page.getByTestId('static-form').count()).toBe(1);
        // The bank page's inline auto-submit runs: the browser arrives at the gateway by itself.
        await page.goto(pages.bank!);
        await page.waitForURL(`${bank.url}/prs/user_payment.checkit`);
        await page.goto(pages.hq!);
        await expect.poll(() => page.locator('input[type=password]').count()).toBeGreaterThan(0);
      });
      expect(said).toEqual([]);
    });
  },
);
