import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../bridge.js';
import { storeKinds } from '../../test/support/stores.js';
import { openHq, type HqLogin, type HqTest } from '../../test/support/hq-routes.js';

// The Stores and counters routes over HTTP: each role reads the stores of its scope (one
// outside it answers 404), HQ and merchant admins create and change stores and reset the
// manager PIN (shown once, never logged), the sticker is the CLI's PDF, and counters are revoked
// by HQ, their merchant's admin or their store's manager. Every change leaves its audit row.

describe.each(storeKinds())('back-office stores routes over HTTP (%s)', (kind) => {
  let bridge: Bridge;
  let api: HqTest;
  let a: string, b: string, a1: string, a2: string, b1: string;
  let root: HqLogin, fin: HqLogin, madmin: HqLogin, badmin: HqLogin, mgr: HqLogin, view: HqLogin;

  beforeAll(async () => {
    api = await openHq(kind);
    bridge = api.bridge;
    const acc = bridge.accounts;
    a = (await acc.createMerchant({ name: 'Aroha Books' })).id;
    b = (await acc.createMerchant({ name: 'Bellbird Cafe' })).id;
    a1 = (await acc.createStore({ merchantId: a, name: 'Cuba St', code: 'aroha-cuba' })).id;
    a2 = (await acc.createStore({ merchantId: a, name: 'Lambton Quay', code: 'aroha-lambton' })).id;
    b1 = (await acc.createStore({ merchantId: b, name: 'Bellbird Ponsonby', code: 'bellbird-pons' })).id;
    await api.users([
      { username: 'root', role: 'hq_admin' },
      { username: 'fin', role: 'hq_finance' },
      { username: 'madmin', role: 'merchant_admin', merchantId: a },
      { username: 'badmin', role: 'merchant_admin', merchantId: b },
      { username: 'mgr', role: 'store_manager', merchantId: a, storeIds: [a1] },
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
  const ids = async (who: HqLogin, query = '') =>
    ((await api.call('GET', `/hq/api/stores${query}`, who)).body.stores as Array<{ id: string }>)
      .map((s) => s.id)
      .sort();

  it('each role lists the stores of its scope', async () => {
    expect(await ids(root)).toEqual([a1, a2, b1].sort());
    expect(await ids(fin)).toEqual([a1, a2, b1].sort());
    expect(await ids(root, `?merchant=${b}`)).toEqual([b1]);
    expect(await ids(madmin)).toEqual([a1, a2].sort());
    // A merchant's user cannot widen the list by naming another merchant.
    expect(await ids(madmin, `?merchant=${b}`)).toEqual([a1, a2].sort());
    expect(await ids(mgr)).toEqual([a1]);
    expect(await ids(view)).toEqual([a1, a2].sort());
    const row = (await api.call('GET', '/hq/api/stores', madmin)).body.stores.find((s: any) => s.id === a1);
    expect(row).toMatchObject({
      code: 'aroha-cuba',
      name: 'Cuba St',
      merchant: 'Aroha Books',
      merchantId: a,
      timezone: 'Pacific/Auckland',
      maxStaticAmount: { minor: 500_000, currency: 'NZD' },
      managerPinSetAt: null,
    });
  });

  it('a store outside the scope answers 404, as one that does not exist', async () => {
    expect((await api.call('GET', `/hq/api/stores/${a1}`, mgr)).status).toBe(200);
    for (const [who, id] of [
      [mgr, a2],
      [mgr, b1],
      [madmin, b1],
      [badmin, a1],
      [view, b1],
    ] as const) {
      const res = await api.call('GET', `/hq/api/stores/${id}`, who);
      expect(res.status).toBe(404);
      expect(res.code).toBe('not_found');
      expect((await api.call('GET', `/hq/api/stores/${id}/sticker.pdf`, who)).status).toBe(404);
    }
    expect((await api.call('GET', `/hq/api/stores/sto_nothing`, root)).status).toBe(404);
  });

  it('a merchant admin creates a store of their merchant; HQ names the merchant; others may not', async () => {
    const made = await api.call('POST', '/hq/api/stores', madmin, {
      name: 'Courtenay Place',
      code: 'aroha-courtenay',
      timezone: 'Pacific/Chatham',
      maxStaticAmountMinor: 200_000,
    });
    expect(made.status, made.raw).toBe(200);
    expect(made.body.store).toMatchObject({
      merchantId: a,
      name: 'Courtenay Place',
      code: 'aroha-courtenay',
      timezone: 'Pacific/Chatham',
      maxStaticAmount: { minor: 200_000, currency: 'NZD' },
    });
    const id = made.body.store.id as string;
    expect((await auditRows('store.create')).at(-1)).toMatchObject({ actor: 'madmin', merchant_id: a, target: id });
    expect(await ids(madmin)).toContain(id);
    expect(await ids(badmin)).not.toContain(id);

    expect((await api.call('POST', '/hq/api/stores', madmin, { name: 'X', merchantId: b })).code).toBe('forbidden');
    expect((await api.call('POST', '/hq/api/stores', root, { name: 'X' })).code).toBe('invalid_request');
    const byHq = await api.call('POST', '/hq/api/stores', root, { name: 'Bellbird Newmarket', merchantId: b });
    expect(byHq.body.store.merchantId).toBe(b);
    for (const who of [fin, mgr, view])
      expect((await api.call('POST', '/hq/api/stores', who, { name: 'X' })).code).toBe('forbidden');
    // A code is unique and printed; a time zone must be one the runtime knows.
    expect((await api.call('POST', '/hq/api/stores', madmin, { name: 'X', code: 'aroha-cuba' })).code).toBe('conflict');
    expect((await api.call('POST', '/hq/api/stores', madmin, { name: 'X', timezone: 'Mars/Olympus' })).status).toBe(
      400,
    );
    expect((await api.call('POST', '/hq/api/stores', madmin, { name: 'X', code: 'a b' })).status).toBe(400);
    // Nor another store's id, which the pairing and checkout APIs also take for a store.
    const asId = await api.call('POST', '/hq/api/stores', madmin, { name: 'X', code: b1 });
    expect(asId).toMatchObject({ status: 400, code: 'invalid_request' });
  });

  it('a merchant admin edits their store (not its code); another merchant’s answers 404', async () => {
    const res = await api.call('PATCH', `/hq/api/stores/${a2}`, madmin, {
      name: 'Lambton Quay (upstairs)',
      maxStaticAmountMinor: 150_000,
    });
    expect(res.status, res.raw).toBe(200);
    expect(res.body.store).toMatchObject({
      name: 'Lambton Quay (upstairs)',
      code: 'aroha-lambton',
      maxStaticAmount: { minor: 150_000, currency: 'NZD' },
    });
    expect((await auditRows('store.update')).at(-1)).toMatchObject({ actor: 'madmin', target: a2 });
    expect((await api.call('PATCH', `/hq/api/stores/${a2}`, madmin, { code: 'new-code' })).status).toBe(400);
    expect((await api.call('PATCH', `/hq/api/stores/${b1}`, madmin, { name: 'Mine now' })).status).toBe(404);
    for (const who of [fin, mgr, view])
      expect((await api.call('PATCH', `/hq/api/stores/${a1}`, who, { name: 'X' })).code).toBe('forbidden');
    expect((await api.call('PATCH', `/hq/api/stores/${b1}`, root, { name: 'Bellbird Ponsonby Rd' })).status).toBe(200);
    expect((await bridge.accounts.getStore(b1))!.name).toBe('Bellbird Ponsonby Rd');
  });

  it('the sticker is the CLI’s PDF of the store’s one-code QR', async () => {
    for (const who of [root, madmin, mgr]) {
      const res = await api.call('GET', `/hq/api/stores/${a1}/sticker.pdf`, who);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('application/pdf');
      expect(String(res.headers['content-disposition'])).toContain('sticker-aroha-cuba.pdf');
      expect(res.rawBytes.subarray(0, 5).toString('latin1')).toBe('%PDF-');
      expect(res.rawBytes.length).toBeGreaterThan(1000);
    }
    expect((await api.call('GET', `/hq/api/stores/${a1}/sticker.pdf`, undefined)).status).toBe(401);
  });

  it('resets the manager PIN: shown once, checked by the counter, never in the log', async () => {
    await bridge.terminals.repo.setManagerPin(a1, '583920');
    const res = await api.call('POST', `/hq/api/stores/${a1}/manager-pin`, madmin, {});
    expect(res.status, res.raw).toBe(200);
    const pin = res.body.pin as string;
    expect(pin).toMatch(/^\d{6}$/);
    expect(await bridge.terminals.repo.checkManagerPin(a1, pin)).toBe(true);
    expect(await bridge.terminals.repo.checkManagerPin(a1, '583920')).toBe(false);
    const row = (await auditRows('manager_pin.reset')).at(-1)!;
    expect(row).toMatchObject({ actor: 'madmin', merchant_id: a, target: a1 });
    const log = JSON.stringify(await bridge.store.db.selectFrom('audit_log').selectAll().execute());
    expect(log).not.toContain(pin);
    // Read back, the store only says when its PIN was set.
    const store = (await api.call('GET', `/hq/api/stores/${a1}`, madmin)).body.store;
    expect(store.managerPinSetAt).toBeTruthy();
    expect(JSON.stringify(store)).not.toContain(pin);

    expect((await api.call('POST', `/hq/api/stores/${b1}/manager-pin`, madmin, {})).status).toBe(404);
    for (const who of [fin, mgr, view])
      expect((await api.call('POST', `/hq/api/stores/${a1}/manager-pin`, who, {})).code).toBe('forbidden');
    expect((await api.call('POST', `/hq/api/stores/${b1}/manager-pin`, root, {})).status).toBe(200);
  });

  it('shows a store’s counters with their health; revoked by HQ, the merchant admin or their store’s manager', async () => {
    const code = await api.call('POST', '/hq/api/pairing-codes', mgr, { store: a1, terminalName: 'Till 1' });
    expect(code.status, code.raw).toBe(200);
    const t1 = (await bridge.terminals.repo.pair(code.body.code)).terminal;
    await bridge.terminals.repo.recordHealth(t1.id, [{ kind: 'printer', state: 'held', detail: 'paper out' }]);
    const t2 = (
      await bridge.terminals.repo.pair((await bridge.terminals.createPairingCode(a2, { terminalName: 'Till 2' })).code)
    ).terminal;
    const t3 = (await bridge.terminals.repo.pair((await bridge.terminals.createPairingCode(b1)).code)).terminal;

    const detail = await api.call('GET', `/hq/api/stores/${a1}`, mgr);
    expect(detail.body.counters).toEqual([
      expect.objectContaining({
        id: t1.id,
        name: 'Till 1',
        revokedAt: null,
        connected: false,
        health: [{ kind: 'printer', state: 'held', detail: 'paper out' }],
      }),
    ]);
    expect(JSON.stringify(detail.body)).not.toContain(t2.id);

    // Another store's counter, or another merchant's, is no counter at all.
    expect((await api.call('POST', `/hq/api/terminals/${t2.id}/revoke`, mgr, {})).status).toBe(404);
    expect((await api.call('POST', `/hq/api/terminals/${t3.id}/revoke`, madmin, {})).status).toBe(404);
    for (const who of [fin, view])
      expect((await api.call('POST', `/hq/api/terminals/${t1.id}/revoke`, who, {})).code).toBe('forbidden');
    expect((await bridge.terminals.repo.get(t1.id))!.revokedAt).toBeNull();

    const revoked = await api.call('POST', `/hq/api/terminals/${t1.id}/revoke`, mgr, {});
    expect(revoked.status, revoked.raw).toBe(200);
    expect(revoked.body.counter.revokedAt).toBeTruthy();
    expect((await bridge.terminals.repo.get(t1.id))!.revokedAt).toBeTruthy();
    expect((await auditRows('terminal.revoke')).at(-1)).toMatchObject({ actor: 'mgr', merchant_id: a, target: t1.id });
    // The revocation reaches the link: the counter's credentials are refused from now on.
    const events = await bridge.store.db
      .selectFrom('events')
      .select('type')
      .where('type', '=', 'terminal.revoked')
      .execute();
    expect(events.length).toBeGreaterThan(0);

    expect((await api.call('POST', `/hq/api/terminals/${t2.id}/revoke`, madmin, {})).status).toBe(200);
    expect((await api.call('POST', `/hq/api/terminals/${t3.id}/revoke`, root, {})).status).toBe(200);
    expect((await api.call('GET', `/hq/api/stores/${a1}`, mgr)).body.counters[0].revokedAt).toBeTruthy();
  });
});
