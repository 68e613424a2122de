import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import pino from 'pino';
import { AccountsRepo } from '../store/accounts.js';
import { SecretBox } from '../store/secret-box.js';
import type { Store } from '../store/db.js';
import type { OrdersRepo } from '../store/orders-repo.js';
import type { PaymentService } from '../orders/payments.js';
import { createTestDatabase, storeKinds, type TestDatabase } from '../../test/support/stores.js';
import { TerminalCommandExecutor } from './executor.js';
import { TerminalsRepo, type Terminal } from './repo.js';
import { newManagerPin, weakPinReason } from './pin-policy.js';

// The manager PIN guards refunds. Its wrong attempts are counted in the
// database per store (so neither a second counter, a second bridge nor a restart resets
// them, and parallel attempts cannot slip past the count), and weak PINs cannot be set.

const PIN = '246813';

describe('manager PIN rules', () => {
  it('refuses short PINs, one digit repeated, runs and repeated patterns, saying what to choose', () => {
    for (const weak of [
      '1234',
      '24681',
      '000000',
      '777777777',
      '123456',
      '987654',
      '890123',
      '0123456789',
      '121212',
      '123123',
      '147258',
      '12a456',
      '1234567890123',
    ]) {
      expect(weakPinReason(weak), weak).toMatch(/choose 6–12 digits/);
    }
    for (const ok of ['246813', '582046', '90817263', '135792']) expect(weakPinReason(ok), ok).toBeUndefined();
  });

  it('generates only PINs that pass', () => {
    for (let i = 0; i < 200; i++) expect(weakPinReason(newManagerPin())).toBeUndefined();
  });
});

