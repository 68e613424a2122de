import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Counter } from '../../terminal/core/counter.js';
import { cleanupDir, openCounter, pairedDir, paymentCode, startWorld, until, type World } from './counter-world.js';

// A serial payment-code scanner charges what is keyed (Counter.keyedAmount). The amount is
// spent on the sale it started, as the scan field's is: the next customer's code, scanned
// before the cashier keys their amount, is refused, not charged the last customer's amount.

describe('a serial scanner after a sale', () => {
  let w: World;
  let dir: string;
  let counter: Counter;

  beforeAll(async () => {
    w = await startWorld(20);
    dir = await pairedDir(w);
    counter = openCounter(dir);
    counter.start();
    await until('online', () => counter.online);
  }, 120_000);
  afterAll(async () => {
    counter?.stop();
    await w?.stop();
    cleanupDir(dir);
  });

  const sales = () => counter.db.raw.prepare('select amount_minor, status from sales order by created_at').all();

  it("does not charge the next customer the last customer's amount", async () => {
    counter.setKeyedAmount('15.00');
    counter.scanFromDevice(await paymentCode(w)); // customer 1: 15.00
    await until('paid', () => counter.db.raw.prepare("select 1 from sales where status = 'paid'").get());
    expect(sales()).toEqual([{ amount_minor: 1500, status: 'paid' }]);

    // Customer 2 holds up their code; the cashier has not keyed their amount yet.
    counter.scanFromDevice(await paymentCode(w));
    await new Promise((r) => setTimeout(r, 1500));
    expect(sales()).toEqual([{ amount_minor: 1500, status: 'paid' }]); // nothing charged without an amount
    expect((await counter.snapshot()).scanError).not.toBeNull();
  });
});
