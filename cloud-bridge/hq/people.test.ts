import { Migrator, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccountsRepo } from '../store/accounts.js';
import { openStore, type Store } from '../store/db.js';
import { migrationProvider } from '../store/migrations.js';
import { SecretBox } from '../store/secret-box.js';
import { createTestDatabase, storeKinds, type TestDatabase } from '../../test/support/stores.js';
import { handClock } from '../../test/support/hq-routes.js';
import { AuditLog } from './audit.js';
import { canManage, INVITE_MS, People } from './people.js';
import type { Scope } from './scope.js';
import { TotpService, totpCodeOf } from './totp.js';

// People, invitations, TOTP and the audit log against both stores: who may manage whom, an
// invitation good once and for 72 hours, TOTP codes not taken twice, and an audit log that the
// database itself keeps append-only.

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as { code: string }).code;
  }
  return 'accepted';
}

describe.each(storeKinds())('back-office people (%s)', (kind) => {
  let db: TestDatabase;
  let store: Store;
  let accounts: AccountsRepo;
  let audit: AuditLog;
  let people: People;
  let totp: TotpService;
  const clock = handClock();
  const box = new SecretBox('people-test-secret-key-0123456789abcdef');
  let ids: { a: string; b: string; a1: string; a2: string; b1: string };
  let root: Scope, madmin: Scope, mgr: Scope, viewer: Scope;

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    store = await db.open();
    accounts = new AccountsRepo(store, box, { clock });
    audit = new AuditLog(store, { clock });
    people = new People({ store, accounts, audit, clock });
    totp = new TotpService({ store, box, clock });
    const a = await accounts.createMerchant({ name: 'Aroha Books' });
    const b = await accounts.createMerchant({ name: 'Bellbird Cafe' });
    const a1 = await accounts.createStore({ merchantId: a.id, name: 'A1' });
    const a2 = await accounts.createStore({ merchantId: a.id, name: 'A2' });
    const b1 = await accounts.createStore({ merchantId: b.id, name: 'B1' });
    ids = { a: a.id, b: b.id, a1: a1.id, a2: a2.id, b1: b1.id };
    const mk = async (username: string, role: string, more: object = {}) =>
      people.scopeOf(
        await accounts.createUser({ username, password: 'a long password', role: role as 'viewer', ...more }),
      );
    root = await mk('root', 'hq_admin');
    madmin = await mk('madmin', 'merchant_user', { merchantId: a.id });
    mgr = await mk('mgr', 'store_manager', { merchantId: a.id, storeIds: [a1.id], refundLimitMinor: 5000 });
    viewer = await mk('view', 'viewer', { merchantId: a.id });
  });
  afterAll(async () => {
    await store?.close();
    await db?.drop();
  });

  it('builds each scope from the row and its stores; merchant_user is created as merchant_admin', () => {
    expect(root).toMatchObject({ role: 'hq_admin', merchantId: null, storeIds: null, refundLimitMinor: null });
    expect(madmin).toMatchObject({ role: 'merchant_admin', merchantId: ids.a, storeIds: null });
    expect(mgr).toMatchObject({ role: 'store_manager', merchantId: ids.a, storeIds: [ids.a1], refundLimitMinor: 5000 });
    expect(viewer).toMatchObject({ role: 'viewer', merchantId: ids.a, storeIds: null });
  });

  it('refuses users of the wrong shape: a store manager without a store, a store of another merchant', async () => {
    const base = { password: 'a long password', merchantId: ids.a };
    expect(await refusal(accounts.createUser({ ...base, username: 's1', role: 'store_manager' }))).toBe(
      'invalid_request',
    );
    expect(
      await refusal(accounts.createUser({ ...base, username: 's2', role: 'store_manager', storeIds: [ids.b1] })),
    ).toBe('invalid_request');
    expect(
      await refusal(accounts.createUser({ ...base, username: 's3', role: 'merchant_admin', storeIds: [ids.a1] })),
    ).toBe('invalid_request');
    expect(await refusal(accounts.createUser({ ...base, username: 'mgr', role: 'viewer' }))).toBe('conflict');
  });

  it('who manages whom: HQ admin everyone, a merchant admin their merchant but no HQ role, others no one', async () => {
    expect(canManage(root, { role: 'hq_finance', merchantId: null })).toBe(true);
    expect(canManage(madmin, { role: 'store_manager', merchantId: ids.a })).toBe(true);
    expect(canManage(madmin, { role: 'hq_admin', merchantId: null })).toBe(false);
    expect(canManage(madmin, { role: 'viewer', merchantId: ids.b })).toBe(false);
    expect(canManage(mgr, { role: 'viewer', merchantId: ids.a })).toBe(false);
    const pw = { password: 'a long password' };
    expect(await refusal(people.create(madmin, { ...pw, username: 'x1', role: 'hq_admin' }))).toBe('forbidden');
    expect(await refusal(people.create(madmin, { ...pw, username: 'x2', role: 'viewer', merchantId: ids.b }))).toBe(
      'forbidden',
    );
    expect(await refusal(people.create(mgr, { ...pw, username: 'x3', role: 'viewer' }))).toBe('forbidden');
    expect(await refusal(people.list(mgr))).toBe('forbidden');
    expect(await refusal(people.list(viewer))).toBe('forbidden');
    const made = await people.create(madmin, { ...pw, username: 'x4', role: 'viewer', storeIds: [ids.a2] });
    expect(made).toMatchObject({ role: 'viewer', merchantId: ids.a, storeIds: [ids.a2] });
    const seen = (await people.list(madmin)).map((u) => u.username);
    expect(seen).toEqual(expect.arrayContaining(['madmin', 'mgr', 'view', 'x4']));
    expect(seen).not.toContain('root');
    expect((await people.list(root)).map((u) => u.username)).toContain('root');
    // A merchant admin sets a store manager's limit; the scope follows.
    await people.update(madmin, (await people.list(madmin)).find((u) => u.username === 'mgr')!.id, {
      refundLimitMinor: 7500,
    });
    expect(
      (await people.scopeOf({ id: mgr.userId, username: 'mgr', role: 'store_manager', merchant_id: ids.a }))
        .refundLimitMinor,
    ).toBe(7500);
    expect(await refusal(people.disable(madmin, root.userId))).toBe('not_found');
    expect(await refusal(people.disable(madmin, madmin.userId))).toBe('conflict');
  });

  it('an invitation is good once, for 72 hours, and keeps only a hash of its token', async () => {
    const inv = await people.invite(madmin, { role: 'store_manager', storeIds: [ids.a1] }, 'https://pay.example');
    expect(inv.link).toBe(`https://pay.example/hq#/invite/${inv.token}`);
    const row = await store.db.selectFrom('hq_invites').selectAll().where('id', '=', inv.id).executeTakeFirstOrThrow();
    expect(JSON.stringify(row)).not.toContain(inv.token);
    expect(row.merchant_id).toBe(ids.a);
    // Too short a password is refused and leaves the invitation usable.
    expect(await refusal(people.accept({ token: inv.token, username: 'newbie', password: 'short' }))).toBe(
      'invalid_request',
    );
    // Two accepts at once: exactly one user is made.
    const both = await Promise.all([
      refusal(people.accept({ token: inv.token, username: 'newbie', password: 'a long password' })),
      refusal(people.accept({ token: inv.token, username: 'newbie2', password: 'a long password' })),
    ]);
    expect(both.sort()).toEqual(['accepted', 'invite_expired']);
    expect(await refusal(people.accept({ token: inv.token, username: 'again', password: 'a long password' }))).toBe(
      'invite_expired',
    );
    const late = await people.invite(root, { role: 'hq_finance' }, 'https://pay.example');
    clock.advance(INVITE_MS);
    expect(await refusal(people.accept({ token: late.token, username: 'late', password: 'a long password' }))).toBe(
      'invite_expired',
    );
    expect(await refusal(people.invite(madmin, { role: 'hq_finance' }, 'x'))).toBe('forbidden');
    expect(await refusal(people.invite(viewer, { role: 'viewer' }, 'x'))).toBe('forbidden');
  });

  it('TOTP: a wrong code is refused, a code is taken once, the next step is fine', async () => {
    const { otpauthUrl, qrSvg } = await totp.setup(mgr.userId, 'mgr');
    expect(otpauthUrl).toMatch(/^otpauth:\/\/totp\/Kauri:mgr\?/);
    expect(qrSvg).toMatch(/^<svg/);
    const row = await store.db
      .selectFrom('users')
      .select('totp_secret')
      .where('id', '=', mgr.userId)
      .executeTakeFirstOrThrow();
    const secret = new URL(otpauthUrl).searchParams.get('secret')!;
    expect(row.totp_secret).not.toContain(secret);
    const now = clock.now().getTime();
    const code = totpCodeOf(otpauthUrl, now);
    const wrong = code === '000000' ? '111111' : '000000';
    expect(await refusal(totp.enable(mgr.userId, wrong))).toBe('totp_invalid');
    await totp.enable(mgr.userId, code);
    expect(await totp.enabled(mgr.userId)).toBe(true);
    // The code that turned it on cannot sign in, even a moment later in the same step.
    expect(await totp.verify(mgr.userId, code)).toBe(false);
    clock.advance(30_000);
    const next = totpCodeOf(otpauthUrl, clock.now().getTime());
    const [x, y] = await Promise.all([totp.verify(mgr.userId, next), totp.verify(mgr.userId, next)]);
    expect([x, y].filter(Boolean)).toHaveLength(1);
    // An older code (one step back, within the drift window) is refused once a later one was used.
    clock.advance(30_000);
    expect(await totp.verify(mgr.userId, next)).toBe(false);
    expect(await totp.verify(mgr.userId, totpCodeOf(otpauthUrl, clock.now().getTime()))).toBe(true);
    expect(await refusal(totp.setup(mgr.userId, 'mgr'))).toBe('conflict');
    clock.advance(30_000);
    await totp.disable(mgr.userId, totpCodeOf(otpauthUrl, clock.now().getTime()));
    expect(await totp.enabled(mgr.userId)).toBe(false);
  });

  it('the audit log: scoped reads, filters, cursor paging, and no UPDATE or DELETE', async () => {
    const all = await audit.list(root, { limit: 200 });
    const actions = all.items.map((i) => i.action);
    expect(actions).toEqual(
      expect.arrayContaining(['user.create', 'user.update', 'user.invite', 'user.accept_invite']),
    );
    expect(all.items.find((i) => i.action === 'user.invite' && i.details.role === 'hq_finance')?.actor).toBe('root');
    // Newest first.
    const ids_ = all.items.map((i) => Number(i.id));
    expect([...ids_].sort((p, q) => q - p)).toEqual(ids_);
    const mine = await audit.list(madmin, { limit: 200 });
    expect(mine.items.length).toBeGreaterThan(0);
    expect(mine.items.every((i) => i.merchantId === ids.a)).toBe(true);
    expect(mine.items.length).toBeLessThan(all.items.length);
    expect(await refusal(audit.list(mgr))).toBe('forbidden');
    expect(await refusal(audit.list(viewer))).toBe('forbidden');
    // A merchant admin asking for another merchant gets nothing of it.
    expect((await audit.list(madmin, { merchant: ids.b })).items).toEqual([]);
    expect((await audit.list(root, { action: 'user.' })).items.every((i) => i.action.startsWith('user.'))).toBe(true);
    expect((await audit.list(root, { actor: 'madmin' })).items.every((i) => i.actor === 'madmin')).toBe(true);
    expect((await audit.list(root, { from: '2099-01-01' })).items).toEqual([]);
    // Paging: two at a time walks the same list.
    const walked: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await audit.list(root, { limit: 2, cursor });
      walked.push(...page.items.map((i) => i.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(walked).toEqual(all.items.map((i) => i.id));
    expect(await refusal(audit.list(root, { cursor: 'bm9wZQ' }))).toBe('bad_argument');
    // The database refuses to change or remove a row, whatever the caller.
    await expect(sql`update audit_log set actor = 'someone else'`.execute(store.db)).rejects.toThrow(/append-only/);
    await expect(sql`delete from audit_log`.execute(store.db)).rejects.toThrow(/append-only/);
    if (kind === 'postgres') await expect(sql`truncate audit_log`.execute(store.db)).rejects.toThrow(/append-only/);
    expect((await audit.list(root, { limit: 200 })).items).toHaveLength(all.items.length);
  });
});