describe.each(storeKinds())('manager PIN attempts (%s)', (kind) => {
  let tdb: TestDatabase;
  let stores: Store[] = [];
  let terminal: Terminal;
  let other: Terminal;

  /** One bridge instance's executor (its own memory), on its own connection to the shared database. */
  async function instance(shared?: Store) {
    const store = shared ?? (await tdb.open());
    if (!shared) stores.push(store);
    const repo = new TerminalsRepo(store);
    const executor = new TerminalCommandExecutor({
      terminals: repo,
      payments: {} as PaymentService,
      orders: {} as OrdersRepo,
      log: pino({ level: 'silent' }),
    });
    return {
      repo,
      verify: (t: Terminal, managerPin: string) =>
        executor.execute(t, 'manager.verify', { managerPin, purpose: 'day_close' }).then(
          () => 'ok',
          (e: { code: string }) => e.code,
        ),
    };
  }

  beforeAll(async () => {
    tdb = await createTestDatabase(kind);
    const store = await tdb.open();
    stores.push(store);
    const accounts = new AccountsRepo(store, new SecretBox('pin-test-secret-key-0123456789'));
    const m = await accounts.createMerchant({ name: 'M' });
    const s1 = await accounts.createStore({ merchantId: m.id, name: 'S1', code: 'pin-s1' });
    const s2 = await accounts.createStore({ merchantId: m.id, name: 'S2', code: 'pin-s2' });
    const repo = new TerminalsRepo(store);
    await repo.setManagerPin(s1.id, PIN);
    await repo.setManagerPin(s2.id, PIN);
    const t = (storeId: string, id: string): Terminal => ({
      id,
      merchantId: m.id,
      storeId,
      name: id,
      createdAt: '',
      revokedAt: null,
      lastSeenAt: null,
      health: null,
      healthAt: null,
    });
    terminal = t(s1.id, 'term_a');
    other = t(s2.id, 'term_b');
  });
  afterAll(async () => {
    for (const s of stores) await s.close();
    stores = [];
    await tdb?.drop();
  });

  it('refuses to set a 4-digit or obvious PIN, with the code and what to choose', async () => {
    const repo = new TerminalsRepo(stores[0]!);
    await expect(repo.setManagerPin(terminal.storeId, '1234')).rejects.toMatchObject({
      code: 'manager_pin_weak',
      message: expect.stringContaining('6–12 digits'),
    });
    await expect(repo.setManagerPin(terminal.storeId, '111111')).rejects.toMatchObject({
      code: 'manager_pin_weak',
      message: expect.stringContaining('one digit repeated'),
    });
    await expect(repo.setManagerPin(terminal.storeId, '123456')).rejects.toMatchObject({ code: 'manager_pin_weak' });
    expect(await repo.checkManagerPin(terminal.storeId, PIN)).toBe(true);
  });

  it('counts wrong PINs per store across bridge instances, counters and restarts', async () => {
    const a = await instance();
    const b = await instance();
    // Two counters of the same store, on two bridges: five wrong PINs between them lock the store.
    const second: Terminal = { ...terminal, id: 'term_a2' };
    for (let i = 0; i < 5; i++)
      expect(await (i % 2 ? a : b).verify(i % 2 ? terminal : second, '975310')).toBe('manager_pin_invalid');
    expect(await a.verify(terminal, PIN)).toBe('manager_pin_locked');
    // A bridge started afterwards (a restart) knows it too.
    const c = await instance();
    expect(await c.verify(second, PIN)).toBe('manager_pin_locked');
    // Another store's allowance is its own.
    expect(await c.verify(other, PIN)).toBe('ok');
    // After the window the right PIN opens it again, and the count starts over.
    await a.repo.clearPinAttempts(terminal.storeId);
    expect(await c.verify(terminal, PIN)).toBe('ok');
  });

  it('answers a short PIN from an older counter with what to do, without counting it', async () => {
    const a = await instance();
    await a.repo.clearPinAttempts(terminal.storeId);
    const e = await a.verify(terminal, '2468');
    expect(e).toBe('manager_pin_invalid');
    const err = await new TerminalCommandExecutor({
      terminals: a.repo,
      payments: {} as PaymentService,
      orders: {} as OrdersRepo,
      log: pino({ level: 'silent' }),
    })
      .execute(terminal, 'manager.verify', { managerPin: '2468', purpose: 'day_close' })
      .catch((x: unknown) => x);
    expect(err).toMatchObject({
      code: 'manager_pin_invalid',
      message: expect.stringContaining('ask HQ to set a new one'),
    });
    expect(await a.repo.countPinAttempt(terminal.storeId, 5, 60_000)).toBe(1);
    await a.repo.clearPinAttempts(terminal.storeId);
  });

  it('lets no more than five attempts through when many arrive at once', async () => {
    // On PostgreSQL three pools race for the row. A SQLite file is written by one bridge
    // process, whose connection groups concurrent writes into one commit: three connections
    // in this one process would block each other's commits, so there they share the store.
    const bridges =
      kind === 'postgres'
        ? await Promise.all([instance(), instance(), instance()])
        : [await instance(stores[0]), await instance(stores[0]), await instance(stores[0])];
    await bridges[0]!.repo.clearPinAttempts(other.storeId);
    const results = await Promise.all(
      Array.from({ length: 15 }, (_, i) => bridges[i % 3]!.verify(other, `97531${i % 10}`)),
    );
    expect(results.filter((r) => r === 'manager_pin_invalid')).toHaveLength(5);
    expect(results.filter((r) => r === 'manager_pin_locked')).toHaveLength(10);
  });

  it('refuses the old PIN at once once HQ sets a new one, on this bridge and on another', async () => {
    const a = await instance();
    const b = await instance();
    await a.repo.clearPinAttempts(other.storeId);
    // Both bridges have just let the PIN through (and remember that it verified)...
    expect(await a.verify(other, PIN)).toBe('ok');
    expect(await b.verify(other, PIN)).toBe('ok');
    // ...when HQ replaces it (it leaked, a manager left) through one of them.
    const next = '739164';
    await a.repo.setManagerPin(other.storeId, next);
    expect(await a.verify(other, PIN)).toBe('manager_pin_invalid');
    expect(await b.verify(other, PIN)).toBe('manager_pin_invalid');
    expect(await b.verify(other, next)).toBe('ok');
    await a.repo.setManagerPin(other.storeId, PIN);
    await a.repo.clearPinAttempts(other.storeId);
  });

  it('unlocks a minute after the fifth attempt, not before', async () => {
    const repo = new TerminalsRepo(stores[0]!);
    const t0 = new Date('2030-01-01T00:00:00.000Z');
    const at = (s: number) => new Date(t0.getTime() + s * 1000);
    await repo.clearPinAttempts(terminal.storeId);
    for (let i = 1; i <= 5; i++) expect(await repo.countPinAttempt(terminal.storeId, 5, 60_000, at(i))).toBe(i);
    expect(await repo.countPinAttempt(terminal.storeId, 5, 60_000, at(30))).toBe(6);
    expect(await repo.pinLocked(terminal.storeId, 5, at(64).toISOString())).toBe(true);
    expect(await repo.pinLocked(terminal.storeId, 5, at(66).toISOString())).toBe(false);
    expect(await repo.countPinAttempt(terminal.storeId, 5, 60_000, at(66))).toBe(1);
    await repo.clearPinAttempts(terminal.storeId);
  });
});
