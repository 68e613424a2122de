import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, storeKinds, type TestDatabase } from '../../test/support/stores.js';
import type { Store } from '../store/db.js';
import { AccountsRepo } from '../store/accounts.js';
import { SecretBox } from '../store/secret-box.js';
import { ReconcileService } from '../reconcile/runs/service.js';
import { ReconRunsRepo } from '../reconcile/runs/repo.js';
import { EventLog } from '../events/event-log.js';
import { FileStore } from '../files/file-store.js';
import { Scheduler } from '../jobs/scheduler.js';
import { WebhookService, DELIVER_TASK } from '../webhooks/service.js';
import { defaultChannels } from '../channels/index.js';
import type { Clock } from '../../protocol/clock.js';
import { PayoutService, type PayoutCrashPoint, type Run } from './service.js';

// Fail between every two steps of importing a statement that confirms a payout and of
// downloading an approved run's bank file; start a new service on the same database;
// show nothing was lost or repeated: no paid payout without its one `payout.paid` (and its
// one webhook delivery), one audit row per change, a run either approved or downloaded
// with its file, and a retry that completes.

class CrashError extends Error {
  constructor(readonly point: PayoutCrashPoint) {
    super(`crash at ${point}`);
  }
}

const STATEMENT_POINTS: PayoutCrashPoint[] = [
  'statement:stored',
  'statement:lines',
  'statement:events',
  'statement:audit',
  'statement:committed',
];
const DOWNLOAD_POINTS: PayoutCrashPoint[] = [
  'download:stored',
  'download:state',
  'download:audit',
  'download:committed',
];
const DUE = '2026-11-11';
const log = pino({ level: 'silent' });
const box = new SecretBox('payout-crash-secret-key-0123456789');

