import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { startBridge, type Bridge } from '../../cloud-bridge/bridge.js';
import { ChannelRegistry } from '../../cloud-bridge/channels/channel.js';
import { verifyKauriWebhook } from '../../cloud-bridge/webhooks/verify-signature.js';
import { MAX_ATTEMPTS } from '../../cloud-bridge/webhooks/service.js';
import { systemClock } from '../../protocol/clock.js';
import { createTestDatabase, storeKinds, type TestDatabase } from '../support/stores.js';

// Merchant webhooks end to end: a real HTTP receiver that verifies every request with the
// documented verifier, a bridge whose retry schedule runs KAURI_TIME_SCALE-fast, and a
// bridge restart in the middle of the retries.

interface Received {
  eventId: string;
  type: string;
  attempt: number;
  status: number;
  verified: boolean;
}

class Receiver {
  readonly got: Received[] = [];
  secret = '';
  /** How the receiver answers the nth request (1-based) for an event. */
  answer: (nth: number, eventId: string) => number = () => 200;
  private server!: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createServer(
      (req, res) =>
        void this.handle(req).then((status) => {
          res.writeHead(status);
          res.end();
        }),
    );
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    const a = this.server.address();
    this.url = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/kauri/webhook`;
  }

  private async handle(req: IncomingMessage): Promise<number> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    let verified = false;
    let eventId = String(req.headers['kauri-event-id'] ?? '');
    let type = '';
    try {
      const e = verifyKauriWebhook(raw, req.headers['kauri-signature'], this.secret);
      verified = true;
      expect(e.id).toBe(eventId);
      eventId = e.id;
      type = e.type;
    } catch {
      // counted as unverified below
    }
    const nth = this.got.filter((g) => g.eventId === eventId).length + 1;
    const status = verified ? this.answer(nth, eventId) : 400;
    this.got.push({ eventId, type, attempt: Number(req.headers['kauri-delivery-attempt']), status, verified });
    return status;
  }

  acked(eventId: string): number {
    return this.got.filter((g) => g.eventId === eventId && g.status >= 200 && g.status < 300).length;
  }

  async stop(): Promise<void> {
    await new Promise((r) => this.server?.close(r));
  }
}

describe.each(storeKinds())('merchant webhooks (%s)', (kind) => {
  let tdb: TestDatabase;
  let filesDir: string;
  const bridges: Bridge[] = [];
  const receivers: Receiver[] = [];

  beforeAll(async () => {
    tdb = await createTestDatabase(kind);
    filesDir = mkdtempSync(join(tmpdir(), 'kauri-files-'));
  });
  afterEach(async () => {
    for (const b of bridges.splice(0)) await b.close().catch(() => undefined);
    for (const r of receivers.splice(0)) await r.stop();
  });
  afterAll(async () => {
    await tdb?.drop();
    rmSync(filesDir, { recursive: true, force: true });
  });

  // 1000× time: the 10 s, 20 s, 40 s… schedule becomes 10 ms, 20 ms, 40 ms…
  const bridgeAt = async (scale = 1000): Promise<Bridge> => {
    const b = await startBridge({
      dbUrl: tdb.url,
      port: 0,
      secretKey: 'e2e-webhooks-secret-key-0123456789',
      filesDir,
      channels: new ChannelRegistry(),
      log: pino({ level: process.env.KAURI_LOG_LEVEL ?? 'silent' }),
      clock: systemClock(scale),
      webhookResolver: dns,
    });
    bridges.push(b);
    return b;
  };

  // Names resolve through this table only: the refusals below are decided on the answer, and
  // nothing is ever sent to a private-range address (loopback is the only real target).
  const dnsTable: Record<string, string[]> = {
    'hooks.tuition.example': ['203.0.113.9'],
    'intranet.tuition.example': ['10.0.0.7'],
    'sneaky.tuition.example': ['127.0.0.1'],
    'lan.tuition.example': ['127.0.0.1'],
  };
  const dns = async (host: string) => {
    const list = dnsTable[host];
    if (!list) throw Object.assign(new Error(`ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return list.map((address) => ({ address, family: 4 as const }));
  };

  // These receivers listen on loopback, so their merchant is allowed private webhooks.
  const merchantWithKey = async (b: Bridge, domains = ['127.0.0.1'], allowPrivateWebhooks = true) => {
    const m = await b.accounts.createMerchant({ name: 'Tuition Co', allowedDomains: domains, allowPrivateWebhooks });
    return { id: m.id, key: (await b.accounts.createApiKey(m.id)).key };
  };

  const api = async (b: Bridge, key: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(b.url + path, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };

  const receiver = async () => {
    const r = new Receiver();
    await r.start();
    receivers.push(r);
    return r;
  };

  /** A checkout created and cancelled: two events (checkout.cancelled is the one delivered). */
  const cancelledCheckout = async (b: Bridge, key: string) => {
    const c = (
      await api(b, key, 'POST', '/api/v1/checkouts', { amount_minor: 1500, currency: 'NZD', expires_in_s: 86_400 })
    ).body;
    expect((await api(b, key, 'POST', `/api/v1/checkouts/${c.token}/cancel`)).body.status).toBe('cancelled');
    const [e] = (await b.events.read(0, { types: ['checkout.cancelled'] })).filter(
      (x) => (x.payload as any).checkout.id === c.id,
    );
    return e!;
  };

  it('PUT /api/v1/webhook answers the URL and its secret; only allowed domains; the secret is never shown again', async () => {
    const b = await bridgeAt();
    const m = await merchantWithKey(b, ['127.0.0.1', 'tuition.example']);
    const set = await api(b, m.key, 'PUT', '/api/v1/webhook', { url: 'https://hooks.tuition.example/kauri' });
    expect(set.status).toBe(200);
    expect(set.body).toEqual({
      url: 'https://hooks.tuition.example/kauri',
      secret: expect.stringMatching(/^whsec_[A-Za-z0-9_-]{32}$/),
    });
    const got = await api(b, m.key, 'GET', '/api/v1/webhook');
    expect(got.body.url).toBe('https://hooks.tuition.example/kauri');
    expect(JSON.stringify(got.body)).not.toContain(set.body.secret);
    const foreign = await api(b, m.key, 'PUT', '/api/v1/webhook', { url: 'https://evil.example/steal' });
    expect(foreign.status).toBe(400);
    expect(foreign.body.error.code).toBe('url_not_allowed');
    expect((await api(b, m.key, 'GET', '/api/v1/webhook')).body.url).toBe('https://hooks.tuition.example/kauri');
  });

  it('without the private allowance: http, loopback and private addresses are refused, at PUT and at delivery, and nothing is sent', async () => {
    const b = await bridgeAt(1000);
    // Even hosts on the merchant's allowed domains.
    const m = await merchantWithKey(b, ['127.0.0.1', 'tuition.example', '::ffff:7f00:1', '169.254.169.254'], false);
    const r = await receiver();
    for (const url of [
      r.url,
      r.url.replace('http:', 'https:'),
      'https://[::ffff:7f00:1]/kauri',
      'https://169.254.169.254/latest/meta-data',
    ]) {
      const put = await api(b, m.key, 'PUT', '/api/v1/webhook', { url });
      expect(put.status, url).toBe(400);
      expect(put.body.error.code).toBe('webhook_url_refused');
      expect(put.body.error.message).toMatch(/public https URL|allow private webhooks/);
    }
    // A name that resolves to a private or loopback address passes PUT (DNS is asked when
    // delivering) and is refused then, with a short cause in the merchant's log.
    for (const host of ['intranet', 'sneaky']) {
      r.secret = (
        await api(b, m.key, 'PUT', '/api/v1/webhook', {
          url: `https://${host}.tuition.example:${new URL(r.url).port}/kauri/webhook`,
        })
      ).body.secret;
      const e = await cancelledCheckout(b, m.key);
      const deliveryOf = async () =>
        (await api(b, m.key, 'GET', `/api/v1/webhook/deliveries?event_id=${e.id}`)).body.data[0];
      await expect.poll(async () => (await deliveryOf())?.attempts ?? 0, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
      const d = await deliveryOf();
      expect(d.status).toBe('pending');
      expect(d.last_error).toMatch(/^webhook_url_refused: .*resolves to a private, loopback or link-local address/);
      expect(d.last_error).not.toMatch(/10\.0\.0\.7|127\.0\.0\.1|ECONN/);
    }
    expect(r.got).toEqual([]);
  });

  it('with the allowance, a name is delivered to the address checked (pinned), and the log shows short causes', async () => {
    const b = await bridgeAt(1000);
    const m = await merchantWithKey(b, ['127.0.0.1', 'tuition.example'], true);
    const r = await receiver();
    // lan.tuition.example exists only in the injected table: the request arrives only because
    // the connection goes to the address that was checked, not to a second lookup.
    r.secret = (
      await api(b, m.key, 'PUT', '/api/v1/webhook', {
        url: `http://lan.tuition.example:${new URL(r.url).port}/kauri/webhook`,
      })
    ).body.secret;
    const e = await cancelledCheckout(b, m.key);
    await expect.poll(() => r.acked(e.id), { timeout: 10_000 }).toBe(1);
    // A receiver that is down: the merchant reads "connection refused", not a socket dump.
    await r.stop();
    receivers.splice(receivers.indexOf(r), 1);
    const e2 = await cancelledCheckout(b, m.key);
    const deliveryOf = async () =>
      (await api(b, m.key, 'GET', `/api/v1/webhook/deliveries?event_id=${e2.id}`)).body.data[0];
    await expect
      .poll(async () => (await deliveryOf())?.last_error ?? null, { timeout: 10_000 })
      .toBe('connection refused');
  });

  it('manual redelivery is throttled: one per delivery every 10 s, 20 a minute per merchant', async () => {
    const b = await bridgeAt(1000);
    const m = await merchantWithKey(b);
    const r = await receiver();
    r.secret = (await api(b, m.key, 'PUT', '/api/v1/webhook', { url: r.url })).body.secret;
    const e = await cancelledCheckout(b, m.key);
    await expect.poll(() => r.acked(e.id), { timeout: 10_000 }).toBe(1);
    const id = (await api(b, m.key, 'GET', `/api/v1/webhook/deliveries?event_id=${e.id}`)).body.data[0].id;
    expect((await api(b, m.key, 'POST', `/api/v1/webhook/deliveries/${id}/redeliver`)).status).toBe(200);
    const again = await api(b, m.key, 'POST', `/api/v1/webhook/deliveries/${id}/redeliver`);
    expect(again.status).toBe(429);
    expect(again.body.error.code).toBe('rate_limited');
    expect(again.body.error.message).toMatch(/wait 10 seconds/);
    expect(r.got.filter((g) => g.eventId === e.id)).toHaveLength(2);
    // And at most 20 a minute across the merchant's deliveries.
    const more: Array<{ id: string }> = [];
    for (let i = 0; i < 20; i++) more.push(await cancelledCheckout(b, m.key));
    await expect.poll(() => more.every((x) => r.acked(x.id) === 1), { timeout: 20_000 }).toBe(true);
    const ids = (await api(b, m.key, 'GET', '/api/v1/webhook/deliveries?limit=200')).body.data
      .map((d: { id: string }) => d.id)
      .filter((x: string) => x !== id);
    const codes = [];
    for (const x of ids.slice(0, 20))
      codes.push((await api(b, m.key, 'POST', `/api/v1/webhook/deliveries/${x}/redeliver`)).status);
    expect(codes.filter((c) => c === 200)).toHaveLength(19);
    expect(codes.at(-1)).toBe(429);
  }, 60_000);

  it('a receiver that fails 5 times then succeeds gets the event, verified, acknowledged exactly once; the log shows every attempt', async () => {
    const b = await bridgeAt(100); // retries after 100, 200, 400, 800, 1600 ms
    const m = await merchantWithKey(b);
    const r = await receiver();
    r.answer = (nth) => (nth <= 5 ? 500 : 204);
    r.secret = (await api(b, m.key, 'PUT', '/api/v1/webhook', { url: r.url })).body.secret;
    const e = await cancelledCheckout(b, m.key);
    await expect.poll(() => r.acked(e.id), { timeout: 20_000 }).toBe(1);
    await new Promise((res) => setTimeout(res, 300));
    const mine = r.got.filter((g) => g.eventId === e.id);
    expect(mine.map((g) => g.status)).toEqual([500, 500, 500, 500, 500, 204]);
    expect(mine.every((g) => g.verified && g.type === 'checkout.cancelled')).toBe(true);
    expect(mine.map((g) => g.attempt)).toEqual([1, 2, 3, 4, 5, 6]);
    const log = (await api(b, m.key, 'GET', `/api/v1/webhook/deliveries?event_id=${e.id}`)).body.data;
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({
      event_type: 'checkout.cancelled',
      status: 'delivered',
      attempts: 6,
      last_status_code: 204,
    });
    const one = (await api(b, m.key, 'GET', `/api/v1/webhook/deliveries/${log[0].id}`)).body;
    expect(one.attempt_log.map((a: any) => a.status_code)).toEqual([500, 500, 500, 500, 500, 204]);
    // Each retry waits longer than the one before (exponential backoff).
    const times = one.attempt_log.map((a: any) => Date.parse(a.created_at));
    const gaps = times.slice(1).map((t: number, i: number) => t - times[i]);
    expect(gaps[4]).toBeGreaterThan(gaps[0] * 4);
    expect(gaps[3]).toBeGreaterThan(gaps[1]);

    // Manual redelivery: sent again with the same event id, so the receiver can de-duplicate.
    const again = await api(b, m.key, 'POST', `/api/v1/webhook/deliveries/${log[0].id}/redeliver`);
    expect(again.status).toBe(200);
    expect(again.body.attempt_log.at(-1)).toMatchObject({ manual: true, status_code: 204 });
    expect(r.got.filter((g) => g.eventId === e.id)).toHaveLength(7);
    // Another merchant's key sees none of it.
    const other = await merchantWithKey(b);
    expect((await api(b, other.key, 'GET', `/api/v1/webhook/deliveries/${log[0].id}`)).status).toBe(404);
    expect((await api(b, other.key, 'GET', '/api/v1/webhook/deliveries')).body.data).toEqual([]);
  });

  it('gives up after the last of at least 16 attempts spread over at least 24 hours (at 100000× time)', async () => {
    const scale = 100_000;
    const b = await bridgeAt(scale);
    const m = await merchantWithKey(b);
    const r = await receiver();
    r.answer = () => 503;
    r.secret = (await api(b, m.key, 'PUT', '/api/v1/webhook', { url: r.url })).body.secret;
    const e = await cancelledCheckout(b, m.key);
    const deliveryOf = async () =>
      (await api(b, m.key, 'GET', `/api/v1/webhook/deliveries?event_id=${e.id}`)).body.data[0];
    await expect.poll(async () => (await deliveryOf())?.status, { timeout: 30_000, interval: 200 }).toBe('failed');
    const d = (await api(b, m.key, 'GET', `/api/v1/webhook/deliveries/${(await deliveryOf()).id}`)).body;
    expect(d.attempts).toBe(MAX_ATTEMPTS);
    expect(d.attempt_log).toHaveLength(MAX_ATTEMPTS);
    const span = Date.parse(d.attempt_log.at(-1).created_at) - Date.parse(d.attempt_log[0].created_at);
    expect(span * scale).toBeGreaterThanOrEqual(24 * 3600_000);
    expect(r.got.filter((g) => g.eventId === e.id)).toHaveLength(MAX_ATTEMPTS);
  }, 60_000);

  it('a bridge restart in the middle of the retries loses nothing and repeats no acknowledgement', async () => {
    // 100× time: retries 100 ms, 200 ms, 400 ms… so the restart lands mid-schedule.
    const first = await bridgeAt(100);
    const m = await merchantWithKey(first);
    const r = await receiver();
    let down = true;
    r.answer = () => (down ? 500 : 200);
    r.secret = (await api(first, m.key, 'PUT', '/api/v1/webhook', { url: r.url })).body.secret;
    const events = [
      await cancelledCheckout(first, m.key),
      await cancelledCheckout(first, m.key),
      await cancelledCheckout(first, m.key),
    ];
    await expect.poll(() => events.every((e) => r.got.some((g) => g.eventId === e.id)), { timeout: 20_000 }).toBe(true);
    await first.close();
    bridges.splice(bridges.indexOf(first), 1);
    const before = r.got.length;
    down = false;
    await new Promise((res) => setTimeout(res, 300));
    expect(r.got.length).toBe(before); // nobody is sending while the bridge is down
    await bridgeAt(100);
    await expect.poll(() => events.map((e) => r.acked(e.id)), { timeout: 30_000 }).toEqual([1, 1, 1]);
    await new Promise((res) => setTimeout(res, 1000));
    expect(events.map((e) => r.acked(e.id))).toEqual([1, 1, 1]);
    expect(r.got.every((g) => g.verified)).toBe(true);
  }, 60_000);
});
