import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../protocol/clock.js';
import { RunError } from '../reconcile/runs/errors.js';
import { AccountsRepo } from '../store/accounts.js';
import type { Store } from '../store/db.js';
import { SecretBox } from '../store/secret-box.js';
import { createTestDatabase, storeKinds, type TestDatabase } from '../../test/support/stores.js';
import { handClock } from '../../test/support/hq-routes.js';
import { FREE_ATTEMPTS, HqSessions, loginDelayMs, throttleClient } from './sessions.js';
import { People } from './people.js';
import { AuditLog } from './audit.js';
import { TotpService } from './totp.js';

// HQ logins: a stranger's burst of bad passwords slows only that stranger, never locks the
// user out from elsewhere; parallel attempts get no extra guesses (the count is atomic in the
// database, PostgreSQL included); unknown user names cost the same hash as known ones.

/** Where the hand clocks here start (a whole minute). */
const START = Date.parse('2026-12-04T09:00:00Z');

type Outcome = 'ok' | 'wrong' | { wait: number };
async function outcome(p: Promise<unknown>): Promise<Outcome> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    const e = err as RunError & { status: number; retryAfterS?: number };
    if (e.status === 429) return { wait: e.retryAfterS! };
    if (e instanceof RunError && e.code === 'unauthorized') return 'wrong';
    throw err;
  }
}

it('delays grow after the free attempts, up to 15 minutes', () => {
  expect([1, 2, 3].map(loginDelayMs)).toEqual([0, 0, 0]);
  expect([4, 5, 6, 7].map(loginDelayMs)).toEqual([1000, 2000, 4000, 8000]);
  expect(loginDelayMs(40)).toBe(15 * 60_000);
});

