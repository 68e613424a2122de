import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
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
import { defaultChannels } from '../channels/index.js';
import type { Clock } from '../../protocol/clock.js';
import { lineReference, PayoutService, type Line } from './service.js';

// The run arithmetic through the database on both stores: signed-off days only, channel and
// operator fees (with rounding), a late refund and an HQ adjustment clawing back, carry-over of
// a negative and of a below-minimum balance, the cooling-off after an account change, and the
// run's four-eyes states.

const D1 = '2026-11-02';
const D2 = '2026-11-03';
const D3 = '2026-11-04';
const line = (p: { payments?: number; gross?: number; refunds?: number; refundsMinor?: number; fees?: number }) => ({
  currency: 'NZD',
  payments: p.payments ?? 0,
  grossMinor: p.gross ?? 0,
  refunds: p.refunds ?? 0,
  refundsMinor: p.refundsMinor ?? 0,
  feesMinor: p.fees ?? 0,
  cnyChargedMinor: 0,
});

describe.each(storeKinds())('payout runs (%s)', (kind) => {
  let db: TestDatabase;
  let store: Store;
  let dir: string;
  let nowMs = Date.parse('2026-11-10T00:00:00Z');
  const clock: Clock = { now: () => new Date(nowMs), duration: (ms) => ms, sleep: async () => undefined };
  let payouts: PayoutService;
  let repo: ReconRunsRepo;
  let events: EventLog;
  const m: Record<'a' | 'b' | 'c', string> = { a: '', b: '', c: '' };
  const byMerchant = (lines: Line[], id: string) => lines.find((l) => l.merchant_id === id)!;

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    store = await db.open();
    dir = mkdtempSync(join(tmpdir(), 'kauri-payout-files-'));
    const log = pino({ level: 'silent' });
    const accounts = new AccountsRepo(store, new SecretBox('payout-test-secret-key-0123456789'));
    const files = new FileStore(dir, store);
    events = new EventLog(store, clock);
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
    payouts = new PayoutService({ store, accounts, reconcile, events, files, clock, log });
    repo = new ReconRunsRepo(store, clock);
    for (const k of ['a', 'b', 'c'] as const)
      m[k] = (await accounts.createMerchant({ name: `Shop ${k.toUpperCase()}`, allowedDomains: [] })).id;

    // A: two wechat days (the second with a late refund of 50.00 and an HQ clawback of 5.00),
    // and an alipay day not signed off yet.
    await repo.replaceSettlement('wechat', D1, m.a, 'run1', [line({ payments: 3, gross: 30000, fees: 180 })]);
    await repo.replaceSettlement('wechat', D2, m.a, 'run2', [
      line({ payments: 1, gross: 10000, refunds: 1, refundsMinor: 5000, fees: 30 }),
    ]);
    await repo.addAdjustment({
      channel: 'wechat',
      day: D2,
      merchant_id: m.a,
      currency: 'NZD',
      amount_minor: -500,
      note: 'HQ clawback: duplicate payment',
      refers_to: null,
      actor: 'alice',
    });
    await repo.replaceSettlement('alipay', D3, m.a, 'run3', [line({ payments: 1, gross: 7000, fees: 42 })]);
    // B: one day, below B's minimum.
    await repo.replaceSettlement('wechat', D1, m.b, 'run1', [line({ payments: 1, gross: 5000, fees: 30 })]);
    // C: a small day, then a late refund bigger than it (negative), then a good day.
    await repo.replaceSettlement('wechat', D1, m.c, 'run1', [line({ payments: 1, gross: 1000, fees: 6 })]);
    await repo.replaceSettlement('wechat', D2, m.c, 'run2', [line({ refunds: 1, refundsMinor: 3000 })]);
    await repo.replaceSettlement('wechat', D3, m.c, 'run3', [line({ payments: 1, gross: 5000, fees: 30 })]);
    // Another currency is not paid in NZD.
    await repo.replaceSettlement('bank', D1, m.c, 'run1', [{ ...line({ payments: 1, gross: 9999 }), currency: 'CNY' }]);
    await repo.insertSignOff('wechat', D1, 'alice', null);
    await repo.insertSignOff('wechat', D2, 'alice', null);
    await repo.insertSignOff('bank', D1, 'alice', null);

    await payouts.setAccount(
      {
        merchantId: m.a,
        accountNumber: '01-902-0068389-00',
        accountName: 'Shop A Ltd',
        schedule: 'daily',
        minimumMinor: 1000,
        actor: 'alice',
      },
      { approve: true },
    );
    await payouts.setAccount(
      {
        merchantId: m.b,
        accountNumber: '08-6523-1954512-001',
        accountName: 'Shop B',
        schedule: 'weekly',
        scheduleDay: 5,
        minimumMinor: 10000,
        actor: 'alice',
      },
      { approve: true },
    );
    await payouts.setAccount(
      {
        merchantId: m.c,
        accountNumber: '26-2600-0320871-032',
        accountName: 'Shop C',
        schedule: 'monthly',
        scheduleDay: 1,
        minimumMinor: 0,
        actor: 'alice',
      },
      { approve: true },
    );
    await payouts.setFee(m.a, 'wechat', { percent: '1.5', fixedMinor: 30 }, 'alice');
    await payouts.setFee(m.a, 'alipay', { percent: '1.25', fixedMinor: 0 }, 'alice');
  }, 60_000);

  afterAll(async () => {
    await store?.close();
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('refuses an account number that fails its check digits, naming the reason', async () => {
    await expect(
      payouts.setAccount(
        {
          merchantId: m.a,
          accountNumber: '01-902-0068388-00',
          accountName: 'Shop A Ltd',
          schedule: 'daily',
          minimumMinor: 0,
          actor: 'alice',
        },
        { approve: true },
      ),
    ).rejects.toMatchObject({ code: 'bank_account_invalid' });
    expect((await payouts.bankAccounts(m.a)).map((a) => a.account_number)).toEqual(['01-0902-0068389-000']);
  });

  let run1 = '';
  it('builds a run from signed-off NZD days only: fees, clawbacks, carry-over of negative and small balances', async () => {
    const run = await payouts.buildRun({ actor: 'alice' });
    run1 = run.id;
    expect(run.state).toBe('built');
    const lines = await payouts.lines({ runId: run.id });
    const a = byMerchant(lines, m.a);
    // D1: 30000 − 180 − (450 + 3×30) = 29280; D2: 10000 − 5000 − 30 − (150 + 30) − 500 = 4290.
    expect(a).toMatchObject({
      status: 'pay',
      payments: 4,
      gross_minor: 40000,
      refunds_minor: 5000,
      channel_fees_minor: 210,
      operator_fees_minor: 720,
      adjustments_minor: -500,
      carried_in_minor: 0,
      balance_minor: 33570,
      amount_minor: 33570,
      carried_out_minor: 0,
      account_number: '01-0902-0068389-000',
      particulars: 'KAURI PAYOUT',
      code: D2,
    });
    expect(a.reference).toBe(lineReference(run.number, a.line_no));
    // D3 (alipay) is not signed off: not in the run.
    expect((await payouts.items(a.id)).map((i) => `${i.channel} ${i.day}`)).toEqual([`wechat ${D1}`, `wechat ${D2}`]);
    expect(byMerchant(lines, m.b)).toMatchObject({ status: 'carried', amount_minor: 0, carried_out_minor: 4970 });
    expect(byMerchant(lines, m.b).reason).toMatch(/minimum/);
    // C: 994 then a late refund of 30.00: −2006, carried; the CNY day is not taken.
    expect(byMerchant(lines, m.c)).toMatchObject({ status: 'carried', balance_minor: -2006, carried_out_minor: -2006 });
    expect((await payouts.items(byMerchant(lines, m.c).id)).map((i) => i.currency)).toEqual(['NZD', 'NZD']);
    expect(run.total_minor).toBe(33570);
  });

  it('allows one open run, and refuses self-approval and an unapproved download', async () => {
    await expect(payouts.buildRun({ actor: 'bob' })).rejects.toMatchObject({ code: 'payout_state' });
    await expect(payouts.approve(run1, 'alice')).rejects.toMatchObject({ code: 'payout_self_approval' });
    await expect(payouts.download(run1, 'asb-csv', 'bob')).rejects.toMatchObject({ code: 'payout_not_approved' });
    // Cancelling gives the days back; the same run is built again.
    await payouts.cancel(run1, 'bob');
    const again = await payouts.buildRun({ actor: 'alice' });
    expect(again.total_minor).toBe(33570);
    expect(again.number).toBe(2);
    const approved = await payouts.approve(again.id, 'bob');
    expect(approved).toMatchObject({ state: 'approved', approved_by: 'bob' });
    await expect(payouts.approve(again.id, 'carol')).rejects.toMatchObject({ code: 'payout_state' });
    // Marked as downloaded (the bank file itself is the formats' business): the run is closed.
    await store.db
      .updateTable('payout_runs' as never)
      .set({ state: 'downloaded', open_slot: null } as never)
      .where('id' as never, '=', again.id as never)
      .execute();
    const audit = await payouts.auditOf({ runId: again.id });
    expect(audit.map((x) => x.action)).toEqual(['run.approved', 'run.built']);
  });

  it('carries balances into the next run and holds a changed account for the cooling-off period', async () => {
    await repo.insertSignOff('alipay', D3, 'alice', null);
    await repo.insertSignOff('wechat', D3, 'alice', null);
    // A changes bank account: payouts wait 24 h.
    await payouts.setAccount(
      {
        merchantId: m.a,
        accountNumber: '08-6523-1954512-001',
        accountName: 'Shop A New',
        schedule: 'daily',
        minimumMinor: 1000,
        actor: 'alice',
      },
      { approve: true },
    );
    const run = await payouts.buildRun({ actor: 'alice' });
    const lines = await payouts.lines({ runId: run.id });
    // D3 alipay: 7000 − 42 − round(87.5) = 6870, held.
    expect(byMerchant(lines, m.a)).toMatchObject({
      status: 'held',
      operator_fees_minor: 88,
      balance_minor: 6870,
      amount_minor: 0,
      carried_out_minor: 6870,
    });
    expect(byMerchant(lines, m.a).reason).toMatch(/cooling off/);
    // B: nothing new, still below the minimum.
    expect(byMerchant(lines, m.b)).toMatchObject({
      status: 'carried',
      carried_in_minor: 4970,
      carried_out_minor: 4970,
    });
    // C: 4970 − 2006 = 2964 paid.
    expect(byMerchant(lines, m.c)).toMatchObject({ status: 'pay', carried_in_minor: -2006, amount_minor: 2964 });
    await payouts.cancel(run.id, 'bob');

    // A day later the new account is paid: the held balance, nothing twice.
    nowMs += 25 * 3_600_000;
    const later = await payouts.buildRun({ actor: 'alice' });
    const l2 = await payouts.lines({ runId: later.id });
    expect(byMerchant(l2, m.a)).toMatchObject({
      status: 'pay',
      amount_minor: 6870,
      account_number: '08-6523-1954512-001',
      account_name: 'Shop A New',
    });
    expect(later.total_minor).toBe(6870 + 2964);
    const audit = await payouts.auditOf({ merchantId: m.a });
    expect(audit.some((x) => x.action === 'bank_account.approved' && JSON.stringify(x.data).includes('replaces'))).toBe(
      true,
    );
  });

  it('a merchant admin proposes an account; HQ approves it', async () => {
    const proposed = await payouts.setAccount(
      {
        merchantId: m.b,
        accountNumber: '26-2600-0320871-032',
        accountName: 'Shop B Two',
        schedule: 'daily',
        minimumMinor: 0,
        actor: 'b-admin',
      },
      { approve: false },
    );
    expect(proposed.state).toBe('proposed');
    expect((await payouts.bankAccounts(m.b)).map((a) => a.state).sort()).toEqual(['active', 'proposed']);
    const approved = await payouts.decideAccount(proposed.id, true, 'alice');
    expect(approved.state).toBe('active');
    expect(approved.payable_from! > new Date(nowMs).toISOString()).toBe(true);
    await expect(payouts.decideAccount(proposed.id, true, 'alice')).rejects.toMatchObject({ code: 'payout_state' });
  });

  it('matches the bank statement: a different amount, a missing line flagged after three business days', async () => {
    const [run] = await payouts.runs(1);
    expect(run!.state).toBe('built');
    await payouts.approve(run!.id, 'bob');
    await payouts.setSettings({ originatorAccount: '12-3140-0999993-00', originatorName: 'Kauri Ltd' }, 'alice');
    await expect(payouts.download(run!.id, 'no-such-bank', 'bob')).rejects.toMatchObject({ code: 'invalid_request' });
    const file = await payouts.download(run!.id, 'anz', 'bob', '2026-11-11');
    expect(file.body.toString('latin1')).toMatch(/^1,C,20261111,/);
    const lines = await payouts.lines({ runId: run!.id });
    const a = byMerchant(lines, m.a);
    const c = byMerchant(lines, m.c);
    const ofx = (trns: string) =>
      Buffer.from(
        `<?xml version="1.0" encoding="UTF-8"?>\n<?OFX OFXHEADER="200" VERSION="211" SECURITY="NONE" OLDFILEUID="NONE" NEWFILEUID="NONE"?>\n` +
          `<OFX><BANKMSGSRSV1><STMTTRNRS><TRNUID>1</TRNUID><STATUS><CODE>0</CODE><SEVERITY>INFO</SEVERITY></STATUS><STMTRS><CURDEF>NZD</CURDEF>` +
          `<BANKACCTFROM><BANKID>12</BANKID><BRANCHID>3140</BRANCHID><ACCTID>0999993-00</ACCTID><ACCTTYPE>CHECKING</ACCTTYPE></BANKACCTFROM>` +
          `<BANKTRANLIST><DTSTART>20261101</DTSTART><DTEND>20261112</DTEND>${trns}</BANKTRANLIST>` +
          `<LEDGERBAL><BALAMT>1.00</BALAMT><DTASOF>20261112</DTASOF></LEDGERBAL></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>\n`,
      );
    // A's debit shows 68.00 instead of 68.70; C's is not there.
    const statement = ofx(
      `<STMTTRN><TRNTYPE>DEBIT</TRNTYPE><DTPOSTED>20261112</DTPOSTED><TRNAMT>-68.00</TRNAMT><FITID>1</FITID>` +
        `<NAME>SHOP A NEW</NAME><MEMO>KAURI PAYOUT ${a.reference}</MEMO></STMTTRN>`,
    );
    const r = await payouts.importStatement(statement, 'ofx', 'alice');
    expect(r.matched).toEqual([{ lineId: a.id, runNumber: run!.number, status: 'different', amountMinor: 6800 }]);
    expect(r.missing).toEqual([{ lineId: c.id, runNumber: run!.number, flagged: false }]);
    let after = await payouts.lines({ runId: run!.id });
    expect(byMerchant(after, m.a)).toMatchObject({ bank_status: 'different', bank_amount_minor: 6800, flagged: true });
    expect(byMerchant(after, m.c)).toMatchObject({ bank_status: 'missing', flagged: false });
    // Wednesday 11 November + Thursday, Friday, Monday: three business days later it is flagged.
    nowMs = Date.parse('2026-11-15T23:00:00Z'); // Monday 16 November in New Zealand
    after = await payouts.lines({ runId: run!.id });
    expect(byMerchant(after, m.c).flagged).toBe(true);
    // Only a confirmed payment tells the merchant.
    expect(await events.read(0, { types: ['payout.paid'] })).toEqual([]);
    // C's debit arrives: paid, and the merchant hears of it.
    const late = ofx(
      `<STMTTRN><TRNTYPE>DEBIT</TRNTYPE><DTPOSTED>20261116</DTPOSTED><TRNAMT>-29.64</TRNAMT><FITID>2</FITID>` +
        `<NAME>SHOP C</NAME><MEMO>PAYMENT</MEMO></STMTTRN>`,
    );
    const r2 = await payouts.importStatement(late, 'ofx', 'alice');
    expect(r2.matched).toEqual([{ lineId: c.id, runNumber: run!.number, status: 'paid', amountMinor: 2964 }]);
    const paid = await events.read(0, { types: ['payout.paid'] });
    expect(paid.map((e) => [e.merchantId, (e.payload as { amount_minor: number }).amount_minor])).toEqual([
      [m.c, 2964],
    ]);
    after = await payouts.lines({ runId: run!.id });
    expect(byMerchant(after, m.c)).toMatchObject({ bank_status: 'paid', flagged: false });
    // A later statement without A's debit leaves it as seen: a different amount.
    expect(byMerchant(after, m.a)).toMatchObject({ bank_status: 'different', bank_amount_minor: 6800 });
  });
});
