import { describe, it, expect, afterEach } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MERCHANT, call, fromXml, signFields, simJson, startSim, type RunningSim } from './wechat-sim-harness.js';

// Payment notifications on WeChat's retry schedule (15s,15s,30s,3m,10m,20m,30m,30m,
// 30m,60m,3h,3h,3h,6h,6h), sped up with KAURI_TIME_SCALE, until the merchant replies
// <xml><return_code>SUCCESS</return_code>…</xml>.

const ACK = '<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>';

interface Delivery {
  at: number;
  fields: Record<string, string>;
}

const running: { sims: RunningSim[]; servers: Server[] } = { sims: [], servers: [] };
afterEach(async () => {
  for (const s of running.sims.splice(0)) await s.stop();
  for (const s of running.servers.splice(0)) s.close();
});

/** A merchant notify endpoint whose replies are scripted per delivery. */
async function merchant(reply: (n: number) => { status?: number; body: string }) {
  const got: Delivery[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      got.push({ at: Date.now(), fields: fromXml(body) });
      const r = reply(got.length);
      res.writeHead(r.status ?? 200, { 'content-type': 'text/xml' }).end(r.body);
    });
  });
  running.servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/notify`, got };
}

async function sim(scale: number, stateDir?: string) {
  const s = await startSim(['--port', '0', ...(stateDir ? ['--state', stateDir] : [])], {
    KAURI_TIME_SCALE: String(scale),
  });
  running.sims.push(s);
  return s;
}

async function payNative(url: string, notifyUrl: string, out: string) {
  const u = await call(url, '/pay/unifiedorder', {
    appid: MERCHANT.appid,
    mch_id: MERCHANT.mch_id,
    body: 'Notify test',
    out_trade_no: out,
    total_fee: '700',
    fee_type: 'NZD',
    spbill_create_ip: '127.0.0.1',
    notify_url: notifyUrl,
    trade_type: 'NATIVE',
    product_id: 'P',
  });
  expect(u.result_code).toBe('SUCCESS');
  expect((await simJson(url, '/sim/pay', { out_trade_no: out })).status).toBe(200);
}

async function until(cond: () => boolean, ms: number) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('notify retries', () => {
  it('retries on the scaled schedule through failures, non-XML and FAIL replies, until SUCCESS', async () => {
    const s = await sim(1000);
    const m = await merchant((n) =>
      n === 1
        ? { status: 500, body: 'oops' }
        : n === 2
          ? { body: 'success' }
          : n === 3
            ? { body: '<xml><return_code>FAIL</return_code></xml>' }
            : n === 4
              ? { status: 404, body: '' }
              : { body: ACK },
    );
    await payNative(s.url, m.url, 'N-1');
    await until(() => m.got.length >= 5, 30_000); // unscaled, this would take 4 minutes
    await new Promise((r) => setTimeout(r, 700)); // would-be 6th delivery (10 min = 600 ms) must not come
    expect(m.got).toHaveLength(5);
    // Gaps: 15 s, 15 s, 30 s, 3 min at 1000× = 15, 15, 30, 180 ms (timers never fire early).
    const gaps = m.got.slice(1).map((d, i) => d.at - m.got[i]!.at);
    expect(gaps[0]).toBeGreaterThanOrEqual(14);
    expect(gaps[1]).toBeGreaterThanOrEqual(14);
    expect(gaps[2]).toBeGreaterThanOrEqual(29);
    expect(gaps[3]).toBeGreaterThanOrEqual(179);
    for (const d of m.got) {
      expect(d.fields).toMatchObject({ out_trade_no: 'N-1', sign_type: 'MD5', result_code: 'SUCCESS' });
      expect(d.fields.sign).toBe(signFields(d.fields, MERCHANT.key, d.fields.sign_type as 'MD5'));
    }
    const { json } = await simJson(s.url, '/sim/orders');
    expect(json.notifies[0]).toMatchObject({ status: 'acked', attempts: 5 });
  });

  it('gives up after the 15 retries of the schedule (24 h 4 min of protocol time)', async () => {
    const s = await sim(20_000); // 86,640 s / 20,000 ≈ 4.3 s
    const m = await merchant(() => ({ status: 503, body: '' }));
    const t0 = Date.now();
    await payNative(s.url, m.url, 'N-2');
    await until(() => m.got.length >= 16, 60_000);
    let json: any;
    for (let i = 0; i < 100; i++) {
      json = (await simJson(s.url, '/sim/orders')).json;
      if (json.notifies[0]?.status === 'gave_up') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(json.notifies[0]).toMatchObject({ status: 'gave_up', attempts: 16 });
    expect(m.got.at(-1)!.at - m.got[0]!.at).toBeGreaterThanOrEqual(Math.floor(86_640_000 / 20_000) - 5);
    expect(Date.now() - t0).toBeLessThan(60_000); // unscaled: 24 hours
  });

  it('applies notify faults: duplicate, late, drop, bad signature', async () => {
    const s = await sim(1000);
    const m = await merchant(() => ({ body: ACK }));
    await simJson(s.url, '/sim/faults', { target: 'notify', mode: 'duplicate-notify', count: 1 });
    await payNative(s.url, m.url, 'N-DUP');
    await until(() => m.got.filter((d) => d.fields.out_trade_no === 'N-DUP').length >= 2, 5000);

    await simJson(s.url, '/sim/faults', { target: 'notify', mode: 'late-notify:2000', count: 1 }); // 2000 s → 2 s at 1000×
    const t = Date.now();
    await payNative(s.url, m.url, 'N-LATE');
    await until(() => m.got.some((d) => d.fields.out_trade_no === 'N-LATE'), 6000);
    expect(Date.now() - t).toBeGreaterThanOrEqual(1900);

    await simJson(s.url, '/sim/faults', { target: 'notify', mode: 'drop-notify', count: 1 });
    await payNative(s.url, m.url, 'N-DROP');
    await simJson(s.url, '/sim/faults', { target: 'notify', mode: 'bad-signature', count: 1 });
    await payNative(s.url, m.url, 'N-BAD');
    await until(() => m.got.some((d) => d.fields.out_trade_no === 'N-BAD'), 5000);
    const bad = m.got.find((d) => d.fields.out_trade_no === 'N-BAD')!.fields;
    expect(bad.sign).not.toBe(signFields(bad, MERCHANT.key));
    await new Promise((r) => setTimeout(r, 300));
    expect(m.got.some((d) => d.fields.out_trade_no === 'N-DROP')).toBe(false);
    // The dropped order is paid all the same: the merchant finds out by querying.
    expect(
      (await call(s.url, '/pay/orderquery', { appid: MERCHANT.appid, mch_id: MERCHANT.mch_id, out_trade_no: 'N-DROP' }))
        .trade_state,
    ).toBe('SUCCESS');
  });

  it('resumes pending retries after a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kauri-wxsim-notify-'));
    // 100×: deliveries at 0, 150, 300, 600 ms, then 1.8 s later, then 6 s later.
    let s = await sim(100, dir);
    const m = await merchant((n) => (n < 6 ? { status: 500, body: '' } : { body: ACK }));
    await payNative(s.url, m.url, 'N-R');
    await until(() => m.got.length >= 4, 15_000);
    await s.stop();
    running.sims.splice(running.sims.indexOf(s), 1);
    const before = m.got.length;
    s = await sim(100, dir);
    await until(() => m.got.length >= 6, 30_000);
    expect(before).toBeLessThan(6);
    let status = '';
    for (let i = 0; i < 50 && status !== 'acked'; i++) {
      status = (await simJson(s.url, '/sim/orders')).json.notifies[0].status;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(status).toBe('acked');
  });
});
