import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { reconcileFiles } from './engine.js';
import { ReconcileError } from './errors.js';
import { wechatStatement } from './fixtures.js';

const D = '2026-11-20';

async function withPlatform(csv: string) {
  const dir = mkdtempSync(join(tmpdir(), 'kauri-platform-'));
  writeFileSync(
    join(dir, 's.csv'),
    wechatStatement([
      {
        kind: 'payment',
        status: 'paid',
        outTradeNo: 'K1',
        tradeNo: '42K1',
        amountMinor: 1000,
        currency: 'NZD',
        timeMs: Date.parse(`${D}T10:00:00+08:00`),
      },
    ]),
  );
  writeFileSync(join(dir, 'p.csv'), csv);
  return reconcileFiles({
    channel: 'wechat',
    date: D,
    statementPath: join(dir, 's.csv'),
    platformPath: join(dir, 'p.csv'),
    threads: 1,
  });
}

describe('platform orders CSV', () => {
  it('finds columns by name, in any order, without out_refund_no, with quoted fields', async () => {
    const r = await withPlatform(
      'paid_at,status,currency,amount_minor,kind,channel_trade_no,channel,out_trade_no\n"2026-11-20T15:00:00+13:00",paid,NZD,1000,payment,"42K1",wechat,"K1"\r\n',
    );
    expect(r.summary).toMatchObject({ matched: 1, platformRows: 1 });
  });

  it('reads paid_at in UTC, with fractions, or any offset', async () => {
    const r = await withPlatform(
      'out_trade_no,out_refund_no,channel,channel_trade_no,kind,amount_minor,currency,status,paid_at\nK1,,wechat,,payment,1000,NZD,paid,2026-11-20T02:00:00.123Z\n',
    );
    expect(r.summary.matched).toBe(1);
  });

  it('rejects a missing column, an unknown status, a fractional amount and a time without offset, naming the line', async () => {
    const header = 'out_trade_no,out_refund_no,channel,channel_trade_no,kind,amount_minor,currency,status,paid_at';
    const cases: [string, RegExp][] = [
      [
        'out_trade_no,channel,kind\nK1,wechat,payment\n',
        /line 1: not a platform orders CSV header: no column channel_trade_no/,
      ],
      [
        `${header}\nK1,,wechat,,payment,1000,NZD,settled,2026-11-20T15:00:00+13:00\n`,
        /line 2: status "settled" is not a payment status/,
      ],
      [
        `${header}\nK1,,wechat,,payment,10.00,NZD,paid,2026-11-20T15:00:00+13:00\n`,
        /line 2: amount_minor "10.00" is not a whole number of minor units/,
      ],
      [
        `${header}\nK1,,wechat,,payment,1000,NZD,paid,2026-11-20 15:00:00\n`,
        /line 2: paid_at "2026-11-20 15:00:00" is not an ISO 8601 time with offset/,
      ],
      [`${header}\nK1,,wechat,,payment,1000,NZD,paid\n`, /line 2: 8 fields where the header has 9/],
      [
        `${header}\nK1,,wechat,,refund,1000,NZD,succeeded,2026-11-20T15:00:00+13:00\n`,
        /line 2: refund row without out_refund_no/,
      ],
    ];
    for (const [csv, message] of cases) {
      const err = await withPlatform(csv).catch((e) => e);
      expect(err).toBeInstanceOf(ReconcileError);
      expect((err as ReconcileError).report()).toMatch(message);
    }
  });
});