describe.each(storeKinds())('migration 0018 (%s)', (kind) => {
  it('turns merchant_user rows into merchant_admin', async () => {
    const db = await createTestDatabase(kind);
    const store = await openStore(db.url, { migrate: false });
    try {
      const migrator = new Migrator({ db: store.db, provider: migrationProvider(store.dialect) });
      const before = await migrator.migrateTo('0017_fx_rates_by_id');
      expect(before.error).toBeUndefined();
      const at = '2026-12-01T00:00:00.000Z';
      await sql`insert into merchants (id, name, allowed_domains, fx_markup, created_at) values ('mch_old', 'Old', '[]', '0.02', ${at})`.execute(
        store.db,
      );
      await sql`insert into users (id, username, password_hash, role, merchant_id, created_at) values ('usr_old', 'old', 'x', 'merchant_user', 'mch_old', ${at})`.execute(
        store.db,
      );
      expect((await migrator.migrateToLatest()).error).toBeUndefined();
      const row = await store.db.selectFrom('users').selectAll().where('id', '=', 'usr_old').executeTakeFirstOrThrow();
      expect(row.role).toBe('merchant_admin');
      expect(row.totp_enabled).toBe(0);
      expect(row.refund_limit_minor).toBeNull();
    } finally {
      await store.close();
      await db.drop();
    }
  });
});
