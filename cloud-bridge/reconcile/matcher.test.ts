import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { reconcileFiles, reconcileStreams } from './engine.js';
import { ReconcileError } from './errors.js';
import {
  platformCsv,
  wechatStatement,
  bankStatement,
  isoWithOffset,
  type FixturePlatformRow,
  type FixtureRow,
} from './fixtures.js';
import type { PlatformRow } from './platform-csv.js';

const D = '2026-11-20';
const at = (hhmmss: string, date = D): number => Date.parse(`${date}T${hhmmss}+08:00`);

function pay(id: string, amountMinor: number, time: number, extra: Partial<FixtureRow> = {}): FixtureRow {
  return {
    kind: 'payment',
    status: 'paid',
    outTradeNo: id,
    tradeNo: `42${id}`,
    amountMinor,
    currency: 'NZD',
    timeMs: time,
    ...extra,
  };
}
function refund(
  id: string,
  of: string,
  amountMinor: number,
  time: number,
  extra: Partial<FixtureRow> = {},
): FixtureRow {
  return {
    kind: 'refund',
    status: 'succeeded',
    outTradeNo: of,
    outRefundNo: id,
    refundId: `50${id}`,
    tradeNo: `42${of}`,
    amountMinor,
    currency: 'NZD',
    timeMs: time,
    ...extra,
  };
}
function order(
  id: string,
  amountMinor: number,
  status: string,
  time: number | null,
  extra: Partial<FixturePlatformRow> = {},
): FixturePlatformRow {
  return {
    outTradeNo: id,
    channel: 'wechat',
    kind: 'payment',
    amountMinor,
    currency: 'NZD',
    status,
    paidAtMs: time,
    ...extra,
  };
}
function refundRow(
  id: string,
  of: string,
  amountMinor: number,
  status: string,
  time: number | null,
): FixturePlatformRow {
  return {
    outTradeNo: of,
    outRefundNo: id,
    channel: 'wechat',
    kind: 'refund',
    amountMinor,
    currency: 'NZD',
    status,
    paidAtMs: time,
  };
}

function toPlatformRows(rows: FixturePlatformRow[]): PlatformRow[] {
  return rows.map((r) => ({
    outTradeNo: r.outTradeNo,
    outRefundNo: r.outRefundNo ?? null,
    channel: r.channel,
    channelTradeNo: r.channelTradeNo ?? null,
    kind: r.kind,
    amountMinor: r.amountMinor,
    currency: r.currency,
    status: r.status,
    paidAt: r.paidAtMs === null ? null : isoWithOffset(r.paidAtMs),
  }));
}

async function* bytes(s: string): AsyncGenerator<Uint8Array> {
  yield new TextEncoder().encode(s);
}
async function* each<T>(xs: (T & { carriedSuspense?: boolean })[]): AsyncGenerator<T & { carriedSuspense?: boolean }> {
  yield* xs;
}

/** Both entry points (files on 1 and 2 threads, streams) must agree; returns the file result. */
async function reconcileAll(
  statement: string,
  platform: FixturePlatformRow[],
  date = D,
  channel: 'wechat' | 'bank' = 'wechat',
) {
  const dir = mkdtempSync(join(tmpdir(), 'kauri-rec-'));
  writeFileSync(join(dir, 's.csv'), statement);
  writeFileSync(join(dir, 'p.csv'), platformCsv(platform));
  const one = await reconcileFiles({
    channel,
    date,
    statementPath: join(dir, 's.csv'),
    platformPath: join(dir, 'p.csv'),
    threads: 1,
  });
  const two = await reconcileFiles({
    channel,
    date,
    statementPath: join(dir, 's.csv'),
    platformPath: join(dir, 'p.csv'),
    threads: 2,
  });
  const streamed = await reconcileStreams({
    channel,
    date,
    statement: bytes(statement),
    platform: each(toPlatformRows(platform)),
  });
  expect(two).toEqual(one);
  expect(streamed.summary).toEqual(one.summary);
  expect(streamed.differences).toEqual(one.differences);
  return one;
}

