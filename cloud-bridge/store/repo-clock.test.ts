import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../protocol/clock.js';
import { createTestDatabase, storeKinds, type TestDatabase } from '../../test/support/stores.js';
import { FileStore } from '../files/file-store.js';
import { TerminalsRepo } from '../terminals/repo.js';
import { revokeTerminal } from '../terminals/service.js';
import { EventLog } from '../events/event-log.js';
import { AccountsRepo } from './accounts.js';
import type { Store } from './db.js';
import { SecretBox } from './secret-box.js';

// Every time these repositories write comes from the clock they were given, not the wall
// clock: the test clock stands years away from today, so a stray `new Date()` shows.
function handClock(start: string): Clock & { advance(ms: number): void; iso(): string } {
  let t = Date.parse(start);
  return {
    now: () => new Date(t),
    duration: (ms) => ms,
    sleep: async () => undefined,
    advance: (ms) => {
      t += ms;
    },
    iso: () => new Date(t).toISOString(),
  };
}

async function one<T>(store: Store, query: ReturnType<typeof sql<T>>): Promise<T> {
  const { rows } = await query.execute(store.db);
  expect(rows).toHaveLength(1);
  return rows[0]!;
}

for (const kind of storeKinds()) {
  describe(`repositories write the injected clock's time (${kind})`, () => {
    let tdb: TestDatabase;
    let store: Store;
    let filesDir: string;
    const clock = handClock('2031-03-15T04:05:06.789Z');

    beforeAll(async () => {
      tdb = await createTestDatabase(kind);
      store = await tdb.open();
      filesDir = mkdtempSync(join(tmpdir(), 'kauri-clock-files-'));
    });
    afterAll(async () => {
      await store?.close();
      await tdb?.drop();
      rmSync(filesDir, { recursive: true, force: true });
    });

    it('accounts: merchants, stores, users, API keys (made and revoked) and channel accounts', async () => {
      const accounts = new AccountsRepo(store, new SecretBox('clock-test-secret-key-0123456789'), { clock });
      const merchant = await accounts.createMerchant({ name: 'Clock Books' });
      const merchantAt = clock.iso();
      clock.advance(1_001);
      const shop = await accounts.createStore({ merchantId: merchant.id, name: 'Queen St' });
      const storeAt = clock.iso();
      clock.advance(1_002);
      const user = await accounts.createUser({
        username: 'clock-user',
        password: 'long-enough-password',
        role: 'merchant_admin',
        merchantId: merchant.id,
      });
      const userAt = clock.iso();
      clock.advance(1_003);
      const key = await accounts.createApiKey(merchant.id);
      const keyAt = clock.iso();
      clock.advance(1_004);
      await accounts.revokeApiKey(key.id);
      const revokedAt = clock.iso();
      clock.advance(1_005);
      const account = await accounts.createChannelAccount({
        merchantId: merchant.id,
        channel: 'wechat',
        config: { appid: 'wx1' },
        secrets: { api_key: 'sekret-key-value-123' },
      });
      const accountAt = clock.iso();

      expect(merchant.created_at).toBe(merchantAt);
      expect(shop.created_at).toBe(storeAt);
      expect(user.created_at).toBe(userAt);
      const q = <T>(query: ReturnType<typeof sql<T>>) => one(store, query);
      expect(await q(sql<{ created_at: string }>`select created_at from merchants where id = ${merchant.id}`)).toEqual({
        created_at: merchantAt,
      });
      expect(await q(sql<{ created_at: string }>`select created_at from stores where id = ${shop.id}`)).toEqual({
        created_at: storeAt,
      });
      expect(await q(sql<{ created_at: string }>`select created_at from users where id = ${user.id}`)).toEqual({
        created_at: userAt,
      });
      expect(
        await q(
          sql<{
            created_at: string;
            revoked_at: string;
          }>`select created_at, revoked_at from api_keys where id = ${key.id}`,
        ),
      ).toEqual({ created_at: keyAt, revoked_at: revokedAt });
      expect(
        await q(sql<{ created_at: string }>`select created_at from channel_accounts where id = ${account.id}`),
      ).toEqual({ created_at: accountAt });
    });

    it('files: the time a file was stored', async () => {
      const files = new FileStore(filesDir, store, clock);
      clock.advance(60_000);
      const stored = await files.put(Buffer.from('statement for the clock'), { kind: 'statement', channel: 'wechat' });
      expect(stored.createdAt).toBe(clock.iso());
      expect(
        await one(store, sql<{ created_at: string }>`select created_at from files where sha256 = ${stored.sha256}`),
      ).toEqual({ created_at: clock.iso() });
    });

    it('terminals: pairing, the terminal, its health, commands, manager PIN and PIN attempts, revocation', async () => {
      const accounts = new AccountsRepo(store, new SecretBox('clock-test-secret-key-0123456789'), { clock });
      const merchant = await accounts.createMerchant({ name: 'Clock Cafe' });
      const shop = await accounts.createStore({ merchantId: merchant.id, name: 'Cuba St' });
      const repo = new TerminalsRepo(store, clock);

      clock.advance(3_600_000);
      const codeAt = clock.iso();
      const pairing = await repo.createPairingCode({ storeIdOrCode: shop.id, ttlMs: 600_000 });
      expect(pairing.expiresAt).toBe(new Date(Date.parse(codeAt) + 600_000).toISOString());

      // Nine minutes on the test clock: still valid, although the wall clock is years earlier.
      clock.advance(540_000);
      const pairedAt = clock.iso();
      const { terminal } = await repo.pair(pairing.code);
      expect(terminal.createdAt).toBe(pairedAt);
      expect(
        await one(
          store,
          sql<{
            created_at: string;
            expires_at: string;
            used_at: string;
          }>`select created_at, expires_at, used_at from pairing_codes where store_id = ${shop.id}`,
        ),
      ).toEqual({ created_at: codeAt, expires_at: pairing.expiresAt, used_at: pairedAt });

      clock.advance(7_000);
      await repo.touch(terminal.id);
      expect((await repo.get(terminal.id))!.lastSeenAt).toBe(clock.iso());
      clock.advance(7_000);
      await repo.touchMany([terminal.id]);
      expect((await repo.get(terminal.id))!.lastSeenAt).toBe(clock.iso());
      clock.advance(7_000);
      await repo.recordHealth(terminal.id, [{ kind: 'printer', state: 'ok' }]);
      const health = await repo.get(terminal.id);
      expect([health!.healthAt, health!.lastSeenAt]).toEqual([clock.iso(), clock.iso()]);

      clock.advance(7_000);
      await repo.finishCommand(terminal.id, 'idem-1', { ok: true }, 'print');
      expect(
        await one(
          store,
          sql<{
            created_at: string;
            updated_at: string;
          }>`select created_at, updated_at from terminal_commands where terminal_id = ${terminal.id}`,
        ),
      ).toEqual({ created_at: clock.iso(), updated_at: clock.iso() });
      // A burst recorded together: a new record, and one already there answered again.
      const firstAt = clock.iso();
      clock.advance(7_000);
      await repo.finishCommands(terminal.id, [
        { key: 'idem-1', name: 'print', result: { ok: true, data: 2 } },
        { key: 'idem-2', name: 'print', result: { ok: false } },
      ]);
      expect(
        (
          await sql<{
            idem_key: string;
            created_at: string;
            updated_at: string;
          }>`select idem_key, created_at, updated_at from terminal_commands where terminal_id = ${terminal.id} order by idem_key`.execute(
            store.db,
          )
        ).rows,
      ).toEqual([
        { idem_key: 'idem-1', created_at: firstAt, updated_at: clock.iso() },
        { idem_key: 'idem-2', created_at: clock.iso(), updated_at: clock.iso() },
      ]);
      expect(await repo.doneCommands(terminal.id, ['idem-1', 'idem-2', 'idem-3'])).toEqual(
        new Map<string, unknown>([
          ['idem-1', { ok: true, data: 2 }],
          ['idem-2', { ok: false }],
        ]),
      );

      clock.advance(7_000);
      await repo.setManagerPin(shop.id, '482915');
      expect(
        await one(store, sql<{ updated_at: string }>`select updated_at from manager_pins where store_id = ${shop.id}`),
      ).toEqual({ updated_at: clock.iso() });

      // The lock window runs on the test clock: locked within it, open once it has passed.
      clock.advance(7_000);
      for (let i = 1; i <= 3; i++) expect(await repo.countPinAttempt(shop.id, 2, 60_000)).toBe(i);
      expect(
        await one(
          store,
          sql<{ window_until: string }>`select window_until from manager_pin_attempts where store_id = ${shop.id}`,
        ),
      ).toEqual({ window_until: new Date(clock.now().getTime() + 60_000).toISOString() });
      expect(await repo.pinLocked(shop.id, 2)).toBe(true);
      clock.advance(60_001);
      expect(await repo.pinLocked(shop.id, 2)).toBe(false);

      clock.advance(7_000);
      const revoked = await revokeTerminal(store, new EventLog(store, clock), terminal.id, { repo });
      expect(revoked.revokedAt).toBe(clock.iso());
    });
  });
}
