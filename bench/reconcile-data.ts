import type { FixturePlatformRow, FixtureRow } from '../cloud-bridge/reconcile/fixtures.js';
import { writePlatformCsv, writeWechatStatement } from '../cloud-bridge/reconcile/fixtures.js';
import type { ReconcileSummary } from '../cloud-bridge/reconcile/ledger.js';

// The benchmark's day: a WeChat statement (overseas English layout) of `rows` rows and the
// platform's orders for it, with a known set of differences planted at fixed positions.

export const DATE = '2026-11-20';
const DAY_START = Date.parse(`${DATE}T00:00:00+08:00`);

export interface Planted {
  amountMismatch: number;
  currencyMismatch: number;
  statusMismatch: number;
  channelOnly: number;
  platformOnly: number;
  duplicates: number;
  suspense: number;
  /** platform rows of an earlier day and of another channel: must be ignored */
  otherDay: number;
  otherChannel: number;
}

export const PLANTED: Planted = {
  amountMismatch: 100,
  currencyMismatch: 10,
  statusMismatch: 100,
  channelOnly: 100,
  platformOnly: 100,
  duplicates: 50,
  suspense: 20,
  otherDay: 100,
  otherChannel: 1000,
};

/** The counts of a reconciled day (what `kauri reconcile` and the DuckDB baseline report). */
export type Expected = Omit<ReconcileSummary, 'channel' | 'date' | 'totals'>;

