import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnKauri, type KauriProcess } from '../support/processes.js';

// What a new user does with two terminals and curl: `kauri sim
// alipay` and `kauri bridge --demo` running; a web payment and an in-store precreate made
// through the merchant API, both paid in the simulator, both seen paid, one refunded in part.

describe('kauri sim alipay + kauri bridge --demo', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kauri-alipay-cli-'));
  let sim: KauriProcess;
  let bridge: KauriProcess;
  let simUrl: string;
  let bridgeUrl: string;
  let apiKey: string;

  beforeAll(async () => {
    sim = await spawnKauri(['sim', 'alipay', '--port', '0', '--state', join(dir, 'alipay')], {
      ready: /alipay simulator listening on (\S+)/,
      timeoutMs: 60_000,
    });
    simUrl = sim.ready;
    bridge = await spawnKauri(
      [
        'bridge',
        '--port',
        '0',
        '--db',
        `sqlite:${join(dir, 'bridge.db')}`,
        '--demo',
        '--alipay-sim',
        simUrl,
        '--alipay-sim-state',
        join(dir, 'alipay'),
      ],
      { ready: /bridge listening on (\S+)/, timeoutMs: 60_000 },
    );
    bridgeUrl = bridge.ready;
    apiKey = /demo API key: (\S+)/.exec(bridge.stdout())![1]!;
    expect(bridge.stdout()).toMatch(/channels: .*alipay/);
  });

  afterAll(async () => {
    await bridge?.stop();
    await sim?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(bridgeUrl + path, {
      method,
      headers: { authorization: `Bearer ${apiKey}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, body: (await res.json()) as any };
  };
  const simPay = async (body: unknown) => {
    const res = await fetch(`${simUrl}/sim/pay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as any };
  };

  it('a web payment and a precreate, both paid in the simulator, one refunded in part', async () => {
    const web = await api('POST', '/api/v1/payments', {
      out_trade_no: 'web-1001',
      amount_minor: 2500,
      currency: 'NZD',
      channel: 'alipay',
      mode: 'web',
      description: 'Online order 1001',
      return_url: 'http://127.0.0.1:9/thanks',
    });
    expect(web.body).toMatchObject({
      status: 'pending',
      redirect_url: expect.stringMatching(new RegExp(`^${simUrl}/gateway\\.do\\?`)),
    });
    const qr = await api('POST', '/api/v1/payments', {
      out_trade_no: 'counter-1002',
      amount_minor: 880,
      currency: 'NZD',
      channel: 'alipay',
      mode: 'precreate',
      description: 'Flat white',
    });
    expect(qr.body).toMatchObject({ status: 'pending', qr_code: expect.stringMatching(new RegExp(`^${simUrl}/qr/`)) });

    expect((await simPay({ redirect_url: web.body.redirect_url })).status).toBe(200);
    expect((await simPay({ qr_code: qr.body.qr_code })).status).toBe(200);

    const deadline = Date.now() + 20_000;
    let a: any;
    let b: any;
    while (Date.now() < deadline) {
      a = (await api('GET', '/api/v1/payments/web-1001')).body;
      b = (await api('GET', '/api/v1/payments/counter-1002')).body;
      if (a.status === 'paid' && b.status === 'paid') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(a).toMatchObject({ status: 'paid', channel_trade_no: expect.stringMatching(/^\d{28}$/) });
    expect(b).toMatchObject({ status: 'paid', cny_charged_minor: 3710, rate: '4.2156' });

    const refund = await api('POST', '/api/v1/payments/web-1001/refunds', {
      out_refund_no: 'web-1001-r1',
      amount_minor: 1000,
      reason: 'one item out of stock',
    });
    expect(refund.status).toBe(201);
    // forex_refund is asynchronous: accepted now, settled by Alipay a minute later (the
    // simulator's clock is moved on rather than waited for), then reported by its notify.
    expect(refund.body).toMatchObject({ out_refund_no: 'web-1001-r1', amount_minor: 1000, status: 'processing' });
    const clock = await fetch(`${simUrl}/sim/clock`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ now: new Date(Date.now() + 61_000).toISOString() }),
    });
    expect(clock.status).toBe(200);
    let r: any;
    const until = Date.now() + 20_000;
    while (Date.now() < until) {
      r = (await api('GET', '/api/v1/payments/web-1001/refunds')).body.data[0];
      if (r.status !== 'processing') break;
      await new Promise((res) => setTimeout(res, 100));
    }
    expect(r).toMatchObject({ out_refund_no: 'web-1001-r1', status: 'succeeded' });
    expect((await api('GET', '/api/v1/payments/web-1001')).body).toMatchObject({
      status: 'partially_refunded',
      refunded_minor: 1000,
    });
  });

  it('bad arguments exit non-zero with a one-line reason', async () => {
    for (const [args, reason] of [
      [['--port', 'seventy'], /port number/],
      [['--merchant', 'partner=123'], /partner must be 16 digits/],
    ] as const) {
      const p = await spawnKauri(['sim', 'alipay', ...args]);
      const code = p.proc.exitCode ?? (await once(p.proc, 'exit'))[0];
      expect(code).toBe(1);
      // The reason is the first line (the CLI root may add a "run with --help" hint after it).
      expect(p.stderr().trim().split('\n')[0]).toMatch(reason);
    }
  });
});
