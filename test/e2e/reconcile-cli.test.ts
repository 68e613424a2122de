import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runKauri } from '../support/processes.js';
import {
  bankStatement,
  platformCsv,
  wechatStatement,
  type FixturePlatformRow,
  type FixtureRow,
} from '../../cloud-bridge/reconcile/fixtures.js';

// A fresh working folder: without --db the command looks for ./data/bridge.db.
const run = (args: string[]) => runKauri(args, { cwd: mkdtempSync(join(tmpdir(), 'kauri-reconcile-cwd-')) });

const D = '2026-11-20';
const at = (t: string): number => Date.parse(`${D}T${t}+08:00`);
const pay = (id: string, amountMinor: number, t: string): FixtureRow => ({
  kind: 'payment',
  status: 'paid',
  outTradeNo: id,
  tradeNo: `4200${id}`,
  amountMinor,
  currency: 'NZD',
  timeMs: at(t),
  cnyMinor: amountMinor * 4,
  feeMicro: amountMinor * 60,
});
const order = (id: string, amountMinor: number, status: string, t: string | null): FixturePlatformRow => ({
  outTradeNo: id,
  channel: 'wechat',
  channelTradeNo: `4200${id}`,
  kind: 'payment',
  amountMinor,
  currency: 'NZD',
  status,
  paidAtMs: t === null ? null : at(t),
});

function day(): { dir: string; statement: string; platform: string } {
  const dir = mkdtempSync(join(tmpdir(), 'kauri-reconcile-e2e-'));
  const statement = join(dir, 'wechat-20261120.csv');
  const platform = join(dir, 'orders.csv');
  writeFileSync(
    statement,
    wechatStatement(
      [
        pay('K1', 1000, '09:00:00'),
        pay('K2', 2000, '10:00:00'), // the platform has 2001
        pay('K3', 3000, '11:00:00'), // pending on the platform (lost notify)
        pay('K4', 400, '12:00:00'), // only at the channel
        pay('K5', 500, '13:00:00'),
        pay('K5', 500, '13:00:00'), // duplicated row
        {
          kind: 'refund',
          status: 'succeeded',
          outTradeNo: 'K1',
          outRefundNo: 'R1',
          refundId: '5031',
          tradeNo: '4200K1',
          amountMinor: 100,
          currency: 'NZD',
          timeMs: at('14:00:00'),
        },
      ],
      'zh',
      { bom: true },
    ),
  );
  writeFileSync(
    platform,
    platformCsv([
      order('K1', 1000, 'partially_refunded', '09:00:00'),
      order('K2', 2001, 'paid', '10:00:00'),
      order('K3', 3000, 'pending', null),
      order('K5', 500, 'paid', '13:00:00'),
      order('K6', 600, 'paid', '15:00:00'), // only on the platform
      order('K7', 700, 'paid', '23:58:00'), // two minutes before the cut-off: suspense
      {
        outTradeNo: 'K1',
        outRefundNo: 'R1',
        channel: 'wechat',
        kind: 'refund',
        amountMinor: 100,
        currency: 'NZD',
        status: 'succeeded',
        paidAtMs: at('14:00:00'),
      },
    ]),
  );
  return { dir, statement, platform };
}

