import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { startSim, startWorld, type Sim, type World } from './onecode-support.js';

// The one-code pages face anyone with a phone: guessed tokens find nothing, amounts typed
// or tampered with in forms never change what is charged, return URLs go only where the
// merchant said, and a flood from one client is slowed down with a clear page.

describe('one-code security', () => {
  let alipay: Sim;
  let bank: Sim;
  let w: World;

  beforeAll(async () => {
    [alipay, bank] = await Promise.all([
      startSim('alipay', { KAURI_TIME_SCALE: '10' }),
      startSim('bank', { KAURI_TIME_SCALE: '10' }),
    ]);
    // The tests reach the bridge from loopback as a proxy would, naming each client in X-Forwarded-For.
    w = await startWorld({ alipay, bank }, { timeScale: 5, bridge: { trustProxy: '127.0.0.1' } });
    await w.bridge.fx.pullAll();
  }, 120_000);
  afterAll(async () => {
    await w?.stop();
    await Promise.all([alipay?.stop(), bank?.stop()]);
  });

  // Each test is its own client (the bridge trusts X-Forwarded-For from its loopback proxy), so their request counts do not mix.
  let clients = 0;
  const client = () => {
    clients += 1;
    const ip = `198.51.100.${clients}`;
    return (path: string, init: RequestInit = {}) =>
      fetch(w.bridge.url + path, {
        redirect: 'manual',
        ...init,
        headers: {
          'x-forwarded-for': ip,
          'user-agent': 'Mozilla/5.0 (X11; Linux x86_64)',
          ...(init.headers as Record<string, string> | undefined),
        },
      });
  };
  const form = (fields: Record<string, string>) => ({
    method: 'POST',
    body: new URLSearchParams(fields).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  const countCheckouts = async () =>
    Number(
      (
        await w.bridge.store.db
          .selectFrom('checkouts')
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );

  it('tokens carry at least 128 random bits; guessed ones find nothing, on the pages or the API', async () => {
    const tokens = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const c = (await w.api('POST', '/api/v1/checkouts', { amount_minor: 100 + i, currency: 'NZD' })).body;
      expect(Buffer.from(c.token, 'base64url').length).toBeGreaterThanOrEqual(16);
      expect(c.url).toBe(`${w.bridge.url}/c/${c.token}`);
      tokens.add(c.token);
    }
    expect(tokens.size).toBe(40);
    const get = client();
    for (let i = 0; i < 60; i++) {
      const guess = randomBytes(16).toString('base64url');
      const res = await get(`/c/${guess}`);
      expect(res.status).toBe(404);
      expect(await res.text()).toContain('data-status="not_found"');
    }
    for (const odd of ['x', '..%2F..%2Fetc%2Fpasswd', `${[...tokens][0]}x`, '%00']) {
      expect((await get(`/c/${odd}`)).status).toBe(404);
    }
    const api = await w.api('GET', `/api/v1/checkouts/${randomBytes(16).toString('base64url')}`);
    expect(api.status).toBe(404);
    expect(api.body.error.code).toBe('checkout_not_found');
  });

  it('the sticker refuses tampered or out-of-range amounts and creates nothing', async () => {
    const post = client();
    const before = await countCheckouts();
    for (const amount of [
      '-5',
      '0',
      '0.00',
      '1e3',
      '12.345',
      '5000.01',
      'abc',
      '',
      ' ',
      '99999999999',
      '12,50',
      '0x10',
      '１２',
    ]) {
      const res = await post(`/s/${w.seed.storeCode}`, form({ amount }));
      expect(res.status, amount).toBe(400);
      expect(await res.text(), amount).toContain('data-testid="pay-amount-error"');
    }
    // An amount field sent twice, or extra fields naming another store or amount, change nothing either.
    const res = await post(`/s/${w.seed.storeCode}`, {
      method: 'POST',
      body: 'amount=1.00&amount=9999&store=other&amount_minor=1',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.status).toBe(400);
    expect(await countCheckouts()).toBe(before);
    const ok = await post(`/s/${w.seed.storeCode}`, form({ amount: '5000.00', amount_minor: '1' }));
    expect(ok.status).toBe(303);
    const token = ok.headers.get('location')!.replace(/^\/c\//, '');
    expect((await w.api('GET', `/api/v1/checkouts/${token}`)).body).toMatchObject({
      amount_minor: 500000,
      kind: 'static',
      store_id: w.seed.storeId,
    });
    expect((await post('/s/no-such-store')).status).toBe(404);
  });

  it('the bank form cannot change the amount: a tampered quote or amount is ignored', async () => {
    const c = (await w.api('POST', '/api/v1/checkouts', { amount_minor: 990, currency: 'NZD' })).body;
    // A quote for one cent, as a tamperer would post it.
    const cheap = (await w.api('GET', '/api/v1/fx/quote?channel=bank&amount_minor=1&currency=NZD')).body;
    const right = (await w.api('GET', '/api/v1/fx/quote?channel=bank&amount_minor=990&currency=NZD')).body;
    const res = await client()(
      `/c/${c.token}/bank`,
      form({ quote_id: cheap.quote_id, amount_minor: '1', amount: '0.01', cny_minor: '1' }),
    );
    expect(res.status).toBe(303);
    const [order] = (await w.api('GET', `/api/v1/checkouts/${c.token}/payments`)).body.data;
    expect(order).toMatchObject({
      channel: 'bank',
      amount_minor: 990,
      currency: 'NZD',
      cny_quote_minor: right.cny_minor,
    });
  });

  it("return_url must be on the merchant's allowed domains, for checkouts and payments; nothing is created otherwise", async () => {
    for (const url of [
      'https://evil.example/thanks',
      'https://127.0.0.1.evil.example/',
      'http://localhost.evil.example/x',
    ]) {
      const c = await w.api('POST', '/api/v1/checkouts', { amount_minor: 500, currency: 'NZD', return_url: url });
      expect(c.status, url).toBe(400);
      expect(c.body.error.code).toBe('url_not_allowed');
      const p = await w.api('POST', '/api/v1/payments', {
        out_trade_no: `ru${Date.now()}`,
        amount_minor: 500,
        currency: 'NZD',
        channel: 'alipay',
        mode: 'web',
        return_url: url,
      });
      expect(p.status, url).toBe(400);
      expect(p.body.error.code).toBe('url_not_allowed');
    }
    expect(
      (
        await w.api('POST', '/api/v1/checkouts', {
          amount_minor: 500,
          currency: 'NZD',
          return_url: 'javascript:alert(1)',
        })
      ).status,
    ).toBe(400);
    const good = await w.api('POST', '/api/v1/payments', {
      out_trade_no: `ok${Date.now()}`,
      amount_minor: 500,
      currency: 'NZD',
      channel: 'alipay',
      mode: 'web',
      return_url: 'http://127.0.0.1:9/thanks',
    });
    expect(good.status).toBeLessThan(300);
    expect(good.body.redirect_url).toMatch(/^https?:\/\//);
    const c = await w.api('POST', '/api/v1/checkouts', {
      amount_minor: 500,
      currency: 'NZD',
      return_url: 'http://localhost:8080/done',
    });
    expect(c.status).toBe(201);
    expect(c.body.return_url).toBe('http://localhost:8080/done');
  });

  it('rate-limits a flooding client at 120 requests a minute by default, with a clear page; others are not affected', async () => {
    const c = (await w.api('POST', '/api/v1/checkouts', { amount_minor: 500, currency: 'NZD' })).body;
    const flood = client();
    const statuses: number[] = [];
    for (let i = 0; i < 125; i++) statuses.push((await flood(`/c/${c.token}`)).status);
    expect(statuses.slice(0, 120).every((s) => s === 200)).toBe(true);
    expect(statuses.slice(120).every((s) => s === 429)).toBe(true);
    const limited = await flood(`/s/${w.seed.storeCode}`);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('60');
    expect(limited.headers.get('content-type')).toMatch(/^text\/html/);
    const page = await limited.text();
    expect(page).toContain('Too many requests');
    expect(page).toContain('请求过于频繁');
    expect((await client()(`/c/${c.token}`)).status).toBe(200);
    // The merchant API is not behind the landing pages' limit.
    expect((await w.api('GET', `/api/v1/checkouts/${c.token}`)).status).toBe(200);
  });

  it('a cancelled checkout answers 410 with a page that says so in both languages, and takes no payment', async () => {
    const c = (await w.api('POST', '/api/v1/checkouts', { amount_minor: 640, currency: 'NZD' })).body;
    expect((await w.api('POST', `/api/v1/checkouts/${c.token}/cancel`)).body.status).toBe('cancelled');
    const get = client();
    const res = await get(`/c/${c.token}`, { headers: { 'user-agent': 'Mozilla/5.0 AlipayClient/10.5.26.8000' } });
    expect(res.status).toBe(410);
    const page = await res.text();
    expect(page).toContain('data-status="cancelled"');
    expect(page).toContain('已取消');
    expect(page).toContain('Cancelled');
    expect(page).toContain('NZD 6.40');
    expect((await get(`/c/${c.token}/bank`, form({}))).status).toBe(410);
    expect((await w.api('GET', `/api/v1/checkouts/${c.token}/payments`)).body.data).toEqual([]);
    expect((await get(`/c/${c.token}/status`)).status).toBe(200);
  });

  it('a waiting page may poll its status for minutes without being limited', async () => {
    const c = (await w.api('POST', '/api/v1/checkouts', { amount_minor: 640, currency: 'NZD' })).body;
    const get = client();
    const statuses: number[] = [];
    for (let i = 0; i < 200; i++) statuses.push((await get(`/c/${c.token}/status`)).status);
    expect(statuses.every((s) => s === 200)).toBe(true);
  });

  it('the limit is configurable per bridge', async () => {
    const strict = await startWorld({ alipay }, { bridge: { landingRateLimitPerMinute: 5, trustProxy: '127.0.0.1' } });
    try {
      const c = (await strict.api('POST', '/api/v1/checkouts', { amount_minor: 500, currency: 'NZD' })).body;
      const statuses: number[] = [];
      for (let i = 0; i < 7; i++)
        statuses.push(
          (await fetch(`${strict.bridge.url}/c/${c.token}`, { headers: { 'x-forwarded-for': '203.0.113.9' } })).status,
        );
      expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
      // Behind the trusted proxy, other customers are other clients.
      expect(
        (await fetch(`${strict.bridge.url}/c/${c.token}`, { headers: { 'x-forwarded-for': '203.0.113.10' } })).status,
      ).toBe(200);
    } finally {
      await strict.stop();
    }
  });

  it('without a trusted proxy, a client cannot escape the limit by naming itself in X-Forwarded-For', async () => {
    const open = await startWorld({ alipay }, { bridge: { landingRateLimitPerMinute: 5 } });
    try {
      const c = (await open.api('POST', '/api/v1/checkouts', { amount_minor: 500, currency: 'NZD' })).body;
      const statuses: number[] = [];
      for (let i = 0; i < 7; i++)
        statuses.push(
          (await fetch(`${open.bridge.url}/c/${c.token}`, { headers: { 'x-forwarded-for': `192.0.2.${i + 1}` } }))
            .status,
        );
      expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
    } finally {
      await open.stop();
    }
  });
});
