import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../bridge.js';
import { storeKinds } from '../../test/support/stores.js';
import { handClock, openHq, type HqLogin as Login, type HqTest } from '../../test/support/hq-routes.js';

// The Developers routes over HTTP: API keys (list, create with the key shown once, revoke) and
// the webhook endpoint (get, set, rotate), each refusal by its code, and the audit rows they
// leave, which must never hold a secret.

describe.each(storeKinds())('back-office developers routes over HTTP (%s)', (kind) => {
  const clock = handClock();
  let bridge: Bridge;
  let api: HqTest;
  let a: string, b: string;
  let root: Login, fin: Login, madmin: Login, badmin: Login, mgr: Login, view: Login;

  beforeAll(async () => {
    api = await openHq(kind, { clock });
    bridge = api.bridge;
    const acc = bridge.accounts;
    a = (await acc.createMerchant({ name: 'Aroha Books', allowedDomains: ['aroha.co.nz'] })).id;
    b = (await acc.createMerchant({ name: 'Bellbird Cafe', allowedDomains: ['bellbird.nz'] })).id;
    const a1 = await acc.createStore({ merchantId: a, name: 'A1' });
    await api.users([
      { username: 'root', role: 'hq_admin' },
      { username: 'fin', role: 'hq_finance' },
      { username: 'madmin', role: 'merchant_admin', merchantId: a },
      { username: 'badmin', role: 'merchant_admin', merchantId: b },
      { username: 'mgr', role: 'store_manager', merchantId: a, storeIds: [a1.id] },
      { username: 'view', role: 'viewer', merchantId: a },
    ]);
    [root, fin, madmin, badmin, mgr, view] = await Promise.all(
      ['root', 'fin', 'madmin', 'badmin', 'mgr', 'view'].map((u) => api.login(u)),
    );
  });
  afterAll(async () => {
    await api?.close();
  });

  const auditRows = (action: string) =>
    bridge.store.db.selectFrom('audit_log').selectAll().where('action', '=', action).orderBy('id').execute();

  it('a merchant admin creates a key (shown once), lists it, and the merchant API accepts it', async () => {
    const made = await api.call('POST', '/hq/api/api-keys', madmin, { label: 'till sync' });
    expect(made.status).toBe(200);
    expect(made.body).toMatchObject({ merchantId: a, label: 'till sync', revokedAt: null, lastUsedAt: null });
    const key = made.body.key as string;
    expect(key).toMatch(/^kauri_sk\.key_[^.]+\.[\w-]{20,}$/);
    const secret = key.split('.')[2]!;

    const list = await api.call('GET', '/hq/api/api-keys', madmin);
    expect(list.status).toBe(200);
    const row = (list.body.keys as any[]).find((k) => k.id === made.body.id);
    expect(row).toMatchObject({
      label: 'till sync',
      merchantId: a,
      prefix: `kauri_sk.${made.body.id}`,
      revokedAt: null,
    });
    // The secret is in the answer that made it and in no later one.
    expect(list.raw).not.toContain(secret);
    expect((await api.call('GET', `/hq/api/api-keys?merchant=${a}`, root)).raw).not.toContain(secret);

    const used = await api.call('GET', '/api/v1/webhook', undefined, undefined, { authorization: `Bearer ${key}` });
    expect(used.status).not.toBe(401);

    const rows = await auditRows('apikey.create');
    const mine = rows.find((r) => r.target === made.body.id)!;
    expect(mine).toMatchObject({ actor: 'madmin', role: 'merchant_admin', merchant_id: a });
    expect(JSON.parse(mine.details)).toEqual({ label: 'till sync' });
    expect(JSON.stringify(rows)).not.toContain(secret);
  });

  it('last used is written on use, at most once a minute per key', async () => {
    const { key, id } = (await api.call('POST', '/hq/api/api-keys', madmin, { label: 'touch' })).body as {
      key: string;
      id: string;
    };
    const lastUsed = async () => (await bridge.accounts.getApiKey(id))!.lastUsedAt;
    const use = () => api.call('GET', '/api/v1/webhook', undefined, undefined, { authorization: `Bearer ${key}` });
    const settle = async (want: string) => {
      for (let i = 0; i < 100 && (await lastUsed()) !== want; i++) await new Promise((r) => setTimeout(r, 10));
      return lastUsed();
    };
    expect(await lastUsed()).toBeNull();
    const first = clock.now().toISOString();
    await use();
    expect(await settle(first)).toBe(first);
    clock.advance(30_000);
    await use();
    await new Promise((r) => setTimeout(r, 100));
    expect(await lastUsed()).toBe(first);
    clock.advance(31_000);
    const second = clock.now().toISOString();
    await use();
    expect(await settle(second)).toBe(second);
    const listed = (await api.call('GET', '/hq/api/api-keys', madmin)).body.keys as any[];
    expect(listed.find((k) => k.id === id).lastUsedAt).toBe(second);
  });

  it('revoking a key stops it at once and is audited; revoking again changes nothing', async () => {
    const made = (await api.call('POST', '/hq/api/api-keys', madmin, { label: 'old' })).body;
    const key = made.key as string;
    const ok = () => api.call('GET', '/api/v1/webhook', undefined, undefined, { authorization: `Bearer ${key}` });
    expect((await ok()).status).not.toBe(401);
    const revoked = await api.call('POST', `/hq/api/api-keys/${made.id}/revoke`, madmin, {});
    expect(revoked.status).toBe(200);
    expect(revoked.body.key).toMatchObject({ id: made.id, revokedAt: clock.now().toISOString() });
    expect((await ok()).status).toBe(401);
    expect((await api.call('POST', `/hq/api/api-keys/${made.id}/revoke`, madmin, {})).status).toBe(200);
    const rows = (await auditRows('apikey.revoke')).filter((r) => r.target === made.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ actor: 'madmin', merchant_id: a });
    expect(rows[0]!.details).not.toContain(key.split('.')[2]!);
  });

  it("another merchant's key by id is not found; its key stays in force", async () => {
    const theirs = (await api.call('POST', '/hq/api/api-keys', badmin, { label: 'bellbird' })).body;
    const res = await api.call('POST', `/hq/api/api-keys/${theirs.id}/revoke`, madmin, {});
    expect([res.status, res.code]).toEqual([404, 'not_found']);
    expect((await bridge.accounts.getApiKey(theirs.id))!.revokedAt).toBeNull();
    expect(((await api.call('GET', '/hq/api/api-keys', madmin)).body.keys as any[]).map((k) => k.id)).not.toContain(
      theirs.id,
    );
    const named = await api.call('GET', `/hq/api/api-keys?merchant=${b}`, madmin);
    expect([named.status, named.code]).toEqual([403, 'forbidden']);
    const unknown = await api.call('POST', '/hq/api/api-keys/key_nothing/revoke', root, {});
    expect([unknown.status, unknown.code]).toEqual([404, 'not_found']);
  });

  it('HQ admin works on any merchant it names; HQ finance only reads', async () => {
    const unnamed = await api.call('GET', '/hq/api/api-keys', root);
    expect([unnamed.status, unnamed.code]).toEqual([400, 'invalid_request']);
    const nobody = await api.call('GET', '/hq/api/api-keys?merchant=mch_nobody', root);
    expect([nobody.status, nobody.code]).toEqual([404, 'not_found']);
    const made = await api.call('POST', '/hq/api/api-keys', root, { label: 'hq made', merchantId: b });
    expect(made.status).toBe(200);
    expect(made.body.merchantId).toBe(b);
    expect((await auditRows('apikey.create')).find((r) => r.target === made.body.id)).toMatchObject({
      actor: 'root',
      merchant_id: b,
    });

    const read = await api.call('GET', `/hq/api/api-keys?merchant=${b}`, fin);
    expect(read.status).toBe(200);
    expect((read.body.keys as any[]).map((k) => k.id)).toContain(made.body.id);
    expect((await api.call('GET', `/hq/api/webhook?merchant=${b}`, fin)).status).toBe(200);

    const before = (await auditRows('apikey.create')).length;
    const create = await api.call('POST', '/hq/api/api-keys', fin, { label: 'finance', merchantId: b });
    expect([create.status, create.code]).toEqual([403, 'forbidden']);
    expect(await auditRows('apikey.create')).toHaveLength(before);
    const revoke = await api.call('POST', `/hq/api/api-keys/${made.body.id}/revoke`, fin, {});
    expect([revoke.status, revoke.code]).toEqual([403, 'forbidden']);
    const hook = await api.call('PUT', '/hq/api/webhook', fin, { url: 'https://bellbird.nz/hook', merchantId: b });
    expect([hook.status, hook.code]).toEqual([403, 'forbidden']);
    const rotate = await api.call('POST', '/hq/api/webhook/rotate', fin, { merchantId: b });
    expect([rotate.status, rotate.code]).toEqual([403, 'forbidden']);
  });

  it('store managers and viewers get nothing, not even the list', async () => {
    const key = (await api.call('POST', '/hq/api/api-keys', madmin, { label: 'x' })).body.id as string;
    for (const who of [mgr, view]) {
      for (const [method, url, payload] of [
        ['GET', '/hq/api/api-keys', undefined],
        ['POST', '/hq/api/api-keys', { label: 'mine' }],
        ['POST', `/hq/api/api-keys/${key}/revoke`, {}],
        ['GET', '/hq/api/webhook', undefined],
        ['PUT', '/hq/api/webhook', { url: 'https://aroha.co.nz/hook' }],
        ['POST', '/hq/api/webhook/rotate', {}],
      ] as const) {
        const res = await api.call(method, url, who, payload);
        expect([method, url, res.status, res.code]).toEqual([method, url, 403, 'forbidden']);
      }
    }
    expect((await bridge.accounts.getApiKey(key))!.revokedAt).toBeNull();
  });

  it('changes need the CSRF token and a session', async () => {
    const noCsrf = await api.call('POST', '/hq/api/api-keys', { ...madmin, csrf: 'wrong' }, { label: 'csrf' });
    expect([noCsrf.status, noCsrf.code]).toEqual([403, 'forbidden']);
    const noSession = await api.call('GET', '/hq/api/api-keys');
    expect(noSession.status).toBe(401);
    const put = await api.call(
      'PUT',
      '/hq/api/webhook',
      { ...madmin, csrf: 'wrong' },
      { url: 'https://aroha.co.nz/h' },
    );
    expect([put.status, put.code]).toEqual([403, 'forbidden']);
  });

  it('webhook: none yet, set (secret once), URL rules, rotate (new secret once), all audited without secrets', async () => {
    expect((await api.call('GET', '/hq/api/webhook', madmin)).body).toMatchObject({ merchantId: a, url: null });
    const rotateFirst = await api.call('POST', '/hq/api/webhook/rotate', madmin, {});
    expect([rotateFirst.status, rotateFirst.code]).toEqual([404, 'webhook_not_set']);

    for (const [url, code] of [
      ['https://evil.example.com/hook', 'url_not_allowed'],
      ['http://shop.aroha.co.nz/hook', 'webhook_url_refused'],
      ['not a url', 'invalid_request'],
    ] as const) {
      const res = await api.call('PUT', '/hq/api/webhook', madmin, { url });
      expect([url, res.code]).toEqual([url, code]);
    }
    expect((await api.call('GET', '/hq/api/webhook', madmin)).body.url).toBeNull();

    const set = await api.call('PUT', '/hq/api/webhook', madmin, { url: 'https://shop.aroha.co.nz/hook' });
    expect(set.status).toBe(200);
    expect(set.body.url).toBe('https://shop.aroha.co.nz/hook');
    const secret1 = set.body.secret as string;
    expect(secret1).toMatch(/^whsec_/);
    const got = await api.call('GET', '/hq/api/webhook', madmin);
    expect(got.body).toMatchObject({ merchantId: a, url: 'https://shop.aroha.co.nz/hook' });
    expect(got.raw).not.toContain(secret1);

    const rotated = await api.call('POST', '/hq/api/webhook/rotate', madmin, {});
    expect(rotated.status).toBe(200);
    const secret2 = rotated.body.secret as string;
    expect(secret2).toMatch(/^whsec_/);
    expect(secret2).not.toBe(secret1);
    expect((await api.call('GET', '/hq/api/webhook', madmin)).raw).not.toContain(secret2);

    // HQ names the merchant; the other merchant's rules (its allowed domains) apply.
    const forB = await api.call('PUT', '/hq/api/webhook', root, {
      url: 'https://shop.aroha.co.nz/hook',
      merchantId: b,
    });
    expect(forB.code).toBe('url_not_allowed');
    expect(
      (await api.call('PUT', '/hq/api/webhook', root, { url: 'https://bellbird.nz/h', merchantId: b })).status,
    ).toBe(200);
    expect((await api.call('GET', '/hq/api/webhook', madmin)).body.url).toBe('https://shop.aroha.co.nz/hook');
    const other = await api.call('PUT', '/hq/api/webhook', madmin, { url: 'https://bellbird.nz/x', merchantId: b });
    expect([other.status, other.code]).toEqual([403, 'forbidden']);

    const sets = await auditRows('webhook.set');
    expect(sets.map((r) => [r.actor, r.merchant_id])).toEqual([
      ['madmin', a],
      ['root', b],
    ]);
    expect(JSON.parse(sets[0]!.details)).toEqual({ url: 'https://shop.aroha.co.nz/hook' });
    const rotations = await auditRows('webhook.rotate');
    expect(rotations.map((r) => [r.actor, r.merchant_id])).toEqual([['madmin', a]]);
    const all = JSON.stringify(await bridge.store.db.selectFrom('audit_log').selectAll().execute());
    expect(all).not.toContain(secret1);
    expect(all).not.toContain(secret2);
    expect(all).not.toContain('whsec_');
    expect(all).not.toContain('kauri_sk.');
  });
});
