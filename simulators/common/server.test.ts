import { describe, it, expect, afterEach } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { request as httpRequest } from 'node:http';
import { pino } from 'pino';
import { SimClock } from './clock.js';
import { FaultRegistry } from './faults.js';
import { createSimServer, installRequestFaults, listen, rawBody, registerControlRoutes } from './server.js';

const apps: FastifyInstance[] = [];
afterEach(async () => {
  for (const a of apps.splice(0)) await a.close();
});

async function start(holdMs = 5000) {
  const clock = new SimClock({ scale: 1000 });
  const faults = new FaultRegistry();
  const app = createSimServer({ log: pino({ level: 'silent' }), bodyLimit: 1024 });
  registerControlRoutes(app, { clock, faults, onClockChange: () => {} });
  installRequestFaults(app, faults, clock, { holdMs });
  let processed = 0;
  app.post('/echo', async (req) => {
    processed++;
    return { len: rawBody(req).length, text: rawBody(req).toString(), fault: req.simFault?.kind ?? null };
  });
  apps.push(app);
  const url = await listen(app, 0);
  return { url, clock, faults, processed: () => processed };
}

/** A POST with no Content-Type header at all, as many WeChat clients send. */
function postBare(url: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers: { 'content-length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('simulator server', () => {
  it('reads bodies raw whatever the Content-Type, and without one', async () => {
    const { url } = await start();
    for (const type of ['text/xml', 'application/json', 'application/x-www-form-urlencoded', 'image/png']) {
      const res = await fetch(`${url}/echo`, {
        method: 'POST',
        headers: { 'content-type': type },
        body: '<xml>{1}</xml>',
      });
      expect(await res.json()).toMatchObject({ text: '<xml>{1}</xml>' });
    }
    const bare = await postBare(`${url}/echo`, '<xml/>');
    expect(JSON.parse(bare.text)).toMatchObject({ text: '<xml/>' });
  });

  it('refuses oversized bodies', async () => {
    const { url, processed } = await start();
    const res = await fetch(`${url}/echo`, { method: 'POST', body: 'x'.repeat(2048) });
    expect(res.status).toBe(413);
    expect(processed()).toBe(0);
  });

  it('sets and reads the clock, and rejects a bad date', async () => {
    const { url } = await start();
    const set = await fetch(`${url}/sim/clock`, {
      method: 'POST',
      body: JSON.stringify({ now: '2026-11-20T10:00:00+08:00' }),
    });
    expect(set.status).toBe(200);
    const got = (await (await fetch(`${url}/sim/clock`)).json()) as { now: string };
    expect(Date.parse(got.now) - Date.parse('2026-11-20T02:00:00Z')).toBeLessThan(5000);
    const bad = await fetch(`${url}/sim/clock`, { method: 'POST', body: '{"now":"yesterday"}' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('invalid_clock');
    const notJson = await fetch(`${url}/sim/clock`, { method: 'POST', body: '{' });
    expect(notJson.status).toBe(400);
  });

  it('injects http500, timeout and handler-level faults for the next count calls', async () => {
    const { url, processed } = await start();
    const add = (body: object) => fetch(`${url}/sim/faults`, { method: 'POST', body: JSON.stringify(body) });
    expect((await add({ target: '/echo', mode: 'bogus' })).status).toBe(400);
    expect((await add({ target: '/echo', mode: 'http500', count: 2 })).status).toBe(200);
    expect((await fetch(`${url}/echo`, { method: 'POST', body: 'a' })).status).toBe(500);
    expect((await fetch(`${url}/echo`, { method: 'POST', body: 'a' })).status).toBe(500);
    expect(processed()).toBe(0);
    expect((await fetch(`${url}/echo`, { method: 'POST', body: 'a' })).status).toBe(200);

    await add({ target: '/echo', mode: 'unknown' });
    expect(await (await fetch(`${url}/echo`, { method: 'POST', body: 'a' })).json()).toMatchObject({
      fault: 'unknown',
    });

    await add({ target: '/echo', mode: 'timeout' });
    const before = processed();
    await expect(fetch(`${url}/echo`, { method: 'POST', body: 'a' })).rejects.toThrow();
    expect(processed()).toBe(before + 1); // it took effect; only the answer was lost
    expect((await fetch(`${url}/echo`, { method: 'POST', body: 'a' })).status).toBe(200);
  });
});

describe('shutdown', () => {
  it('does not wait for a request held by a timeout fault', async () => {
    const { url } = await start(3_600_000); // held for an hour of protocol time (3.6 s here)
    await fetch(`${url}/sim/faults`, { method: 'POST', body: JSON.stringify({ target: '/echo', mode: 'timeout' }) });
    const held = fetch(`${url}/echo`, { method: 'POST', body: 'a' }).catch(() => 'dropped');
    await new Promise((r) => setTimeout(r, 100));
    const t = Date.now();
    await apps.pop()!.close();
    expect(Date.now() - t).toBeLessThan(2000);
    expect(await held).toBe('dropped');
  });
});

describe('service-name targets', () => {
  it('matches a fault by service name (Alipay style) or by path', async () => {
    const clock = new SimClock({ scale: 1000 });
    const faults = new FaultRegistry();
    const app = createSimServer({ log: pino({ level: 'silent' }) });
    registerControlRoutes(app, { clock, faults, onClockChange: () => {} });
    installRequestFaults(app, faults, clock, {
      targetOf: (req) => new URLSearchParams(rawBody(req).toString()).get('service') ?? undefined,
    });
    app.post('/gateway.do', async () => 'ok');
    apps.push(app);
    const url = await listen(app, 0);
    faults.add({ target: 'alipay.acquire.query', mode: 'http500', remaining: 1 });
    faults.add({ target: '/gateway.do', mode: 'http500', remaining: 1 });
    const post = (service: string) =>
      fetch(`${url}/gateway.do`, { method: 'POST', body: `service=${service}` }).then((r) => r.status);
    expect(await post('alipay.acquire.create')).toBe(500); // the path rule
    expect(await post('alipay.acquire.create')).toBe(200);
    expect(await post('alipay.acquire.query')).toBe(500); // the service rule
    expect(await post('alipay.acquire.query')).toBe(200);
  });
});
