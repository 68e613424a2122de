import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../protocol/clock.js';
import type { BridgeOptions } from '../bridge.js';
import { storeKinds } from '../../test/support/stores.js';
import { handClock, HQ_PASSWORD, openHq, type HqLogin as Login, type HqTest } from '../../test/support/hq-routes.js';
import { totpCodeOf } from './totp.js';
import { INVITE_MS } from './people.js';

// The people, sessions, TOTP and audit routes over HTTP, each refusal by its code: a merchant
// admin creating an HQ user, a store manager listing users, an invitation used or expired, a
// wrong or replayed TOTP code, and a role that must use TOTP reaching nothing else until it does.

const open = (kind: 'sqlite' | 'postgres', clock: Clock, more: Partial<BridgeOptions> = {}) =>
  openHq(kind, { clock, publicBaseUrl: 'https://pay.example.co.nz', ...more });

/** The helper's requests, and a sign-in answered as its outcome: `ok` or the error's code. */
function client(hq: HqTest) {
  const loginCode = async (username: string, totp?: string): Promise<string> => {
    try {
      await hq.login(username, HQ_PASSWORD, totp);
      return 'ok';
    } catch (err) {
      return (err as { body: { error: { code: string } } }).body.error.code;
    }
  };
  return { call: hq.call, login: hq.login, loginCode };
}

