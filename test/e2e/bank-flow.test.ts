import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBridge } from '../../cloud-bridge/bridge.js';
import { createLogger } from '../../cloud-bridge/logger.js';
import {
  launchChromium,
  startBankBridge,
  startBankSimProcess,
  uniqueNo,
  waitFor,
  type BankBridge,
  type BankSimProcess,
} from './bank-support.js';

// The bank channel end to end, as a customer meets it: the merchant API quotes and creates a
// school-fees payment, Chromium follows the auto-submitting form to `kauri sim bank`, pays
// (or fails) on its bank page and comes back; the batched notify makes the order paid.

let sim: BankSimProcess;
let b: BankBridge;
let browser: Browser;

beforeAll(async () => {
  // Simulator 4× fast: a batch gathers for 0.5 s after a payment (room for two quick
  // payments on a busy machine), retries after 2.5 s.
  sim = await startBankSimProcess({ KAURI_TIME_SCALE: '4' });
  // The bridge at real speed: it asks the gateway about an open order every 5 s, so a
  // payment seen within that is the notify's doing.
  b = await startBankBridge(sim, { timeScale: 1 });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await b?.stop();
  await sim?.stop();
});

const payment = async (no: string) => (await b.api('GET', `/api/v1/payments/${no}`)).body;

