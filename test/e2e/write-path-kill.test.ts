import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, storeKinds, type TestDatabase } from '../support/stores.js';
import { freePort, spawnKauri, type KauriProcess } from '../support/processes.js';
import { merchantApi, pollApi } from '../support/merchant-api.js';
import { openStore } from '../../cloud-bridge/store/db.js';
import { startWechatSimProcess, uniqueNo, type WechatSimProcess } from './wechat-support.js';

// End to end: a real bridge process is killed (SIGKILL, via KAURI_CRASH_AT)
// inside the transaction that books a payment from WeChat's notify, after the state was
// written and before its event; a new bridge on the same database and port finishes the job.
// The payment is paid once, with exactly one payment.paid event, and nothing half-written.

let sim: WechatSimProcess;
beforeAll(async () => {
  sim = await startWechatSimProcess();
}, 90_000);
afterAll(async () => {
  await sim?.stop();
});

for (const kind of storeKinds()) {
  describe(`a bridge killed mid-transition (${kind})`, () => {
    let tdb: TestDatabase;
    const cwd = mkdtempSync(join(tmpdir(), 'kauri-kill-'));
    const procs: KauriProcess[] = [];

    beforeAll(async () => {
      tdb = await createTestDatabase(kind);
    });
    afterAll(async () => {
      for (const p of procs) await p.stop('SIGKILL');
      await tdb?.drop();
      rmSync(cwd, { recursive: true, force: true });
    });

    async function bridge(
      port: number,
      env: NodeJS.ProcessEnv = {},
    ): Promise<{ proc: KauriProcess; key: string; url: string }> {
      const proc = await spawnKauri(
        [
          'bridge',
          '--db',
          tdb.url,
          '--port',
          String(port),
          '--files',
          join(cwd, 'files'),
          '--demo',
          '--wechat-sim',
          sim.url,
          '--wechat-sim-state',
          sim.stateDir,
        ],
        {
          cwd,
          env: { KAURI_SECRET_KEY: 'kill-test-secret-key-0123456789abcdef', KAURI_TIME_SCALE: '20', ...env },
          ready: /listening on (\S+)/,
          timeoutMs: 60_000,
        },
      );
      procs.push(proc);
      return { proc, url: proc.ready, key: /demo API key: (\S+)/.exec(proc.stdout())![1]! };
    }

    it('a kill -9 between the paid state and its event loses nothing and repeats nothing', async () => {
      const port = await freePort();
      // At time scale 1 the bridge's own first query comes 5 s after creation: WeChat's notify,
      // sent at once, is what books the payment (under load, at a faster scale, the query could
      // book it first and the process would never reach the notify's crash point).
      const first = await bridge(port, { KAURI_CRASH_AT: 'apply:events@channel_notify', KAURI_TIME_SCALE: '1' });
      const api = merchantApi(first.url, first.key);
      const no = uniqueNo('kill');
      const created = await api('POST', '/api/v1/payments', {
        out_trade_no: no,
        amount_minor: 2500,
        currency: 'NZD',
        channel: 'wechat',
        mode: 'native',
      });
      expect(created.status).toBeLessThan(300);
      expect(created.body.status).toBe('pending');

      // The customer pays; WeChat notifies the bridge, which dies inside that transaction.
      await sim.control('/sim/pay', { code_url: created.body.qr_code });
      expect(await first.proc.finished()).toBeNull();
      expect(first.proc.proc.signalCode).toBe('SIGKILL');

      const store = await openStore(tdb.url, { migrate: false });
      try {
        const order = await store.db
          .selectFrom('orders')
          .selectAll()
          .where('out_trade_no', '=', no)
          .executeTakeFirstOrThrow();
        expect(order.status).toBe('pending'); // the whole transition rolled back with the process
        const second = await bridge(port);
        const api2 = merchantApi(second.url, second.key);
        const paid = await pollApi(
          api2,
          `payment ${no}`,
          `/api/v1/payments/${no}`,
          (p: any) => p.status === 'paid',
          30_000,
        );
        expect(paid).toMatchObject({ status: 'paid', amount_minor: 2500 });
        // WeChat's resend (or the bridge's own query) after the restart is applied once.
        await new Promise((r) => setTimeout(r, 500));
        const events = await store.db
          .selectFrom('events')
          .select('payload')
          .where('type', '=', 'payment.paid')
          .execute();
        expect(events.filter((e) => e.payload.includes(order.id))).toHaveLength(1);
        const toPaid = await store.db
          .selectFrom('order_events')
          .select('id')
          .where('order_id', '=', order.id)
          .where('to_status', '=', 'paid')
          .execute();
        expect(toPaid).toHaveLength(1);
        const notifies = await store.db
          .selectFrom('channel_messages')
          .select('id')
          .where('order_id', '=', order.id)
          .where('direction', '=', 'notify')
          .execute();
        expect(notifies.length).toBeLessThanOrEqual(2);
      } finally {
        await store.close();
      }
    }, 120_000);
  });
}
