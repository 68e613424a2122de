import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import type { Readable } from 'node:stream';
import type { Bridge } from '../bridge.js';
import { ChannelRegistry } from '../channels/channel.js';
import { TestGateway } from '../orders/test-gateway.fixture.js';
import { systemClock } from '../../protocol/clock.js';
import { KauriError } from '../../protocol/errors.js';
import { storeKinds } from '../../test/support/stores.js';
import { openHq, type HqTest } from '../../test/support/hq-routes.js';
import { scopeOfUser } from './scope.js';
import { exportStream, type ExportKind } from './exports.js';
import { ExportWorkers } from './export-workers.js';

// Exports in worker threads, on both stores: the same bytes as on the main thread, a client
// that goes away stops the worker and its connection, a failure cuts the download short
// rather than ending it cleanly, and only so many run at once.

const N = 9_000;

async function text(stream: Readable): Promise<string> {
  let s = '';
  for await (const c of stream) s += String(c);
  return s;
}

async function until(cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.each(storeKinds())('export workers (%s)', (kind) => {
  let hq: HqTest;
  let bridge: Bridge;
  const gateway = new TestGateway(systemClock());
  const ids: Record<string, string> = {};
  const scope = scopeOfUser({ id: 'u', username: 'hq', role: 'hq_admin', merchant_id: null });

  beforeAll(async () => {
    hq = await openHq(kind, { channels: new ChannelRegistry().register(gateway) });
    bridge = hq.bridge;
    const a = bridge.accounts;
    ids.M = (await a.createMerchant({ name: 'Aroha "Books", Ltd' })).id;
    ids.S = (await a.createStore({ merchantId: ids.M, name: 'Ponsonby' })).id;
    ids.acct = (await a.createChannelAccount({ merchantId: ids.M, channel: 'wechat', config: {}, secrets: {} })).id;
    for (const [out, amount] of [
      ['INV-1', 10000],
      ['=HYPERLINK("x")', 2550],
      ['INV-3', 7],
    ] as const) {
      const o = await bridge.payments.createPayment(
        ids.M,
        { out_trade_no: out, amount_minor: amount, currency: 'NZD', channel: 'wechat', mode: 'native' },
        { storeId: ids.S },
      );
      gateway.pay(o.channel_order_no);
      await bridge.payments.checkOrder(o.id);
    }
    await bridge.payments.refund(ids.M, 'INV-1', { out_refund_no: 'R-1', amount_minor: 3000, reason: 'spine, "torn"' });
    const base = Date.parse('2026-04-10T00:00:00Z');
    for (let start = 0; start < N; start += 1000) {
      const batch = Array.from({ length: Math.min(1000, N - start) }, (_, k) => {
        const i = start + k;
        const at = new Date(base + Math.floor(i / 3) * 1000).toISOString();
        return {
          id: `ord_big_${String(i).padStart(6, '0')}`,
          merchant_id: ids.M!,
          store_id: i % 5 ? ids.S! : null,
          channel: 'wechat',
          channel_account_id: ids.acct!,
          mode: 'native',
          out_trade_no: `BIG-${i}`,
          amount_minor: 1000 + i,
          currency: 'NZD',
          status: i % 7 ? 'paid' : 'closed',
          refunded_minor: 0,
          channel_order_no: `CBIG${i}`,
          request_hash: 'x',
          flagged: i % 11 ? 0 : 1,
          created_at: at,
          updated_at: at,
          version: 1,
        };
      });
      await bridge.store.db
        .insertInto('orders')
        .values(batch as any)
        .execute();
    }
  });

  afterAll(async () => {
    await hq?.close();
  });

  it.each(['payments', 'refunds', 'xero'] as ExportKind[])(
    'a worker writes the same %s CSV, byte for byte, as the main thread',
    async (what) => {
      const workers = new ExportWorkers(bridge.store);
      const inThread = await text(await exportStream(bridge.store.db, scope, what, {}));
      const inWorker = await text(await workers.open(scope, what, {}));
      expect(inWorker.length).toBeGreaterThan(what === 'refunds' ? 100 : 100_000);
      expect(inWorker).toBe(inThread);
      await until(() => workers.running === 0);
    },
  );

  it('fails before any byte when the filter cannot be resolved, so the answer is an error, not a CSV', async () => {
    const workers = new ExportWorkers(bridge.store);
    await sql`alter table stores rename to stores_gone`.execute(bridge.store.db);
    try {
      await expect(workers.open(scope, 'payments', {})).rejects.toThrow(/stores/);
    } finally {
      await sql`alter table stores_gone rename to stores`.execute(bridge.store.db);
    }
    await until(() => workers.running === 0);
  });

  const exportConnections = async () =>
    kind === 'postgres'
      ? Number(
          (
            await sql<{
              n: number;
            }>`select count(*)::int as n from pg_stat_activity where application_name = 'kauri-export'
              and datname = current_database()`.execute(bridge.store.db)
          ).rows[0]!.n,
        )
      : 0;

  it('stops the worker and closes its connection when the client goes away mid-export', async () => {
    const workers = new ExportWorkers(bridge.store);
    const stream = await workers.open(scope, 'payments', {});
    const it = stream[Symbol.asyncIterator]();
    expect(String((await it.next()).value)).toMatch(/^id,out_trade_no/);
    expect(workers.running).toBe(1);
    if (kind === 'postgres') expect(await exportConnections()).toBe(1);
    stream.destroy();
    await until(() => workers.running === 0);
    await until(async () => (await exportConnections()) === 0);
  });

  it('runs at most `max` exports at once and refuses another with export_busy', async () => {
    const workers = new ExportWorkers(bridge.store, 2);
    const a = await workers.open(scope, 'payments', {});
    const b = await workers.open(scope, 'refunds', {});
    const refused = await workers.open(scope, 'xero', {}).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(KauriError);
    expect((refused as KauriError).code).toBe('export_busy');
    expect((refused as KauriError).status).toBe(503);
    a.destroy();
    await until(() => workers.running < 2);
    const c = await workers.open(scope, 'xero', {});
    expect(await text(c)).toMatch(/^Date,Amount/);
    b.destroy();
    await until(() => workers.running === 0);
  });

  it('over HTTP: the same CSV as before, and a failure mid-export fails the download', async () => {
    const admin = await hq.users([{ username: 'fin', role: 'hq_finance' }]).then(() => hq.login('fin'));
    const url = `${bridge.url}/hq/api/exports/payments.csv`;
    const whole = await fetch(url, { headers: { cookie: admin.cookie } });
    expect(whole.status).toBe(200);
    const body = await whole.text();
    expect(body).toBe(await text(await exportStream(bridge.store.db, scope, 'payments', {})));

    const res = await fetch(url, { headers: { cookie: admin.cookie } });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let got = new TextDecoder().decode((await reader.read()).value);
    // The worker has read its first page; the next one fails.
    await sql`alter table orders rename to orders_gone`.execute(bridge.store.db);
    try {
      const failed = await (async () => {
        for (;;) {
          const r = await reader.read();
          if (r.done) return false;
          got += new TextDecoder().decode(r.value);
        }
      })().catch(() => true);
      expect(failed).toBe(true);
      expect(got.length).toBeLessThan(body.length);
    } finally {
      await sql`alter table orders_gone rename to orders`.execute(bridge.store.db);
    }
  });
});
