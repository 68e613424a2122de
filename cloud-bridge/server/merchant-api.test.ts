import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import pino from 'pino';
import { startBridge, type Bridge } from '../bridge.js';
import { createTestDatabase, type TestDatabase } from '../../test/support/stores.js';
import { testOrder } from '../../test/support/orders.js';
import { newId } from '../../protocol/ids.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChannelRegistry } from '../channels/channel.js';

// The merchant API's guard rails, before any channel is involved: authentication, one
// merchant never seeing another's payments, and bad input refused clearly, changing nothing.
describe('merchant API', () => {
  let tdb: TestDatabase;
  let bridge: Bridge;
  let keyA: string;
  let keyB: string;
  let merchantA: string;

  beforeAll(async () => {
    tdb = await createTestDatabase('sqlite');
    bridge = await startBridge({
      dbUrl: tdb.url,
      port: 0,
      secretKey: 'test-secret-key-0123456789',
      log: pino({ level: 'silent' }),
      filesDir: mkdtempSync(join(tmpdir(), 'kauri-files-')),
      channels: new ChannelRegistry(),
    });
    merchantA = (await bridge.accounts.createMerchant({ name: 'A' })).id;
    const merchantB = (await bridge.accounts.createMerchant({ name: 'B' })).id;
    keyA = (await bridge.accounts.createApiKey(merchantA)).key;
    keyB = (await bridge.accounts.createApiKey(merchantB)).key;
    const account = await bridge.accounts.createChannelAccount({
      merchantId: merchantA,
      channel: 'wechat',
      config: {},
      secrets: {},
    });
    await bridge.orders.insert(
      testOrder({
        id: newId('pay'),
        merchant_id: merchantA,
        out_trade_no: 'A-ORDER-1',
        channel_account_id: account.id,
        amount_minor: 1250,
        status: 'pending',
        channel_order_no: 'KTESTA1',
        qr_code: 'weixin://x',
      }),
      'test',
    );
  });
  afterAll(async () => {
    await bridge?.close();
    await tdb?.drop();
  });

  const call = (
    method: string,
    url: string,
    options: { key?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
  ) =>
    fetch(`${bridge.url}${url}`, {
      method,
      headers: {
        ...(options.key ? { authorization: `Bearer ${options.key}` } : {}),
        ...(options.body !== undefined || options.raw !== undefined ? { 'content-type': 'application/json' } : {}),
        ...options.headers,
      },
      body: options.raw ?? (options.body !== undefined ? JSON.stringify(options.body) : undefined),
    });

  const valid = { out_trade_no: 'NEW-1', amount_minor: 1250, currency: 'NZD', channel: 'wechat', mode: 'native' };

  it('answers health; metrics only to a token or on their own address (server/metrics.test.ts)', async () => {
    expect(await (await call('GET', '/healthz')).json()).toMatchObject({ status: 'ok', db: 'sqlite' });
    expect((await call('GET', '/metrics')).status).toBe(403);
  });

  it('refuses requests without a key, with a wrong key, or a malformed header', async () => {
    for (const [key, headers] of [
      [undefined, {}],
      ['kauri_sk.key_X.nope', {}],
      [undefined, { authorization: 'Basic abc' }],
    ] as const) {
      const res = await call('GET', '/api/v1/payments/A-ORDER-1', { key, headers });
      expect(res.status).toBe(401);
      expect((await res.json()).error.code).toBe('unauthenticated');
    }
  });

  it("lets a merchant see its own payment and never another merchant's", async () => {
    const own = await call('GET', '/api/v1/payments/A-ORDER-1', { key: keyA });
    expect(own.status).toBe(200);
    expect(await own.json()).toMatchObject({
      out_trade_no: 'A-ORDER-1',
      amount_minor: 1250,
      currency: 'NZD',
      status: 'pending',
      qr_code: 'weixin://x',
    });
    const other = await call('GET', '/api/v1/payments/A-ORDER-1', { key: keyB });
    expect(other.status).toBe(404);
    expect((await other.json()).error.code).toBe('order_not_found');
    const list = await (await call('GET', '/api/v1/payments', { key: keyB })).json();
    expect(list.data).toEqual([]);
    const refund = await call('POST', '/api/v1/payments/A-ORDER-1/refunds', {
      key: keyB,
      body: { out_refund_no: 'R1', amount_minor: 1 },
    });
    expect(refund.status).toBe(404);
    const close = await call('POST', '/api/v1/payments/A-ORDER-1/close', { key: keyB });
    expect(close.status).toBe(404);
  });

  const bad: Array<[string, unknown, string, number]> = [
    ['zero amount', { ...valid, amount_minor: 0 }, 'invalid_amount', 400],
    ['negative amount', { ...valid, amount_minor: -5 }, 'invalid_amount', 400],
    ['fractional amount', { ...valid, amount_minor: 12.5 }, 'invalid_amount', 400],
    ['amount as a string', { ...valid, amount_minor: '1250' }, 'invalid_amount', 400],
    ['unsafe integer', { ...valid, amount_minor: 2 ** 60 }, 'invalid_amount', 400],
    ['unknown currency', { ...valid, currency: 'XYZ' }, 'unknown_currency', 400],
    ['unknown channel', { ...valid, channel: 'paypal' }, 'invalid_request', 400],
    ['unknown mode', { ...valid, mode: 'teleport' }, 'invalid_request', 400],
    ['bad reference', { ...valid, out_trade_no: 'has spaces' }, 'invalid_request', 400],
    ['unknown field', { ...valid, amount: 5 }, 'invalid_request', 400],
    ['missing fields', {}, 'invalid_request', 400],
    ['foreign return_url scheme', { ...valid, return_url: 'javascript:alert(1)' }, 'invalid_request', 400],
  ];
  for (const [name, body, code, status] of bad) {
    it(`refuses ${name} clearly and creates nothing`, async () => {
      const res = await call('POST', '/api/v1/payments', { key: keyA, body });
      expect(res.status).toBe(status);
      const json = await res.json();
      expect(json.error.code).toBe(code);
      expect(json.error.message.length).toBeGreaterThan(10);
      const count = await bridge.store.db
        .selectFrom('orders')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow();
      expect(Number(count.n)).toBe(1);
    });
  }

  it('refuses malformed JSON, a wrong content type and oversized bodies', async () => {
    const malformed = await call('POST', '/api/v1/payments', { key: keyA, raw: '{"out_trade_no": "x",' });
    expect(malformed.status).toBe(400);
    expect((await malformed.json()).error.code).toBe('invalid_json');
    const xml = await call('POST', '/api/v1/payments', {
      key: keyA,
      raw: '<xml/>',
      headers: { 'content-type': 'application/xml' },
    });
    expect(xml.status).toBe(415);
    expect((await xml.json()).error.code).toBe('unsupported_media_type');
    const huge = await call('POST', '/api/v1/payments', {
      key: keyA,
      raw: JSON.stringify({ ...valid, description: 'x'.repeat(400_000) }),
    });
    expect(huge.status).toBe(413);
    expect((await huge.json()).error.code).toBe('payload_too_large');
  });

  it('answers channel_unavailable for a channel this bridge does not speak', async () => {
    const res = await call('POST', '/api/v1/payments', { key: keyA, body: valid });
    expect(res.status).toBe(503);
    expect((await res.json()).error).toMatchObject({ code: 'channel_unavailable' });
  });

  it('answers unknown routes with a JSON 404', async () => {
    const res = await call('GET', '/api/v2/nothing', { key: keyA });
    expect(res.status).toBe(404);
    expect((await res.json()).error.code).toBe('not_found');
  });
});