const zero = {
  matched: 0,
  amountMismatch: 0,
  currencyMismatch: 0,
  statusMismatch: 0,
  channelOnly: 0,
  platformOnly: 0,
  duplicates: 0,
  suspense: 0,
};

describe('matcher', () => {
  it('finds every category, once each, and nothing else', async () => {
    const statement = [
      pay('M1', 1000, at('09:00:00')), // matched
      pay('AM', 1000, at('09:01:00')), // amount mismatch (platform says 1001)
      pay('CM', 1000, at('09:02:00')), // currency mismatch (platform AUD)
      pay('SM', 1000, at('09:03:00')), // paid at the channel, pending on the platform (a lost notify)
      pay('CO', 1000, at('09:04:00')), // only at the channel
      pay('DU', 1000, at('09:05:00')), // duplicated row
      pay('DU', 1000, at('09:05:00')),
      refund('RF1', 'M1', 300, at('10:00:00')), // a refund matched on its own id
    ];
    const platform = [
      order('M1', 1000, 'partially_refunded', at('09:00:00')),
      order('AM', 1001, 'paid', at('09:01:00')),
      order('CM', 1000, 'paid', at('09:02:00'), { currency: 'AUD' }),
      order('SM', 1000, 'pending', null),
      order('DU', 1000, 'paid', at('09:05:00')),
      order('PO', 700, 'paid', at('12:00:00')), // only on the platform
      order('SU', 800, 'paid', at('23:50:00')), // near the cut-off: suspense
      order('UNPAID', 900, 'closed', at('13:00:00')), // unpaid and absent: agrees
      order('OTHER', 900, 'paid', at('13:00:00'), { channel: 'alipay' }), // another channel
      order('YESTERDAY', 900, 'paid', at('13:00:00', '2026-11-19')), // another day
      refundRow('RF1', 'M1', 300, 'succeeded', at('10:00:00')),
    ];
    const { summary, differences } = await reconcileAll(wechatStatement(statement), platform);
    expect(summary).toEqual({
      channel: 'wechat',
      date: D,
      statementRows: 8,
      platformRows: 9,
      matched: 3,
      amountMismatch: 1,
      currencyMismatch: 1,
      statusMismatch: 1,
      channelOnly: 1,
      platformOnly: 1,
      duplicates: 1,
      suspense: 1,
      totals: { channelMinor: 7000 - 300, platformMinor: 1000 + 1001 + 1000 + 700 + 800 - 300, currency: 'NZD' },
    });
    expect(differences.map((d) => [d.category, d.id])).toEqual([
      ['amountMismatch', 'AM'],
      ['currencyMismatch', 'CM'],
      ['statusMismatch', 'SM'],
      ['channelOnly', 'CO'],
      ['platformOnly', 'PO'],
      ['duplicates', 'DU'],
      ['suspense', 'SU'],
    ]);
    expect(differences.find((d) => d.id === 'DU')).toMatchObject({
      occurrences: 2,
      channelAmountMinor: 1000,
      platformStatus: 'paid',
    });
    expect(differences.find((d) => d.id === 'SM')).toMatchObject({
      channelStatus: 'paid',
      platformStatus: 'pending',
      channelTradeNo: '42SM',
      paidAt: null,
    });
    expect(differences.find((d) => d.id === 'SU')).toMatchObject({
      paidAt: '2026-11-20T23:50:00+08:00',
      channelStatus: null,
    });
  });

  it("matches refunds on their own ids, not their order's", async () => {
    const statement = [
      pay('K1', 1000, at('09:00:00')),
      refund('R1', 'K1', 100, at('10:00:00')),
      refund('R2', 'K1', 200, at('11:00:00')),
    ];
    const platform = [
      order('K1', 1000, 'partially_refunded', at('09:00:00')),
      refundRow('R1', 'K1', 100, 'succeeded', at('10:00:00')),
      refundRow('R2', 'K1', 250, 'succeeded', at('11:00:00')),
      refundRow('R3', 'K1', 50, 'processing', at('12:00:00')),
    ];
    const { summary, differences } = await reconcileAll(wechatStatement(statement), platform);
    expect(summary).toMatchObject({ ...zero, matched: 2, amountMismatch: 1, platformOnly: 1 });
    expect(differences.map((d) => [d.category, d.kind, d.id])).toEqual([
      ['amountMismatch', 'refund', 'R2'],
      ['platformOnly', 'refund', 'R3'],
    ]);
  });

  it('a payment and its reversal in one statement are one transaction, not a duplicate', async () => {
    const statement = [pay('K1', 1000, at('09:00:00')), pay('K1', 1000, at('09:01:00'), { status: 'revoked' })];
    const { summary } = await reconcileAll(wechatStatement(statement), [order('K1', 1000, 'reversed', at('09:00:00'))]);
    expect(summary).toMatchObject({ ...zero, statementRows: 2, matched: 1 });
  });

  it('suspense: an order two minutes before the cut-off waits, then matches or becomes a difference the next day', async () => {
    const late = at('23:58:00');
    const platform = [order('K1', 1000, 'paid', at('12:00:00')), order('LATE', 500, 'paid', late)];
    // Day D: the channel booked LATE after midnight, so D's statement lacks it.
    const d = await reconcileAll(wechatStatement([pay('K1', 1000, at('12:00:00'))]), platform);
    expect(d.summary).toMatchObject({ ...zero, matched: 1, suspense: 1, platformRows: 2 });
    // Day D+1: its statement has LATE; the platform file still dates it D 23:58 (within the window).
    const next = '2026-11-21';
    const d1 = await reconcileAll(
      wechatStatement([pay('LATE', 500, at('00:00:30', next)), pay('K2', 10, at('08:00:00', next))]),
      [...platform, order('K2', 10, 'paid', at('08:00:00', next))],
      next,
    );
    expect(d1.summary).toMatchObject({ ...zero, matched: 2, platformRows: 2 });
    // Day D+1 without it: in file mode yesterday's row is not this day's business unless carried over.
    const d1b = await reconcileAll(
      wechatStatement([pay('K2', 10, at('08:00:00', next))]),
      [...platform, order('K2', 10, 'paid', at('08:00:00', next))],
      next,
    );
    expect(d1b.summary).toMatchObject({ ...zero, matched: 1, platformRows: 1 });
    // With the database's memory (carried suspense), its absence is now a difference.
    const carried = await reconcileStreams({
      channel: 'wechat',
      date: next,
      statement: bytes(wechatStatement([pay('K2', 10, at('08:00:00', next))])),
      platform: each([
        ...toPlatformRows([order('LATE', 500, 'paid', late)]).map((r) => ({ ...r, carriedSuspense: true })),
        ...toPlatformRows([order('K2', 10, 'paid', at('08:00:00', next))]),
      ]),
    });
    expect(carried.summary).toMatchObject({ ...zero, matched: 1, platformOnly: 1, platformRows: 2 });
    expect(carried.differences[0]).toMatchObject({ category: 'platformOnly', id: 'LATE' });
  });

  it('an order the bridge dated just after midnight that the channel booked the day before matches on that day', async () => {
    const { summary } = await reconcileAll(wechatStatement([pay('EARLY', 500, at('23:59:50'))]), [
      order('EARLY', 500, 'paid', at('00:03:00', '2026-11-21')),
    ]);
    expect(summary).toMatchObject({ ...zero, matched: 1, platformRows: 1 });
  });

  it('uses China time (UTC+8) for the day, whatever offset paid_at is written in', async () => {
    // 2026-11-20 16:30 UTC = 2026-11-21 00:30 China time = 2026-11-21 05:30 Auckland: not day D.
    const { summary } = await reconcileAll(wechatStatement([]), [
      order('NEXT', 500, 'paid', Date.parse('2026-11-20T16:30:00Z')),
    ]);
    expect(summary).toMatchObject({ ...zero, statementRows: 0, platformRows: 0 });
  });

  it('is idempotent: the same inputs give the same result, whatever the row order', async () => {
    const rows = [
      pay('A', 1, at('01:00:00')),
      pay('B', 2, at('02:00:00')),
      pay('B', 2, at('02:00:00')),
      pay('C', 3, at('03:00:00')),
    ];
    const platform = [
      order('A', 1, 'paid', at('01:00:00')),
      order('B', 3, 'paid', at('02:00:00')),
      order('D', 4, 'paid', at('04:00:00')),
    ];
    const first = await reconcileAll(wechatStatement(rows), platform);
    const again = await reconcileAll(wechatStatement(rows), platform);
    const reversed = await reconcileAll(wechatStatement([...rows].reverse()), [...platform].reverse());
    expect(again).toEqual(first);
    expect(reversed.summary).toEqual(first.summary);
    expect(reversed.differences.map((d) => [d.category, d.id])).toEqual(
      first.differences.map((d) => [d.category, d.id]),
    );
  });

  it('keeps amounts beyond 32 bits exact', async () => {
    const big = 3_000_000_123; // 30 million dollars in cents
    const { summary, differences } = await reconcileAll(
      wechatStatement([pay('BIG', big, at('09:00:00')), pay('BIG2', big, at('09:00:01'))]),
      [order('BIG', big, 'paid', at('09:00:00')), order('BIG2', big + 1, 'paid', at('09:00:01'))],
    );
    expect(summary).toMatchObject({
      ...zero,
      matched: 1,
      amountMismatch: 1,
      totals: { channelMinor: 2 * big, platformMinor: 2 * big + 1, currency: 'NZD' },
    });
    expect(differences[0]).toMatchObject({ id: 'BIG2', channelAmountMinor: big, platformAmountMinor: big + 1 });
  });

  it('bank: payments on v_oid, refunds on the bank refund id, totals in CNY', async () => {
    const statement = bankStatement(
      [
        {
          kind: 'payment',
          status: 'paid',
          outTradeNo: '20261120-8888-1',
          tradeNo: 'PE1',
          amountMinor: 5000,
          currency: 'CNY',
          timeMs: at('10:00:00'),
        },
        {
          kind: 'refund',
          status: 'succeeded',
          outTradeNo: '20261120-8888-1',
          refundId: 'RF9',
          tradeNo: 'PE1',
          amountMinor: 1000,
          currency: 'CNY',
          timeMs: at('11:00:00'),
        },
      ],
      D,
    );
    const platform: FixturePlatformRow[] = [
      {
        outTradeNo: '20261120-8888-1',
        channel: 'bank',
        kind: 'payment',
        amountMinor: 5000,
        currency: 'CNY',
        status: 'partially_refunded',
        paidAtMs: at('10:00:00'),
      },
      {
        outTradeNo: '20261120-8888-1',
        outRefundNo: 'OURS1',
        channelTradeNo: 'RF9',
        channel: 'bank',
        kind: 'refund',
        amountMinor: 1000,
        currency: 'CNY',
        status: 'succeeded',
        paidAtMs: at('11:00:00'),
      },
    ];
    const { summary } = await reconcileAll(statement, platform, D, 'bank');
    expect(summary).toMatchObject({
      ...zero,
      matched: 2,
      totals: { channelMinor: 4000, platformMinor: 4000, currency: 'CNY' },
    });
  });

  it('rejects a platform file that lists an order twice, naming both lines', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kauri-rec-'));
    writeFileSync(join(dir, 's.csv'), wechatStatement([]));
    writeFileSync(
      join(dir, 'p.csv'),
      platformCsv([
        order('A', 1, 'paid', at('01:00:00')),
        order('B', 1, 'paid', at('01:00:00')),
        order('A', 1, 'paid', at('01:00:00')),
      ]),
    );
    const err = await reconcileFiles({
      channel: 'wechat',
      date: D,
      statementPath: join(dir, 's.csv'),
      platformPath: join(dir, 'p.csv'),
      threads: 1,
    }).catch((e) => e);
    expect(err).toBeInstanceOf(ReconcileError);
    expect(err.report()).toBe(`${join(dir, 'p.csv')} line 4: payment A appears twice`);
  });
});
