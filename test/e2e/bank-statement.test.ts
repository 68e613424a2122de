import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BankChannel, bankDemoAccount } from '../../cloud-bridge/channels/bank/index.js';
import { encodeForm } from '../../cloud-bridge/channels/bank/form.js';
import { hmacMd5 } from '../../cloud-bridge/channels/bank/sign.js';
import type { ChannelAccount, ChannelContext } from '../../cloud-bridge/channels/channel.js';
import { systemClock } from '../../protocol/clock.js';
import { spawnKauri } from '../support/processes.js';
import { startBankSimProcess, type BankSimProcess } from './bank-support.js';

// The simulator's daily statement (cloud-bridge/reconcile/BANK-STATEMENT.md): made from what
// happened on a China day, published from 10:00 the next day, fetched by the bank channel and
// read by `kauri reconcile`.

let sim: BankSimProcess;
let dir: string;

beforeAll(async () => {
  sim = await startBankSimProcess();
  dir = mkdtempSync(join(tmpdir(), 'kauri-bank-stmt-'));
});

afterAll(async () => {
  await sim?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function form(path: string, fields: Record<string, string>) {
  const res = await fetch(`${sim.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: encodeForm(fields),
  });
  return { status: res.status, text: await res.text() };
}

async function submitOrder(serial: string, amount: string): Promise<string> {
  const f: Record<string, string> = {
    v_mid: '8888',
    v_oid: `20261120-8888-${serial}`,
    v_rcvname: '8888',
    v_amount: amount,
    v_ymd: '20261120',
    v_moneytype: '0',
    v_url: 'http://127.0.0.1:9/return',
  };
  f.v_md5info = hmacMd5(
    'test',
    f.v_moneytype! + f.v_ymd! + f.v_amount! + f.v_rcvname! + f.v_oid! + f.v_mid! + f.v_url!,
  );
  const r = await form('/prs/user_payment.checkit', f);
  expect(r.status).toBe(200);
  expect(r.text).toContain('data-testid="sim-pay"');
  return f.v_oid!;
}

describe('bank statement', () => {
  it("lists a day's payments and refunds in the agreed format, read by kauri reconcile", async () => {
    await sim.control('POST', '/sim/clock', { now: '2026-11-20T10:15:02+08:00' });
    const a = await submitOrder('K000001', '123.45');
    const b = await submitOrder('K000002', '50.00');
    const unpaid = await submitOrder('K000003', '9.99');
    expect((await sim.control('POST', '/sim/pay', { v_oid: a })).status).toBe(200);
    expect((await sim.control('POST', '/sim/pay', { v_oid: b })).status).toBe(200);
    expect((await sim.control('POST', '/sim/pay', { v_oid: unpaid, outcome: 'fail' })).status).toBe(200);
    const refund = await form('/merchant/refund/ref_ack_submit.jsp', {
      v_mid: '8888',
      v_oid: a,
      v_refamount: '23.45',
      v_refreason: 'R1 part',
      v_refoprt: 'kauri',
      v_mac: hmacMd5('test', `8888${a}23.45kauri`),
    });
    expect(refund.status).toBe(200);

    const demo = await bankDemoAccount({ url: sim.url, stateDir: sim.stateDir });
    const account: ChannelAccount = {
      id: 'cha_test',
      merchantId: 'm',
      channel: 'bank',
      config: demo.config,
      secrets: demo.secrets,
    };
    const ctx: ChannelContext = {
      account,
      clock: systemClock(),
      log: pino({ level: 'silent' }),
      notifyUrl: 'http://127.0.0.1:9/n',
      publicBaseUrl: 'http://127.0.0.1:9',
      record: async () => undefined,
    };
    const channel = new BankChannel();
    await sim.control('POST', '/sim/clock', { now: '2026-11-21T09:59:00+08:00' });
    expect(await channel.fetchStatement(ctx, '2026-11-20')).toMatchObject({ state: 'not_ready' });
    await sim.control('POST', '/sim/clock', { now: '2026-11-21T10:00:01+08:00' });
    const got = await channel.fetchStatement(ctx, '2026-11-20');
    expect(got.state).toBe('ready');
    if (got.state !== 'ready') return;
    const lines = got.body.toString('utf8').trimEnd().split('\n');
    expect(lines[0]).toBe('v_mid,v_oid,v_refid,bank_trade_no,type,amount,currency,status,time,fee');
    expect(lines).toHaveLength(5);
    expect(lines[1]).toMatch(
      new RegExp(`^8888,${a},,PE20261120\\d{9},PAY,123.45,CNY,SUCCESS,2026-11-20 10:15:\\d\\d,0.62$`),
    );
    expect(lines[2]).toMatch(
      new RegExp(`^8888,${b},,PE20261120\\d{9},PAY,50.00,CNY,SUCCESS,2026-11-20 10:15:\\d\\d,0.25$`),
    );
    expect(lines[3]).toMatch(
      new RegExp(`^8888,${a},\\d{7},PE20261120\\d{9},REFUND,23.45,CNY,SUCCESS,2026-11-20 10:15:\\d\\d,0.00$`),
    );
    expect(lines[4]).toBe('TRAILER,2026-11-20,3,173.45,23.45,0.87');
    // An empty day is a header and a zero trailer.
    const empty = await channel.fetchStatement(ctx, '2026-11-19');
    expect(empty.state === 'ready' && empty.body.toString('utf8')).toBe(
      'v_mid,v_oid,v_refid,bank_trade_no,type,amount,currency,status,time,fee\nTRAILER,2026-11-19,0,0.00,0.00,0.00\n',
    );

    const statement = join(dir, got.fileName);
    writeFileSync(statement, got.body);
    const platform = join(dir, 'platform.csv');
    writeFileSync(
      platform,
      'out_trade_no,out_refund_no,channel,channel_trade_no,kind,amount_minor,currency,status,paid_at\n',
    );
    const rec = await spawnKauri([
      'reconcile',
      '--channel',
      'bank',
      '--date',
      '2026-11-20',
      '--statement',
      statement,
      '--platform',
      platform,
      '--json',
    ]);
    const code = await rec.finished();
    const out = rec.stdout().trim();
    expect(out, rec.stderr()).not.toBe('');
    const report = JSON.parse(out);
    expect(report).toMatchObject({ channel: 'bank', date: '2026-11-20', statementRows: 3, platformRows: 0 });
    expect(report.totals.currency).toBe('CNY');
    expect(code === 0 || code === 1).toBe(true);
  });

  it('refuses a statement request with a bad MAC or day', async () => {
    expect((await form('/merchant/statement/day', { v_mid: '8888', v_ymd: '20261120', v_mac: 'bad' })).status).toBe(
      403,
    );
    expect(
      (
        await form('/merchant/statement/day', {
          v_mid: '8888',
          v_ymd: '20261340',
          v_mac: hmacMd5('test', '888820261340'),
        })
      ).status,
    ).toBe(400);
  });
});