describe('bank channel through a real browser', () => {
  it('pulled the bank rate at start-up, with its source and times, into the history', async () => {
    expect(b.bridge.fxStartReport?.ok).toEqual([]); // no bank account existed yet at start
    const report = await b.bridge.fx.pullAll();
    expect(report.ok).toEqual([
      expect.objectContaining({ channel: 'bank', source: 'bank', currency: 'NZD', rate: '4.235' }),
    ]);
    const history = await b.bridge.fx.history({ channel: 'bank' });
    expect(history[0]).toMatchObject({ channel: 'bank', currency: 'NZD', rate: '4.235' });
    expect(Date.parse(history[0]!.publishedAt)).toBeLessThanOrEqual(Date.parse(history[0]!.fetchedAt));
  });

  it('school fees of NZD 12,345.67: quoted in CNY with rate and time, paid in the simulator, paid at the bridge', async () => {
    const quote = await b.api('GET', '/api/v1/fx/quote?channel=bank&amount_minor=1234567&currency=NZD');
    expect(quote.status).toBe(200);
    // 12,345.67 × 4.2350 × 1.02 = 53,329.590699 → rounded up to the fen
    expect(quote.body).toMatchObject({
      channel: 'bank',
      amount_minor: 1234567,
      currency: 'NZD',
      cny_minor: 5332960,
      rate: '4.235',
      markup: '0.02',
      source: 'bank',
    });
    expect(Object.keys(quote.body).sort()).toEqual([
      'amount_minor',
      'channel',
      'cny_minor',
      'currency',
      'expires_at',
      'markup',
      'quote_id',
      'rate',
      'rate_time',
      'source',
    ]);
    expect(Date.parse(quote.body.expires_at) - Date.now()).toBeGreaterThan(0);

    const no = uniqueNo('FEES');
    const created = await b.api('POST', '/api/v1/payments', {
      out_trade_no: no,
      amount_minor: 1234567,
      currency: 'NZD',
      channel: 'bank',
      mode: 'bank',
      quote_id: quote.body.quote_id,
      description: 'School fees 学费',
    });
    expect(created.status).toBeLessThan(300);
    expect(created.body).toMatchObject({
      status: 'pending',
      cny_quote_minor: 5332960,
      rate: '4.235',
      rate_time: quote.body.rate_time,
    });
    expect(created.body.redirect_url).toMatch(new RegExp(`^${b.bridge.url}/pay/bank/\\d{8}-8888-`));

    const page = await browser.newPage();
    try {
      await page.goto(created.body.redirect_url);
      // The auto-submitting form lands on the gateway's bank page with the exact CNY amount.
      await page.waitForURL(`${sim.url}/prs/user_payment.checkit`);
      expect(await page.getByTestId('sim-amount').textContent()).toBe('53329.60');
      await page.getByLabel('中国建设银行').check();
      await page.getByTestId('sim-pay').click();
      await page.waitForURL(new RegExp(`^${b.bridge.url}/return/bank/`));
      expect(await page.getByTestId('bank-return-status').textContent()).toBe('PAID');
      expect(await page.getByTestId('bank-return-text').textContent()).toMatch(/商户/); // the customer reads Chinese
    } finally {
      await page.close();
    }
    const paid = await waitFor('the batched notify', async () => {
      const p = await payment(no);
      return p.status === 'paid' ? p : undefined;
    });
    expect(paid).toMatchObject({ cny_quote_minor: 5332960, cny_charged_minor: 5332960, rate: '4.235' });
    const history = await b.bridge.orders.history(paid.id);
    expect(history.find((e) => e.to_status === 'paid')?.cause).toBe('channel_notify');
    const simOrder = (await sim.control('GET', '/sim/orders')).body.orders.find(
      (o: { v_oid: string }) => o.v_oid === created.body.redirect_url.split('/').pop(),
    );
    expect(simOrder).toMatchObject({ status: 'paid', v_amount: '53329.60', pmode: '中国建设银行' });

    // A full refund gives back exactly the CNY paid.
    const refund = await b.api('POST', `/api/v1/payments/${no}/refunds`, {
      out_refund_no: `${no}R`,
      amount_minor: 1234567,
    });
    expect(refund.status).toBe(201);
    expect(refund.body.status).toBe('succeeded');
    const after = (await sim.control('GET', '/sim/orders')).body.orders.find(
      (o: { v_oid: string }) => o.v_oid === simOrder.v_oid,
    );
    expect(after.refunds).toEqual([expect.objectContaining({ amount: '53329.60' })]);
  });

  it('two payments made together arrive in one batched notify and both become paid', async () => {
    const nos = [uniqueNo('B1'), uniqueNo('B2')];
    const oids: string[] = [];
    for (const no of nos) {
      const c = await b.api('POST', '/api/v1/payments', {
        out_trade_no: no,
        amount_minor: 5000,
        currency: 'NZD',
        channel: 'bank',
        mode: 'bank',
      });
      expect(c.status).toBeLessThan(300);
      const oid = c.body.redirect_url.split('/').pop() as string;
      oids.push(oid);
      // The form must reach the gateway before it can be paid: post it as a browser would.
      const page = await browser.newPage();
      await page.goto(c.body.redirect_url);
      await page.waitForURL(`${sim.url}/prs/user_payment.checkit`);
      await page.close();
    }
    for (const oid of oids) expect((await sim.control('POST', '/sim/pay', { v_oid: oid })).status).toBe(200);
    for (const no of nos) await waitFor(`${no} paid`, async () => (await payment(no)).status === 'paid');
    // (The bridge's own order query may have seen them paid first; the batch still comes, and is acknowledged.)
    await waitFor('one batch of both, acknowledged', async () => {
      const jobs = (await sim.control('GET', '/sim/orders')).body.notifies as Array<{
        meta: { v_oid: string };
        status: string;
      }>;
      return jobs.find((j) => j.meta.v_oid === oids.join(','))?.status === 'acked';
    });
  });

  it('a lost notify is made up for by the order query', async () => {
    const no = uniqueNo('Q');
    const c = await b.api('POST', '/api/v1/payments', {
      out_trade_no: no,
      amount_minor: 777,
      currency: 'NZD',
      channel: 'bank',
      mode: 'bank',
    });
    const page = await browser.newPage();
    await page.goto(c.body.redirect_url);
    await page.waitForURL(`${sim.url}/prs/user_payment.checkit`);
    await sim.control('POST', '/sim/faults', { target: 'notify', mode: 'drop-notify', count: 1 });
    await page.getByTestId('sim-pay').click();
    await page.waitForURL(new RegExp(`^${b.bridge.url}/return/bank/`));
    await page.close();
    const paid = await waitFor(
      'paid by query',
      async () => {
        const p = await payment(no);
        return p.status === 'paid' ? p : undefined;
      },
      30_000,
    );
    expect(paid.cny_charged_minor).toBe(paid.cny_quote_minor);
  });

  it('a failed payment and an abandoned one both end closed at expiry', async () => {
    const failedNo = uniqueNo('F');
    const abandonedNo = uniqueNo('A');
    const f = await b.api('POST', '/api/v1/payments', {
      out_trade_no: failedNo,
      amount_minor: 250000,
      currency: 'NZD',
      channel: 'bank',
      mode: 'bank',
    });
    const a = await b.api('POST', '/api/v1/payments', {
      out_trade_no: abandonedNo,
      amount_minor: 250000,
      currency: 'NZD',
      channel: 'bank',
      mode: 'bank',
    });
    expect(f.status).toBeLessThan(300);
    expect(a.status).toBeLessThan(300);
    const page = await browser.newPage();
    await page.goto(f.body.redirect_url);
    await page.waitForURL(`${sim.url}/prs/user_payment.checkit`);
    await page.getByTestId('sim-fail').click();
    await page.waitForURL(new RegExp(`^${b.bridge.url}/return/bank/`));
    expect(await page.getByTestId('bank-return-status').textContent()).toBe('FAILED');
    await page.close();
    // The refusal's notify arrives and is acknowledged, but the order stays open for another try.
    const oid = f.body.redirect_url.split('/').pop();
    await waitFor('the refusal notify acked', async () => {
      const jobs = (await sim.control('GET', '/sim/orders')).body.notifies as Array<{
        meta: { v_oid: string };
        status: string;
      }>;
      return jobs.some((j) => j.meta.v_oid.includes(oid) && j.status === 'acked');
    });
    expect((await payment(failedNo)).status).toBe('pending');
    expect((await payment(abandonedNo)).status).toBe('pending');
    // 16 minutes later (the default expiry is 15) both are closed after a last query.
    b.clock.advance(16 * 60_000);
    b.bridge.scheduler.kick();
    for (const no of [failedNo, abandonedNo])
      await waitFor(`${no} closed`, async () => (await payment(no)).status === 'closed', 30_000);
    // The form page now says so instead of sending the customer to the bank.
    const late = await fetch(a.body.redirect_url);
    expect(late.status).toBe(410);
  });

  /** A bank payment of `amountMinor` NZD cents, paid at the simulator; its gateway order. */
  async function paidBankPayment(no: string, amountMinor: number): Promise<{ v_oid: string }> {
    const c = await b.api('POST', '/api/v1/payments', {
      out_trade_no: no,
      amount_minor: amountMinor,
      currency: 'NZD',
      channel: 'bank',
      mode: 'bank',
    });
    // The customer's browser posts the form to the gateway; here as plain HTTP.
    const html = await (await fetch(c.body.redirect_url)).text();
    const fields = Object.fromEntries(
      [...html.matchAll(/name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1]!, m[2]!.replace(/&#38;/g, '&')]),
    );
    const posted = await fetch(`${sim.url}/prs/user_payment.checkit`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });
    expect(posted.status).toBe(200);
    expect((await sim.control('POST', '/sim/pay', { v_oid: fields.v_oid })).status).toBe(200);
    await waitFor('paid', async () => (await payment(no)).status === 'paid');
    return { v_oid: fields.v_oid! };
  }

  /** The gateway's own record of an order: what was paid and what it refunded, in fen. */
  async function atGateway(vOid: string): Promise<{ paid: number; refunds: number[] }> {
    const order = (await sim.control('GET', '/sim/orders')).body.orders.find(
      (o: { v_oid: string }) => o.v_oid === vOid,
    );
    const fen = (s: string) => Math.round(Number(s) * 100);
    return { paid: fen(order.v_amount), refunds: order.refunds.map((r: { amount: string }) => fen(r.amount)) };
  }

  it('partial refunds give back the CNY in proportion and never more than was paid', async () => {
    const no = uniqueNo('PR');
    const { v_oid } = await paidBankPayment(no, 10001);
    for (const [i, amount] of [3333, 3333, 3335].entries()) {
      const r = await b.api('POST', `/api/v1/payments/${no}/refunds`, {
        out_refund_no: `${no}R${i}`,
        amount_minor: amount,
      });
      expect(r.body.status, JSON.stringify(r.body)).toBe('succeeded');
    }
    expect((await payment(no)).status).toBe('refunded');
    const { paid, refunds } = await atGateway(v_oid);
    expect(refunds.reduce((s, r) => s + r, 0)).toBe(paid);
  });

  it('partial refunds add up to the CNY paid even when the gateway cannot list what it refunded', async () => {
    const no = uniqueNo('PL');
    const price = 10001;
    const { v_oid } = await paidBankPayment(no, price);
    const { paid } = await atGateway(v_oid);
    // Three parts whose CNY shares all round up when each is rounded on its own: asked that
    // way, the last would be 1 fen more than the gateway still holds, and refused.
    const share = (part: number) => Math.round((paid * part) / price);
    let parts: number[] | undefined;
    for (let a = 1; a < price / 2 && !parts; a++)
      for (const bPart of [a, a + 1, a + 7]) {
        const c = price - a - bPart;
        if (c > 0 && share(a) + share(bPart) + share(c) > paid) {
          parts = [a, bPart, c];
          break;
        }
      }
    expect(parts, 'a split whose shares round up').toBeDefined();
    // The refund list answers HTTP 500 throughout.
    const list = '/merchant/refund/ref_ack_oid_list_utf8.jsp';
    expect((await sim.control('POST', '/sim/faults', { target: list, mode: 'http500', count: 20 })).status).toBe(200);
    try {
      for (const [i, amount] of parts!.entries()) {
        const r = await b.api('POST', `/api/v1/payments/${no}/refunds`, {
          out_refund_no: `${no}R${i}`,
          amount_minor: amount,
        });
        expect(r.body.status, JSON.stringify(r.body)).toBe('succeeded');
      }
    } finally {
      await sim.control('DELETE', '/sim/faults');
    }
    expect((await payment(no)).status).toBe('refunded');
    const { refunds } = await atGateway(v_oid);
    expect(refunds).toHaveLength(3);
    expect(refunds.reduce((s, r) => s + r, 0)).toBe(paid);
  });

  it('a bridge on a fixed port without a public URL (kauri bridge on existing data) pulls its rates at start', async () => {
    const port = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => resolve(p));
      });
    });
    const filesDir = mkdtempSync(join(tmpdir(), 'kauri-bank-files-'));
    const again = await startBridge({
      dbUrl: b.bridge.store.url,
      port,
      secretKey: 'e2e-bank-secret-key-0123456789abcdef',
      filesDir,
      log: createLogger({ level: 'silent' }),
      fx: { pullAtStart: true },
      runJobs: false,
    });
    try {
      expect(again.fxStartReport?.failed).toEqual([]); // was "Invalid URL": notify URLs were built before listen
      expect(again.fxStartReport?.ok).toEqual([expect.objectContaining({ channel: 'bank', rate: '4.235' })]);
    } finally {
      await again.close();
      rmSync(filesDir, { recursive: true, force: true });
    }
  });
});
