import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeForm } from '../../cloud-bridge/channels/bank/form.js';
import { hmacMd5 } from '../../cloud-bridge/channels/bank/sign.js';
import { spawnKauri } from '../support/processes.js';
import { startBankSimProcess, waitFor, type BankSimProcess } from './bank-support.js';

// PayEase's payment form has no notify-URL field: the merchant sets the background-notify
// URL in the gateway's back office. The simulator does the same: a form cannot redirect a
// merchant's notifies, and nothing is sent before the back office names a URL.

interface Receiver {
  url: string;
  bodies: string[];
  close(): Promise<void>;
}

async function receiver(): Promise<Receiver> {
  const bodies: string[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('latin1')));
    req.on('end', () => {
      bodies.push(body);
      res.end('sent');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/notify`,
    bodies,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

async function submitAndPay(sim: BankSimProcess, serial: string, extra: Record<string, string> = {}): Promise<string> {
  const f: Record<string, string> = {
    v_mid: '8888',
    v_oid: `20261120-8888-${serial}`,
    v_rcvname: '8888',
    v_amount: '1.00',
    v_ymd: '20261120',
    v_moneytype: '0',
    v_url: 'http://127.0.0.1:9/r',
  };
  f.v_md5info = hmacMd5(
    'test',
    f.v_moneytype! + f.v_ymd! + f.v_amount! + f.v_rcvname! + f.v_oid! + f.v_mid! + f.v_url!,
  );
  const res = await fetch(`${sim.url}/prs/user_payment.checkit`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: encodeForm({ ...f, ...extra }),
  });
  expect(res.status).toBe(200);
  expect((await sim.control('POST', '/sim/pay', { v_oid: f.v_oid })).status).toBe(200);
  await sim.control('POST', '/sim/notify/flush');
  return f.v_oid!;
}

describe('bank notify URL from the merchant back office', () => {
  let sim: BankSimProcess;
  let right: Receiver;
  let wrong: Receiver;

  beforeAll(async () => {
    [sim, right, wrong] = await Promise.all([startBankSimProcess({ KAURI_TIME_SCALE: '20' }), receiver(), receiver()]);
  });
  afterAll(async () => {
    await Promise.all([sim?.stop(), right?.close(), wrong?.close()]);
  });

  it('sends nothing while the back office names no URL', async () => {
    await submitAndPay(sim, 'N1');
    const jobs = (await sim.control('GET', '/sim/orders')).body;
    expect(jobs.notifies).toHaveLength(0);
    expect(jobs.queued).toHaveLength(0);
  });

  it('sends to the back-office URL, whatever a form says in v_notify_url', async () => {
    expect((await sim.control('POST', '/sim/merchants', { v_mid: '8888', notify_url: right.url })).body).toEqual({
      v_mid: '8888',
      notify_url: right.url,
    });
    const oid = await submitAndPay(sim, 'N2', { v_notify_url: wrong.url });
    await waitFor('the notify', async () => right.bodies.find((b) => b.includes(oid)));
    expect(wrong.bodies).toHaveLength(0);
    expect((await sim.control('GET', '/sim/merchants')).body.merchants).toContainEqual({
      v_mid: '8888',
      notify_url: right.url,
    });
  });

  it('refuses back-office settings it cannot use', async () => {
    for (const body of [
      { v_mid: 'x', notify_url: right.url },
      { v_mid: '8888', notify_url: 'ftp://x' },
      { v_mid: '8888' },
    ]) {
      expect((await sim.control('POST', '/sim/merchants', body)).status).toBe(400);
    }
    expect((await sim.control('POST', '/sim/merchants', { v_mid: '7777', notify_url: right.url })).status).toBe(404);
    expect(
      (await sim.control('POST', '/sim/merchants', { v_mid: '7777', notify_url: right.url, key: 'k7' })).status,
    ).toBe(200);
  });

  it("kauri sim bank --notify-url sets the default merchant's URL at start", async () => {
    const p = await spawnKauri(['sim', 'bank', '--port', '0', '--notify-url', right.url], {
      ready: /bank simulator listening on (\S+)/,
      timeoutMs: 60_000,
    });
    try {
      const merchants = (await (await fetch(`${p.ready}/sim/merchants`)).json()) as { merchants: unknown[] };
      expect(merchants.merchants).toContainEqual({ v_mid: '8888', notify_url: right.url });
    } finally {
      await p.stop();
    }
  });
});
