import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wechatDemoAccount } from '../../cloud-bridge/channels/wechat/index.js';
import { alipayDemoAccount } from '../../cloud-bridge/channels/alipay/demo-account.js';
import { FX_JOB } from '../../cloud-bridge/fx/index.js';
import { startAlipaySimProcess, type AlipaySimProcess } from './alipay-support.js';
import { startWechatSimProcess, type WechatSimProcess } from './wechat-support.js';
import {
  sleep,
  startBankBridge,
  startBankSimProcess,
  waitFor,
  type BankBridge,
  type BankSimProcess,
} from './bank-support.js';

// The FX service against the three real simulators: rates pulled from WeChat
// queryexchagerate, the Alipay forex_rate_file and the bank rate source, kept as a history,
// announced as events, and a source that times out or sends garbage leaves the last good
// rate in place until that rate is stale.

let bank: BankSimProcess;
let wechat: WechatSimProcess;
let alipay: AlipaySimProcess;
let b: BankBridge;

beforeAll(async () => {
  [bank, wechat, alipay] = await Promise.all([
    startBankSimProcess({ KAURI_TIME_SCALE: '10' }),
    startWechatSimProcess({ KAURI_TIME_SCALE: '10' }),
    startAlipaySimProcess({ KAURI_TIME_SCALE: '10' }),
  ]);
  b = await startBankBridge(bank, { timeScale: 20 });
  const w = wechatDemoAccount({ url: wechat.url, stateDir: wechat.stateDir });
  const a = alipayDemoAccount({ url: alipay.url, stateDir: alipay.stateDir });
  await b.bridge.accounts.createChannelAccount({
    merchantId: b.merchantId,
    channel: 'wechat',
    config: w.config,
    secrets: w.secrets,
  });
  await b.bridge.accounts.createChannelAccount({
    merchantId: b.merchantId,
    channel: 'alipay',
    config: a.config,
    secrets: a.secrets,
  });
}, 120_000);

afterAll(async () => {
  await b?.stop();
  await Promise.all([bank?.stop(), wechat?.stop(), alipay?.stop()]);
});

describe('FX rates from every channel', () => {
  it('pulls WeChat, Alipay and the bank source, each with source, channel, fetched and published times', async () => {
    const report = await b.bridge.fx.pullAll();
    expect(report.failed).toEqual([]);
    expect(report.ok.map((r) => r.channel).sort()).toEqual(['alipay', 'bank', 'wechat']);
    for (const r of report.ok) {
      expect(r.currency).toBe('NZD');
      expect(r.rate).toMatch(/^\d+(\.\d+)?$/);
      expect(Number.isNaN(Date.parse(r.published_at))).toBe(false);
    }
    const history = await b.bridge.fx.history();
    expect(new Set(history.map((h) => h.channel))).toEqual(new Set(['wechat', 'alipay', 'bank']));
    for (const h of history) expect(Date.parse(h.publishedAt)).toBeLessThanOrEqual(Date.parse(h.fetchedAt) + 1000);
  });

  it('the rate job is scheduled on the shared scheduler and has run', async () => {
    const job = await waitFor('fx job row', async () =>
      b.bridge.store.db.selectFrom('jobs').selectAll().where('name', '=', FX_JOB).executeTakeFirst(),
    );
    expect(job.runs).toBeGreaterThanOrEqual(1);
  });

  it('wallet quotes are display estimates (no markup, half up); the bank quote adds the markup and rounds up', async () => {
    const w = await b.api('GET', '/api/v1/fx/quote?channel=wechat&amount_minor=10000&currency=NZD');
    expect(w.status).toBe(200);
    expect(w.body).toMatchObject({ channel: 'wechat', markup: '0', source: 'wechat' });
    const bq = await b.api('GET', '/api/v1/fx/quote?channel=bank&amount_minor=10000&currency=NZD');
    expect(bq.body).toMatchObject({ channel: 'bank', markup: '0.02', cny_minor: Math.ceil(10000 * 4.235 * 1.02) });
    const est = await b.bridge.fx.walletEstimates({ minor: 10000, currency: 'NZD' });
    expect(est.wechat).toMatchObject({ cny_minor: w.body.cny_minor, rate: w.body.rate });
    expect(est.alipay).toHaveProperty('cny_minor');
  });

  it('keeps a history and announces a change of rate as fx.rate_changed', async () => {
    const head = await b.bridge.events.head();
    expect((await bank.control('POST', '/sim/rates', { currency: 'NZD', cny_per_unit: '4.3011' })).status).toBe(200);
    await b.bridge.fx.pullAll(['bank']);
    const rows = await b.bridge.fx.history({ channel: 'bank', currency: 'NZD' });
    expect(rows[0]!.rate).toBe('4.3011');
    expect(rows.some((r) => r.rate === '4.235')).toBe(true);
    const events = await b.bridge.events.read(head, { types: ['fx.rate_changed'] });
    expect(events.map((e) => e.payload)).toContainEqual(
      expect.objectContaining({ channel: 'bank', currency: 'NZD', rate: '4.3011', previous_rate: '4.235' }),
    );
    await b.bridge.fx.pullAll(['bank']);
    expect(await b.bridge.events.read(head + events.length, { types: ['fx.rate_changed'] })).toEqual([]);
  });

  it('a source that times out or sends garbage keeps the last good rate until it is stale', async () => {
    await bank.control('POST', '/sim/faults', { target: '/rate', mode: 'timeout', count: 1 });
    const t0 = Date.now();
    const timedOut = await b.bridge.fx.pullAll(['bank']);
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(timedOut.failed).toEqual([expect.objectContaining({ channel: 'bank' })]);
    await bank.control('POST', '/sim/faults', { target: '/rate', mode: 'unknown', count: 3 });
    const garbage = await b.bridge.fx.pullAll(['bank']);
    expect(garbage.failed[0]!.error).toMatch(/not JSON/);
    // The quote's own refresh fails too (garbage), yet the last good rate still serves.
    const q = await b.api('GET', '/api/v1/fx/quote?channel=bank&amount_minor=10000&currency=NZD');
    expect(q.status).toBe(200);
    expect(q.body.rate).toBe('4.3011');
    // An hour and a bit later the same rate is stale and refused.
    b.clock.advance(61 * 60_000);
    try {
      const stale = await b.api('GET', '/api/v1/fx/quote?channel=bank&amount_minor=10000&currency=NZD');
      expect(stale.status).toBe(503);
      expect(stale.body.error.code).toBe('rate_stale');
      // The wallets' daily rates are still within their 26 hours.
      expect((await b.api('GET', '/api/v1/fx/quote?channel=wechat&amount_minor=10000&currency=NZD')).status).toBe(200);
    } finally {
      b.clock.advance(-61 * 60_000);
      await bank.control('DELETE', '/sim/faults');
    }
    await sleep(10);
  });
});
