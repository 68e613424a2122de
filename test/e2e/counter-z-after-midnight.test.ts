import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock, type Clock } from '../../protocol/clock.js';
import { newId } from '../../protocol/ids.js';
import type { Counter } from '../../terminal/core/counter.js';
import { newSale } from '../../terminal/core/counter/ledger.js';
import { cleanupDir, openCounter, pairedDir, PIN, startWorld, until, type World } from './counter-world.js';

// A shop in Auckland trades until late; the manager presses Close day (Z) just after
// midnight, at 00:20 on Tuesday, for Monday's takings. That Z closes Monday's trading day, so
// on Tuesday evening Tuesday's own close goes through.

describe('a Z pressed just after midnight', () => {
  let w: World;
  let dir: string;
  let counter: Counter;
  let now = new Date('2026-03-09T11:20:00Z'); // Tue 10 March 2026, 00:20 NZDT
  const clock: Clock = { ...systemClock(1), now: () => new Date(now) };

  beforeAll(async () => {
    w = await startWorld(20);
    dir = await pairedDir(w);
    counter = openCounter(dir, { clock });
    counter.start();
    await until('online', () => counter.online);
  }, 120_000);
  afterAll(async () => {
    counter?.stop();
    await w?.stop();
    cleanupDir(dir);
  });

  const paidSale = (at: string, minor: number) =>
    counter.db.insertSale(
      newSale({
        id: newId('sale'),
        kind: 'scan',
        out_trade_no: `K${newId()}`,
        channel: 'wechat',
        amount_minor: minor,
        currency: 'NZD',
        status: 'paid',
        created_at: at,
        paid_at: at,
      }),
    );

  it("closes Monday's takings after midnight and still lets Tuesday close on Tuesday evening", async () => {
    paidSale('2026-03-09T10:30:00Z', 4200); // Mon 9 March, 23:30 NZDT
    const monday = await counter.closeDay(PIN);
    expect(monday).toMatchObject({ storeDay: '2026-03-09', channels: [{ count: 1, grossMinor: 4200 }] });

    now = new Date('2026-03-10T08:00:00Z'); // Tue 10 March, 21:00 NZDT
    paidSale('2026-03-10T01:00:00Z', 1500); // Tue 14:00 NZDT
    const tuesday = await counter.closeDay(PIN);
    expect(tuesday).toMatchObject({ storeDay: '2026-03-10', channels: [{ count: 1, grossMinor: 1500 }] });
  });
});
