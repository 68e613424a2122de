import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { systemClock } from '../../protocol/clock.js';
import { money } from '../../protocol/money.js';
import { startTestBridge, type TestBridge } from '../../test/support/bridges.js';
import { Counter, pairTerminal } from './counter.js';

// At the counter, a sale above the merchant's maximum per payment is
// refused by the bridge (amount_too_large) before a checkout is stored, and the cashier
// sees why.

describe("a counter sale above the merchant's maximum per payment", () => {
  let tb: TestBridge;
  let dir: string;
  let counter: Counter;

  beforeAll(async () => {
    tb = await startTestBridge({ kind: 'sqlite', secretKey: 'test-secret-key-0123456789', timeScale: 1 });
    const merchant = (await tb.bridge.accounts.createMerchant({ name: 'M', maxPayment: money(10_000, 'NZD') })).id;
    await tb.bridge.accounts.createStore({ merchantId: merchant, name: 'Kauri Dairy', code: 'limit-dairy' });
    const wsUrl = `${tb.bridge.url.replace('http', 'ws')}/terminal`;
    dir = mkdtempSync(join(tmpdir(), 'kauri-limit-'));
    const { code } = await tb.bridge.terminals.createPairingCode('limit-dairy');
    await pairTerminal(dir, wsUrl, code, 'till 1');
    counter = new Counter({ dataDir: dir, clock: systemClock(1), log: pino({ level: 'silent' }) });
    counter.start();
  });
  afterAll(async () => {
    counter?.stop();
    await tb?.bridge.close();
    await tb?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("fails the sale with the bridge's reason; no checkout is stored", async () => {
    await expect.poll(() => counter.online, { timeout: 10_000 }).toBe(true);
    const sale = counter.charge('100.01');
    await expect.poll(() => counter.db.sale(sale.id)?.status, { timeout: 10_000 }).toBe('failed');
    expect(counter.db.sale(sale.id)?.message).toBe(
      "NZD 100.01 is more than this merchant's maximum per payment, NZD 100.00; split it, or ask HQ to raise the maximum",
    );
    const checkouts = await tb.bridge.store.db.selectFrom('checkouts').selectAll().execute();
    expect(checkouts).toEqual([]);
    // At the maximum, the sale goes ahead.
    const ok = counter.charge('100.00');
    await expect.poll(() => counter.db.sale(ok.id)?.status, { timeout: 10_000 }).not.toBe('creating');
    expect(counter.db.sale(ok.id)?.status).not.toBe('failed');
  });
});
