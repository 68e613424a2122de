import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../bridge.js';
import { defaultChannels } from '../channels/index.js';
import { SecretBox } from '../store/secret-box.js';
import { storeKinds } from '../../test/support/stores.js';
import { openHq, type HqLogin, type HqTest } from '../../test/support/hq-routes.js';

// The Merchants routes over HTTP: HQ admins create, change and turn off merchants and set
// their channel accounts; HQ finance and a merchant admin read (the latter their own only,
// another's id answering 404); store managers and viewers get 403. Channel secrets go in
// sealed by the SecretBox, as `kauri admin channel-account set` seals them, and come back in no
// answer and no audit row. An off merchant or channel account starts no payment, with its code.

const SECRET_KEY = 'merchants-routes-secret-key-0123456789abcdef';
const WECHAT_API_KEY = 'wx-api-key-S3CRET-0123456789abcdef';
const WECHAT_APP_SECRET = 'wx-app-secret-S3CRET-9876';
const wechatConfig = { apiBaseUrl: 'http://127.0.0.1:9', appid: 'wx2421b1c4370ec43b', mch_id: '10000100' };

describe.each(storeKinds())('back-office merchants routes over HTTP (%s)', (kind) => {
  let bridge: Bridge;
  let api: HqTest;
  let a: string, b: string;
  let root: HqLogin, fin: HqLogin, madmin: HqLogin, mgr: HqLogin, view: HqLogin;

  beforeAll(async () => {
    api = await openHq(kind, { secretKey: SECRET_KEY, channels: defaultChannels() });
    bridge = api.bridge;
    const acc = bridge.accounts;
    a = (await acc.createMerchant({ name: 'Aroha Books', allowedDomains: ['aroha.co.nz'] })).id;
    b = (await acc.createMerchant({ name: 'Bellbird Cafe' })).id;
    const a1 = await acc.createStore({ merchantId: a, name: 'A1' });
    await api.users([
      { username: 'root', role: 'hq_admin' },
      { username: 'fin', role: 'hq_finance' },
      { username: 'madmin', role: 'merchant_admin', merchantId: a },
      { username: 'mgr', role: 'store_manager', merchantId: a, storeIds: [a1.id] },
      { username: 'view', role: 'viewer', merchantId: a },
    ]);
    [root, fin, madmin, mgr, view] = await Promise.all(
      ['root', 'fin', 'madmin', 'mgr', 'view'].map((u) => api.login(u)),
    );
  });
  afterAll(async () => {
    await api?.close();
  });

  const auditRows = (action: string) =>
    bridge.store.db.selectFrom('audit_log').selectAll().where('action', '=', action).orderBy('id').execute();

  it('an HQ admin creates a merchant with its domains, FX markup and maximum per payment; the change is audited', async () => {
    const made = await api.call('POST', '/hq/api/merchants', root, {
      name: 'Kererū Gifts',
      allowedDomains: ['Kereru.co.nz', 'shop.kereru.co.nz'],
      fxMarkup: '0.015',
      maxPayment: { minor: 250_000, currency: 'NZD' },
    });
    expect(made.status, made.raw).toBe(200);
    expect(made.body.merchant).toMatchObject({
      name: 'Kererū Gifts',
      allowedDomains: ['kereru.co.nz', 'shop.kereru.co.nz'],
      fxMarkup: '0.015',
      maxPayment: { minor: 250_000, currency: 'NZD' },
      allowPrivateWebhooks: false,
      disabledAt: null,
    });
    const id = made.body.merchant.id as string;
    expect(await bridge.accounts.getMerchant(id)).toMatchObject({ max_payment_minor: 250_000, fx_markup: '0.015' });
    const rows = await auditRows('merchant.create');
    expect(rows.at(-1)).toMatchObject({ actor: 'root', merchant_id: id, target: id });
    expect(rows.at(-1)!.ip).toBeTruthy();

    // Checked like the CLI checks them: a markup of 1 or more, an unknown field, no name.
    expect((await api.call('POST', '/hq/api/merchants', root, { name: 'X', fxMarkup: '1.5' })).code).toBe(
      'invalid_request',
    );
    expect((await api.call('POST', '/hq/api/merchants', root, { name: 'X', colour: 'red' })).code).toBe(
      'invalid_request',
    );
    expect((await api.call('POST', '/hq/api/merchants', root, { name: '' })).status).toBe(400);
    expect(
      (await api.call('POST', '/hq/api/merchants', root, { name: 'X', maxPayment: { minor: 0, currency: 'NZD' } }))
        .status,
    ).toBe(400);
  });

  it('only an HQ admin creates or changes merchants', async () => {
    for (const who of [fin, madmin, mgr, view]) {
      expect((await api.call('POST', '/hq/api/merchants', who, { name: 'Nope' })).code).toBe('forbidden');
      expect((await api.call('PATCH', `/hq/api/merchants/${a}`, who, { name: 'Nope' })).code).toBe('forbidden');
      expect((await api.call('POST', `/hq/api/merchants/${a}/disable`, who, {})).code).toBe('forbidden');
      expect(
        (
          await api.call('POST', `/hq/api/merchants/${a}/channel-accounts`, who, {
            channel: 'wechat',
            config: wechatConfig,
            secrets: { apiKey: WECHAT_API_KEY },
          })
        ).code,
      ).toBe('forbidden');
    }
    expect((await api.call('GET', `/hq/api/merchants`, undefined)).status).toBe(401);
    // A change without the CSRF token is refused even for HQ.
    expect((await api.call('PATCH', `/hq/api/merchants/${a}`, { ...root, csrf: 'wrong' }, { name: 'Nope' })).code).toBe(
      'forbidden',
    );
    expect((await bridge.accounts.getMerchant(a))!.name).toBe('Aroha Books');
  });

  it('HQ reads every merchant, a merchant admin their own only, others nothing', async () => {
    for (const who of [root, fin]) {
      const list = await api.call('GET', '/hq/api/merchants', who);
      expect(list.status).toBe(200);
      const ids = (list.body.merchants as Array<{ id: string }>).map((m) => m.id);
      expect(ids).toEqual(expect.arrayContaining([a, b]));
      expect((await api.call('GET', `/hq/api/merchants/${b}`, who)).status).toBe(200);
    }
    const own = await api.call('GET', '/hq/api/merchants', madmin);
    expect((own.body.merchants as Array<{ id: string }>).map((m) => m.id)).toEqual([a]);
    expect((await api.call('GET', `/hq/api/merchants/${a}`, madmin)).body.merchant.name).toBe('Aroha Books');
    // Another merchant's id answers as no merchant at all.
    const other = await api.call('GET', `/hq/api/merchants/${b}`, madmin);
    expect(other.status).toBe(404);
    expect(other.code).toBe('not_found');
    expect((await api.call('GET', `/hq/api/merchants/mch_nothing`, root)).status).toBe(404);
    for (const who of [mgr, view]) {
      expect((await api.call('GET', '/hq/api/merchants', who)).status).toBe(403);
      expect((await api.call('GET', `/hq/api/merchants/${a}`, who)).status).toBe(403);
    }
  });

  it('an HQ admin edits a merchant: only the fields sent change', async () => {
    const before = (await bridge.accounts.getMerchant(b))!;
    const res = await api.call('PATCH', `/hq/api/merchants/${b}`, root, {
      name: 'Bellbird Café',
      maxPayment: { minor: 1_000_000, currency: 'NZD' },
    });
    expect(res.status, res.raw).toBe(200);
    expect(res.body.merchant).toMatchObject({
      name: 'Bellbird Café',
      maxPayment: { minor: 1_000_000, currency: 'NZD' },
      fxMarkup: before.fx_markup,
      allowedDomains: before.allowed_domains,
    });
    expect((await auditRows('merchant.update')).at(-1)).toMatchObject({ actor: 'root', target: b });
    expect(JSON.parse((await auditRows('merchant.update')).at(-1)!.details!)).toMatchObject({ name: 'Bellbird Café' });
    expect((await api.call('PATCH', `/hq/api/merchants/mch_nothing`, root, { name: 'x' })).status).toBe(404);
  });

  it('sets a WeChat Pay account: the secrets are sealed as the CLI seals them and never read back', async () => {
    const res = await api.call('POST', `/hq/api/merchants/${a}/channel-accounts`, root, {
      channel: 'wechat',
      config: wechatConfig,
      secrets: { apiKey: WECHAT_API_KEY, appSecret: WECHAT_APP_SECRET },
    });
    expect(res.status, res.raw).toBe(200);
    expect(res.body.account).toMatchObject({ merchantId: a, channel: 'wechat', active: true, disabledAt: null });
    expect(res.body.account.config).toMatchObject(wechatConfig);
    const id = res.body.account.id as string;

    // Stored sealed: the column holds no secret, and the bridge's SecretBox opens it to them.
    const row = await bridge.store.db
      .selectFrom('channel_accounts')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(row.secrets).not.toContain(WECHAT_API_KEY);
    expect(JSON.parse(new SecretBox(SECRET_KEY).open(row.secrets))).toEqual({
      apiKey: WECHAT_API_KEY,
      appSecret: WECHAT_APP_SECRET,
    });
    expect((await bridge.accounts.activeChannelAccount(a, 'wechat'))!.secrets.apiKey).toBe(WECHAT_API_KEY);

    // No answer holds a secret, nor the audit log (which names the secrets set, not their values).
    const answers = [
      res.raw,
      (await api.call('GET', `/hq/api/merchants/${a}`, root)).raw,
      (await api.call('GET', `/hq/api/merchants/${a}`, fin)).raw,
      (await api.call('GET', `/hq/api/merchants/${a}`, madmin)).raw,
      (await api.call('GET', '/hq/api/merchants', root)).raw,
      (await api.call('GET', '/hq/api/audit?limit=200', root)).raw,
    ];
    for (const text of answers) {
      expect(text).not.toContain(WECHAT_API_KEY);
      expect(text).not.toContain(WECHAT_APP_SECRET);
    }
    const detail = await api.call('GET', `/hq/api/merchants/${a}`, madmin);
    expect((detail.body.channelAccounts as Array<{ id: string }>)[0]).not.toHaveProperty('secrets');
    const log = await bridge.store.db.selectFrom('audit_log').selectAll().execute();
    expect(JSON.stringify(log)).not.toContain(WECHAT_API_KEY);
    expect(JSON.stringify(log)).not.toContain(WECHAT_APP_SECRET);
    const set = (await auditRows('channel_account.set')).at(-1)!;
    expect(set).toMatchObject({ actor: 'root', merchant_id: a, target: id });
    expect(JSON.parse(set.details!)).toMatchObject({ channel: 'wechat', secretsSet: ['apiKey', 'appSecret'] });
  });

  it('refuses an account its channel could not use, naming the field and not echoing the secret', async () => {
    const noKey = await api.call('POST', `/hq/api/merchants/${a}/channel-accounts`, root, {
      channel: 'wechat',
      config: wechatConfig,
      secrets: { appSecret: WECHAT_APP_SECRET },
    });
    expect(noKey.status).toBe(400);
    expect(noKey.code).toBe('invalid_request');
    expect(noKey.body.error.message).toContain('apiKey');
    expect(noKey.raw).not.toContain(WECHAT_APP_SECRET);
    const bank = await api.call('POST', `/hq/api/merchants/${a}/channel-accounts`, root, {
      channel: 'bank',
      config: { payBaseUrl: 'https://pay.example', apiBaseUrl: 'https://api.example', v_mid: 'abc', publicKey: 'x' },
      secrets: { key: 'bank-hmac-S3CRET' },
    });
    expect(bank.code).toBe('invalid_request');
    expect(bank.raw).not.toContain('bank-hmac-S3CRET');
    const alipay = await api.call('POST', `/hq/api/merchants/${a}/channel-accounts`, root, {
      channel: 'alipay',
      config: { gatewayUrl: 'https://gw.example/gateway.do', partner: '2088101122136241' },
      secrets: {},
    });
    expect(alipay.code).toBe('invalid_request');
    expect(alipay.body.error.message).toContain('md5Key');
    expect(
      (
        await api.call('POST', `/hq/api/merchants/${a}/channel-accounts`, root, {
          channel: 'paypal',
          config: {},
          secrets: {},
        })
      ).code,
    ).toBe('invalid_request');
    expect(
      (
        await api.call('POST', `/hq/api/merchants/mch_nothing/channel-accounts`, root, {
          channel: 'wechat',
          config: wechatConfig,
          secrets: { apiKey: WECHAT_API_KEY },
        })
      ).status,
    ).toBe(404);
    // Nothing was stored by the refusals: the one WeChat account set above is still the only one.
    expect((await bridge.accounts.listChannelAccounts(a)).length).toBe(1);
  });

  it('an off merchant, or an off channel account, starts no payment; on again, it does', async () => {
    const key = (await bridge.accounts.createApiKey(a, 'test')).key;
    const pay = (amount = 1000) =>
      bridge.app.inject({
        method: 'POST',
        url: '/api/v1/payments',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        payload: JSON.stringify({
          out_trade_no: `off-${Date.now()}-${Math.floor(Math.random() * 1e9)}`,
          amount_minor: amount,
          currency: 'NZD',
          channel: 'wechat',
          mode: 'native',
        }),
      });
    const checkout = () =>
      bridge.app.inject({
        method: 'POST',
        url: '/api/v1/checkouts',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        payload: JSON.stringify({ amount_minor: 1000, currency: 'NZD' }),
      });
    // On: the refusal is the amount's (checked after whether the merchant and account are on),
    // so this needs no channel to answer.
    expect((await pay(100_000_000)).json().error.code).toBe('amount_too_large');

    const off = await api.call('POST', `/hq/api/merchants/${a}/disable`, root, {});
    expect(off.status).toBe(200);
    expect(off.body.merchant.disabledAt).toBeTruthy();
    const refused = await pay();
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error.code).toBe('merchant_disabled');
    expect((await checkout()).json().error.code).toBe('merchant_disabled');
    // The store's printed code tells the customer, in their language, on its own page.
    const store = (await bridge.accounts.listStores(a))[0]!;
    const typed = await bridge.app.inject({
      method: 'POST',
      url: `/s/${store.code}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'amount=12.50',
    });
    expect(typed.statusCode).toBe(403);
    expect(typed.headers['content-type']).toContain('text/html');
    expect(typed.body).toContain('not taking payments here');
    expect((await auditRows('merchant.disable')).at(-1)).toMatchObject({ actor: 'root', target: a });
    const orders = await bridge.store.db.selectFrom('orders').select('id').where('merchant_id', '=', a).execute();
    expect(orders).toEqual([]);

    expect((await api.call('POST', `/hq/api/merchants/${a}/enable`, root, {})).body.merchant.disabledAt).toBeNull();
    expect((await pay(100_000_000)).json().error.code).toBe('amount_too_large');

    const account = (await bridge.accounts.activeChannelAccount(a, 'wechat'))!;
    const accOff = await api.call('POST', `/hq/api/channel-accounts/${account.id}/disable`, root, {});
    expect(accOff.status, accOff.raw).toBe(200);
    expect(accOff.body.account).toMatchObject({ id: account.id, disabledAt: expect.any(String) });
    expect(accOff.raw).not.toContain(WECHAT_API_KEY);
    const refusedAccount = await pay();
    expect(refusedAccount.statusCode).toBe(409);
    expect(refusedAccount.json().error.code).toBe('channel_account_disabled');
    expect((await auditRows('channel_account.disable')).at(-1)).toMatchObject({ target: account.id, merchant_id: a });
    // The detail page says so.
    const detail = await api.call('GET', `/hq/api/merchants/${a}`, root);
    expect((detail.body.channelAccounts as Array<{ disabledAt: string | null }>)[0]!.disabledAt).toBeTruthy();

    for (const who of [fin, madmin, mgr])
      expect((await api.call('POST', `/hq/api/channel-accounts/${account.id}/enable`, who, {})).code).toBe('forbidden');
    expect((await api.call('POST', `/hq/api/channel-accounts/cha_nothing/enable`, root, {})).status).toBe(404);
    expect((await api.call('POST', `/hq/api/channel-accounts/${account.id}/enable`, root, {})).status).toBe(200);
    expect((await pay(100_000_000)).json().error.code).toBe('amount_too_large');
  });
});
