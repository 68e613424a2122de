import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startAlipaySimProcess,
  startBridgeForAlipay,
  uniqueNo,
  type AlipaySimProcess,
  type BridgeUnderTest,
} from './alipay-support.js';

// `kauri sim alipay --tls`: HTTPS with a CA generated into --state; the demo account trusts
// that CA (config.caPem) and everything else works as over HTTP.

describe('Alipay over HTTPS', () => {
  let sim: AlipaySimProcess;
  let b: BridgeUnderTest;
  beforeAll(async () => {
    sim = await startAlipaySimProcess({ KAURI_TIME_SCALE: '60' }, undefined, { tls: true });
    b = await startBridgeForAlipay(sim, 'sqlite', { timeScale: 20 });
  });
  afterAll(async () => {
    await b?.stop();
    await sim?.stop();
  });

  it('precreate and spot are paid and refunded over HTTPS', async () => {
    expect(sim.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const { account } = await b.context();
    expect(String(account.config.caPem)).toContain('BEGIN CERTIFICATE');
    const q = await b.api('POST', '/api/v1/payments', {
      out_trade_no: uniqueNo('tq'),
      amount_minor: 990,
      currency: 'NZD',
      channel: 'alipay',
      mode: 'precreate',
    });
    expect(q.body.qr_code).toMatch(new RegExp(`^${sim.url}/qr/`));
    expect(await (await sim.fetch(new URL(q.body.qr_code).pathname)).text()).toContain('data-testid="sim-pay"');
    expect((await sim.control('/sim/pay', { qr_code: q.body.qr_code })).status).toBe(200);
    await b.waitFor(q.body.out_trade_no, (p) => p.status === 'paid');
    const code = (await sim.control('/sim/paycode', { behaviour: 'success' })).body.auth_code;
    const s = await b.api('POST', '/api/v1/payments', {
      out_trade_no: uniqueNo('ts'),
      amount_minor: 500,
      currency: 'NZD',
      channel: 'alipay',
      mode: 'spot',
      auth_code: code,
    });
    expect(s.body.status).toBe('paid');
    const r = await b.api('POST', `/api/v1/payments/${s.body.out_trade_no}/refunds`, {
      out_refund_no: uniqueNo('r'),
      amount_minor: 200,
    });
    expect(r.body.status).toBe('succeeded');
  });
});
