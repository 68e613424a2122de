import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runKauri } from '../support/processes.js';
import { openStore } from '../../cloud-bridge/store/db.js';
import { AccountsRepo } from '../../cloud-bridge/store/accounts.js';
import { SecretBox } from '../../cloud-bridge/store/secret-box.js';
import { AuditLog } from '../../cloud-bridge/hq/audit.js';
import { People } from '../../cloud-bridge/hq/people.js';
import { systemClock } from '../../protocol/clock.js';

// `kauri admin user create` with the back office's roles and stores, the old `merchant_user`
// still accepted, and `kauri admin user invite` printing a one-time link whose token the
// database keeps only as a hash. Both leave an audit row by `cli`.

describe('kauri admin user create / invite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kauri-admin-users-'));
  const db = `sqlite:${join(dir, 'bridge.db')}`;
  const env = { KAURI_SECRET_KEY: 'admin-users-secret-key-0123456789abcdef' };
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const run = (...args: string[]) => runKauri([...args, '--db', db, '--json'], { env });
  const kauri = async (...args: string[]) => {
    const r = await run(...args);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout);
  };

  it('creates the new roles with stores and a refund limit; merchant_user becomes merchant_admin', async () => {
    const m = await kauri('admin', 'merchant', 'create', '--name', 'Aroha Books');
    const s = await kauri('admin', 'store', 'create', '--merchant', m.id, '--name', 'Queen St');
    const old = await run(
      'admin',
      'user',
      'create',
      '--username',
      'old',
      '--role',
      'merchant_user',
      '--merchant',
      m.id,
    );
    expect(old.code, old.stderr).toBe(0);
    expect(JSON.parse(old.stdout).role).toBe('merchant_admin');
    expect(old.stderr).toMatch(/merchant_user is now called merchant_admin/);
    const mgr = await kauri(
      'admin',
      'user',
      'create',
      '--username',
      'mgr',
      '--role',
      'store_manager',
      '--merchant',
      m.id,
      '--store',
      s.id,
      '--refund-limit',
      '5000',
    );
    expect(mgr).toMatchObject({ role: 'store_manager', refund_limit_minor: 5000 });
    const noStore = await run(
      'admin',
      'user',
      'create',
      '--username',
      'x',
      '--role',
      'store_manager',
      '--merchant',
      m.id,
    );
    expect(noStore.code).not.toBe(0);
    expect(noStore.stderr).toMatch(/at least one store/);
    const bogus = await run('admin', 'user', 'create', '--username', 'y', '--role', 'root');
    expect(bogus.code).not.toBe(0);

    const inv = await kauri(
      'admin',
      'user',
      'invite',
      '--role',
      'viewer',
      '--merchant',
      m.id,
      '--store',
      s.id,
      '--url',
      'https://pay.example.co.nz/',
    );
    expect(inv.link).toMatch(/^https:\/\/pay\.example\.co\.nz\/hq#\/invite\/[\w-]{40,}$/);
    const token = (inv.link as string).split('/').pop()!;
    const hours = (Date.parse(inv.expiresAt) - Date.now()) / 3_600_000;
    expect(hours).toBeGreaterThan(71.9);
    expect(hours).toBeLessThanOrEqual(72);

    const store = await openStore(db);
    try {
      const row = await store.db
        .selectFrom('hq_invites')
        .selectAll()
        .where('id', '=', inv.id)
        .executeTakeFirstOrThrow();
      expect(row.token_hash).toBe(createHash('sha256').update(token).digest('hex'));
      expect(JSON.stringify(row)).not.toContain(token);
      const clock = systemClock();
      const accounts = new AccountsRepo(store, new SecretBox(env.KAURI_SECRET_KEY), { clock });
      const audit = new AuditLog(store, { clock });
      const people = new People({ store, accounts, audit, clock });
      const user = await people.accept({ token, username: 'invited', password: 'a long password' });
      expect(user).toMatchObject({ role: 'viewer', merchant_id: m.id });
      expect((await people.scopeOf(user)).storeIds).toEqual([s.id]);
      const log = await store.db.selectFrom('audit_log').selectAll().orderBy('id').execute();
      expect(log.filter((r) => r.actor === 'cli').map((r) => r.action)).toEqual([
        'user.create',
        'user.create',
        'user.invite',
      ]);
    } finally {
      await store.close();
    }
  });

  it('kauri bridge --require-totp refuses a role it does not know', async () => {
    const r = await runKauri(['bridge', '--require-totp', 'hq_admin,root', '--db', db, '--port', '0'], { env });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/unknown role "root"/);
  });
});
