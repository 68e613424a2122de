import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { LINK_SUBPROTOCOL, terminalAuthorization } from '../../protocol/link.js';
import { money } from '../../protocol/money.js';
import { runKauri } from '../support/processes.js';
import {
  startBridgeForSim,
  startWechatSimProcess,
  uniqueNo,
  type BridgeUnderTest,
  type WechatSimProcess,
} from './wechat-support.js';

// NZD 90,071,992,547,409.91 (the largest safe integer of cents) must never reach a
// channel. Each merchant has a maximum per payment (NZD
// 50,000.00 unless HQ sets another), refused with amount_too_large before anything is
// stored or sent: through the merchant API, one-code checkouts and the counter's link.

const HUGE = 9_007_199_254_740_991;

describe('maximum per payment', () => {
  let sim: WechatSimProcess;
  let b: BridgeUnderTest;

  beforeAll(async () => {
    sim = await startWechatSimProcess({ KAURI_TIME_SCALE: '10' });
    b = await startBridgeForSim(sim, 'sqlite');
  }, 120_000);
  afterAll(async () => {
    await b?.stop();
    await sim?.stop();
  });

  /** Everything a refused payment must not have left behind, on our side and the channel's. */
  async function traces() {
    const db = b.bridge.store.db;
    const count = async (table: 'orders' | 'checkouts') =>
      Number(
        (
          await db
            .selectFrom(table)
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    // Every message to or from a channel is recorded: none may carry the amount.
    const messages = (await db.selectFrom('channel_messages').select('body').execute()).filter((m) =>
      /9007199254740991|90071992547409\.91/.test(String(m.body)),
    ).length;
    const { orders } = await sim.get<{ orders: unknown[] }>('/sim/orders');
    return { orders: await count('orders'), checkouts: await count('checkouts'), messages, simOrders: orders.length };
  }

  it('refuses NZD 90,071,992,547,409.91 through the merchant API, stores and sends nothing', async () => {
    const before = await traces();
    const no = uniqueNo('huge');
    const native = await b.api('POST', '/api/v1/payments', {
      out_trade_no: no,
      amount_minor: HUGE,
      currency: 'NZD',
      channel: 'wechat',
      mode: 'native',
    });
    expect(native.status).toBe(422);
    expect(native.body.error).toMatchObject({
      code: 'amount_too_large',
      message: expect.stringContaining(
        "NZD 90,071,992,547,409.91 is more than this merchant's maximum per payment, NZD 50,000.00",
      ),
    });
    const { body: code } = await sim.control('/sim/paycode', {});
    const micropay = await b.api('POST', '/api/v1/payments', {
      out_trade_no: uniqueNo('hugemp'),
      amount_minor: HUGE,
      currency: 'NZD',
      channel: 'wechat',
      mode: 'micropay',
      auth_code: code.auth_code,
    });
    expect(micropay.status).toBe(422);
    expect(micropay.body.error.code).toBe('amount_too_large');
    // One cent over the default is refused too; the default itself is taken.
    expect(
      (
        await b.api('POST', '/api/v1/payments', {
          out_trade_no: uniqueNo('over'),
          amount_minor: 5_000_001,
          currency: 'NZD',
          channel: 'wechat',
          mode: 'native',
        })
      ).status,
    ).toBe(422);
    expect(await traces()).toEqual(before);
    expect((await b.api('GET', `/api/v1/payments/${no}`)).status).toBe(404);
    expect(
      (
        await b.api('POST', '/api/v1/payments', {
          out_trade_no: uniqueNo('max'),
          amount_minor: 5_000_000,
          currency: 'NZD',
          channel: 'wechat',
          mode: 'native',
        })
      ).status,
    ).toBe(201);
  });

  it('refuses it as a one-code checkout, and stores no checkout', async () => {
    const before = await traces();
    const r = await b.api('POST', '/api/v1/checkouts', { amount_minor: HUGE, currency: 'NZD' });
    expect(r.status).toBe(422);
    expect(r.body.error.code).toBe('amount_too_large');
    expect(await traces()).toEqual(before);
  });

  it('refuses it from a counter (a scanned code and a one-code sale), stores and sends nothing', async () => {
    const [store] = await b.bridge.accounts.listStores(b.merchantId);
    const { code } = await b.bridge.terminals.createPairingCode(store!.id);
    const paired = await fetch(`${b.bridge.url}/terminal/pair`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code }),
    });
    const t = (await paired.json()) as { terminalId: string; secret: string };
    const ws = new WebSocket(`${b.bridge.url.replace('http', 'ws')}/terminal`, LINK_SUBPROTOCOL, {
      headers: { authorization: terminalAuthorization(t.terminalId, t.secret) },
    });
    const results = new Map<string, any>();
    ws.on('message', (d) => {
      const m = JSON.parse(d.toString());
      if (m.type === 'result') results.set(m.key, m);
    });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    ws.send(JSON.stringify({ v: 1, type: 'hello', lastSeq: 0 }));
    const before = await traces();
    const { body: paycode } = await sim.control('/sim/paycode', {});
    ws.send(
      JSON.stringify({
        v: 1,
        type: 'command',
        key: 'huge-scan-0001',
        name: 'payment.scan',
        args: { outTradeNo: uniqueNo('K'), amountMinor: HUGE, currency: 'NZD', authCode: paycode.auth_code },
      }),
    );
    ws.send(
      JSON.stringify({
        v: 1,
        type: 'command',
        key: 'huge-checkout-1',
        name: 'checkout.create',
        args: { amountMinor: HUGE, currency: 'NZD' },
      }),
    );
    await expect.poll(() => results.size, { timeout: 10_000 }).toBe(2);
    expect(results.get('huge-scan-0001')).toMatchObject({ ok: false, error: { code: 'amount_too_large' } });
    expect(results.get('huge-checkout-1')).toMatchObject({ ok: false, error: { code: 'amount_too_large' } });
    expect(await traces()).toEqual(before);
    ws.close();
  });

  it('tells a customer on the store sticker page the most they can pay, and stores no checkout', async () => {
    const [store] = await b.bridge.accounts.listStores(b.merchantId);
    await b.bridge.accounts.setMaxPayment(b.merchantId, money(1_000, 'NZD'));
    const before = await traces();
    const res = await fetch(`${b.bridge.url}/s/${store!.code}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'amount=20.00',
      redirect: 'manual',
    });
    expect(res.status).toBe(422);
    expect(await res.text()).toContain('The amount must be at most NZD 10.00');
    expect(await traces()).toEqual(before);
  });

  it('HQ sets another maximum with `kauri admin merchant update`, in force at once', async () => {
    const set = await runKauri([
      'admin',
      'merchant',
      'update',
      b.merchantId,
      '--max-payment',
      '80,000.00',
      '--db',
      b.db.url,
      '--json',
    ]);
    expect(set.code, set.stderr).toBe(0);
    expect(JSON.parse(set.stdout)).toMatchObject({
      id: b.merchantId,
      max_payment_minor: 8_000_000,
      max_payment_currency: 'NZD',
    });
    expect(
      (
        await b.api('POST', '/api/v1/payments', {
          out_trade_no: uniqueNo('big'),
          amount_minor: 7_999_999,
          currency: 'NZD',
          channel: 'wechat',
          mode: 'native',
        })
      ).status,
    ).toBe(201);
    expect(
      (
        await b.api('POST', '/api/v1/payments', {
          out_trade_no: uniqueNo('big'),
          amount_minor: 8_000_001,
          currency: 'NZD',
          channel: 'wechat',
          mode: 'native',
        })
      ).status,
    ).toBe(422);
    const bad = await runKauri(['admin', 'merchant', 'update', b.merchantId, '--max-payment', '-5', '--db', b.db.url]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/not a maximum per payment/);
  });
});
