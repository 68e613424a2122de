import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { AccountsRepo } from '../../store/accounts.js';
import { SecretBox } from '../../store/secret-box.js';
import type { Store } from '../../store/db.js';
import { FileStore } from '../../files/file-store.js';
import { Scheduler } from '../../jobs/scheduler.js';
import { ChannelRegistry, type Channel, type StatementResult } from '../../channels/channel.js';
import type { Clock } from '../../../protocol/clock.js';
import { createTestDatabase, storeKinds, type TestDatabase } from '../../../test/support/stores.js';
import { wechatStatement } from '../fixtures.js';
import { ReconcileService } from './service.js';
import { installReconcileJobs, RECONCILE_TASK } from './jobs.js';

// The statement schedule through the real scheduler and database: a day is queued from
// 10:00 China time the next day, "not yet published" is asked again later without using
// up attempts, a failed download is retried with backoff, and a published file is run.

const D = '2026-11-18';
const china = (day: string, hhmm: string) => Date.parse(`${day}T${hhmm}:00+08:00`);
const log = pino({ level: 'silent' });

/** The statement side of a channel, answering what the test says, in order. */
function statementChannel(answers: Array<StatementResult | Error>, asked: string[]): Channel {
  const no = async (): Promise<never> => {
    throw new Error('not used here');
  };
  return {
    name: 'wechat',
    modes: ['native'],
    create: no,
    query: no,
    close: no,
    refund: no,
    verifyNotify: no,
    async fetchStatement(_ctx, day) {
      asked.push(day);
      const a = answers.shift() ?? { state: 'not_ready', reason: 'nothing more' };
      if (a instanceof Error) throw a;
      return a;
    },
  };
}

