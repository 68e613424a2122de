import { describe, expect, it } from 'vitest';
import { alipaySettlementFile, alipayTransactionFile, bankStatement, type FixtureRow } from '../fixtures.js';
import { convertText, rejection } from '../test-helpers.js';

const t0 = Date.parse('2026-11-20T10:00:00+08:00');
const alipayRows: FixtureRow[] = [
  {
    kind: 'payment',
    status: 'paid',
    outTradeNo: 'A1',
    tradeNo: '2026112022001',
    amountMinor: 1000,
    currency: 'NZD',
    timeMs: t0,
    cnyMinor: 4312,
    feeMicro: 30_000,
  },
  {
    kind: 'payment',
    status: 'revoked',
    outTradeNo: 'A2',
    tradeNo: '2026112022002',
    amountMinor: 250,
    currency: 'NZD',
    timeMs: t0 + 1000,
  },
  {
    kind: 'refund',
    status: 'succeeded',
    outTradeNo: 'A1',
    outRefundNo: 'AR1',
    tradeNo: '2026112022001',
    amountMinor: 400,
    currency: 'NZD',
    timeMs: t0 + 2000,
    cnyMinor: 1725,
  },
];
const bankRows: FixtureRow[] = [
  {
    kind: 'payment',
    status: 'paid',
    outTradeNo: '20261120-8888-K1',
    tradeNo: 'PE1',
    amountMinor: 12345,
    currency: 'CNY',
    timeMs: t0,
    feeMicro: 620_000,
  },
  {
    kind: 'refund',
    status: 'succeeded',
    outTradeNo: '20261120-8888-K1',
    refundId: 'RF1',
    tradeNo: 'PE1',
    amountMinor: 2345,
    currency: 'CNY',
    timeMs: t0 + 5000,
  },
  {
    kind: 'refund',
    status: 'processing',
    outTradeNo: '20261120-8888-K1',
    refundId: 'RF2',
    tradeNo: 'PE1',
    amountMinor: 100,
    currency: 'CNY',
    timeMs: t0 + 6000,
  },
];

describe('Alipay convertor', () => {
  it('reads the transaction file (info line, header, PAYMENT/REVERSAL/REFUND)', async () => {
    const out = await convertText('alipay', alipayTransactionFile(alipayRows, '2026-11-20'));
    expect(
      out.map((r) => [r.kind, r.status, r.outTradeNo, r.outRefundNo, r.amountMinor, r.channelTradeNo, r.feeMinor]),
    ).toEqual([
      ['payment', 'paid', 'A1', null, 1000, '2026112022001', 3],
      ['payment', 'revoked', 'A2', null, 250, '2026112022002', 0],
      ['refund', 'refund_succeeded', null, 'AR1', 400, '2026112022001', 0],
    ]);
  });

  it('reads the settlement file with the CNY amount and rate', async () => {
    const out = await convertText('alipay', alipaySettlementFile(alipayRows.filter((r) => r.status !== 'revoked')));
    expect(out[0]).toMatchObject({
      kind: 'payment',
      status: 'paid',
      cnyChargedMinor: 4312,
      rate: '4.31200000',
      amountMinor: 1000,
    });
    expect(out[1]).toMatchObject({ kind: 'refund', outRefundNo: 'AR1', cnyChargedMinor: 1725 });
  });

  it('rejects a count that does not match, a file of another day, a short row and a wrong header', async () => {
    const short = await rejection(
      convertText('alipay', alipayTransactionFile(alipayRows, '2026-11-20', { totalCount: 4 })),
    );
    expect(short.code).toBe('truncated_file');
    expect(short.message).toMatch(/Total_count says 4 but the file has 3 rows/);
    const day = await rejection(convertText('alipay', alipayTransactionFile(alipayRows, '2026-11-19')));
    expect(day.code).toBe('wrong_day');
    expect(day.line).toBe(1);
    const cut = alipayTransactionFile(alipayRows, '2026-11-20');
    const truncated = await rejection(convertText('alipay', cut.slice(0, cut.length - 30)));
    expect(truncated.code).toBe('malformed_row');
    expect(truncated.line).toBe(5);
    const header = await rejection(convertText('alipay', 'a|b|c\n1|2|3\n'));
    expect(header.code).toBe('wrong_header');
  });
});

describe('bank statement convertor (BANK-STATEMENT.md)', () => {
  it('reads PAY and REFUND rows; refunds carry the bank refund id', async () => {
    const out = await convertText('bank', bankStatement(bankRows, '2026-11-20'));
    expect(out).toEqual([
      expect.objectContaining({
        kind: 'payment',
        status: 'paid',
        outTradeNo: '20261120-8888-K1',
        amountMinor: 12345,
        currency: 'CNY',
        cnyChargedMinor: 12345,
        feeMinor: 62,
      }),
      expect.objectContaining({
        kind: 'refund',
        status: 'refund_succeeded',
        channelRefundNo: 'RF1',
        amountMinor: 2345,
      }),
      expect.objectContaining({
        kind: 'refund',
        status: 'refund_processing',
        channelRefundNo: 'RF2',
        amountMinor: 100,
      }),
    ]);
  });

  it('rejects a missing trailer, wrong totals, another day and rows after the trailer', async () => {
    const good = bankStatement(bankRows, '2026-11-20');
    const lines = good.trimEnd().split('\n');
    const missing = await rejection(convertText('bank', lines.slice(0, -1).join('\n') + '\n'));
    expect(missing.code).toBe('truncated_file');
    const trailer = lines[lines.length - 1]!;
    const wrongSum = await rejection(
      convertText('bank', [...lines.slice(0, -1), trailer.replace('123.45', '123.46')].join('\n') + '\n'),
    );
    expect(wrongSum.code).toBe('summary_mismatch');
    expect(wrongSum.line).toBe(5);
    const wrongCount = await rejection(
      convertText('bank', [...lines.slice(0, -1), trailer.replace(',3,', ',2,')].join('\n') + '\n'),
    );
    expect(wrongCount.message).toMatch(/TRAILER says 2 rows but the file has 3/);
    const day = await rejection(convertText('bank', good, '2026-11-21'));
    expect(day.code).toBe('wrong_day');
    const after = await rejection(convertText('bank', good + lines[1] + '\n'));
    expect(after.line).toBe(6);
    const badType = await rejection(convertText('bank', good.replace(',PAY,', ',PAYMENT,')));
    expect(badType.message).toMatch(/type "PAYMENT" is not a type/);
  });
});
