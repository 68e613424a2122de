import { describe, it, expect } from 'vitest';
import { runSoak } from '../../bench/soak.js';
import { privatePgUnavailable } from '../../bench/private-pg.js';
import { skipUnless } from '../support/skip.js';

// The short soak: two bridges on a private PostgreSQL cluster, channel faults,
// kill -9 of both instances in turn and a crash-restart of PostgreSQL mid-run; nothing
// lost, invented, doubled or over-refunded, and every paid payment's webhook delivered.
// The long run is `npm run bench -- soak`.

const unavailable = privatePgUnavailable();

describe.skipIf(skipUnless(unavailable === undefined, `the soak is skipped: ${unavailable}`))('soak', () => {
  it('loses, invents, doubles and over-refunds nothing through faults, kill -9 and a PostgreSQL restart', async () => {
    const r = await runSoak({ seconds: 6, rate: 5, settleMs: 20_000 });
    expect(r.created).toBe(r.requested);
    expect(r.paidAtChannel).toBeGreaterThan(5);
    expect(r.refundsAsked).toBeGreaterThan(0);
    expect(r.lost).toEqual([]);
    expect(r.invented).toEqual([]);
    expect(r.twice).toEqual([]);
    expect(r.overdrawn).toEqual([]);
    expect(r.mismatched).toEqual([]);
    expect(r.unheard).toEqual([]);
    expect(r.crashed).toEqual([]);
    expect(r.paidInBridge).toBe(r.paidAtChannel);
  }, 120_000);
});