describe.each(storeKinds())('back-office people over HTTP (%s)', (kind) => {
  const clock = handClock();
  let env: Awaited<ReturnType<typeof open>>;
  let api: ReturnType<typeof client>;
  let ids: { a: string; b: string; a1: string; a2: string; b1: string; a1code: string };
  let root: Login, madmin: Login, mgr: Login, view: Login;

  beforeAll(async () => {
    env = await open(kind, clock);
    const acc = env.bridge.accounts;
    const a = await acc.createMerchant({ name: 'Aroha Books' });
    const b = await acc.createMerchant({ name: 'Bellbird Cafe' });
    const a1 = await acc.createStore({ merchantId: a.id, name: 'A1' });
    const a2 = await acc.createStore({ merchantId: a.id, name: 'A2' });
    const b1 = await acc.createStore({ merchantId: b.id, name: 'B1' });
    ids = { a: a.id, b: b.id, a1: a1.id, a2: a2.id, b1: b1.id, a1code: a1.code };
    await env.users([
      { username: 'root', role: 'hq_admin' },
      { username: 'fin', role: 'hq_finance' },
      { username: 'madmin', role: 'merchant_admin', merchantId: a.id },
      { username: 'badmin', role: 'merchant_admin', merchantId: b.id },
      { username: 'mgr', role: 'store_manager', merchantId: a.id, storeIds: [a1.id], refundLimitMinor: 5000 },
      { username: 'view', role: 'viewer', merchantId: a.id },
    ]);
    api = client(env);
    root = await api.login('root');
    madmin = await api.login('madmin');
    mgr = await api.login('mgr');
    view = await api.login('view');
  });
  afterAll(async () => {
    await env?.close();
  });

  it('me answers the scope, TOTP state and requirement; the old fields stay', async () => {
    const me = await api.call('GET', '/hq/api/me', mgr);
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({
      username: 'mgr',
      role: 'store_manager',
      hq: false,
      user: { username: 'mgr', role: 'store_manager', merchantId: ids.a },
      scope: { role: 'store_manager', merchantId: ids.a, storeIds: [ids.a1], refundLimitMinor: 5000 },
      totpEnabled: false,
      totpRequired: false,
    });
    expect((await api.call('GET', '/hq/api/me', root)).body.scope).toMatchObject({ merchantId: null, storeIds: null });
  });

  it('users: a merchant admin manages only their own merchant and no HQ role; store managers and viewers no one', async () => {
    const made = { username: 'hq2', password: 'a long password', role: 'hq_finance' };
    const asAdmin = await api.call('POST', '/hq/api/users', madmin, made);
    expect([asAdmin.status, asAdmin.code]).toEqual([403, 'forbidden']);
    const other = await api.call('POST', '/hq/api/users', madmin, { ...made, role: 'viewer', merchantId: ids.b });
    expect([other.status, other.code]).toEqual([403, 'forbidden']);
    const foreignStore = await api.call('POST', '/hq/api/users', madmin, {
      ...made,
      username: 'mgr2',
      role: 'store_manager',
      storeIds: [ids.b1],
    });
    expect([foreignStore.status, foreignStore.code]).toEqual([400, 'invalid_request']);
    const ok = await api.call('POST', '/hq/api/users', madmin, {
      ...made,
      username: 'mgr2',
      role: 'store_manager',
      storeIds: [ids.a2],
      refundLimitMinor: 2000,
    });
    expect(ok.status).toBe(200);
    expect(ok.body.user).toMatchObject({ role: 'store_manager', merchantId: ids.a, storeIds: [ids.a2] });
    expect((await api.call('POST', '/hq/api/users', root, made)).status).toBe(200);

    const mgrList = await api.call('GET', '/hq/api/users', mgr);
    expect([mgrList.status, mgrList.code]).toEqual([403, 'forbidden']);
    expect((await api.call('GET', '/hq/api/users', view)).code).toBe('forbidden');
    const list = await api.call('GET', '/hq/api/users', madmin);
    const names = (list.body.users as Array<{ username: string }>).map((u) => u.username);
    expect(names).toEqual(expect.arrayContaining(['madmin', 'mgr', 'view', 'mgr2']));
    expect(names).not.toContain('root');
    expect(names).not.toContain('badmin');
    // Without the CSRF token a change is refused.
    const noCsrf = await api.call('POST', '/hq/api/users', { cookie: madmin.cookie, csrf: 'wrong' }, made);
    expect(noCsrf.code).toBe('forbidden');

    // A merchant admin changes a store manager's limit; disabling ends the user's sessions.
    const mgr2 = (list.body.users as Array<{ id: string; username: string }>).find((u) => u.username === 'mgr2')!;
    const patched = await api.call('PATCH', `/hq/api/users/${mgr2.id}`, madmin, { refundLimitMinor: 3000 });
    expect(patched.body.user.refundLimitMinor).toBe(3000);
    const mgr2Login = await api.login('mgr2');
    expect((await api.call('GET', '/hq/api/me', mgr2Login)).body.scope.refundLimitMinor).toBe(3000);
    const badmin = await api.login('badmin');
    expect((await api.call('POST', `/hq/api/users/${mgr2.id}/disable`, badmin, {})).code).toBe('not_found');
    expect((await api.call('POST', `/hq/api/users/${mgr2.id}/disable`, mgr, {})).code).toBe('forbidden');
    expect((await api.call('POST', `/hq/api/users/${mgr2.id}/disable`, madmin, {})).status).toBe(200);
    expect((await api.call('GET', '/hq/api/me', mgr2Login)).status).toBe(401);
    expect(await api.loginCode('mgr2')).toBe('unauthorized');
  });

  it('invitations: shown once, accepted once, refused when used or after 72 hours, and only within scope', async () => {
    const inv = await api.call('POST', '/hq/api/invites', madmin, {
      role: 'store_manager',
      storeIds: [ids.a1],
      refundLimitMinor: 1500,
    });
    expect(inv.status).toBe(200);
    expect(inv.body.link).toMatch(/^https:\/\/pay\.example\.co\.nz\/hq#\/invite\/[\w-]{40,}$/);
    expect(Date.parse(inv.body.expiresAt) - clock.now().getTime()).toBe(INVITE_MS);
    const token = (inv.body.link as string).split('/').pop()!;
    const accept = (username: string, password = 'a long password', t = token) =>
      api.call('POST', '/hq/api/invites/accept', undefined, { token: t, username, password });
    expect((await accept('newbie', 'short')).code).toBe('invalid_request');
    const done = await accept('newbie');
    expect(done.status).toBe(200);
    expect(done.body.user).toMatchObject({ username: 'newbie', role: 'store_manager', merchantId: ids.a });
    const newbie = await api.login('newbie');
    expect((await api.call('GET', '/hq/api/me', newbie)).body.scope).toMatchObject({
      storeIds: [ids.a1],
      refundLimitMinor: 1500,
    });
    const again = await accept('newbie-again');
    expect([again.status, again.code]).toEqual([410, 'invite_expired']);
    expect((await accept('nobody', 'a long password', 'x'.repeat(43))).code).toBe('invite_expired');

    const late = await api.call('POST', '/hq/api/invites', root, { role: 'hq_finance' });
    clock.advance(INVITE_MS + 1000);
    const expired = await accept('late', 'a long password', (late.body.link as string).split('/').pop()!);
    expect([expired.status, expired.code]).toEqual([410, 'invite_expired']);

    // The 72 hours passed for the sessions too (12 h): sign in again.
    expect((await api.call('GET', '/hq/api/me', madmin)).status).toBe(401);
    root = await api.login('root');
    madmin = await api.login('madmin');
    mgr = await api.login('mgr');
    view = await api.login('view');
    expect((await api.call('POST', '/hq/api/invites', madmin, { role: 'hq_admin' })).code).toBe('forbidden');
    expect((await api.call('POST', '/hq/api/invites', mgr, { role: 'viewer' })).code).toBe('forbidden');
  });

  it('sessions: each user lists and ends their own; an admin of the scope ends others; nobody else', async () => {
    const second = await api.login('mgr');
    const mine = await api.call('GET', '/hq/api/sessions', mgr);
    expect(mine.status).toBe(200);
    const list = mine.body.sessions as Array<{ id: string; current: boolean; ip: string }>;
    expect(list.length).toBeGreaterThanOrEqual(2);
    expect(list.filter((s) => s.current)).toHaveLength(1);
    expect(list[0]!.ip).toBe('127.0.0.1');
    // The id names the session without being its cookie.
    expect(list.map((s) => s.id)).not.toContain(second.cookie.split('=')[1]);
    const secondId = list.find((s) => !s.current)!.id;
    // A viewer of the same merchant cannot end it; the merchant admin can.
    expect((await api.call('DELETE', `/hq/api/sessions/${secondId}`, view)).code).toBe('not_found');
    const noCsrf = await api.call('DELETE', `/hq/api/sessions/${secondId}`, { cookie: madmin.cookie, csrf: 'x' });
    expect(noCsrf.code).toBe('forbidden');
    expect((await api.call('DELETE', `/hq/api/sessions/${secondId}`, madmin)).status).toBe(200);
    expect((await api.call('GET', '/hq/api/me', second)).status).toBe(401);
    // A merchant admin cannot see or end an HQ user's sessions.
    const rootMe = (await api.call('GET', '/hq/api/me', root)).body.user.id as string;
    expect((await api.call('GET', `/hq/api/sessions?user=${rootMe}`, madmin)).code).toBe('not_found');
    const rootSessions = (await api.call('GET', '/hq/api/sessions', root)).body.sessions as Array<{ id: string }>;
    expect((await api.call('DELETE', `/hq/api/sessions/${rootSessions[0]!.id}`, madmin)).code).toBe('not_found');
    // Ending one's own session is always allowed.
    const third = await api.login('view');
    const viewSessions = (await api.call('GET', '/hq/api/sessions', third)).body.sessions as Array<{
      id: string;
      current: boolean;
    }>;
    const own = viewSessions.find((s) => s.current)!.id;
    expect((await api.call('DELETE', `/hq/api/sessions/${own}`, third)).status).toBe(200);
    expect((await api.call('GET', '/hq/api/me', third)).status).toBe(401);
  });

  it('TOTP: setup gives a QR code; a user with it on must give a valid code; a code is not taken twice', async () => {
    const setup = await api.call('POST', '/hq/api/totp/setup', mgr, {});
    expect(setup.status).toBe(200);
    expect(setup.body.qrSvg).toMatch(/^<svg/);
    const url = setup.body.otpauthUrl as string;
    const code = () => totpCodeOf(url, clock.now().getTime());
    const wrongOf = (c: string) => (c === '000000' ? '111111' : '000000');
    expect((await api.call('POST', '/hq/api/totp/enable', mgr, { code: wrongOf(code()) })).code).toBe('totp_invalid');
    expect((await api.call('POST', '/hq/api/totp/enable', mgr, { code: code() })).status).toBe(200);
    expect((await api.call('GET', '/hq/api/me', mgr)).body.totpEnabled).toBe(true);

    expect(await api.loginCode('mgr')).toBe('totp_required');
    clock.advance(30_000);
    expect(await api.loginCode('mgr', wrongOf(code()))).toBe('totp_invalid');
    const now = code();
    expect(await api.loginCode('mgr', now)).toBe('ok');
    // The same code again, within its window: refused.
    expect(await api.loginCode('mgr', now)).toBe('totp_invalid');
    clock.advance(30_000);
    mgr = await api.login('mgr', 'a long password', code());
    clock.advance(30_000);
    expect((await api.call('POST', '/hq/api/totp/disable', mgr, { code: '12' })).code).toBe('totp_invalid');
    expect((await api.call('POST', '/hq/api/totp/disable', mgr, { code: code() })).status).toBe(200);
    expect(await api.loginCode('mgr')).toBe('ok');
  });

  it('the audit log: HQ reads all, a merchant admin their merchant only, others nothing; existing HQ changes are in it', async () => {
    const pairing = await api.call('POST', '/hq/api/pairing-codes', madmin, { store: ids.a1code });
    expect(pairing.status).toBe(200);
    const all = await api.call('GET', '/hq/api/audit?limit=200', root);
    expect(all.status).toBe(200);
    const items = all.body.items as Array<{ action: string; actor: string; merchantId: string | null; ip: string }>;
    const actions = new Set(items.map((i) => i.action));
    for (const a of [
      'user.create',
      'user.update',
      'user.disable',
      'user.invite',
      'user.accept_invite',
      'session.end',
      'totp.enable',
      'totp.disable',
      'pairing_code.create',
    ])
      expect(actions).toContain(a);
    // A store manager pairs counters of their own store only; a viewer none.
    expect((await api.call('POST', '/hq/api/pairing-codes', mgr, { store: ids.a1code })).status).toBe(200);
    expect((await api.call('POST', '/hq/api/pairing-codes', mgr, { store: ids.a2 })).code).toBe('forbidden');
    expect((await api.call('POST', '/hq/api/pairing-codes', view, { store: ids.a1code })).code).toBe('forbidden');
    // HQ finance reads everything and changes nothing: a pairing code is a change.
    const finance = await api.login('fin');
    expect((await api.call('POST', '/hq/api/pairing-codes', finance, { store: ids.a1code })).code).toBe('forbidden');
    const mgrStores = (await api.call('GET', '/hq/api/stores', mgr)).body.stores as Array<{ id: string }>;
    expect(mgrStores.map((st) => st.id)).toEqual([ids.a1]);
    // Settlement is the merchant's whole: not for a user tied to stores.
    expect((await api.call('GET', '/hq/api/settlement', mgr)).code).toBe('forbidden');
    expect((await api.call('GET', '/hq/api/settlement', madmin)).status).toBe(200);
    const pc = items.find((i) => i.action === 'pairing_code.create')!;
    expect(pc).toMatchObject({ actor: 'madmin', merchantId: ids.a, ip: '127.0.0.1' });
    // The pairing code itself is a credential: not in the log.
    expect(JSON.stringify(items)).not.toContain(pairing.body.code);
    const fin = await api.login('fin');
    expect((await api.call('GET', '/hq/api/audit', fin)).status).toBe(200);
    const mine = await api.call('GET', '/hq/api/audit?limit=200', madmin);
    expect((mine.body.items as Array<{ merchantId: string }>).every((i) => i.merchantId === ids.a)).toBe(true);
    expect((await api.call('GET', `/hq/api/audit?merchant=${ids.b}`, madmin)).body.items).toEqual([]);
    expect((await api.call('GET', '/hq/api/audit', mgr)).code).toBe('forbidden');
    expect((await api.call('GET', '/hq/api/audit', view)).code).toBe('forbidden');
    const page1 = await api.call('GET', '/hq/api/audit?limit=3&action=user.', root);
    expect(page1.body.items).toHaveLength(3);
    const page2 = await api.call('GET', `/hq/api/audit?limit=3&action=user.&cursor=${page1.body.nextCursor}`, root);
    expect(Number(page2.body.items[0].id)).toBeLessThan(Number(page1.body.items[2].id));
  });
});

describe('kauri bridge --require-totp', () => {
  const clock = handClock();
  let env: Awaited<ReturnType<typeof open>>;
  let api: ReturnType<typeof client>;
  beforeAll(async () => {
    env = await open('sqlite', clock, { hq: { requireTotp: ['hq_admin', 'hq_finance'], totpExemptUsers: ['hq'] } });
    const m = await env.bridge.accounts.createMerchant({ name: 'Aroha Books' });
    await env.users([
      { username: 'root', role: 'hq_admin' },
      { username: 'hq', role: 'hq_admin' },
      { username: 'madmin', role: 'merchant_admin', merchantId: m.id },
    ]);
    api = client(env);
  });
  afterAll(async () => {
    await env?.close();
  });

  it('a user of a required role without TOTP reaches only the TOTP setup until it is on', async () => {
    const root = await api.login('root');
    const me = await api.call('GET', '/hq/api/me', root);
    expect(me.body).toMatchObject({ totpEnabled: false, totpRequired: true });
    for (const url of ['/hq/api/overview', '/hq/api/users', '/hq/api/audit']) {
      const r = await api.call('GET', url, root);
      expect([url, r.status, r.code]).toEqual([url, 403, 'totp_setup_required']);
    }
    expect((await api.call('POST', '/hq/api/invites', root, { role: 'hq_finance' })).code).toBe('totp_setup_required');
    const setup = await api.call('POST', '/hq/api/totp/setup', root, {});
    const code = totpCodeOf(setup.body.otpauthUrl as string, clock.now().getTime());
    expect((await api.call('POST', '/hq/api/totp/enable', root, { code })).status).toBe(200);
    expect((await api.call('GET', '/hq/api/users', root)).status).toBe(200);
    // It cannot be turned off while the role requires it.
    clock.advance(30_000);
    const next = totpCodeOf(setup.body.otpauthUrl as string, clock.now().getTime());
    expect((await api.call('POST', '/hq/api/totp/disable', root, { code: next })).code).toBe('forbidden');
    // Roles not named are not held, and the demo's HQ user is exempt.
    const madmin = await api.login('madmin');
    expect((await api.call('GET', '/hq/api/users', madmin)).status).toBe(200);
    const demo = await api.login('hq');
    expect((await api.call('GET', '/hq/api/me', demo)).body.totpRequired).toBe(false);
    expect((await api.call('GET', '/hq/api/users', demo)).status).toBe(200);
  });
});
