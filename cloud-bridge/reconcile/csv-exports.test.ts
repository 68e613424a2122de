import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeDifferences } from './differences.js';
import { reconcileFiles } from './engine.js';
import { wechatStatement } from './fixtures.js';
import type { Difference } from './ledger.js';
import { platformCsv } from './runs/platform-source.js';
import { settlementCsv, type SettlementRow } from './runs/service.js';

// Every CSV Kauri writes goes through cloud-bridge/csv.ts, so no cell
// that came from outside (a channel's file, an out_trade_no, a merchant's name) opens in
// a spreadsheet as a formula. One test per export (HQ's differences.csv is these cells
// after HQ's own columns, through the same csvDocument).

const D = '2026-11-20';
const EVIL = ['=HYPERLINK("http://evil.example","x")', '+1+2', '-2+3', '@SUM(A1)', '\tcmd', '\rcmd'];
/** A cell a spreadsheet would run: the formula characters at the start of a field. */
const RUNNABLE = /(^|,)"?[=+\-@\t\r]/m;

describe('CSV exports neutralise formulas', () => {
  it('kauri reconcile --differences-out (differences.csv)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kauri-csv-'));
    const diffs: Difference[] = EVIL.map(
      (v, i) =>
        ({
          category: 'channelOnly',
          kind: 'payment',
          id: v,
          channelTradeNo: `@T${i}`,
          channelStatus: null,
          channelAmountMinor: -100,
          channelCurrency: 'NZD',
          channelTime: null,
          platformStatus: null,
          platformAmountMinor: null,
          platformCurrency: null,
          paidAt: null,
          occurrences: null,
        }) as unknown as Difference,
    );
    await writeDifferences(join(dir, 'differences.csv'), diffs);
    const lines = readFileSync(join(dir, 'differences.csv'), 'utf8').split('\n');
    expect(lines[1]).toBe('channelOnly,payment,"\'=HYPERLINK(""http://evil.example"",""x"")","\'@T0",,-100,NZD,,,,,,');
    for (const l of lines.slice(1)) expect(l.replace(/,-100,/, ',')).not.toMatch(RUNNABLE);
  });

  it('the platform orders CSV (HQ platform.csv), which still reads back as the same references', async () => {
    const csv = platformCsv([
      {
        outTradeNo: '-K1',
        outRefundNo: null,
        channel: 'wechat',
        channelTradeNo: '=42K1',
        kind: 'payment',
        amountMinor: 1000,
        currency: 'NZD',
        status: 'paid',
        paidAt: `${D}T15:00:00+13:00`,
      },
    ]);
    expect(csv.split('\n')[1]).toBe('"\'-K1",,wechat,"\'=42K1",payment,1000,NZD,paid,2026-11-20T15:00:00+13:00');
    const dir = mkdtempSync(join(tmpdir(), 'kauri-csv-'));
    writeFileSync(
      join(dir, 's.csv'),
      wechatStatement([
        {
          kind: 'payment',
          status: 'paid',
          outTradeNo: '-K1',
          tradeNo: '=42K1',
          amountMinor: 1000,
          currency: 'NZD',
          timeMs: Date.parse(`${D}T10:00:00+08:00`),
        },
      ]),
    );
    writeFileSync(join(dir, 'p.csv'), csv);
    const r = await reconcileFiles({
      channel: 'wechat',
      date: D,
      statementPath: join(dir, 's.csv'),
      platformPath: join(dir, 'p.csv'),
      threads: 1,
    });
    expect(r.summary).toMatchObject({ matched: 1, platformRows: 1 });
  });

  it('the settlement export (HQ settlement.csv)', () => {
    const row = (merchantName: string): SettlementRow => ({
      merchantId: 'mch_1',
      merchantName,
      channel: 'wechat',
      day: D,
      currency: 'NZD',
      payments: 1,
      grossMinor: 100,
      refunds: 1,
      refundsMinor: 100,
      feesMinor: 1,
      adjustmentsMinor: -5,
      netMinor: -6,
      signedOff: false,
    });
    const lines = settlementCsv(EVIL.map(row)).split('\n');
    expect(lines[1]).toBe(
      'mch_1,"\'=HYPERLINK(""http://evil.example"",""x"")",wechat,2026-11-20,NZD,1,100,1,100,1,-5,-6,false',
    );
    expect(lines[5]).toBe('mch_1,"\'\tcmd",wechat,2026-11-20,NZD,1,100,1,100,1,-5,-6,false');
    for (const l of lines.slice(1)) expect(l.replace(/,-5,-6,/, ',')).not.toMatch(RUNNABLE);
  });
});