describe('kauri reconcile --statement --platform', () => {
  it('prints exactly the docs/CONTRACTS.md object on stdout and writes the differences as CSV', async () => {
    const { dir, statement, platform } = day();
    const out = join(dir, 'differences.csv');
    const r = await run([
      'reconcile',
      '--channel',
      'wechat',
      '--date',
      D,
      '--statement',
      statement,
      '--platform',
      platform,
      '--json',
      '--differences-out',
      out,
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      '{"channel":"wechat","date":"2026-11-20","statementRows":7,"platformRows":7,"matched":3,"amountMismatch":1,' +
        '"currencyMismatch":0,"statusMismatch":1,"channelOnly":1,"platformOnly":1,"duplicates":1,"suspense":1,' +
        '"totals":{"channelMinor":7300,"platformMinor":4701,"currency":"NZD"}}\n',
    );
    expect(readFileSync(out, 'utf8')).toBe(
      [
        'category,kind,id,channel_trade_no,channel_status,channel_amount_minor,channel_currency,channel_time,platform_status,platform_amount_minor,platform_currency,paid_at,occurrences',
        'amountMismatch,payment,K2,4200K2,paid,2000,NZD,2026-11-20T10:00:00+08:00,paid,2001,NZD,2026-11-20T10:00:00+08:00,',
        'statusMismatch,payment,K3,4200K3,paid,3000,NZD,2026-11-20T11:00:00+08:00,pending,3000,NZD,,',
        'channelOnly,payment,K4,4200K4,paid,400,NZD,2026-11-20T12:00:00+08:00,,,,,',
        'platformOnly,payment,K6,,,,,,paid,600,NZD,2026-11-20T15:00:00+08:00,',
        'duplicates,payment,K5,4200K5,paid,500,NZD,2026-11-20T13:00:00+08:00,paid,500,NZD,2026-11-20T13:00:00+08:00,2',
        'suspense,payment,K7,,,,,,paid,700,NZD,2026-11-20T23:58:00+08:00,',
        '',
      ].join('\n'),
    );
    // Idempotent: a second run gives the same bytes.
    const again = await run([
      'reconcile',
      '--channel',
      'wechat',
      '--date',
      D,
      '--statement',
      statement,
      '--platform',
      platform,
      '--json',
      '--differences-out',
      out,
    ]);
    expect(again.stdout).toBe(r.stdout);
    expect(readdirSync(dir).sort()).toEqual(['differences.csv', 'orders.csv', 'wechat-20261120.csv']);
  });

  it('writes JSON lines for a .jsonl differences file and a readable summary without --json', async () => {
    const { dir, statement, platform } = day();
    const out = join(dir, 'differences.jsonl');
    const r = await run([
      'reconcile',
      '--channel',
      'wechat',
      '--date',
      D,
      '--statement',
      statement,
      '--platform',
      platform,
      '--differences-out',
      out,
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/wechat 2026-11-20 \(wechat-zh\): 7 statement rows, 7 platform rows/);
    expect(r.stdout).toMatch(/suspense +1/);
    const lines = readFileSync(out, 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((d) => d.category)).toEqual([
      'amountMismatch',
      'statusMismatch',
      'channelOnly',
      'platformOnly',
      'duplicates',
      'suspense',
    ]);
    expect(lines[0]).toEqual({
      category: 'amountMismatch',
      kind: 'payment',
      id: 'K2',
      channelTradeNo: '4200K2',
      channelStatus: 'paid',
      channelAmountMinor: 2000,
      channelCurrency: 'NZD',
      channelTime: '2026-11-20T10:00:00+08:00',
      platformStatus: 'paid',
      platformAmountMinor: 2001,
      platformCurrency: 'NZD',
      paidAt: '2026-11-20T10:00:00+08:00',
      occurrences: null,
    });
  });

  it('rejects a malformed statement whole: one line naming the line, non-zero exit, nothing written', async () => {
    const { dir, statement, platform } = day();
    const text = readFileSync(statement, 'utf8');
    writeFileSync(statement, text.replace('`20.00,', '`20.001,'));
    const out = join(dir, 'differences.csv');
    const r = await run([
      'reconcile',
      '--channel',
      'wechat',
      '--date',
      D,
      '--statement',
      statement,
      '--platform',
      platform,
      '--json',
      '--differences-out',
      out,
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`${statement} line 3: 应结订单金额 "20.001" is not an amount in NZD's minor unit`);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).sort()).toEqual(['orders.csv', 'wechat-20261120.csv']);
  });

  it('reconciles a bank statement (BANK-STATEMENT.md) in CNY, refunds on the bank refund id', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kauri-reconcile-e2e-'));
    const statement = join(dir, 'bank-8888-20261120.csv');
    const platform = join(dir, 'orders.csv');
    writeFileSync(
      statement,
      bankStatement(
        [
          {
            kind: 'payment',
            status: 'paid',
            outTradeNo: '20261120-8888-1',
            tradeNo: 'PE1',
            amountMinor: 12345,
            currency: 'CNY',
            timeMs: at('10:00:00'),
            feeMicro: 620_000,
          },
          {
            kind: 'payment',
            status: 'paid',
            outTradeNo: '20261120-8888-2',
            tradeNo: 'PE2',
            amountMinor: 5000,
            currency: 'CNY',
            timeMs: at('11:00:00'),
          },
          {
            kind: 'refund',
            status: 'succeeded',
            outTradeNo: '20261120-8888-1',
            refundId: 'RF1',
            tradeNo: 'PE1',
            amountMinor: 2345,
            currency: 'CNY',
            timeMs: at('12:00:00'),
          },
        ],
        D,
      ),
    );
    writeFileSync(
      platform,
      platformCsv([
        {
          outTradeNo: '20261120-8888-1',
          channel: 'bank',
          channelTradeNo: 'PE1',
          kind: 'payment',
          amountMinor: 12345,
          currency: 'CNY',
          status: 'partially_refunded',
          paidAtMs: at('10:00:00'),
        },
        {
          outTradeNo: '20261120-8888-2',
          channel: 'bank',
          channelTradeNo: 'PE2',
          kind: 'payment',
          amountMinor: 5000,
          currency: 'CNY',
          status: 'failed',
          paidAtMs: at('11:00:00'),
        },
        {
          outTradeNo: '20261120-8888-1',
          outRefundNo: 'KR1',
          channel: 'bank',
          channelTradeNo: 'RF1',
          kind: 'refund',
          amountMinor: 2345,
          currency: 'CNY',
          status: 'succeeded',
          paidAtMs: at('12:00:00'),
        },
      ]),
    );
    const r = await run([
      'reconcile',
      '--channel',
      'bank',
      '--date',
      D,
      '--statement',
      statement,
      '--platform',
      platform,
      '--json',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      '{"channel":"bank","date":"2026-11-20","statementRows":3,"platformRows":3,"matched":2,"amountMismatch":0,' +
        '"currencyMismatch":0,"statusMismatch":1,"channelOnly":0,"platformOnly":0,"duplicates":0,"suspense":0,' +
        '"totals":{"channelMinor":15000,"platformMinor":10000,"currency":"CNY"}}\n',
    );
  });

  it('refuses bad arguments and the database mode with a one-line reason', async () => {
    const { statement, platform } = day();
    const cases: [string[], RegExp][] = [
      [
        ['--channel', 'paypal', '--date', D, '--statement', statement, '--platform', platform],
        /--channel must be wechat, alipay or bank/,
      ],
      [
        ['--channel', 'wechat', '--date', '2026-13-01', '--statement', statement, '--platform', platform],
        /--date must be YYYY-MM-DD/,
      ],
      [
        ['--channel', 'wechat', '--date', D, '--statement', '/nonexistent/s.csv', '--platform', platform],
        /cannot read statement \/nonexistent\/s.csv: ENOENT/,
      ],
      [
        [
          '--channel',
          'wechat',
          '--date',
          D,
          '--statement',
          statement,
          '--platform',
          platform,
          '--differences-out',
          '/nonexistent/d.csv',
        ],
        /folder \/nonexistent does not exist/,
      ],
      [['--channel', 'wechat', '--date', D], /needs the database: pass --db URL/],
      [
        ['--channel', 'wechat', '--date', D, '--statement', statement],
        /without --platform, reconcile needs the database/,
      ],
    ];
    for (const [args, message] of cases) {
      const r = await run(['reconcile', ...args, '--json']);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stdout).toBe('');
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
  });
});