describe.each(storeKinds())('reconciliation schedule (%s)', (kind) => {
  let db: TestDatabase | undefined;
  let store: Store | undefined;
  let scheduler: Scheduler | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await scheduler?.stop();
    await store?.close();
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('queues a day after it is published, polls while it is not, retries a failure with backoff, then runs it', async () => {
    db = await createTestDatabase(kind);
    store = await db.open();
    dir = mkdtempSync(join(tmpdir(), 'kauri-jobs-files-'));
    let t = china('2026-11-19', '09:30');
    const clock: Clock = {
      now: () => new Date(t),
      duration: (ms) => ms,
      sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 10))),
    };
    const accounts = new AccountsRepo(store, new SecretBox('jobs-test-secret-key-0123456789abcdef0123'));
    const m = await accounts.createMerchant({ name: 'Tui Tea' });
    await accounts.createChannelAccount({
      merchantId: m.id,
      channel: 'wechat',
      config: { mch_id: '1' },
      secrets: { key: 'k' },
    });
    const body = Buffer.from(
      wechatStatement([
        {
          kind: 'payment',
          status: 'paid',
          outTradeNo: 'K1',
          tradeNo: '4200001',
          amountMinor: 1000,
          currency: 'NZD',
          timeMs: china(D, '12:00'),
        },
      ]),
    );
    const asked: string[] = [];
    const channels = new ChannelRegistry().register(
      statementChannel(
        [
          { state: 'not_ready', reason: 'WeChat publishes from 09:00' },
          new Error('connect ECONNREFUSED'),
          { state: 'ready', body, fileName: 'wechat-1-2026-11-18.csv' },
        ],
        asked,
      ),
    );
    const files = new FileStore(dir, store);
    const service = new ReconcileService({
      store,
      accounts,
      channels,
      files,
      clock,
      log,
      contextFor: (account) => ({
        account,
        clock,
        log,
        notifyUrl: 'http://127.0.0.1/n',
        publicBaseUrl: 'http://127.0.0.1',
        record: async () => undefined,
      }),
    });
    scheduler = new Scheduler(store, clock, log, { pollMs: 20 });
    installReconcileJobs(scheduler, service, channels, clock, log, { lookbackDays: 1, everyMs: 60_000 });
    const task = async () =>
      store!.db.selectFrom('tasks').selectAll().where('kind', '=', RECONCILE_TASK).executeTakeFirst();
    const until = async (what: string, ok: () => Promise<boolean>) => {
      const deadline = Date.now() + 10_000;
      while (!(await ok())) {
        if (Date.now() > deadline)
          throw new Error(`timed out waiting for: ${what}; task ${JSON.stringify(await task())}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    scheduler.start();

    // 09:30 the next day: too early, nothing queued.
    await until(
      'the schedule job ran',
      async () =>
        (await store!.db.selectFrom('jobs').select('runs').where('name', '=', 'reconcile.schedule').executeTakeFirst())
          ?.runs === 1,
    );
    expect(await task()).toBeUndefined();

    // 10:05: queued; WeChat has not published: asked again in half an hour, no attempt used.
    t = china('2026-11-19', '10:05');
    await until('asked once', async () => asked.length === 1);
    await until(
      'requeued',
      async () => (await task())?.status === 'queued' && (await task())!.run_at > new Date(t).toISOString(),
    );
    expect(await task()).toMatchObject({
      attempts: 0,
      run_at: new Date(t + 30 * 60_000).toISOString(),
      dedupe_key: `reconcile:wechat:${D}`,
    });
    expect((await service.overview(D, D))[0]).toMatchObject({ state: 'waiting', download: 'not_ready' });

    // Half an hour on: the download fails: retried with backoff (attempt 1).
    t += 31 * 60_000;
    await until('asked twice', async () => asked.length === 2);
    await until('failure recorded', async () => (await task())?.last_error?.includes('ECONNREFUSED') === true);
    expect(await task()).toMatchObject({ status: 'queued', attempts: 1 });
    expect((await service.files()).map((f) => [f.state, f.lastError])).toEqual([['failed', 'connect ECONNREFUSED']]);

    // After the backoff: published, downloaded into the file store, reconciled; the task is done.
    t += 10 * 60_000;
    await until('task done', async () => (await task())?.status === 'done');
    expect(asked).toEqual([D, D, D]);
    const [cell] = await service.overview(D, D);
    expect(cell).toMatchObject({ state: 'reconciled', statementRows: 1, download: 'ready', open: 1 });
    const [f] = await service.files();
    expect(f).toMatchObject({ state: 'ready', fileName: 'wechat-1-2026-11-18.csv', attempts: 3, runState: 'done' });
    expect((await files.read(f!.sha256!)).equals(body)).toBe(true);

    // The schedule does not queue the day again.
    t += 24 * 3_600_000 - 60 * 60_000;
    const runs = (
      await store.db
        .selectFrom('jobs')
        .select('runs')
        .where('name', '=', 'reconcile.schedule')
        .executeTakeFirstOrThrow()
    ).runs;
    await until(
      'the schedule ran again',
      async () =>
        (
          await store!.db
            .selectFrom('jobs')
            .select('runs')
            .where('name', '=', 'reconcile.schedule')
            .executeTakeFirstOrThrow()
        ).runs > runs,
    );
    expect(await store.db.selectFrom('tasks').select('id').where('kind', '=', RECONCILE_TASK).execute()).toHaveLength(
      1,
    );
  }, 30_000);

  it('two runs of the same day at once record each difference once; a changed difference opens again', async () => {
    db = await createTestDatabase(kind);
    store = await db.open();
    dir = mkdtempSync(join(tmpdir(), 'kauri-jobs-files-'));
    const clock: Clock = { now: () => new Date(), duration: (ms) => ms, sleep: async () => undefined };
    const accounts = new AccountsRepo(store, new SecretBox('jobs-test-secret-key-0123456789abcdef0123'));
    const m = await accounts.createMerchant({ name: 'Tui Tea' });
    await accounts.createChannelAccount({
      merchantId: m.id,
      channel: 'wechat',
      config: { mch_id: '1' },
      secrets: { key: 'k' },
    });
    const rows = [1, 2, 3].map((k) => ({
      kind: 'payment' as const,
      status: 'paid' as const,
      outTradeNo: `K${k}`,
      tradeNo: `420000${k}`,
      amountMinor: 100 * k,
      currency: 'NZD',
      timeMs: china(D, '12:00'),
    }));
    const service = new ReconcileService({
      store,
      accounts,
      channels: new ChannelRegistry(),
      files: new FileStore(dir, store),
      clock,
      log,
      contextFor: (account) => ({
        account,
        clock,
        log,
        notifyUrl: 'http://127.0.0.1/n',
        publicBaseUrl: 'http://127.0.0.1',
        record: async () => undefined,
      }),
    });
    const statement = { body: Buffer.from(wechatStatement(rows)), fileName: 's.csv' };
    const runs = await Promise.all([1, 2, 3].map(() => service.reconcileDay('wechat', D, { statement })));
    expect(runs.map((r) => r.summary.channelOnly)).toEqual([3, 3, 3]);
    const versions = await store.db.selectFrom('recon_differences').select(['diff_key', 'version']).execute();
    expect(versions).toHaveLength(3);
    expect(versions.every((v) => v.version === 1)).toBe(true);

    // Resolved stays resolved on a re-run of the same file; a corrected file that changes
    // the difference opens it again.
    const [k1] = (await service.differences({ channel: 'wechat', day: D })).filter((d) => d.id === 'K1');
    await service.resolve(k1!.key, { action: 'accept', note: 'test payment', actor: 'fin' });
    await service.reconcileDay('wechat', D, { statement });
    expect((await service.history(k1!.key)).map((v) => v.state)).toEqual(['open', 'resolved']);
    const corrected = {
      body: Buffer.from(wechatStatement([{ ...rows[0]!, amountMinor: 150 }, rows[1]!, rows[2]!])),
      fileName: 's2.csv',
    };
    await service.reconcileDay('wechat', D, { statement: corrected });
    const h = await service.history(k1!.key);
    expect(h.map((v) => [v.version, v.state, v.actor])).toEqual([
      [1, 'open', 'system'],
      [2, 'resolved', 'fin'],
      [3, 'open', 'system'],
    ]);
    expect(h[2]!.note).toMatch(/^changed since it was resolved/);
    expect(h[2]!.data.channelAmountMinor).toBe(150);
  }, 30_000);
});
