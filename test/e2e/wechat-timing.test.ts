import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startBridgeForSim,
  startWechatSimProcess,
  uniqueNo,
  type BridgeUnderTest,
  type WechatSimProcess,
} from './wechat-support.js';

// WeChat's timing rules, with the simulator and the bridge at the same
// time scale (20×: 15 s of protocol time is 0.75 s). Reverse is taken from 15 s after the
// order (overseas v2 Revoke Order); the simulator answers an earlier one SYSTEMERROR with
// recall=Y, and the bridge waits the rest of the 15 s rather than giving up with the
// customer's money taken. Closing a NATIVE order at once is allowed: the overseas v2 Close
// Order page states no minimum interval (only the v3 and the domestic v2 pages do).

let sim: WechatSimProcess;
let b: BridgeUnderTest;

beforeAll(async () => {
  sim = await startWechatSimProcess({ KAURI_TIME_SCALE: '20' });
  b = await startBridgeForSim(sim, 'sqlite', { timeScale: 20 });
});

afterAll(async () => {
  await b?.stop();
  await sim?.stop();
});

const channelNo = (p: { id: string }) => p.id.replace(/^pay_/, 'K');

async function simOrder(outTradeNo: string): Promise<any> {
  const { orders } = await sim.get<{ orders: any[] }>('/sim/orders');
  return orders.find((o) => o.out_trade_no === outTradeNo);
}

describe('WeChat timing rules', () => {
  it("a Quick Pay cancelled at once is reversed after WeChat's 15 s, and the payer is refunded", async () => {
    const { body: code } = await sim.control('/sim/paycode', { behaviour: 'userpaying:1000' });
    const no = uniqueNo('early');
    const t0 = Date.now();
    const created = await b.api('POST', '/api/v1/payments', {
      out_trade_no: no,
      amount_minor: 700,
      currency: 'NZD',
      channel: 'wechat',
      mode: 'micropay',
      auth_code: code.auth_code,
    });
    expect(created.body.status).toBe('pending');
    const closed = await b.api('POST', `/api/v1/payments/${no}/close`);
    expect(closed.status, JSON.stringify(closed.body)).toBe(200);
    expect(closed.body.status).toBe('reversed');
    // 15 s of protocol time at 20× is 0.75 s: the bridge waited for it.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(750);
    expect((await simOrder(channelNo(created.body))).trade_state).toBe('REVOKED');
    // It waited rather than calling too early: WeChat never had to answer "call again".
    const reverses = await b.bridge.store.db
      .selectFrom('channel_messages')
      .selectAll()
      .where('order_id', '=', created.body.id)
      .where('endpoint', '=', '/secapi/pay/reverse')
      .where('direction', '=', 'response')
      .execute();
    expect(reverses.map((r) => /<recall>/.test(r.body) && /<err_code>/.test(r.body))).toEqual([false]);
  });

  it('a NATIVE order can be closed at once', async () => {
    const no = uniqueNo('nat');
    const created = await b.api('POST', '/api/v1/payments', {
      out_trade_no: no,
      amount_minor: 500,
      currency: 'NZD',
      channel: 'wechat',
      mode: 'native',
      description: 'x',
    });
    expect(created.status).toBeLessThan(300);
    const closed = await b.api('POST', `/api/v1/payments/${no}/close`);
    expect(closed.body.status).toBe('closed');
    expect((await simOrder(channelNo(created.body))).trade_state).toBe('CLOSED');
  });
});
