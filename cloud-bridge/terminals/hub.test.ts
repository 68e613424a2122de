import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import type { Socket } from 'node:net';
import pino from 'pino';
import WebSocket from 'ws';
import { startBridge, type Bridge } from '../bridge.js';
import { ChannelRegistry } from '../channels/channel.js';
import { createTestDatabase, type TestDatabase } from '../../test/support/stores.js';
import { testOrder } from '../../test/support/orders.js';
import { newId } from '../../protocol/ids.js';
import { LINK_SUBPROTOCOL, terminalAuthorization, type BridgeMessage } from '../../protocol/link.js';

// The bridge's side of the terminal link over real sockets: pairing, credentials checked
// before the upgrade, replay after the sequence the terminal names, dedupe of commands,
// and revocation cutting the link at once.

interface Client {
  ws: WebSocket;
  messages: BridgeMessage[];
  next(pred: (m: BridgeMessage) => boolean, timeoutMs?: number): Promise<BridgeMessage>;
  closed: Promise<number>;
}

function connect(url: string, auth?: string): Promise<Client> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, LINK_SUBPROTOCOL, { headers: auth ? { authorization: auth } : {} });
    const messages: BridgeMessage[] = [];
    const waiters = new Set<() => void>();
    const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
    ws.on('message', (d) => {
      messages.push(JSON.parse(d.toString()));
      for (const w of waiters) w();
    });
    ws.on('unexpected-response', (_req, res) =>
      reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })),
    );
    ws.on('error', reject);
    ws.on('open', () =>
      resolve({
        ws,
        messages,
        closed,
        next: (pred, timeoutMs = 5000) =>
          new Promise((res, rej) => {
            const check = () => {
              const i = messages.findIndex(pred);
              if (i >= 0) {
                waiters.delete(check);
                clearTimeout(t);
                res(messages.splice(i, 1)[0]!);
              }
            };
            const t = setTimeout(() => {
              waiters.delete(check);
              rej(new Error('timed out waiting for a message'));
            }, timeoutMs);
            waiters.add(check);
            check();
          }),
      }),
    );
  });
}

/**
 * A bare WebSocket peer that reads frames as they come and never answers a close frame, as a
 * hostile (stolen, revoked) counter would: ws's own client would answer it at once.
 */
function rawLink(url: string, auth: string): Promise<{ socket: Socket; frames: string[]; send(text: string): void }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({
      host: u.hostname,
      port: u.port,
      path: u.pathname,
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': randomBytes(16).toString('base64'),
        'sec-websocket-protocol': LINK_SUBPROTOCOL,
        authorization: auth,
      },
    });
    req.on('upgrade', (_res, socket) => {
      const frames: string[] = [];
      let buf = Buffer.alloc(0);
      socket.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        // Server frames are unmasked; our messages are short (7- or 16-bit lengths).
        while (buf.length >= 2) {
          const op = buf[0]! & 0x0f;
          let len = buf[1]! & 0x7f;
          let off = 2;
          if (len === 126) {
            if (buf.length < 4) return;
            len = buf.readUInt16BE(2);
            off = 4;
          }
          if (buf.length < off + len) return;
          const payload = buf.subarray(off, off + len);
          frames.push(op === 8 ? `close ${payload.readUInt16BE(0)}` : payload.toString());
          buf = buf.subarray(off + len);
        }
      });
      const send = (text: string) => {
        const payload = Buffer.from(text);
        const mask = randomBytes(4);
        const head =
          payload.length < 126
            ? Buffer.from([0x81, 0x80 | payload.length])
            : Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
        socket.write(Buffer.concat([head, mask, Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!))]));
      };
      resolve({ socket, frames, send });
    });
    req.on('response', (res) => reject(new Error(`HTTP ${res.statusCode}`)));
    req.on('error', reject);
    req.end();
  });
}

