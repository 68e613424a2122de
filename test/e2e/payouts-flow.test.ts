import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { startBridge, type Bridge } from '../../cloud-bridge/bridge.js';
import { seedDemo } from '../../cloud-bridge/demo.js';
import { demoChannelAccounts } from '../../cloud-bridge/channels/index.js';
import { closeWechatAgents } from '../../cloud-bridge/channels/wechat/index.js';
import { verifyKauriWebhook } from '../../cloud-bridge/webhooks/verify-signature.js';
import { systemClock, type Clock } from '../../protocol/clock.js';
import { createTestDatabase, type TestDatabase } from '../support/stores.js';
import { startWechatSimProcess, uniqueNo, type WechatSimProcess } from './wechat-support.js';

// A day's payments go the whole way: paid at the WeChat simulator, the day's statement
// downloaded and reconciled, signed off at HQ, a payout run built by one HQ user and approved
// by another, the ANZ bank file made and compared with its golden file, the bank's OFX
// statement imported and matched, the merchant's remittance (PDF and CSV, their own only) and
// the `payout.paid` webhook. And the refusals: an invalid account number, a day not signed off,
// a self-approval and an unapproved run's download.

const CHINA = 8 * 3600_000;
const DAY = 86_400_000;
const D = new Date(Date.now() + CHINA - 5 * DAY).toISOString().slice(0, 10);
const D1 = new Date(Date.parse(`${D}T00:00:00Z`) + DAY).toISOString().slice(0, 10);
const at = (day: string, hhmm: string) => Date.parse(`${day}T${hhmm}:00+08:00`);
const DUE = '2026-12-07';
const GOLDEN = join(import.meta.dirname, '..', 'fixtures', 'payouts', 'e2e-anz.csv');

interface Session {
  cookie: string;
  csrf: string;
}

