import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { startBridge, type Bridge } from '../../cloud-bridge/bridge.js';
import { seedDemo } from '../../cloud-bridge/demo.js';
import { demoChannelAccounts } from '../../cloud-bridge/channels/index.js';
import { closeWechatAgents } from '../../cloud-bridge/channels/wechat/index.js';
import { systemClock, type Clock } from '../../protocol/clock.js';
import { createTestDatabase, type TestDatabase } from '../support/stores.js';
import { startWechatSimProcess, uniqueNo, type WechatSimProcess } from './wechat-support.js';

// A day with a reversal, end to end, in each statement layout WeChat sends: a paid NATIVE sale, and a Quick Pay sale that WeChat took while telling us
// SYSTEMERROR, which the cashier then cancelled (so it was reversed: paid, then revoked).
// The simulator's statement of the day carries that payment as a REVOKED row and counts
// it in its summary; the bridge downloads it, converts it and matches both sales.

const CHINA = 8 * 3600_000;
const DAY = 86_400_000;
const D = new Date(Date.now() + CHINA - 4 * DAY).toISOString().slice(0, 10);
const D1 = new Date(Date.parse(`${D}T00:00:00Z`) + DAY).toISOString().slice(0, 10);
const at = (day: string, hhmm: string) => Date.parse(`${day}T${hhmm}:00+08:00`);

describe.each(['overseas-en', 'zh', 'zh-legacy'])('a WeChat day with a reversal, %s statement', (layout) => {
  let sim: WechatSimProcess;
  let db: TestDatabase;
  let filesDir: string;
  let bridge: Bridge;
  let apiKey: string;
  let offsetMs = 0;

  async function setTime(ms: number): Promise<void> {
    offsetMs = ms - Date.now();
    await sim.control('/sim/clock', { now: new Date(ms).toISOString() });
  }
  async function api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const res = await fetch(bridge.url + path, {
      method,
      headers: { authorization: `Bearer ${apiKey}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, body: await res.json() };
  }

  beforeAll(async () => {
    sim = await startWechatSimProcess({ KAURI_TIME_SCALE: '20' }, ['--bill-layout', layout]);
    db = await createTestDatabase('sqlite');
    filesDir = mkdtempSync(join(tmpdir(), 'kauri-wechat-statement-'));
    const base = systemClock(20);
    const clock: Clock = { now: () => new Date(Date.now() + offsetMs), duration: base.duration, sleep: base.sleep };
    bridge = await startBridge({
      dbUrl: db.url,
      port: 0,
      secretKey: 'e2e-wechat-statement-secret-0123456789ab',
      filesDir,
      clock,
      log: pino({ level: process.env.KAURI_LOG_LEVEL ?? 'silent' }),
      reconcile: { lookbackDays: 0 },
    });
    const seed = await seedDemo(bridge.accounts, {
      registry: bridge.channels,
      channelAccounts: await demoChannelAccounts({ wechat: { url: sim.url, stateDir: sim.stateDir } }),
    });
    apiKey = seed.apiKey;
  }, 60_000);

  afterAll(async () => {
    await bridge?.close();
    await closeWechatAgents();
    await db?.drop();
    if (filesDir) rmSync(filesDir, { recursive: true, force: true });
    await sim?.stop();
  });

  it('downloads, converts and matches a paid sale and a reversed one', async () => {
    await setTime(at(D, '11:00'));
    const paid = uniqueNo('st');
    const created = await api('POST', '/api/v1/payments', {
      out_trade_no: paid,
      amount_minor: 1234,
      currency: 'NZD',
      channel: 'wechat',
      mode: 'native',
      description: 'Kiwifruit, boxed',
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect((await sim.control('/sim/pay', { code_url: created.body.qr_code })).status).toBe(200);
    await expect
      .poll(async () => (await api('GET', `/api/v1/payments/${paid}`)).body.status, { timeout: 20_000 })
      .toBe('paid');

    // WeChat takes the money but answers SYSTEMERROR, and the bridge cannot ask in time.
    await sim.control('/sim/faults', { target: '/pay/micropay', mode: 'unknown', count: 1 });
    await sim.control('/sim/faults', { target: '/pay/orderquery', mode: 'http500', count: 10_000 });
    const { body: code } = await sim.control('/sim/paycode', { behaviour: 'success' });
    const reversed = uniqueNo('st');
    const mp = await api('POST', '/api/v1/payments', {
      out_trade_no: reversed,
      amount_minor: 500,
      currency: 'NZD',
      channel: 'wechat',
      mode: 'micropay',
      auth_code: code.auth_code,
    });
    expect(mp.body.status).toBe('pending');
    const closed = await api('POST', `/api/v1/payments/${reversed}/close`);
    expect(closed.body.status, JSON.stringify(closed.body)).toBe('reversed');

    await setTime(at(D1, '10:30'));
    const run = await bridge.reconcile.reconcileDay('wechat', D);
    expect(run.downloads[0]!.state).toBe('ready');
    expect(run.summary).toMatchObject({
      statementRows: 2,
      matched: 2,
      amountMismatch: 0,
      statusMismatch: 0,
      channelOnly: 0,
      platformOnly: 0,
      duplicates: 0,
    });
    // The revoked payment moved no money: only the paid sale is in the day's net.
    expect(run.summary.totals).toMatchObject({ channelMinor: 1234, platformMinor: 1234, currency: 'NZD' });
    expect(await bridge.reconcile.differences({ channel: 'wechat', day: D })).toEqual([]);
  });
});