describe('terminal link (bridge side)', () => {
  let tdb: TestDatabase;
  let bridge: Bridge;
  let storeA: string;
  let storeB: string;
  let merchant: string;
  let wsUrl: string;

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
    merchant = (await bridge.accounts.createMerchant({ name: 'M' })).id;
    storeA = (await bridge.accounts.createStore({ merchantId: merchant, name: 'A', code: 'store-a' })).id;
    storeB = (await bridge.accounts.createStore({ merchantId: merchant, name: 'B', code: 'store-b' })).id;
    await bridge.terminals.repo.setManagerPin(storeA, '246813');
    wsUrl = `${bridge.url.replace('http', 'ws')}/terminal`;
  });
  afterAll(async () => {
    await bridge?.close();
    await tdb?.drop();
  });

  async function pairAt(store: string) {
    const { code } = await bridge.terminals.createPairingCode(store);
    const res = await fetch(`${bridge.url}/terminal/pair`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code }),
    });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { terminalId: string; secret: string; storeId: string };
    // One-time: the same code again is refused.
    const again = await fetch(`${bridge.url}/terminal/pair`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code }),
    });
    expect(again.status).toBe(400);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe('pairing_code_invalid');
    return body;
  }

  it('refuses a client without credentials, or with a wrong secret, before the upgrade', async () => {
    await expect(connect(wsUrl)).rejects.toMatchObject({ status: 401 });
    const t = await pairAt('store-a');
    await expect(
      connect(wsUrl, terminalAuthorization(t.terminalId, `${t.secret.slice(0, -2)}xx`)),
    ).rejects.toMatchObject({ status: 401 });
  });

  it('replays events of its own store after the sequence it names, then streams new ones', async () => {
    const t = await pairAt('store-a');
    const before = await bridge.events.head();
    await bridge.events.append({
      type: 'payment.paid',
      merchantId: merchant,
      storeId: storeA,
      payload: { out_trade_no: 'A1' },
    });
    await bridge.events.append({
      type: 'payment.paid',
      merchantId: merchant,
      storeId: storeB,
      payload: { out_trade_no: 'B1' },
    });
    await bridge.events.append({
      type: 'payment.paid',
      merchantId: merchant,
      storeId: storeA,
      payload: { out_trade_no: 'A2' },
    });
    const c = await connect(wsUrl, terminalAuthorization(t.terminalId, t.secret));
    c.ws.send(JSON.stringify({ v: 1, type: 'hello', lastSeq: before + 1 }));
    const welcome = await c.next((m) => m.type === 'welcome');
    expect(welcome).toMatchObject({ terminalId: t.terminalId, store: { id: storeA, code: 'store-a' } });
    const replayed = await c.next((m) => m.type === 'event');
    expect(replayed).toMatchObject({ seq: before + 3, payload: { out_trade_no: 'A2' } });
    await bridge.events.append({
      type: 'payment.paid',
      merchantId: merchant,
      storeId: storeB,
      payload: { out_trade_no: 'B2' },
    });
    await bridge.events.append({
      type: 'refund.succeeded',
      merchantId: merchant,
      storeId: storeA,
      payload: { out_trade_no: 'A3' },
    });
    const live = await c.next((m) => m.type === 'event');
    expect(live).toMatchObject({ event: 'refund.succeeded', payload: { out_trade_no: 'A3' } });
    expect(c.messages.filter((m) => m.type === 'event')).toEqual([]);
    c.ws.close();
  });

  it("answers a repeated command from its record, and refuses another store's payment and a wrong PIN", async () => {
    const t = await pairAt('store-a');
    const c = await connect(wsUrl, terminalAuthorization(t.terminalId, t.secret));
    c.ws.send(JSON.stringify({ v: 1, type: 'hello', lastSeq: await bridge.events.head() }));
    await c.next((m) => m.type === 'welcome');
    const cmd = {
      v: 1,
      type: 'command',
      key: 'key-query-0001',
      name: 'payment.query',
      args: { outTradeNo: 'NOPE-0001' },
    };
    c.ws.send(JSON.stringify(cmd));
    const first = await c.next((m) => m.type === 'result');
    expect(first).toMatchObject({ ok: false, error: { code: 'order_not_found' } });
    c.ws.send(JSON.stringify(cmd));
    expect(await c.next((m) => m.type === 'result')).toMatchObject({
      ok: false,
      replayed: true,
      error: { code: 'order_not_found' },
    });
    expect(await bridge.terminals.repo.countCommands(t.terminalId)).toBe(1);
    c.ws.send(
      JSON.stringify({
        v: 1,
        type: 'command',
        key: 'key-refund-0001',
        name: 'refund.create',
        args: { outTradeNo: 'NOPE-0001', outRefundNo: 'R-NOPE-0001', amountMinor: 1, managerPin: '111111' },
      }),
    );
    expect(await c.next((m) => m.type === 'result')).toMatchObject({
      ok: false,
      error: { code: 'manager_pin_invalid' },
    });
    c.ws.send(
      JSON.stringify({
        v: 1,
        type: 'command',
        key: 'key-bad-0001',
        name: 'payment.scan',
        args: { outTradeNo: 'x', amountMinor: -5 },
      }),
    );
    expect(await c.next((m) => m.type === 'result')).toMatchObject({ ok: false, error: { code: 'invalid_request' } });
    c.ws.close();
  });

  it('answers a question (fx.estimate, device.health) afresh each time, recording nothing', async () => {
    const t = await pairAt('store-a');
    const c = await connect(wsUrl, terminalAuthorization(t.terminalId, t.secret));
    c.ws.send(JSON.stringify({ v: 1, type: 'hello', lastSeq: await bridge.events.head() }));
    await c.next((m) => m.type === 'welcome');
    const questions = [
      { key: 'key-fx-0001', name: 'fx.estimate', args: { amountMinor: 1250, currency: 'NZD' } },
      { key: 'key-health-0001', name: 'device.health', args: { devices: [] } },
    ];
    for (const q of questions) {
      for (let i = 0; i < 2; i++) {
        c.ws.send(JSON.stringify({ v: 1, type: 'command', ...q }));
        const r = (await c.next((m) => m.type === 'result')) as { key: string; ok: boolean; replayed?: boolean };
        expect(r).toMatchObject({ key: q.key, ok: true });
        expect(r.replayed).toBeUndefined();
      }
    }
    expect(await bridge.terminals.repo.countCommands(t.terminalId)).toBe(0);
    c.ws.close();
  });

  it("creates a checkout and records its command's answer in one commit, and replays that answer", async () => {
    const t = await pairAt('store-a');
    const c = await connect(wsUrl, terminalAuthorization(t.terminalId, t.secret));
    c.ws.send(JSON.stringify({ v: 1, type: 'hello', lastSeq: await bridge.events.head() }));
    await c.next((m) => m.type === 'welcome');
    const cmd = JSON.stringify({
      v: 1,
      type: 'command',
      key: 'key-checkout-0001',
      name: 'checkout.create',
      args: { amountMinor: 1250, currency: 'NZD' },
    });
    // Records written apart from the change they answer (the real method runs; only counted).
    const repo = bridge.terminals.repo;
    const finish = repo.finishCommands.bind(repo);
    const recordedApart: string[] = [];
    repo.finishCommands = async (id, answers) => {
      recordedApart.push(...answers.map((a) => a.key));
      return finish(id, answers);
    };
    c.ws.send(cmd);
    const first = (await c.next((m) => m.type === 'result')) as { ok: boolean; data: { id: string; url: string } };
    repo.finishCommands = finish;
    expect(first).toMatchObject({ ok: true, data: { status: 'open' } });
    // The checkout and its dedupe record are one transaction: one commit (one fsync) on
    // the sale's path, where they had been two, and neither is on disk without the other.
    expect(recordedApart).toEqual([]);
    expect(await bridge.terminals.repo.doneCommands(t.terminalId, ['key-checkout-0001'])).toEqual(
      new Map([['key-checkout-0001', { ok: true, data: first.data }]]),
    );
    c.ws.send(cmd);
    expect(await c.next((m) => m.type === 'result')).toMatchObject({ ok: true, replayed: true, data: first.data });
    expect(await bridge.terminals.repo.countCommands(t.terminalId)).toBe(1);
    c.ws.close();
  });

  it('makes one checkout of a checkout.create sent again on a new link while the first run is still going', async () => {
    const t = await pairAt('store-a');
    const auth = terminalAuthorization(t.terminalId, t.secret);
    const key = 'key-checkout-reconnect';
    const cmd = JSON.stringify({
      v: 1,
      type: 'command',
      key,
      name: 'checkout.create',
      args: { amountMinor: 4200, currency: 'NZD' },
    });
    // The first run stalls before it writes (its merchant read), as on a slow database.
    const accounts = bridge.accounts;
    const getMerchant = accounts.getMerchant.bind(accounts);
    let firstRead: () => void = () => {};
    const firstReading = new Promise<void>((r) => (firstRead = r));
    let release: () => void = () => {};
    const held = new Promise<void>((r) => (release = r));
    let calls = 0;
    accounts.getMerchant = async (...a) => {
      if (calls++ === 0) {
        firstRead();
        await held;
      }
      return getMerchant(...a);
    };
    try {
      const first = await connect(wsUrl, auth);
      first.ws.send(JSON.stringify({ v: 1, type: 'hello', lastSeq: await bridge.events.head() }));
      await first.next((m) => m.type === 'welcome');
      first.ws.send(cmd);
      await firstReading;
      // The counter's link drops; it reconnects and its outbox sends the command again.
      const second = await connect(wsUrl, auth);
      second.ws.send(JSON.stringify({ v: 1, type: 'hello', lastSeq: await bridge.events.head() }));
      await second.next((m) => m.type === 'welcome');
      second.ws.send(cmd);
      const answer = (await second.next((m) => m.type === 'result')) as { ok: boolean; data: { id: string } };
      expect(answer.ok).toBe(true);
      release();
      // The first run finishes after the second: it must add nothing and change no record.
      const db = bridge.store.db;
      const checkouts = async () =>
        db.selectFrom('checkouts').select('id').where('terminal_id', '=', t.terminalId).execute();
      for (let i = 0; i < 100 && calls < 2; i++) await new Promise((r) => setTimeout(r, 10));
      await new Promise((r) => setTimeout(r, 200));
      expect(await checkouts()).toEqual([{ id: answer.data.id }]);
      expect(await bridge.terminals.repo.doneCommands(t.terminalId, [key])).toEqual(
        new Map([[key, { ok: true, data: answer.data }]]),
      );
      // And a third send is answered with that one checkout.
      second.ws.send(cmd);
      expect(await second.next((m) => m.type === 'result')).toMatchObject({
        replayed: true,
        data: { id: answer.data.id },
      });
      second.ws.close();
    } finally {
      release();
      accounts.getMerchant = getMerchant;
    }
  });

  it('answers a burst of commands in the order sent, each once, recorded before it is answered', async () => {
    const t = await pairAt('store-a');
    const c = await connect(wsUrl, terminalAuthorization(t.terminalId, t.secret));
    c.ws.send(JSON.stringify({ v: 1, type: 'hello', lastSeq: await bridge.events.head() }));
    await c.next((m) => m.type === 'welcome');
    const keys = Array.from({ length: 1500 }, (_, i) => `burst-${String(i).padStart(4, '0')}`);
    const command = (key: string) =>
      JSON.stringify({ v: 1, type: 'command', key, name: 'payment.query', args: { outTradeNo: `NOPE-${key}` } });
    // One key sent twice in the burst (a resend while the first is in flight): done once, answered twice.
    for (const key of [...keys.slice(0, 700), keys[3]!, ...keys.slice(700)]) c.ws.send(command(key));
    const results: Array<{ key: string; replayed?: boolean }> = [];
    const recordedWhenAnswered: number[] = [];
    for (let i = 0; i <= keys.length; i++) {
      const r = (await c.next((m) => m.type === 'result', 20_000)) as { key: string; replayed?: boolean };
      results.push(r);
      if (r.key === keys[0] || r.key === keys[1499])
        recordedWhenAnswered.push((await bridge.terminals.repo.doneCommands(t.terminalId, [r.key])).size);
    }
    expect(results.map((r) => r.key)).toEqual([...keys.slice(0, 700), keys[3], ...keys.slice(700)]);
    expect(results.filter((r) => r.replayed).map((r) => r.key)).toEqual([keys[3]]);
    expect(recordedWhenAnswered).toEqual([1, 1]);
    expect(await bridge.terminals.repo.countCommands(t.terminalId)).toBe(1500);
    c.ws.close();
  });

  it("refuses a terminal of store A asking for, cancelling or refunding store B's payment", async () => {
    const account = await bridge.accounts.createChannelAccount({
      merchantId: merchant,
      channel: 'wechat',
      config: {},
      secrets: {},
    });
    const now = new Date().toISOString();
    await bridge.orders.insert(
      testOrder({
        id: newId('pay'),
        merchant_id: merchant,
        store_id: storeB,
        out_trade_no: 'B-ORDER-0001',
        channel_account_id: account.id,
        mode: 'micropay',
        amount_minor: 1250,
        status: 'paid',
        channel_order_no: 'KTESTB1',
        created_at: now,
        paid_at: now,
      }),
      'test',
    );
    const t = await pairAt('store-a');
    const c = await connect(wsUrl, terminalAuthorization(t.terminalId, t.secret));
    c.ws.send(JSON.stringify({ v: 1, type: 'hello', lastSeq: await bridge.events.head() }));
    await c.next((m) => m.type === 'welcome');
    const commands = [
      { name: 'payment.query', args: { outTradeNo: 'B-ORDER-0001' } },
      { name: 'payment.cancel', args: { outTradeNo: 'B-ORDER-0001' } },
      {
        name: 'refund.create',
        args: { outTradeNo: 'B-ORDER-0001', outRefundNo: 'R-B-ORDER-01', amountMinor: 100, managerPin: '246813' },
      },
    ];
    for (const [i, cmd] of commands.entries()) {
      c.ws.send(JSON.stringify({ v: 1, type: 'command', key: `key-cross-000${i}`, ...cmd }));
      expect(await c.next((m) => m.type === 'result')).toMatchObject({ ok: false, error: { code: 'order_not_found' } });
    }
    const order = await bridge.orders.byOutTradeNo(merchant, 'B-ORDER-0001');
    expect(order).toMatchObject({ status: 'paid', refunded_minor: 0 });
    c.ws.close();
  });

  it('cuts a revoked terminal at once and refuses it afterwards', async () => {
    const t = await pairAt('store-b');
    const auth = terminalAuthorization(t.terminalId, t.secret);
    const c = await connect(wsUrl, auth);
    c.ws.send(JSON.stringify({ v: 1, type: 'hello', lastSeq: 0 }));
    await c.next((m) => m.type === 'welcome');
    await bridge.terminals.revoke(t.terminalId);
    expect(await c.closed).toBe(4403);
    await expect(connect(wsUrl, auth)).rejects.toMatchObject({ status: 403 });
  });

  const checkoutCommand = (key: string, amountMinor: number) =>
    JSON.stringify({
      v: 1,
      type: 'command',
      key,
      name: 'checkout.create',
      args: { amountMinor, currency: 'NZD' },
    });
  const checkoutsOf = (terminalId: string) =>
    bridge.store.db.selectFrom('checkouts').select('id').where('terminal_id', '=', terminalId).execute();

  it('runs nothing a revoked terminal sends after its close frame, and drops a socket that never answers it', async () => {
    const t = await pairAt('store-b');
    const link = await rawLink(wsUrl, terminalAuthorization(t.terminalId, t.secret));
    const dropped = new Promise<void>((r) => link.socket.on('close', () => r()));
    link.send(JSON.stringify({ v: 1, type: 'hello', lastSeq: await bridge.events.head() }));
    await expect.poll(() => link.frames.some((f) => f.includes('"welcome"'))).toBe(true);
    await bridge.terminals.revoke(t.terminalId);
    await expect.poll(() => link.frames.includes('close 4403')).toBe(true);
    // It never answers the close frame and goes on sending commands on the same link.
    for (let i = 0; i < 3; i++) link.send(checkoutCommand(`after-revoke-${i}`, 1000 + i));
    const t0 = Date.now();
    await dropped;
    expect(Date.now() - t0).toBeLessThan(5_000); // ws alone would have waited 30 s
    expect(await checkoutsOf(t.terminalId)).toEqual([]);
    expect(link.frames.filter((f) => f.includes('"result"'))).toEqual([]);
  });

  it('cuts a terminal revoked where this bridge did not hear of it before running its next command', async () => {
    const t = await pairAt('store-b');
    const c = await connect(wsUrl, terminalAuthorization(t.terminalId, t.secret));
    c.ws.send(JSON.stringify({ v: 1, type: 'hello', lastSeq: await bridge.events.head() }));
    await c.next((m) => m.type === 'welcome');
    // Revoked by another bridge instance whose event has not reached this one yet.
    await bridge.terminals.repo.markRevoked(t.terminalId, bridge.store.db);
    c.ws.send(checkoutCommand('after-revoke-elsewhere', 1200));
    expect(await c.next((m) => m.type === 'bye')).toMatchObject({ error: { code: 'terminal_revoked' } });
    expect(await c.closed).toBe(4403);
    expect(await checkoutsOf(t.terminalId)).toEqual([]);
  });
});