describe('payouts: a day of payments to the merchant’s bank and back', () => {
  let sim: WechatSimProcess;
  let bridge: Bridge;
  let db: TestDatabase;
  let filesDir: string;
  let apiKey: string;
  let merchantId: string;
  let offsetMs = 0;
  let hook: Server;
  let hookUrl = '';
  let hookSecret = '';
  const received: Array<{ type: string; data: any }> = [];

  async function setTime(ms: number): Promise<void> {
    offsetMs = ms - Date.now();
    await sim.control('/sim/clock', { now: new Date(ms).toISOString() });
  }
  async function api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const res = await fetch(bridge.url + path, {
      method,
      headers: { authorization: `Bearer ${apiKey}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, body: await res.json() };
  }
  async function login(username: string, password: string): Promise<Session> {
    const res = await fetch(`${bridge.url}/hq/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password }),
    });
    expect(res.status).toBe(200);
    const me = (await res.json()) as { csrf: string };
    return { cookie: res.headers.get('set-cookie')!.split(';')[0]!, csrf: me.csrf };
  }
  async function hq(s: Session, method: string, path: string, body?: unknown): Promise<Response> {
    return fetch(bridge.url + path, {
      method,
      headers: {
        cookie: s.cookie,
        ...(method !== 'GET' ? { 'content-type': 'application/json', 'x-csrf-token': s.csrf } : {}),
      },
      body: method !== 'GET' ? JSON.stringify(body ?? {}) : undefined,
    });
  }
  async function hqJson(
    s: Session,
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: any }> {
    const res = await hq(s, method, path, body);
    return { status: res.status, body: await res.json() };
  }
  async function sale(amount: number): Promise<string> {
    const no = uniqueNo('po');
    const created = await api('POST', '/api/v1/payments', {
      out_trade_no: no,
      amount_minor: amount,
      currency: 'NZD',
      channel: 'wechat',
      mode: 'native',
      description: 'Dumplings',
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect((await sim.control('/sim/pay', { code_url: created.body.qr_code })).status).toBe(200);
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if ((await api('GET', `/api/v1/payments/${no}`)).body.status === 'paid') return no;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`${no} not paid`);
  }

  beforeAll(async () => {
    sim = await startWechatSimProcess({ KAURI_TIME_SCALE: '10' });
    db = await createTestDatabase('sqlite');
    filesDir = mkdtempSync(join(tmpdir(), 'kauri-payout-e2e-'));
    const base = systemClock(20);
    const clock: Clock = { now: () => new Date(Date.now() + offsetMs), duration: base.duration, sleep: base.sleep };
    bridge = await startBridge({
      dbUrl: db.url,
      port: 0,
      secretKey: 'e2e-payouts-secret-key-0123456789abcdef',
      filesDir,
      clock,
      log: pino({ level: process.env.KAURI_LOG_LEVEL ?? 'silent' }),
      reconcile: { lookbackDays: 0 },
      payouts: { everyMs: 0 },
    });
    const seed = await seedDemo(bridge.accounts, {
      registry: bridge.channels,
      channelAccounts: await demoChannelAccounts({ wechat: { url: sim.url, stateDir: sim.stateDir } }),
    });
    apiKey = seed.apiKey;
    merchantId = seed.merchantId;
    await bridge.accounts.createUser({ username: 'alice', password: 'alice-password', role: 'hq_finance' });
    await bridge.accounts.createUser({ username: 'bob', password: 'bob-password-1', role: 'hq_finance' });
    await bridge.accounts.createUser({
      username: 'shop',
      password: 'shop-password',
      role: 'merchant_user',
      merchantId,
    });
    const other = await bridge.accounts.createMerchant({ name: 'Another Shop', allowedDomains: [] });
    await bridge.accounts.createUser({
      username: 'other',
      password: 'other-password',
      role: 'merchant_user',
      merchantId: other.id,
    });

    hook = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        try {
          // Signed on the bridge's (moved) clock.
          const e = verifyKauriWebhook(Buffer.concat(chunks), req.headers['kauri-signature'], hookSecret, {
            nowS: Math.floor((Date.now() + offsetMs) / 1000),
          });
          received.push({ type: e.type, data: (e as unknown as { data: unknown }).data });
          res.writeHead(200);
        } catch {
          res.writeHead(400);
        }
        res.end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    const a = hook.address();
    hookUrl = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/hook`;
    await bridge.accounts.updateMerchant(merchantId, { allowPrivateWebhooks: true });
  }, 60_000);

  afterAll(async () => {
    await sim?.control('/sim/clock', { now: new Date().toISOString() }).catch(() => undefined);
    await bridge?.close();
    await closeWechatAgents();
    await new Promise((r) => hook?.close(r));
    await db?.drop();
    rmSync(filesDir, { recursive: true, force: true });
    await sim?.stop();
  });

  it('a day’s payments go the whole way', async () => {
    await setTime(at(D, '11:00'));
    hookSecret = (await bridge.webhooks.setEndpoint(merchantId, hookUrl)).secret;
    const sales = [await sale(1000), await sale(2500), await sale(4000)];

    // The next morning the statement is in; the day reconciles with nothing open.
    await setTime(at(D1, '10:30'));
    const run = await bridge.reconcile.reconcileDay('wechat', D);
    expect(run.summary.matched).toBe(3);
    expect(
      (await bridge.reconcile.differences({ channel: 'wechat', day: D })).filter((d) => d.state === 'open'),
    ).toEqual([]);

    const alice = await login('alice', 'alice-password');
    const bob = await login('bob', 'bob-password-1');
    // The operator's own account, the merchant's account (a bad one refused) and the operator's fee.
    expect(
      (
        await hqJson(alice, 'POST', '/hq/api/payouts/settings', {
          originatorAccount: '12-3140-0999993-00',
          originatorName: 'Kauri Payments Ltd',
        })
      ).status,
    ).toBe(200);
    const account = {
      merchantId,
      accountName: 'Dragon Noodle House',
      schedule: 'daily',
      minimumMinor: 1000,
    };
    const bad = await hqJson(alice, 'POST', '/hq/api/payouts/accounts', {
      ...account,
      accountNumber: '01-902-0068388-00',
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('bank_account_invalid');
    expect(bad.body.error.message).toMatch(/check digit/i);
    const good = await hqJson(alice, 'POST', '/hq/api/payouts/accounts', {
      ...account,
      accountNumber: '01-902-0068389-00',
    });
    expect(good.status, JSON.stringify(good.body)).toBe(200);
    expect(good.body.account).toMatchObject({ state: 'active', account_number: '01-0902-0068389-000' });
    expect(
      (
        await hqJson(alice, 'POST', '/hq/api/payouts/fees', {
          merchantId,
          channel: 'wechat',
          percent: '1.5',
          fixedMinor: 30,
        })
      ).status,
    ).toBe(200);

    // Not signed off yet: nothing to pay.
    const early = await hqJson(alice, 'POST', '/hq/api/payouts/runs');
    expect(early.status).toBe(409);
    expect(early.body.error.code).toBe('payout_nothing_to_pay');

    expect((await hqJson(alice, 'POST', `/hq/api/days/wechat/${D}/sign-off`, { note: 'all matched' })).status).toBe(
      200,
    );
    // The settlement shows the operator's fee: 1.5 % of 75.00 (1.125 → 1.13) + 3 × 0.30.
    const settlement = await hqJson(alice, 'GET', `/hq/api/settlement?from=${D}&to=${D}`);
    const row = settlement.body.rows.find((r: any) => r.merchantId === merchantId && r.channel === 'wechat');
    expect(row).toMatchObject({ grossMinor: 7500, operatorFeesMinor: 203, signedOff: true });
    const expected = row.netMinor - 203;

    const built = await hqJson(alice, 'POST', '/hq/api/payouts/runs');
    expect(built.status, JSON.stringify(built.body)).toBe(200);
    const runId = built.body.run.id as string;
    expect(built.body.run).toMatchObject({ state: 'built', built_by: 'alice', total_minor: expected });
    const detail = await hqJson(alice, 'GET', `/hq/api/payouts/runs/${runId}`);
    expect(detail.body.lines).toHaveLength(1);
    expect(detail.body.lines[0]).toMatchObject({
      merchant_id: merchantId,
      status: 'pay',
      amount_minor: expected,
      payments: 3,
      operator_fees_minor: 203,
      code: D,
    });

    // Refusals: a file before approval, a self-approval.
    const early2 = await hqJson(bob, 'POST', `/hq/api/payouts/runs/${runId}/file`, { format: 'anz', dueDate: DUE });
    expect(early2.status).toBe(409);
    expect(early2.body.error.code).toBe('payout_not_approved');
    const self = await hqJson(alice, 'POST', `/hq/api/payouts/runs/${runId}/approve`);
    expect(self.status).toBe(403);
    expect(self.body.error.code).toBe('payout_self_approval');
    const approved = await hqJson(bob, 'POST', `/hq/api/payouts/runs/${runId}/approve`);
    expect(approved.body.run).toMatchObject({ state: 'approved', approved_by: 'bob' });

    // The ANZ file, as its golden file says (the day and the amount are this run's).
    const problems = await hqJson(bob, 'GET', `/hq/api/payouts/runs/${runId}/problems?format=anz&due=${DUE}`);
    expect(problems.body.problems).toEqual([]);
    const fileRes = await hq(bob, 'POST', `/hq/api/payouts/runs/${runId}/file`, { format: 'anz', dueDate: DUE });
    expect(fileRes.status).toBe(200);
    expect(fileRes.headers.get('content-disposition')).toMatch(/kauri-payout-1-anz\.csv/);
    const file = Buffer.from(await fileRes.arrayBuffer()).toString('latin1');
    const golden = readFileSync(GOLDEN, 'latin1').replaceAll('{DAY}', D).replaceAll('{AMOUNT}', String(expected));
    expect(file).toBe(golden);
    // Downloaded: the same file again, and the run cannot change any more.
    const again = await hq(alice, 'POST', `/hq/api/payouts/runs/${runId}/file`, { format: 'anz', dueDate: DUE });
    expect(Buffer.from(await again.arrayBuffer()).toString('latin1')).toBe(file);
    expect((await hqJson(alice, 'POST', `/hq/api/payouts/runs/${runId}/cancel`)).body.error.code).toBe('payout_state');
    expect(
      (await hqJson(alice, 'POST', `/hq/api/payouts/runs/${runId}/file`, { format: 'asb-csv' })).body.error.code,
    ).toBe('payout_state');

    // Before the bank confirms, no remittance event has gone out.
    expect(received.filter((r) => r.type === 'payout.paid')).toEqual([]);

    // The bank's statement (OFX) shows the debit: the line is paid, the merchant hears of it.
    const ofx = statementOfx(expected, detail.body.lines[0].reference);
    const imported = await hqJson(alice, 'POST', '/hq/api/payouts/statements', {
      kind: 'ofx',
      content: Buffer.from(ofx).toString('base64'),
    });
    expect(imported.status, JSON.stringify(imported.body)).toBe(200);
    expect(imported.body.matched).toEqual([
      { lineId: detail.body.lines[0].id, runNumber: 1, status: 'paid', amountMinor: expected },
    ]);
    const after = await hqJson(alice, 'GET', `/hq/api/payouts/runs/${runId}`);
    expect(after.body.lines[0]).toMatchObject({ bank_status: 'paid', bank_date: DUE, flagged: false });

    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && !received.some((r) => r.type === 'payout.paid'))
      await new Promise((r) => setTimeout(r, 50));
    const paid = received.find((r) => r.type === 'payout.paid');
    expect(paid?.data).toMatchObject({
      payout_id: detail.body.lines[0].id,
      run_number: 1,
      amount_minor: expected,
      currency: 'NZD',
      paid_on: DUE,
      operator_fees_minor: 203,
      days: [{ channel: 'wechat', day: D, net_minor: expected }],
    });

    // The remittance: the merchant's own user downloads it; another merchant's user cannot.
    const shop = await login('shop', 'shop-password');
    const list = await hqJson(shop, 'GET', '/hq/api/payouts/remittances');
    expect(list.body.remittances).toMatchObject([{ id: detail.body.lines[0].id, amountMinor: expected }]);
    const csv = await (
      await hq(shop, 'GET', `/hq/api/payouts/remittances/${detail.body.lines[0].id}/remittance.csv`)
    ).text();
    for (const no of sales) expect(csv).toContain(`payment,wechat,${D},${no},1,`);
    expect(csv).toContain(`paid,,${DUE},`);
    const pdf = await hq(shop, 'GET', `/hq/api/payouts/remittances/${detail.body.lines[0].id}/remittance.pdf`);
    expect(pdf.headers.get('content-type')).toBe('application/pdf');
    expect(
      Buffer.from(await pdf.arrayBuffer())
        .subarray(0, 5)
        .toString(),
    ).toBe('%PDF-');
    const other = await login('other', 'other-password');
    expect((await hqJson(other, 'GET', '/hq/api/payouts/remittances')).body.remittances).toEqual([]);
    expect(
      (await hq(other, 'GET', `/hq/api/payouts/remittances/${detail.body.lines[0].id}/remittance.csv`)).status,
    ).toBe(404);
    // A merchant's user cannot run payouts.
    expect((await hq(shop, 'POST', '/hq/api/payouts/runs')).status).toBe(403);
  }, 120_000);
});

function statementOfx(amountMinor: number, reference: string): string {
  const amount = `-${Math.trunc(amountMinor / 100)}.${String(amountMinor % 100).padStart(2, '0')}`;
  return `<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<?OFX OFXHEADER="200" VERSION="211" SECURITY="NONE" OLDFILEUID="NONE" NEWFILEUID="NONE"?>
<OFX>
  <SIGNONMSGSRSV1><SONRS><STATUS><CODE>0</CODE><SEVERITY>INFO</SEVERITY></STATUS><DTSERVER>20261208091244</DTSERVER><LANGUAGE>ENG</LANGUAGE></SONRS></SIGNONMSGSRSV1>
  <BANKMSGSRSV1>
    <STMTTRNRS>
      <TRNUID>1</TRNUID>
      <STATUS><CODE>0</CODE><SEVERITY>INFO</SEVERITY></STATUS>
      <STMTRS>
        <CURDEF>NZD</CURDEF>
        <BANKACCTFROM><BANKID>12</BANKID><BRANCHID>3140</BRANCHID><ACCTID>0999993-00</ACCTID><ACCTTYPE>CHECKING</ACCTTYPE></BANKACCTFROM>
        <BANKTRANLIST>
          <DTSTART>20261201</DTSTART><DTEND>20261208</DTEND>
          <STMTTRN>
            <TRNTYPE>CREDIT</TRNTYPE><DTPOSTED>20261205</DTPOSTED><TRNAMT>250.00</TRNAMT>
            <FITID>2026120501</FITID><NAME>WECHAT PAY SETTLEMENT</NAME><MEMO>SETTLEMENT</MEMO>
          </STMTTRN>
          <STMTTRN>
            <TRNTYPE>DEBIT</TRNTYPE><DTPOSTED>20261207120000.000[+13:NZDT]</DTPOSTED><TRNAMT>${amount}</TRNAMT>
            <FITID>2026120701</FITID><NAME>DRAGON NOODLE HOUSE</NAME><MEMO>KAURI PAYOUT ${reference}</MEMO>
          </STMTTRN>
        </BANKTRANLIST>
        <LEDGERBAL><BALAMT>10450.12</BALAMT><DTASOF>20261208</DTASOF></LEDGERBAL>
      </STMTRS>
    </STMTTRNRS>
  </BANKMSGSRSV1>
</OFX>
`;
}