/** Small deterministic PRNG (mulberry32), so every run benchmarks the same files. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pad = (n: number, w: number): string => String(n).padStart(w, '0');

export async function generateDay(rows: number, statementPath: string, platformPath: string): Promise<Expected> {
  const p = PLANTED;
  const distinct = rows - p.duplicates;
  const random = rng(20261120);
  // Row i of the statement; the same i always gives the same row.
  const statementRow = (i: number): FixtureRow => {
    const refund = i % 50 === 7;
    const amountMinor = 100 + Math.floor(random() * 50_000);
    const timeMs = DAY_START + Math.floor((i / distinct) * 85_000_000); // up to 23:36, clear of the cut-off
    const outTradeNo = `K${DATE.replace(/-/g, '')}${pad(i, 10)}`;
    return {
      kind: refund ? 'refund' : 'payment',
      status: refund ? 'succeeded' : 'paid',
      outTradeNo,
      outRefundNo: refund ? `R${DATE.replace(/-/g, '')}${pad(i, 10)}` : undefined,
      tradeNo: `42000${pad(2026112000 + (i % 1000), 10)}${pad(i, 13)}`,
      refundId: refund ? `50300${pad(i, 23)}` : undefined,
      amountMinor,
      currency: 'NZD',
      timeMs,
      cnyMinor: Math.round(amountMinor * 4.312),
      feeMicro: amountMinor * 60, // 0.6%: minor (cents) × 10^4 × 0.006
    };
  };
  // Which rows carry which planted difference (disjoint ranges of ids, spread through the day).
  const stride = Math.floor(distinct / 1000);
  const tag = (i: number): string | null => {
    if (i % stride !== 3) return null;
    const k = Math.floor(i / stride);
    if (k < p.amountMismatch) return 'amount';
    if (k < p.amountMismatch + p.currencyMismatch) return 'currency';
    if (k < p.amountMismatch + p.currencyMismatch + p.statusMismatch) return 'status';
    if (k < p.amountMismatch + p.currencyMismatch + p.statusMismatch + p.channelOnly) return 'channelOnly';
    if (k < p.amountMismatch + p.currencyMismatch + p.statusMismatch + p.channelOnly + p.duplicates) return 'duplicate';
    return null;
  };

  const platform: FixturePlatformRow[] = [];
  function* statement(): Generator<FixtureRow> {
    for (let i = 0; i < distinct; i++) {
      const r = statementRow(i);
      const t = tag(i);
      yield r;
      if (t === 'duplicate') yield r;
    }
  }
  // Write the statement first (streamed), then derive the platform rows from the same sequence.
  await writeWechatStatement(statementPath, statement(), 'en');
  const random2 = rng(7);
  function* platformRows(): Generator<FixturePlatformRow> {
    for (let i = 0; i < distinct; i++) {
      // Re-derive row i: same PRNG draws in the same order.
      const r = again(i);
      const t = tag(i);
      if (t === 'channelOnly') continue;
      const base: FixturePlatformRow = {
        outTradeNo: r.outTradeNo,
        outRefundNo: r.outRefundNo,
        channel: 'wechat',
        channelTradeNo: r.tradeNo,
        kind: r.kind,
        amountMinor: r.amountMinor,
        currency: 'NZD',
        status: r.kind === 'refund' ? 'succeeded' : 'paid',
        paidAtMs: r.timeMs,
      };
      if (t === 'amount') base.amountMinor += 1;
      if (t === 'currency') base.currency = 'AUD';
      if (t === 'status') {
        base.status = r.kind === 'refund' ? 'processing' : 'pending';
      }
      yield base;
      if (i % 97 === 5 && platform.length < p.otherChannel) {
        const other = { ...base, channel: 'alipay' as const, outTradeNo: `A${base.outTradeNo}` };
        platform.push(other);
        yield other;
      }
    }
    for (let k = 0; k < p.platformOnly; k++) {
      yield {
        outTradeNo: `KPO${pad(k, 8)}`,
        channel: 'wechat',
        kind: 'payment',
        amountMinor: 1000 + k,
        currency: 'NZD',
        status: 'paid',
        paidAtMs: DAY_START + 3_600_000 + k * 60_000,
      };
    }
    for (let k = 0; k < p.suspense; k++) {
      yield {
        outTradeNo: `KSU${pad(k, 8)}`,
        channel: 'wechat',
        kind: 'payment',
        amountMinor: 2000 + k,
        currency: 'NZD',
        status: 'paid',
        paidAtMs: DAY_START + 86_400_000 - 14 * 60_000 + k * 1000,
      };
    }
    for (let k = 0; k < p.otherDay; k++) {
      yield {
        outTradeNo: `KOD${pad(k, 8)}`,
        channel: 'wechat',
        kind: 'payment',
        amountMinor: 3000 + k,
        currency: 'NZD',
        status: 'paid',
        paidAtMs: DAY_START - 3 * 3_600_000 - Math.floor(random2() * 1000),
      };
    }
  }
  const replay = rng(20261120);
  let replayAt = 0;
  const again = (i: number): FixtureRow => {
    // statementRow draws exactly one random number per row, in order.
    while (replayAt < i) {
      replay();
      replayAt++;
    }
    const amountMinor = 100 + Math.floor(replay() * 50_000);
    replayAt++;
    const refund = i % 50 === 7;
    return {
      kind: refund ? 'refund' : 'payment',
      status: refund ? 'succeeded' : 'paid',
      outTradeNo: `K${DATE.replace(/-/g, '')}${pad(i, 10)}`,
      outRefundNo: refund ? `R${DATE.replace(/-/g, '')}${pad(i, 10)}` : undefined,
      tradeNo: `42000${pad(2026112000 + (i % 1000), 10)}${pad(i, 13)}`,
      amountMinor,
      currency: 'NZD',
      timeMs: DAY_START + Math.floor((i / distinct) * 85_000_000),
    };
  };
  await writePlatformCsv(platformPath, platformRows());

  const mismatched = p.amountMismatch + p.currencyMismatch + p.statusMismatch;
  const matched = distinct - mismatched - p.channelOnly;
  return {
    statementRows: rows,
    platformRows: matched + mismatched + p.platformOnly + p.suspense,
    matched,
    amountMismatch: p.amountMismatch,
    currencyMismatch: p.currencyMismatch,
    statusMismatch: p.statusMismatch,
    channelOnly: p.channelOnly,
    platformOnly: p.platformOnly,
    duplicates: p.duplicates,
    suspense: p.suspense,
  };
}
