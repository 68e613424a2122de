import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, spawnKauri, type KauriProcess } from '../support/processes.js';
import { counterAction, counterState, paymentCode, simControl, waitFor } from './terminal-support.js';
import type { Sim } from './onecode-support.js';

// The counter when the bridge goes away, and when the counter itself is killed: a
// payment started before the bridge died resolves after it is back (event replay); a
// hundred refunds queued offline survive a SIGKILL of the counter and reach the bridge
// exactly once each.

// Time runs 2× here: presented codes are polled every 2.5 s and given up (reversed) after 20 s.
const ENV = { KAURI_TIME_SCALE: '2' };
const PIN = '246813';

describe('counter offline', () => {
  let dir: string;
  let wechatProc: KauriProcess;
  let wechat: Sim;
  let bridge: KauriProcess | undefined;
  let terminal: KauriProcess | undefined;
  let port: number;
  let apiKey: string;
  let cashier: string;
  const db = () => `sqlite:${join(dir, 'bridge', 'bridge.db')}`;

  async function startBridge(): Promise<void> {
    bridge = await spawnKauri(
      [
        'bridge',
        '--port',
        String(port),
        '--db',
        db(),
        '--demo',
        '--wechat-sim',
        wechat.url,
        '--wechat-sim-state',
        join(dir, 'wechat'),
      ],
      { ready: /bridge listening on (\S+)/, env: ENV, timeoutMs: 60_000 },
    );
    apiKey = /demo API key: (\S+)/.exec(bridge.stdout())![1]!;
  }

  async function startTerminal(pairCode?: string): Promise<void> {
    terminal = await spawnKauri(
      [
        'terminal',
        '--bridge',
        `ws://127.0.0.1:${port}/terminal`,
        '--data',
        join(dir, 'counter'),
        '--headless',
        '--ui-port',
        '0',
        // The code on standard input, where ps cannot see it.
        ...(pairCode ? ['--pair', '-'] : []),
      ],
      { ready: /cashier (\S+)/, env: ENV, timeoutMs: 60_000, ...(pairCode ? { stdin: `${pairCode}\n` } : {}) },
    );
    cashier = terminal.ready;
  }

  const state = () => counterState(cashier);
  const payment = async (no: string) =>
    (
      await fetch(`http://127.0.0.1:${port}/api/v1/payments/${no}`, { headers: { authorization: `Bearer ${apiKey}` } })
    ).json();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kauri-offline-'));
    wechatProc = await spawnKauri(['sim', 'wechat', '--port', '0', '--state', join(dir, 'wechat'), '--tls'], {
      ready: /listening on (\S+)/,
      env: ENV,
      timeoutMs: 60_000,
    });
    wechat = simControl('wechat', wechatProc.ready, join(dir, 'wechat'));
    port = await freePort();
    await startBridge();
    const admin = await spawnKauri([
      'admin',
      'pairing-code',
      'create',
      '--store',
      'demo-queen-st',
      '--db',
      db(),
      '--json',
    ]);
    await admin.finished();
    const code = JSON.parse(admin.stdout()).code as string;
    const pin = await spawnKauri(['admin', 'manager-pin', 'set', '--store', 'demo-queen-st', '--db', db()], {
      env: { KAURI_NEW_PIN: PIN },
    });
    await pin.finished();
    await startTerminal(code);
    await waitFor(state, (s) => s.connection === 'ONLINE', 30_000, 'online');
  }, 180_000);

  afterAll(async () => {
    await terminal?.stop();
    await bridge?.stop();
    await wechat?.stop();
    await wechatProc?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a payment in progress when the bridge is killed resolves after it restarts; offline, no new payment starts', async () => {
    const r = await counterAction(cashier, 'scan', {
      code: await paymentCode(wechat, 'userpaying:3'),
      amount: '15.00',
    });
    expect(r.status).toBe(200);
    const outTradeNo = r.body.outTradeNo as string;
    await waitFor(state, (s) => s.current?.status === 'PENDING' && s.outboxCount === 0, 15_000, 'pending');
    await bridge!.stop('SIGKILL');
    await waitFor(state, (s) => s.connection === 'OFFLINE', 15_000, 'offline');

    const refused = await counterAction(cashier, 'charge', { amount: '2.00' });
    expect(refused.status).toBe(503);
    expect(refused.body.error).toMatchObject({ code: 'terminal_offline', message: expect.stringContaining('Offline') });
    expect((await state()).current.outTradeNo).toBe(outTradeNo);

    await startBridge();
    const done = await waitFor(
      state,
      (s) => s.connection === 'ONLINE' && !s.current?.active,
      60_000,
      'an outcome after the restart',
    );
    expect(done.current.status).toBe('PAID');
    expect(done.current.outTradeNo).toBe(outTradeNo);
    expect((await payment(outTradeNo)).status).toBe('paid');
  });

  it('100 refunds queued offline survive a SIGKILL of the counter and are delivered exactly once', async () => {
    // WeChat takes at most 50 refunds per payment: spread the hundred over four sales.
    const sales: string[] = [];
    for (let i = 0; i < 4; i++) {
      await counterAction(cashier, 'dismiss');
      const sale = await counterAction(cashier, 'scan', {
        code: await paymentCode(wechat, 'success'),
        amount: '12.50',
      });
      sales.push(sale.body.outTradeNo as string);
      await waitFor(state, (s) => s.current?.status === 'PAID', 20_000, 'paid');
    }

    await bridge!.stop('SIGKILL');
    await waitFor(state, (s) => s.connection === 'OFFLINE', 15_000, 'offline');
    for (let i = 0; i < 100; i++) {
      const r = await counterAction(cashier, 'refund', { sale: sales[i % 4], amount: '0.01', pin: PIN });
      expect(r.body).toMatchObject({ status: 'queued' });
    }
    expect((await state()).outboxCount).toBe(100);
    await terminal!.stop('SIGKILL');

    await startBridge();
    await startTerminal();
    const started = Date.now();
    const s = await waitFor(
      state,
      (x) => x.connection === 'ONLINE' && x.outboxCount === 0,
      240_000,
      'the outbox drained',
    );
    console.log(`100 queued refunds drained in ${Date.now() - started} ms after the restart`);
    expect(s.outboxCount).toBe(0);
    for (const no of sales)
      await waitFor(
        () => payment(no),
        (p) => p.refunded_minor === 25,
        60_000,
        `refunds of ${no} applied`,
      );

    const bridgeDb = new Database(join(dir, 'bridge', 'bridge.db'), { readonly: true });
    try {
      const marks = sales.map(() => '?').join(', ');
      const refunds = bridgeDb
        .prepare(
          `select count(*) as n, count(distinct r.out_refund_no) as d, sum(r.amount_minor) as total from refunds r join orders o on o.id = r.order_id where o.out_trade_no in (${marks})`,
        )
        .get(...sales) as { n: number; d: number; total: number };
      expect(refunds).toEqual({ n: 100, d: 100, total: 100 });
    } finally {
      bridgeDb.close();
    }
    const counterDb = new Database(join(dir, 'counter', 'terminal.db'), { readonly: true });
    try {
      const local = counterDb
        .prepare(
          "select count(*) as n, sum(status = 'queued') as queued, sum(status = 'failed') as failed from refunds",
        )
        .get() as { n: number; queued: number; failed: number };
      expect(local).toEqual({ n: 100, queued: 0, failed: 0 });
    } finally {
      counterDb.close();
    }
  }, 420_000);
});
