import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { ChannelRegistry } from '../channels/channel.js';
import { TestGateway } from '../orders/test-gateway.fixture.js';
import { systemClock } from '../../protocol/clock.js';
import { storeKinds } from '../../test/support/stores.js';
import { openHq, type HqLogin, type HqResponse, type HqTest } from '../../test/support/hq-routes.js';
import { ReconRunsRepo } from '../reconcile/runs/repo.js';

// A change made from the back office and its audit row commit together or not at all. The
// failure is injected where a crash would hurt: after the change was written in its transaction,
// at the audit insert (a trigger on audit_log that fails the insert of one action). Before the
// audit entry went into the services' transactions, each of these left the change without a
// record of who made it. Then, without the failure, the same request leaves both.

const FAIL = 'injected failure at the audit insert';

describe.each(storeKinds())('a change and its audit row commit together (%s)', (kind) => {
  const gateway = new TestGateway(systemClock());
  let hq: HqTest;
  let root: HqLogin;
  let ma: HqLogin;
  let merchant: string;

  beforeAll(async () => {
    hq = await openHq(kind, { channels: new ChannelRegistry().register(gateway) });
    const a = hq.bridge.accounts;
    merchant = (await a.createMerchant({ name: 'Aroha Books', allowedDomains: ['aroha.co.nz'] })).id;
    await a.createChannelAccount({ merchantId: merchant, channel: 'wechat', config: {}, secrets: {} });
    await hq.users([
      { username: 'root', role: 'hq_admin' },
      { username: 'ma', role: 'merchant_admin', merchantId: merchant },
    ]);
    root = await hq.login('root');
    ma = await hq.login('ma');
  });
  afterAll(async () => {
    await hq?.close();
  });

  const db = () => hq.bridge.store.db;

  /** Makes every insert of `action` into audit_log fail until the returned function is called. */
  async function failAuditOf(action: string): Promise<() => Promise<void>> {
    if (kind === 'sqlite') {
      await sql
        .raw(
          `create trigger audit_fail before insert on audit_log when new.action = '${action}' begin select raise(abort, '${FAIL}'); end`,
        )
        .execute(db());
      return async () => void (await sql.raw('drop trigger audit_fail').execute(db()));
    }
    await sql
      .raw(
        `create or replace function kauri_test_audit_fail() returns trigger language plpgsql as $$ begin raise exception '${FAIL}'; end $$`,
      )
      .execute(db());
    await sql
      .raw(
        `create trigger audit_fail before insert on audit_log for each row when (new.action = '${action}') execute function kauri_test_audit_fail()`,
      )
      .execute(db());
    return async () => void (await sql.raw('drop trigger audit_fail on audit_log').execute(db()));
  }

  /** An open difference, as a reconciliation run leaves one: a payment of ours the channel lacks. */
  const openDifference = (day: string, merchantId: string, orderId: string) =>
    db()
      .insertInto('recon_differences')
      .values({
        diff_key: `wechat|${day}|${merchantId}|missing_on_channel|${orderId}`,
        version: 1,
        channel: 'wechat',
        day,
        merchant_id: merchantId,
        category: 'missing_on_channel',
        kind: 'payment',
        ref_id: orderId,
        state: 'open',
        action: null,
        note: null,
        linked_order: null,
        adjust_minor: null,
        actor: 'system',
        data: JSON.stringify({ channelCurrency: 'NZD' }),
        created_at: new Date().toISOString(),
      })
      .execute();

  const audits = async (action: string) =>
    db().selectFrom('audit_log').selectAll().where('action', '=', action).orderBy('id').execute();

  /** Runs `request` once with the audit insert failing (expecting a 500), then once without. */
  async function crashThenSucceed<T>(action: string, request: () => Promise<T>): Promise<{ failed: T; ok: T }> {
    const heal = await failAuditOf(action);
    let failed: T;
    try {
      failed = await request();
    } finally {
      await heal();
    }
    expect(await audits(action)).toHaveLength(0);
    const ok = await request();
    return { failed, ok };
  }

  it('a webhook set and a secret rotation', async () => {
    const set = () => hq.call('PUT', '/hq/api/webhook', ma, { url: 'https://aroha.co.nz/hook' });
    const r = await crashThenSucceed('webhook.set', set);
    expect(r.failed.status).toBe(500);
    expect(r.ok.status).toBe(200);
    const ep = () =>
      db().selectFrom('webhook_endpoints').selectAll().where('merchant_id', '=', merchant).executeTakeFirst();
    const endpoint = await ep();
    expect(endpoint?.url).toBe('https://aroha.co.nz/hook');
    expect(await audits('webhook.set')).toEqual([
      expect.objectContaining({ actor: 'ma', merchant_id: merchant, target: merchant }),
    ]);

    // A rotation that fails keeps the secret that was; one that succeeds changes it and says who.
    const rotate = () => hq.call('POST', '/hq/api/webhook/rotate', ma, {});
    const heal = await failAuditOf('webhook.rotate');
    try {
      expect((await rotate()).status).toBe(500);
    } finally {
      await heal();
    }
    expect((await ep())?.secret).toBe(endpoint!.secret);
    expect(await audits('webhook.rotate')).toHaveLength(0);
    expect((await rotate()).status).toBe(200);
    expect((await ep())?.secret).not.toBe(endpoint!.secret);
    expect(await audits('webhook.rotate')).toHaveLength(1);
  });

  it('a reconciliation resolution and an adjustment', async () => {
    const key = `wechat|2026-11-30|${merchant}|missing_on_channel|ord_x`;
    await openDifference('2026-11-30', merchant, 'ord_x');
    const versions = () => db().selectFrom('recon_differences').select('version').where('diff_key', '=', key).execute();
    const adjustments = () => db().selectFrom('recon_adjustments').selectAll().execute();
    const resolve = () =>
      hq.call('POST', '/hq/api/resolve', root, { key, action: 'adjust', adjustMinor: -250, note: 'fee taken twice' });
    const r = await crashThenSucceed('difference.resolve', resolve);
    expect(r.failed.status).toBe(500);
    expect(r.ok.status).toBe(200);
    // The resolution's version and its adjustment booking are there once, with the one audit row.
    expect(await versions()).toHaveLength(2);
    expect(await adjustments()).toHaveLength(1);
    expect(await audits('difference.resolve')).toEqual([
      expect.objectContaining({ actor: 'root', merchant_id: merchant, target: key }),
    ]);

    const adjust = () =>
      hq.call('POST', '/hq/api/adjustments', root, {
        channel: 'wechat',
        day: '2026-12-01',
        merchantId: merchant,
        currency: 'NZD',
        amountMinor: 125,
        note: 'late correction',
      });
    const a = await crashThenSucceed('adjustment.create', adjust);
    expect(a.failed.status).toBe(500);
    expect(a.ok.status).toBe(200);
    expect(await adjustments()).toHaveLength(2);
    expect(await audits('adjustment.create')).toEqual([
      expect.objectContaining({ actor: 'root', merchant_id: merchant, target: a.ok.body.id }),
    ]);
  });

  it('payout actions: an operator fee and a bank account', async () => {
    const fee = () =>
      hq.call('POST', '/hq/api/payouts/fees', root, {
        merchantId: merchant,
        channel: 'wechat',
        percent: '1.5',
        fixedMinor: 10,
      });
    const fees = () =>
      db()
        .selectFrom('operator_fees' as never)
        .selectAll()
        .execute();
    const payoutAudit = (action: string) =>
      db()
        .selectFrom('payout_audit' as never)
        .selectAll()
        .where('action' as never, '=', action as never)
        .execute();
    const f = await crashThenSucceed('payout.fee.set', fee);
    expect(f.failed.status).toBe(500);
    expect(f.ok.status).toBe(200);
    expect(await fees()).toHaveLength(1);
    // The payouts' own log rolled back with them too: one row, from the request that succeeded.
    expect(await payoutAudit('operator_fee.set')).toHaveLength(1);
    expect(await audits('payout.fee.set')).toHaveLength(1);

    const account = () =>
      hq.call('POST', '/hq/api/payouts/accounts', root, {
        merchantId: merchant,
        accountNumber: '01-0902-0068389-000',
        accountName: 'AROHA BOOKS LTD',
        schedule: 'daily',
      });
    const b = await crashThenSucceed('payout.account.set', account);
    expect(b.failed.status).toBe(500);
    expect(b.ok.status).toBe(200);
    const accounts = await db()
      .selectFrom('merchant_bank_accounts' as never)
      .selectAll()
      .execute();
    expect(accounts).toHaveLength(1);
    expect(await audits('payout.account.set')).toEqual([
      expect.objectContaining({ actor: 'root', merchant_id: merchant, target: b.ok.body.account.id }),
    ]);
  });

  it('a refund: its creation and its audit row commit together, before the channel is called', async () => {
    const o = await hq.bridge.payments.createPayment(merchant, {
      out_trade_no: 'INV-2001',
      amount_minor: 10000,
      currency: 'NZD',
      channel: 'wechat',
      mode: 'native',
    });
    gateway.pay(o.channel_order_no);
    await hq.bridge.payments.checkOrder(o.id);
    const refunds = () => db().selectFrom('refunds').selectAll().where('order_id', '=', o.id).execute();
    const before = gateway.calls.refund;
    const refund = () =>
      hq.call('POST', `/hq/api/payments/${o.id}/refunds`, ma, { amountMinor: 3000, reason: 'damaged' });
    const heal = await failAuditOf('payment.refund');
    try {
      expect((await refund()).status).toBe(500);
    } finally {
      await heal();
    }
    expect(await refunds()).toHaveLength(0);
    expect(gateway.calls.refund).toBe(before);
    expect(await audits('payment.refund')).toHaveLength(0);
    const ok = await refund();
    expect(ok.status).toBe(201);
    expect(await refunds()).toHaveLength(1);
    expect(gateway.calls.refund).toBe(before + 1);
    const [row] = await audits('payment.refund');
    expect(row).toMatchObject({ actor: 'ma', merchant_id: merchant, target: o.id });
    expect(JSON.parse(row!.details)).toMatchObject({ refundId: ok.body.id, amountMinor: 3000, reason: 'damaged' });
  });

  it('a close: the closed state and its audit row commit together', async () => {
    const o = await hq.bridge.payments.createPayment(merchant, {
      out_trade_no: 'INV-2002',
      amount_minor: 500,
      currency: 'NZD',
      channel: 'wechat',
      mode: 'native',
    });
    const status = async () =>
      (await db().selectFrom('orders').select('status').where('id', '=', o.id).executeTakeFirstOrThrow()).status;
    const close = () => hq.call('POST', `/hq/api/payments/${o.id}/close`, root, {});
    const heal = await failAuditOf('payment.close');
    try {
      expect((await close()).status).toBe(500);
    } finally {
      await heal();
    }
    expect(['created', 'pending']).toContain(await status());
    expect(await audits('payment.close')).toHaveLength(0);
    const ok = await close();
    expect([ok.status, ok.body.status]).toEqual([200, 'closed']);
    const [row] = await audits('payment.close');
    expect(row).toMatchObject({ actor: 'root', merchant_id: merchant, target: o.id });
    expect(JSON.parse(row!.details)).toMatchObject({ status: 'closed' });
  });

  it('a manager PIN reset and a counter revocation: the change, its event and its audit row, or none', async () => {
    const shop = await hq.bridge.accounts.createStore({ merchantId: merchant, name: 'Ponsonby', code: 'aroha-pons' });
    // manager_pins belongs to the terminals' own tables, not the bridge's Database type.
    const pinHash = async () =>
      (await sql<{ pin_hash: string }>`select pin_hash from manager_pins where store_id = ${shop.id}`.execute(db()))
        .rows[0]?.pin_hash;
    const reset = () => hq.call('POST', `/hq/api/stores/${shop.id}/manager-pin`, ma, {});
    const pin = await crashThenSucceed('manager_pin.reset', reset);
    expect(pin.failed.status).toBe(500);
    expect(pin.ok.status).toBe(200);
    expect(await audits('manager_pin.reset')).toEqual([expect.objectContaining({ actor: 'ma', target: shop.id })]);
    const kept = await pinHash();
    expect(kept).toBeTruthy();
    // A failed second reset leaves the PIN that was, unrecorded.
    const heal = await failAuditOf('manager_pin.reset');
    try {
      expect((await reset()).status).toBe(500);
    } finally {
      await heal();
    }
    expect(await pinHash()).toBe(kept);
    expect(await audits('manager_pin.reset')).toHaveLength(1);

    const terminals = hq.bridge.terminals!;
    const { terminal } = await terminals.repo.pair((await terminals.createPairingCode(shop.id)).code);
    const revokedEvents = async () =>
      (await db().selectFrom('events').select('payload').where('type', '=', 'terminal.revoked').execute()).filter((e) =>
        e.payload.includes(terminal.id),
      );
    const revoke = () => hq.call('POST', `/hq/api/terminals/${terminal.id}/revoke`, ma, {});
    const r = await crashThenSucceed('terminal.revoke', revoke);
    expect(r.failed.status).toBe(500);
    expect(r.ok.status).toBe(200);
    // The failed try left no revoked mark and no event; the second left one of each and its row.
    expect((await terminals.repo.get(terminal.id))!.revokedAt).toBeTruthy();
    expect(await revokedEvents()).toHaveLength(1);
    expect(await audits('terminal.revoke')).toEqual([expect.objectContaining({ actor: 'ma', target: terminal.id })]);
  });

  it('a pairing code: the code and its audit row commit together', async () => {
    const shop = await hq.bridge.accounts.createStore({ merchantId: merchant, name: 'K Road', code: 'aroha-kroad' });
    // pairing_codes belongs to the terminals' own tables, not the bridge's Database type.
    const codes = async () =>
      (await sql<{ store_id: string }>`select store_id from pairing_codes where store_id = ${shop.id}`.execute(db()))
        .rows;
    const make = () => hq.call('POST', '/hq/api/pairing-codes', ma, { store: shop.id, terminalName: 'Till 1' });
    const r = await crashThenSucceed('pairing_code.create', make);
    expect(r.failed.status).toBe(500);
    expect(r.ok.status).toBe(200);
    expect(r.ok.body).toMatchObject({ storeId: shop.id, code: expect.any(String) });
    // Only the code of the request that succeeded was stored: the failed one could never pair.
    expect(await codes()).toHaveLength(1);
    const [row] = await audits('pairing_code.create');
    expect(row).toMatchObject({ actor: 'ma', merchant_id: merchant, target: shop.id });
    expect(JSON.parse(row!.details)).toEqual({ terminalName: 'Till 1', expiresAt: r.ok.body.expiresAt });
    // The log never holds the code itself.
    expect(row!.details).not.toContain(r.ok.body.code);
  });

  it("a day's sign-off: the lock and its audit row commit together", async () => {
    const day = '2026-11-20';
    await db()
      .insertInto('recon_runs')
      .values({
        id: 'rcr_signoff',
        channel: 'wechat',
        day,
        merchant_id: merchant,
        state: 'done',
        file_sha256: null,
        layout: 'empty',
        summary: null,
        error: null,
        actor: 'system',
        started_at: new Date().toISOString(),
        finished_at: new Date().toISOString(),
      })
      .execute();
    const signOffs = () => db().selectFrom('recon_signoffs').selectAll().where('day', '=', day).execute();
    const signOff = () => hq.call('POST', `/hq/api/days/wechat/${day}/sign-off`, root, { note: 'all matched' });
    const heal = await failAuditOf('day.sign_off');
    try {
      expect((await signOff()).status).toBe(500);
    } finally {
      await heal();
    }
    // Not locked: the day can still change, and nobody is recorded as having locked it.
    expect(await signOffs()).toHaveLength(0);
    expect(await audits('day.sign_off')).toHaveLength(0);
    const ok = await signOff();
    expect(ok.status).toBe(200);
    expect(ok.body.signOff).toMatchObject({ signedBy: 'root' });
    expect(await signOffs()).toEqual([expect.objectContaining({ signed_by: 'root', note: 'all matched' })]);
    const [row] = await audits('day.sign_off');
    expect(row).toMatchObject({ actor: 'root', target: `wechat/${day}` });
    expect(JSON.parse(row!.details)).toEqual({ note: 'all matched' });
  });

  it('a reconciliation run started from HQ: its runs and its audit row commit together', async () => {
    const day = '2026-11-21';
    const runs = () => db().selectFrom('recon_runs').selectAll().where('day', '=', day).execute();
    const reconcile = () => hq.call('POST', `/hq/api/days/wechat/${day}/reconcile`, root, {});
    const heal = await failAuditOf('day.reconcile');
    try {
      expect((await reconcile()).status).toBe(500);
    } finally {
      await heal();
    }
    // The run did not start: no run recorded, nobody recorded as having started one.
    expect(await runs()).toHaveLength(0);
    expect(await audits('day.reconcile')).toHaveLength(0);
    const ok = await reconcile();
    expect(ok.status).toBe(200);
    // One run per merchant on the channel, by the user its audit row names. (The test gateway
    // has no statements: a run that found none.)
    const after = await runs();
    expect(after.length).toBeGreaterThan(0);
    expect(after.map((x) => x.actor)).toEqual(after.map(() => 'root'));
    expect(ok.body.merchants.map((m: { runId: string }) => m.runId).sort()).toEqual(after.map((x) => x.id).sort());
    expect(await audits('day.reconcile')).toEqual([
      expect.objectContaining({ actor: 'root', target: `wechat/${day}` }),
    ]);
  });

  describe('a webhook resend', () => {
    let hook: Server;
    const hits: string[] = [];
    beforeAll(async () => {
      hook = createServer((req, res) => {
        hits.push(req.url ?? '');
        res.writeHead(200).end('ok');
      });
      await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    });
    afterAll(async () => {
      await new Promise<void>((r) => hook.close(() => r()));
    });

    it('is sent only once its audit row is committed with the attempt it counts', async () => {
      const a = hq.bridge.accounts;
      const m = (await a.createMerchant({ name: 'Tui Tea', allowPrivateWebhooks: true, allowedDomains: ['127.0.0.1'] }))
        .id;
      await a.createChannelAccount({ merchantId: m, channel: 'wechat', config: {}, secrets: {} });
      // The payment's events come before the webhook is set, so the fan-out never delivers them
      // by itself: the only requests the receiver sees are this test's resends.
      const o = await hq.bridge.payments.createPayment(m, {
        out_trade_no: 'TUI-1',
        amount_minor: 700,
        currency: 'NZD',
        channel: 'wechat',
        mode: 'native',
      });
      gateway.pay(o.channel_order_no);
      await hq.bridge.payments.checkOrder(o.id);
      const url = `http://127.0.0.1:${(hook.address() as { port: number }).port}/hook`;
      await hq.bridge.webhooks.setEndpoint(m, url);
      const event = await db()
        .selectFrom('events')
        .select(['id', 'seq', 'type'])
        .where('merchant_id', '=', m)
        .orderBy('seq')
        .executeTakeFirstOrThrow();
      const at = new Date().toISOString();
      await db()
        .insertInto('webhook_deliveries')
        .values({
          id: 'whd_crash1',
          merchant_id: m,
          event_id: event.id,
          event_seq: Number(event.seq),
          event_type: event.type,
          url,
          status: 'failed',
          attempts: 3,
          last_status_code: 500,
          last_error: 'HTTP 500',
          next_attempt_at: null,
          delivered_at: null,
          created_at: at,
          updated_at: at,
        })
        .execute();
      const delivery = () =>
        db().selectFrom('webhook_deliveries').selectAll().where('id', '=', 'whd_crash1').executeTakeFirstOrThrow();
      const attempts = () =>
        db().selectFrom('webhook_attempts').selectAll().where('delivery_id', '=', 'whd_crash1').execute();
      const resend = () => hq.call('POST', '/hq/api/deliveries/whd_crash1/resend', root, {});
      const heal = await failAuditOf('webhook.resend');
      try {
        expect((await resend()).status).toBe(500);
      } finally {
        await heal();
      }
      // Nothing was sent and nothing counted: no request the log cannot say who asked for.
      expect(hits).toEqual([]);
      expect((await delivery()).attempts).toBe(3);
      expect(await attempts()).toHaveLength(0);
      expect(await audits('webhook.resend')).toHaveLength(0);
      const ok = await resend();
      expect(ok.status).toBe(200);
      expect(ok.body).toMatchObject({ id: 'whd_crash1', state: 'delivered', attempts: 4 });
      expect(hits).toEqual(['/hook']);
      expect(await attempts()).toEqual([expect.objectContaining({ attempt: 4, manual: 1, status_code: 200 })]);
      expect(await audits('webhook.resend')).toEqual([
        expect.objectContaining({ actor: 'root', merchant_id: m, target: 'whd_crash1' }),
      ]);
    });
  });

  it('an export: its audit row is written before the download starts, or the export does not start', async () => {
    const exportCsv = () => hq.call('GET', '/hq/api/exports/payments.csv', ma);
    const heal = await failAuditOf('export.payments');
    let failed;
    try {
      failed = await exportCsv();
    } finally {
      await heal();
    }
    expect(failed.status).toBe(500);
    expect(String(failed.headers['content-type'])).not.toContain('text/csv');
    expect(failed.headers['content-disposition']).toBeUndefined();
    expect(await audits('export.payments')).toHaveLength(0);
    const ok = await exportCsv();
    expect(ok.status).toBe(200);
    expect(String(ok.headers['content-type'])).toContain('text/csv');
    expect(ok.raw).toContain('INV-2001');
    expect(await audits('export.payments')).toEqual([
      expect.objectContaining({ actor: 'ma', merchant_id: merchant, target: 'payments.csv' }),
    ]);
  });

  // A download of financial data is a read: its audit row is written before the first byte, and
  // a download whose row cannot be written sends no file at all (the payments export's rule).
  describe('downloads of statements and remittances', () => {
    const day = '2026-11-24';
    let kea: string;
    let ka: HqLogin;
    let fin: HqLogin;
    let keaManager: HqLogin;
    let payoutId: string;

    beforeAll(async () => {
      const a = hq.bridge.accounts;
      kea = (await a.createMerchant({ name: 'Kea Stationery', allowedDomains: ['kea.co.nz'] })).id;
      await a.createChannelAccount({ merchantId: kea, channel: 'wechat', config: {}, secrets: {} });
      const shop = await a.createStore({ merchantId: kea, name: 'Newmarket', code: 'kea-newmarket' });
      await hq.users([
        { username: 'ka', role: 'merchant_admin', merchantId: kea },
        { username: 'fin', role: 'hq_finance' },
        { username: 'keamgr', role: 'store_manager', merchantId: kea, storeIds: [shop.id] },
      ]);
      ka = await hq.login('ka');
      fin = await hq.login('fin');
      keaManager = await hq.login('keamgr');
      await openDifference(day, kea, 'ord_kea');
      // A signed-off day of Kea's settled, paid out in a run that was downloaded: its remittance.
      const repo = new ReconRunsRepo(hq.bridge.store, systemClock());
      await repo.replaceSettlement('wechat', day, kea, 'recon-kea', [
        {
          currency: 'NZD',
          payments: 2,
          grossMinor: 12_345,
          refunds: 0,
          refundsMinor: 0,
          feesMinor: 74,
          cnyChargedMinor: 0,
        },
      ]);
      await repo.insertSignOff('wechat', day, 'alice', null);
      const payouts = hq.bridge.payouts;
      await payouts.setSettings({ originatorAccount: '12-3140-0999993-00', originatorName: 'Kauri Ltd' }, 'alice');
      await payouts.setAccount(
        {
          merchantId: kea,
          accountNumber: '01-902-0068389-00',
          accountName: 'KEA STATIONERY',
          schedule: 'daily',
          minimumMinor: 0,
          actor: 'alice',
        },
        { approve: true },
      );
      const run = await payouts.buildRun({ actor: 'alice' });
      await payouts.approve(run.id, 'bob');
      await payouts.download(run.id, 'anz', 'bob', '2026-12-10');
      const line = (await payouts.lines({ runId: run.id })).find((l) => l.merchant_id === kea);
      payoutId = line!.id;
    });

    /**
     * Downloads `url` once with the audit insert of `action` failing, then once without: the first
     * must be an error with no file and no row, the second the file and one more row. Returns the
     * second answer and the row it wrote.
     */
    async function downloadAudited(action: string, url: string, as: HqLogin, type: string) {
      const before = await audits(action);
      const heal = await failAuditOf(action);
      let failed: HqResponse;
      try {
        failed = await hq.call('GET', url, as);
      } finally {
        await heal();
      }
      expect(failed.status).toBe(500);
      expect(String(failed.headers['content-type'])).not.toContain(type);
      expect(failed.headers['content-disposition']).toBeUndefined();
      expect(failed.code).toBeTruthy();
      expect(await audits(action)).toHaveLength(before.length);
      const ok = await hq.call('GET', url, as);
      expect(ok.status).toBe(200);
      expect(String(ok.headers['content-type'])).toContain(type);
      expect(String(ok.headers['content-disposition'])).toMatch(/^attachment; filename="/);
      const after = await audits(action);
      expect(after).toHaveLength(before.length + 1);
      const row = after[after.length - 1]!;
      return { failed, ok, row, details: JSON.parse(row.details) as Record<string, unknown> };
    }

    it("a day's differences.csv (HQ finance): an HQ-wide row naming the channel, day and rows", async () => {
      const d = await downloadAudited(
        'export.differences',
        `/hq/api/days/wechat/${day}/differences.csv`,
        fin,
        'text/csv',
      );
      expect(d.failed.raw).not.toContain(kea);
      expect(d.ok.raw).toContain(`${kea},open`);
      expect(d.row).toMatchObject({ actor: 'fin', role: 'hq_finance', merchant_id: null, target: `wechat/${day}` });
      expect(d.details).toEqual({ channel: 'wechat', day, file: `differences-wechat-${day}.csv`, rows: 1 });
    });

    it("a day's platform.csv: an HQ-wide row naming the channel and day", async () => {
      const d = await downloadAudited('export.platform', `/hq/api/days/wechat/${day}/platform.csv`, root, 'text/csv');
      expect(d.failed.raw).not.toContain('out_trade_no');
      expect(d.ok.raw.split('\n')[0]).toContain('out_trade_no');
      expect(d.row).toMatchObject({ actor: 'root', role: 'hq_admin', merchant_id: null, target: `wechat/${day}` });
      expect(d.details).toEqual({ channel: 'wechat', day, file: `platform-wechat-${day}.csv` });
    });

    it("settlement.csv: a merchant admin's row carries their merchant; HQ's for every merchant carries none", async () => {
      const url = `/hq/api/settlement.csv?from=${day}&to=${day}`;
      const own = await downloadAudited('export.settlement', url, ka, 'text/csv');
      expect(own.failed.raw).not.toContain('Kea Stationery');
      expect(own.ok.raw).toContain('Kea Stationery');
      expect(own.row).toMatchObject({
        actor: 'ka',
        merchant_id: kea,
        target: `settlement-${day}-${day}.csv`,
      });
      expect(own.details).toEqual({ from: day, to: day, channel: null, rows: 1 });
      const all = await downloadAudited('export.settlement', `${url}&channel=wechat`, root, 'text/csv');
      expect(all.row).toMatchObject({ actor: 'root', merchant_id: null });
      expect(all.details).toMatchObject({ channel: 'wechat', rows: expect.any(Number) });
      // A store manager may not read the merchant's settlement: refused, and nothing recorded.
      const before = (await audits('export.settlement')).length;
      expect((await hq.call('GET', url, keaManager)).status).toBe(403);
      expect(await audits('export.settlement')).toHaveLength(before);
    });

    it("a payout's remittance, CSV and PDF: a row under the payout's merchant naming the payout", async () => {
      const base = `/hq/api/payouts/remittances/${payoutId}`;
      const csv = await downloadAudited('export.remittance', `${base}/remittance.csv`, ka, 'text/csv');
      expect(csv.failed.raw).not.toContain('carried_in');
      expect(csv.ok.raw).toContain('carried_in');
      expect(csv.row).toMatchObject({ actor: 'ka', merchant_id: kea, target: payoutId });
      expect(csv.details).toMatchObject({ format: 'csv', file: expect.stringMatching(/^remittance-\d+-\d+\.csv$/) });
      const pdf = await downloadAudited('export.remittance', `${base}/remittance.pdf`, fin, 'application/pdf');
      expect(pdf.failed.rawBytes.subarray(0, 4).toString()).not.toBe('%PDF');
      expect(pdf.ok.rawBytes.subarray(0, 4).toString()).toBe('%PDF');
      expect(pdf.row).toMatchObject({ actor: 'fin', merchant_id: kea, target: payoutId });
      expect(pdf.details).toMatchObject({ format: 'pdf', file: expect.stringMatching(/^remittance-\d+-\d+\.pdf$/) });
      // Another merchant's user, or a user limited to some stores, gets no file and leaves no row.
      expect((await hq.call('GET', `${base}/remittance.csv`, ma)).status).toBe(404);
      expect((await hq.call('GET', `${base}/remittance.pdf`, keaManager)).status).toBe(403);
      expect(await audits('export.remittance')).toHaveLength(2);
    });

    it("the audit list: a merchant admin reads their own merchant's downloads and no one else's", async () => {
      const list = async (as: HqLogin) => {
        const r = await hq.call('GET', '/hq/api/audit?action=export.&limit=200', as);
        expect(r.status).toBe(200);
        return r.body.items as Array<{ action: string; merchantId: string | null; actor: string }>;
      };
      const keaRows = await list(ka);
      expect(keaRows.map((r) => r.action).sort()).toEqual([
        'export.remittance',
        'export.remittance',
        'export.settlement',
      ]);
      expect(keaRows.every((r) => r.merchantId === kea)).toBe(true);
      // HQ's remittance download is Kea's too; HQ-wide rows (differences, platform) are HQ's alone.
      expect(keaRows.map((r) => r.actor).sort()).toEqual(['fin', 'ka', 'ka']);
      expect((await list(ma)).filter((r) => r.merchantId !== merchant)).toEqual([]);
      const hqRows = (await list(root)).map((r) => r.action);
      for (const a of ['export.differences', 'export.platform', 'export.settlement', 'export.remittance'])
        expect(hqRows).toContain(a);
    });
  });
});
