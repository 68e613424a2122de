import { createServer, type Server } from 'node:http';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { Agent, request } from 'undici';
import { verifyKauriWebhook } from '../../cloud-bridge/webhooks/verify-signature.js';
import { portBase, spawnKauri, type KauriProcess } from '../support/processes.js';
import { CHROMIUM, CHROMIUM_ARGS, UA, actAsWechat, type Sim } from './onecode-support.js';
import { skipUnless } from '../support/skip.js';

// As a new user tries it: `kauri start`, then the demo store's code (endpoints.json
// staticCode) and a checkout's code, each opened from WeChat, Alipay and a plain browser,
// while the merchant's webhook receiver gets the signed events.

describe.skipIf(skipUnless(existsSync(CHROMIUM), `${CHROMIUM} is missing: the kauri start one-code test is skipped`))(
  'one code with kauri start',
  () => {
    let data: string;
    let kauri: KauriProcess;
    let endpoints: any;
    let browser: Browser;
    let wechat: Sim;
    let agent: Agent;
    let receiver: Server;
    let receiverUrl: string;
    let secret = '';
    const received: Array<{ id: string; type: string; data: any }> = [];
    const unverified: string[] = [];

    beforeAll(async () => {
      data = mkdtempSync(join(tmpdir(), 'kauri-onecode-start-'));
      const base = await portBase();
      kauri = await spawnKauri(['start', '--data', data, '--port-base', String(base)], {
        ready: /Press Ctrl-C to stop/,
        timeoutMs: 90_000,
      });
      endpoints = JSON.parse(readFileSync(join(data, 'endpoints.json'), 'utf8'));
      agent = new Agent({ connect: { ca: readFileSync(join(data, 'sims', 'wechat', 'ca.pem'), 'utf8') } });
      wechat = {
        name: 'wechat',
        url: endpoints.sims.wechat,
        stateDir: join(data, 'sims', 'wechat'),
        async control(path, body) {
          const res = await request(endpoints.sims.wechat + path, {
            method: 'POST',
            body: JSON.stringify(body ?? {}),
            headers: { 'content-type': 'application/json' },
            dispatcher: agent,
          });
          return { status: res.statusCode, body: (await res.body.json()) as any };
        },
        async get(path) {
          return (await request(endpoints.sims.wechat + path, { dispatcher: agent })).body.json() as any;
        },
        async stop() {},
      };
      receiver = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          try {
            const e = verifyKauriWebhook(Buffer.concat(chunks), req.headers['kauri-signature'], secret);
            received.push({ id: e.id, type: e.type, data: e.data });
            res.writeHead(204).end();
          } catch (err) {
            unverified.push((err as Error).message);
            res.writeHead(400).end();
          }
        });
      });
      await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
      receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hooks/kauri`;
      browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    }, 120_000);

    afterAll(async () => {
      await browser?.close();
      await agent?.close();
      await new Promise((r) => receiver?.close(r));
      expect(await kauri?.stop('SIGTERM')).toBe(0);
      rmSync(data, { recursive: true, force: true });
    });

    const api = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(endpoints.bridge + path, {
        method,
        headers: {
          authorization: `Bearer ${endpoints.demo.apiKey}`,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        body: body !== undefined ? JSON.stringify(body) : undefined,
      });
      return { status: res.status, body: (await res.json()) as any };
    };
    const waitPaid = async (token: string) => {
      for (let i = 0; i < 300; i++) {
        const c = (await api('GET', `/api/v1/checkouts/${token}`)).body;
        if (c.status === 'paid') return c;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`checkout ${token} was not paid`);
    };

    it('announces the store code, and the merchant sets a webhook', async () => {
      expect(endpoints.staticCode).toBe(`${endpoints.bridge}/s/${endpoints.demo.storeCode}`);
      expect(kauri.stdout()).toContain(endpoints.staticCode);
      const set = await api('PUT', '/api/v1/webhook', { url: receiverUrl });
      expect(set.status).toBe(200);
      secret = set.body.secret;
    });

    it('the store code from WeChat: amount typed, OAuth, JSAPI, paid; the webhook hears static_code.paid', async () => {
      const ctx = await browser.newContext({ userAgent: UA.wechat, ignoreHTTPSErrors: true });
      await actAsWechat(ctx, wechat);
      try {
        const page = await ctx.newPage();
        await page.goto(endpoints.staticCode);
        await page.getByTestId('pay-amount-input').fill('8.80');
        await page.getByTestId('pay-button').click();
        await expect
          .poll(
            () =>
              page
                .getByTestId('checkout-status')
                .getAttribute('data-status')
                .catch(() => null),
            { timeout: 30_000 },
          )
          .toBe('paid');
        expect(await page.getByTestId('pay-amount').textContent()).toBe('NZD 8.80');
      } finally {
        await ctx.close();
      }
      await expect
        .poll(() => received.filter((e) => e.type === 'static_code.paid').length, { timeout: 30_000 })
        .toBe(1);
      const e = received.find((x) => x.type === 'static_code.paid')!;
      expect(e.data.checkout).toMatchObject({ kind: 'static', amount_minor: 880, status: 'paid' });
      expect(e.data.payment).toMatchObject({ channel: 'wechat', mode: 'jsapi', status: 'paid' });
    });

    it('a checkout from Alipay, and another from a desktop browser by online banking in CNY; the webhook hears both', async () => {
      const a = (
        await api('POST', '/api/v1/checkouts', { amount_minor: 4200, currency: 'NZD', store: endpoints.demo.storeCode })
      ).body;
      const ali = await browser.newContext({ userAgent: UA.alipay });
      try {
        const page = await ali.newPage();
        await page.goto(a.url);
        expect(page.url().startsWith(endpoints.sims.alipay)).toBe(true);
        await page.getByTestId('sim-pay').click();
      } finally {
        await ali.close();
      }
      expect((await waitPaid(a.token)).payment.channel).toBe('alipay');

      const b = (
        await api('POST', '/api/v1/checkouts', { amount_minor: 1999, currency: 'NZD', store: endpoints.demo.storeCode })
      ).body;
      const desk = await browser.newContext({ userAgent: UA.desktop, locale: 'en-NZ' });
      try {
        const page = await desk.newPage();
        await page.goto(b.url);
        expect(await page.getByTestId('bank-cny').textContent()).toMatch(/^CNY \d+\.\d\d$/);
        await page.getByTestId('pay-bank').click();
        await page.waitForURL(new RegExp(`^${endpoints.sims.bank}/`));
        await page.getByLabel('中国建设银行').check();
        await page.getByTestId('sim-pay').click();
        await page.waitForURL(new RegExp(`^${endpoints.bridge}/`));
      } finally {
        await desk.close();
      }
      expect((await waitPaid(b.token)).payment).toMatchObject({ channel: 'bank', amount_minor: 1999 });
      await expect
        .poll(
          () =>
            received
              .filter((e) => e.type === 'checkout.paid')
              .map((e) => e.data.checkout.token)
              .sort(),
          { timeout: 30_000 },
        )
        .toEqual([a.token, b.token].sort());
      expect(unverified).toEqual([]);
      expect(new Set(received.map((e) => e.id)).size).toBe(received.length);
    }, 90_000);
  },
);