describe.each(storeKinds())('payout crash windows (%s)', (kind) => {
  let tdb: TestDatabase;
  let dir: string;
  const nowMs = Date.parse('2026-11-10T00:00:00Z');
  const clock: Clock = { now: () => new Date(nowMs), duration: (ms) => ms, sleep: async () => undefined };
  const open: Store[] = [];
  let n = 0;

  /** One bridge's payout and webhook machinery on its own connection to the database; `crashAt` throws there once. */
  async function bridge(crashAt?: PayoutCrashPoint, shared?: Store) {
    const store = shared ?? (await tdb.open());
    if (!shared) open.push(store);
    const accounts = new AccountsRepo(store, box);
    const files = new FileStore(dir, store, clock);
    const events = new EventLog(store, clock);
    const reconcile = new ReconcileService({
      store,
      accounts,
      channels: defaultChannels(),
      files,
      clock,
      log,
      contextFor: () => {
        throw new Error('no channel calls here');
      },
    });
    let fired = false;
    const crash = (point: PayoutCrashPoint) => {
      if (point !== crashAt || fired) return;
      fired = true;
      throw new CrashError(point);
    };
    const payouts = new PayoutService({ store, accounts, reconcile, events, files, clock, log, crash });
    const scheduler = new Scheduler(store, clock, log);
    const webhooks = new WebhookService({ store, box, accounts, events, scheduler, clock, log });
    const close = async () => {
      webhooks.close();
      await scheduler.stop();
      if (shared) return;
      open.splice(open.indexOf(store), 1);
      await store.close();
    };
    return { store, accounts, files, events, payouts, webhooks, repo: new ReconRunsRepo(store, clock), close };
  }
  type Bridge = Awaited<ReturnType<typeof bridge>>;

  beforeAll(async () => {
    tdb = await createTestDatabase(kind);
    dir = mkdtempSync(join(tmpdir(), 'kauri-payout-crash-'));
    const b = await bridge();
    await b.payouts.setSettings({ originatorAccount: '12-3140-0999993-00', originatorName: 'Kauri Ltd' }, 'alice');
    await b.close();
  }, 60_000);

  afterAll(async () => {
    for (const s of [...open]) await s.close();
    await tdb?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /**
   * A merchant with a webhook and an account, one signed-off day of its own, and an approved
   * run paying it (every earlier run is downloaded by then, so this run holds only that day).
   */
  async function approvedRun(b: Bridge): Promise<{ merchantId: string; run: Run; amountMinor: number }> {
    const i = n++;
    const merchantId = (
      await b.accounts.createMerchant({ name: `Crash Shop ${i}`, allowedDomains: ['hooks.example.com'] })
    ).id;
    await b.webhooks.setEndpoint(merchantId, 'https://hooks.example.com/kauri');
    await b.payouts.setAccount(
      {
        merchantId,
        accountNumber: '01-902-0068389-00',
        accountName: `Crash Shop ${i}`,
        schedule: 'daily',
        minimumMinor: 0,
        actor: 'alice',
      },
      { approve: true },
    );
    const day = new Date(Date.parse('2026-09-01T00:00:00Z') + i * 86_400_000).toISOString().slice(0, 10);
    await b.repo.replaceSettlement('wechat', day, merchantId, `recon-${i}`, [
      {
        currency: 'NZD',
        payments: 1,
        grossMinor: 10_000 + i,
        refunds: 0,
        refundsMinor: 0,
        feesMinor: 60,
        cnyChargedMinor: 0,
      },
    ]);
    await b.repo.insertSignOff('wechat', day, 'alice', null);
    const built = await b.payouts.buildRun({ actor: 'alice' });
    const run = await b.payouts.approve(built.id, 'bob');
    expect(run.state).toBe('approved');
    return { merchantId, run, amountMinor: 10_000 + i - 60 };
  }

  const statementFor = (reference: string, amountMinor: number) =>
    Buffer.from(
      `<?xml version="1.0" encoding="UTF-8"?>\n<?OFX OFXHEADER="200" VERSION="211" SECURITY="NONE" OLDFILEUID="NONE" NEWFILEUID="NONE"?>\n` +
        `<OFX><BANKMSGSRSV1><STMTTRNRS><TRNUID>1</TRNUID><STATUS><CODE>0</CODE><SEVERITY>INFO</SEVERITY></STATUS><STMTRS><CURDEF>NZD</CURDEF>` +
        `<BANKACCTFROM><BANKID>12</BANKID><BRANCHID>3140</BRANCHID><ACCTID>0999993-00</ACCTID><ACCTTYPE>CHECKING</ACCTTYPE></BANKACCTFROM>` +
        `<BANKTRANLIST><DTSTART>20261101</DTSTART><DTEND>20261112</DTEND>` +
        `<STMTTRN><TRNTYPE>DEBIT</TRNTYPE><DTPOSTED>20261111</DTPOSTED><TRNAMT>-${(amountMinor / 100).toFixed(2)}</TRNAMT>` +
        `<FITID>${reference}</FITID><NAME>CRASH SHOP</NAME><MEMO>KAURI PAYOUT ${reference}</MEMO></STMTTRN>` +
        `</BANKTRANLIST><LEDGERBAL><BALAMT>1.00</BALAMT><DTASOF>20261112</DTASOF></LEDGERBAL></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>\n`,
    );

  async function paidEventsOf(b: Bridge, payoutId: string) {
    return (await b.events.read(0, { types: ['payout.paid'] })).filter(
      (e) => (e.payload as { payout_id: string }).payout_id === payoutId,
    );
  }

  async function deliveriesOf(b: Bridge, eventIds: string[]) {
    const deliveries = await b.store.db
      .selectFrom('webhook_deliveries')
      .select(['id', 'event_id'])
      .where('event_id', 'in', eventIds.length ? eventIds : ['none'])
      .execute();
    const tasks = await b.store.db.selectFrom('tasks').select('payload').where('kind', '=', DELIVER_TASK).execute();
    const ids = new Set(deliveries.map((d) => d.id));
    return {
      deliveries: deliveries.length,
      tasks: tasks.filter((t) => ids.has((JSON.parse(t.payload) as { deliveryId: string }).deliveryId)).length,
    };
  }

  describe('importing a statement that confirms a payout', () => {
    for (const point of STATEMENT_POINTS) {
      it(`a crash at ${point}: after a restart the payout is paid once, with one payout.paid and one webhook`, async () => {
        const setup = await bridge();
        const { merchantId, run, amountMinor } = await approvedRun(setup);
        await setup.payouts.download(run.id, 'anz', 'bob', DUE);
        const [line] = await setup.payouts.lines({ runId: run.id });
        expect(line).toMatchObject({ merchant_id: merchantId, status: 'pay', amount_minor: amountMinor });
        await setup.close();
        const statement = statementFor(line!.reference, amountMinor);

        const first = await bridge(point);
        await expect(first.payouts.importStatement(statement, 'ofx', 'alice')).rejects.toBeInstanceOf(CrashError);
        const committed = point === 'statement:committed';
        // Between the crash and the restart: paid and its event together, or neither.
        const [mid] = await first.payouts.lines({ lineId: line!.id });
        expect(mid!.bank_status).toBe(committed ? 'paid' : null);
        expect(await paidEventsOf(first, line!.id)).toHaveLength(committed ? 1 : 0);
        await first.close();

        const second = await bridge();
        // The webhook reader's periodic pass, as a restarted bridge runs it.
        await second.webhooks.fanout();
        const retry = await second.payouts.importStatement(statement, 'ofx', 'alice');
        // A statement imported again says nothing new about a payout it confirmed already.
        expect(retry.matched).toEqual(
          committed ? [] : [{ lineId: line!.id, runNumber: run.number, status: 'paid', amountMinor }],
        );
        await second.webhooks.fanout();

        const [after] = await second.payouts.lines({ lineId: line!.id });
        expect(after).toMatchObject({ bank_status: 'paid', bank_amount_minor: amountMinor, bank_date: DUE });
        const events = await paidEventsOf(second, line!.id);
        expect(events).toHaveLength(1);
        expect(events[0]).toMatchObject({ merchantId, payload: { amount_minor: amountMinor, paid_on: DUE } });
        expect(await deliveriesOf(second, [events[0]!.id])).toEqual({ deliveries: 1, tasks: 1 });
        // Every import that committed left its audit row; the payout is counted paid in exactly one.
        const audits = (await second.payouts.auditOf({})).filter(
          (a) => a.action === 'statement.imported' && (a.data as { sha256: string }).sha256 === sha256(statement),
        );
        expect(audits).toHaveLength(committed ? 2 : 1);
        expect(audits.map((a) => (a.data as { paid: number }).paid).reduce((x, y) => x + y, 0)).toBe(1);
        await second.close();
      });
    }

    it('a crash between queueing the webhook and moving the reader on: the next pass queues it once', async () => {
      const setup = await bridge();
      const { merchantId, run, amountMinor } = await approvedRun(setup);
      await setup.payouts.download(run.id, 'anz', 'bob', DUE);
      const [line] = await setup.payouts.lines({ runId: run.id });
      const reader = `webhook:${merchantId}`;
      const before = await setup.events.cursor(reader);
      await setup.payouts.importStatement(statementFor(line!.reference, amountMinor), 'ofx', 'alice');
      await setup.webhooks.fanout();
      const [event] = await paidEventsOf(setup, line!.id);
      expect(await deliveriesOf(setup, [event!.id])).toEqual({ deliveries: 1, tasks: 1 });
      // The cursor's move is lost, as if the bridge died right after queueing the delivery.
      expect(await setup.events.cursor(reader)).toBeGreaterThan(before);
      await setup.store.db
        .updateTable('event_cursors')
        .set({ position: before })
        .where('reader', '=', reader)
        .execute();
      await setup.close();

      const second = await bridge();
      await second.webhooks.fanout();
      expect(await deliveriesOf(second, [event!.id])).toEqual({ deliveries: 1, tasks: 1 });
      expect(await second.events.cursor(reader)).toBeGreaterThan(before);
      await second.close();
    });

    it('two imports of the same statement at once confirm the payout once, with one payout.paid', async () => {
      const setup = await bridge();
      const { run, amountMinor } = await approvedRun(setup);
      await setup.payouts.download(run.id, 'anz', 'bob', DUE);
      const [line] = await setup.payouts.lines({ runId: run.id });
      await setup.close();
      const statement = statementFor(line!.reference, amountMinor);
      // Two instances on PostgreSQL; on SQLite (one process per database file) two requests on one.
      const a = await bridge();
      const b = await bridge(undefined, kind === 'sqlite' ? a.store : undefined);
      try {
        const results = await Promise.all([
          a.payouts.importStatement(statement, 'ofx', 'alice'),
          b.payouts.importStatement(statement, 'ofx', 'carol'),
        ]);
        expect(results.flatMap((r) => r.matched).filter((m) => m.lineId === line!.id)).toHaveLength(1);
        expect(await paidEventsOf(a, line!.id)).toHaveLength(1);
      } finally {
        await b.close();
        await a.close();
      }
    });
  });

  describe("downloading an approved run's bank file", () => {
    for (const point of DOWNLOAD_POINTS) {
      it(`a crash at ${point}: the run is approved or downloaded with its file and one audit row; the retry gives the file`, async () => {
        const setup = await bridge();
        const { run } = await approvedRun(setup);
        await setup.close();

        const first = await bridge(point);
        await expect(first.payouts.download(run.id, 'anz', 'bob', DUE)).rejects.toBeInstanceOf(CrashError);
        const committed = point === 'download:committed';
        const mid = (await first.payouts.run(run.id))!;
        const downloadedAudit = async (b: Bridge) =>
          (await b.payouts.auditOf({ runId: run.id })).filter((a) => a.action === 'run.downloaded');
        if (committed) {
          expect(mid).toMatchObject({ state: 'downloaded', format: 'anz', due_date: DUE, open_slot: null });
          expect(await first.files.info(mid.file_sha256!)).toMatchObject({ kind: 'payout_file' });
        } else {
          // Not frozen: no file fixed for it, still open to approve's next step (or a cancel).
          expect(mid).toMatchObject({ state: 'approved', format: null, file_sha256: null, downloaded_by: null });
        }
        expect(await downloadedAudit(first)).toHaveLength(committed ? 1 : 0);
        await first.close();

        const second = await bridge();
        const file = await second.payouts.download(run.id, 'anz', 'carol', DUE);
        const after = (await second.payouts.run(run.id))!;
        expect(after).toMatchObject({ state: 'downloaded', format: 'anz', due_date: DUE, open_slot: null });
        // The one who downloaded first is the one on record.
        expect(after.downloaded_by).toBe(committed ? 'bob' : 'carol');
        expect(sha256(file.body)).toBe(after.file_sha256);
        expect(file.fileName).toBe(after.file_name);
        if (committed) expect(after.file_sha256).toBe(mid.file_sha256);
        expect(await downloadedAudit(second)).toHaveLength(1);
        // Frozen for good: the same file again, never another format.
        expect((await second.payouts.download(run.id, 'anz', 'dave')).body.equals(file.body)).toBe(true);
        await expect(second.payouts.download(run.id, 'bnz', 'dave', DUE)).rejects.toMatchObject({
          code: 'payout_state',
        });
        expect(await downloadedAudit(second)).toHaveLength(1);
        // The run no longer holds the open slot: the next run can be built.
        const runs = await second.payouts.runs(100);
        expect(runs.filter((r) => r.state === 'built' || r.state === 'approved')).toEqual([]);
        await second.close();
      });
    }
  });
});

function sha256(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex');
}