describe.each(storeKinds())('HQ login throttle (%s)', (kind) => {
  let db: TestDatabase;
  let store: Store;
  let accounts: AccountsRepo;
  let box: SecretBox;
  beforeAll(async () => {
    db = await createTestDatabase(kind);
    store = await db.open();
    box = new SecretBox('hq-sessions-test-key-0123456789abcdef');
    accounts = new AccountsRepo(store, box);
    await accounts.createUser({ username: 'aroha', password: 'correct horse battery', role: 'hq_finance' });
    await accounts.createUser({ username: 'wiremu', password: 'another good password', role: 'hq_finance' });
  });
  const sessionsWith = (clock: Clock) => {
    const people = new People({ store, accounts, audit: new AuditLog(store, { clock }), clock });
    return new HqSessions({ store, accounts, clock, people, totp: new TotpService({ store, box, clock }) });
  };
  afterAll(async () => {
    await store?.close();
    await db?.drop();
  });

  it('a parallel burst of bad logins from one client gets only the free guesses; the user logs in from another client meanwhile', async () => {
    const clock = handClock(START);
    const hq = sessionsWith(clock);
    const burst = await Promise.all(
      Array.from({ length: 24 }, () => outcome(hq.login('aroha', 'guess', '203.0.113.66'))),
    );
    // The count is taken before each password check: FREE_ATTEMPTS + 1 reach the check, not 24.
    expect(burst.filter((o) => o === 'wrong')).toHaveLength(FREE_ATTEMPTS + 1);
    expect(burst.filter((o) => typeof o === 'object')).toHaveLength(24 - FREE_ATTEMPTS - 1);
    // No lock: the real user, from their own address, is in at once.
    expect(await outcome(hq.login('aroha', 'correct horse battery', '198.51.100.7'))).toBe('ok');
    // The guessing client waits, even with the right password (it cannot test guesses faster).
    expect(await outcome(hq.login('aroha', 'correct horse battery', '203.0.113.66'))).toEqual({ wait: 1 });
    // Another user from that same client is not held up by the guesses at aroha.
    expect(await outcome(hq.login('wiremu', 'another good password', '203.0.113.66'))).toBe('ok');
  });

  it('each further failure doubles the wait; waiting it out lets one attempt through; success clears the run', async () => {
    const clock = handClock(START);
    const hq = sessionsWith(clock);
    const ip = '203.0.113.77';
    for (let i = 0; i < FREE_ATTEMPTS; i++) expect(await outcome(hq.login('wiremu', 'nope', ip))).toBe('wrong');
    const waits: number[] = [];
    for (let i = 0; i < 4; i++) {
      expect(await outcome(hq.login('wiremu', 'nope', ip))).toBe('wrong');
      const held = await outcome(hq.login('wiremu', 'nope', ip));
      expect(typeof held).toBe('object');
      waits.push((held as { wait: number }).wait);
      clock.advance(waits.at(-1)! * 1000);
    }
    expect(waits).toEqual([1, 2, 4, 8]);
    expect(await outcome(hq.login('wiremu', 'another good password', ip))).toBe('ok');
    // A success forgets the run: the next typo is not delayed.
    expect(await outcome(hq.login('wiremu', 'nope', ip))).toBe('wrong');
    expect(await outcome(hq.login('wiremu', 'nope', ip))).toBe('wrong');
  });

  it('forgotten runs leave the table: names sprayed from many addresses keep no rows once quiet', async () => {
    const clock = handClock(Date.parse('2027-03-01T00:00:00Z'));
    const hq = sessionsWith(clock);
    const rows = async () =>
      Number(
        (
          await store.db
            .selectFrom('hq_login_throttle')
            .select((eb) => eb.fn.countAll().as('n'))
            .where('key', 'like', '198.18.%')
            .executeTakeFirst()
        )?.n ?? 0,
      );
    for (let i = 0; i < 12; i++) await outcome(hq.login(`sprayed-${i}`, 'nope', `198.18.0.${i + 1}`));
    expect(await rows()).toBe(12);
    clock.advance(10 * 60_000);
    expect(await outcome(hq.login('aroha', 'correct horse battery', '198.51.100.9'))).toBe('ok');
    expect(await rows()).toBe(12); // not yet forgotten
    clock.advance(6 * 60_000);
    expect(await outcome(hq.login('aroha', 'correct horse battery', '198.51.100.9'))).toBe('ok');
    expect(await rows()).toBe(0);
  });

  it('an IPv6 client is its /64: hopping between its own addresses earns no fresh guesses', async () => {
    const clock = handClock(START);
    const hq = sessionsWith(clock);
    const from = (i: number) => `2001:db8:77:1::${(i + 1).toString(16)}`;
    for (let i = 0; i <= FREE_ATTEMPTS; i++) expect(await outcome(hq.login('aroha', 'nope', from(i)))).toBe('wrong');
    expect(typeof (await outcome(hq.login('aroha', 'nope', from(100))))).toBe('object');
    expect(typeof (await outcome(hq.login('aroha', 'nope', '2001:db8:77:1:ffff:ffff:ffff:ffff')))).toBe('object');
    // Another /64 is another client.
    expect(await outcome(hq.login('aroha', 'correct horse battery', '2001:db8:77:2::1'))).toBe('ok');
    expect(throttleClient('2001:db8:77:1:abcd::9')).toBe('2001:db8:77:1::/64');
    expect(throttleClient('::ffff:203.0.113.5')).toBe('203.0.113.5');
    expect(throttleClient('203.0.113.5')).toBe('203.0.113.5');
  });

  it('a run is forgotten after a quiet quarter of an hour', async () => {
    const clock = handClock(START);
    const hq = sessionsWith(clock);
    const ip = '203.0.113.88';
    for (let i = 0; i <= FREE_ATTEMPTS; i++) await outcome(hq.login('aroha', 'nope', ip));
    expect(typeof (await outcome(hq.login('aroha', 'nope', ip)))).toBe('object');
    clock.advance(16 * 60_000);
    for (let i = 0; i < FREE_ATTEMPTS; i++) expect(await outcome(hq.login('aroha', 'nope', ip))).toBe('wrong');
  });
});

describe('HQ login timing', () => {
  let db: TestDatabase;
  let store: Store;
  let accounts: AccountsRepo;
  beforeAll(async () => {
    db = await createTestDatabase('sqlite');
    store = await db.open();
    accounts = new AccountsRepo(store, new SecretBox('hq-sessions-test-key-0123456789abcdef'));
    await accounts.createUser({ username: 'aroha', password: 'correct horse battery', role: 'hq_finance' });
  });
  afterAll(async () => {
    await store?.close();
    await db?.drop();
  });

  it('an unknown user name takes as long as a known one with a wrong password (the hash runs either way)', async () => {
    await accounts.authenticateUser('nobody', 'warm-up'); // the dummy hash is made once
    const time = async (username: string) => {
      const t = process.hrtime.bigint();
      for (let i = 0; i < 5; i++) expect(await accounts.authenticateUser(username, `wrong-${i}`)).toBeUndefined();
      return Number(process.hrtime.bigint() - t);
    };
    const known = await time('aroha');
    const unknown = await time('nobody-here');
    // scrypt dominates both; without the dummy hash the unknown name answers ~100× faster.
    expect(unknown).toBeGreaterThan(known * 0.5);
  });
});
