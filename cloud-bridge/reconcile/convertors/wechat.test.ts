import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import iconv from 'iconv-lite';
import { wechatStatement, type FixtureRow } from '../fixtures.js';
import { convertText, rejection } from '../test-helpers.js';

const t0 = Date.parse('2026-11-20T10:00:00+08:00');
const rows: FixtureRow[] = [
  {
    kind: 'payment',
    status: 'paid',
    outTradeNo: 'K1',
    tradeNo: '4200000001',
    amountMinor: 1234,
    currency: 'NZD',
    timeMs: t0,
    cnyMinor: 5321,
    feeMicro: 74_040,
  },
  {
    kind: 'payment',
    status: 'revoked',
    outTradeNo: 'K2',
    tradeNo: '4200000002',
    amountMinor: 500,
    currency: 'NZD',
    timeMs: t0 + 60_000,
    feeMicro: 3_005,
  },
  {
    kind: 'refund',
    status: 'succeeded',
    outTradeNo: 'K1',
    outRefundNo: 'R1',
    refundId: '5030001',
    tradeNo: '4200000001',
    amountMinor: 234,
    currency: 'NZD',
    timeMs: t0 + 120_000,
  },
  {
    kind: 'refund',
    status: 'processing',
    outTradeNo: 'K1',
    outRefundNo: 'R2',
    refundId: '5030002',
    tradeNo: '4200000001',
    amountMinor: 100,
    currency: 'NZD',
    timeMs: Date.parse('2026-11-20T23:59:59+08:00'),
  },
];

describe('WeChat downloadbill convertor', () => {
  it('reads the overseas English layout into standard bill rows', async () => {
    const out = await convertText('wechat', wechatStatement(rows, 'en'));
    expect(out).toHaveLength(4);
    expect(out[0]).toEqual({
      channel: 'wechat',
      channelTradeNo: '4200000001',
      channelRefundNo: null,
      outTradeNo: 'K1',
      outRefundNo: null,
      kind: 'payment',
      status: 'paid',
      amountMinor: 1234,
      currency: 'NZD',
      cnyChargedMinor: 5321,
      rate: '4.312',
      feeMinor: 7,
      feeMicro: 74_040,
      channelTime: '2026-11-20T10:00:00+08:00',
      channelDay: '2026-11-20',
    });
    expect(out[1]).toMatchObject({ kind: 'payment', status: 'revoked', amountMinor: 500 });
    expect(out[2]).toMatchObject({
      kind: 'refund',
      status: 'refund_succeeded',
      outRefundNo: 'R1',
      channelRefundNo: '5030001',
      amountMinor: 234,
    });
    expect(out[3]).toMatchObject({
      kind: 'refund',
      status: 'refund_processing',
      channelTime: '2026-11-20T23:59:59+08:00',
      channelDay: '2026-11-20',
    });
  });

  it('reads the Chinese layout with a BOM and CRLF line ends, commas inside product names included', async () => {
    const out = await convertText('wechat', wechatStatement(rows, 'zh', { bom: true, crlf: true }), '2026-11-20', 3);
    expect(out.map((r) => [r.kind, r.status, r.amountMinor, r.outTradeNo, r.outRefundNo])).toEqual([
      ['payment', 'paid', 1234, 'K1', null],
      ['payment', 'revoked', 500, 'K2', null],
      ['refund', 'refund_succeeded', 234, 'K1', 'R1'],
      ['refund', 'refund_processing', 100, 'K1', 'R2'],
    ]);
    expect(out[0]!.cnyChargedMinor).toBeNull(); // the domestic layout has no payer-currency columns
    expect(out[0]!.feeMinor).toBe(7);
  });

  it.each(['overseas-en', 'zh', 'zh-legacy'])(
    'reads the %s bill of the wire corpus, a REVOKED row counted in the summary totals',
    async (layout) => {
      // The early Chinese layout (总金额, 企业红包金额; summary 总交易额, 总企业红包退款金额)
      // is read by header name like the others, not refused for lacking 订单金额.
      const text = readFileSync(
        new URL(`../../../test/fixtures/wire/wechat/downloadbill-all-${layout}.csv`, import.meta.url),
      );
      const out = await convertText('wechat', text, '2026-11-20', 5);
      expect(
        out.map((r) => [r.kind, r.status, r.amountMinor, r.currency, r.outTradeNo, r.outRefundNo, r.channelTradeNo]),
      ).toEqual([
        ['payment', 'paid', 1234, 'NZD', 'K01', null, '4200000001202611200000000001'],
        ['payment', 'revoked', 500, 'NZD', 'K02', null, '4200000002202611200000000002'],
        ['refund', 'refund_succeeded', 234, 'NZD', 'K01', 'R01', '4200000001202611200000000001'],
      ]);
      expect(out[0]!.feeMinor).toBe(7);
    },
  );

  it('checks the summary over every row: a total that leaves out the REVOKED row is refused', async () => {
    const text = readFileSync(
      new URL('../../../test/fixtures/wire/wechat/downloadbill-all-zh-legacy.csv', import.meta.url),
      'utf8',
    );
    const err = await rejection(convertText('wechat', text.replace('`3,`17.34,', '`3,`12.34,')));
    expect(err.code).toBe('summary_mismatch');
  });

  it('accepts an empty day (header and zero summary)', async () => {
    expect(await convertText('wechat', wechatStatement([], 'en'))).toEqual([]);
  });

  it('rejects a truncated file, naming where it ends', async () => {
    const full = wechatStatement(rows, 'en');
    const cut = full.slice(0, full.indexOf('\n`2026-11-20 10:02') + 40);
    const err = await rejection(convertText('wechat', cut));
    expect(err.code).toBe('malformed_row');
    expect(err.line).toBe(4);
    expect(err.report()).toMatch(/statement\.csv line 4: \d+ fields where the header has 35/);
    const noSummary = full.split('\n').slice(0, 5).join('\n') + '\n';
    const err2 = await rejection(convertText('wechat', noSummary));
    expect(err2.code).toBe('truncated_file');
    expect(err2.message).toMatch(/without its summary/);
  });

  it('rejects a wrong header', async () => {
    const err = await rejection(convertText('wechat', 'a,b,c\n`1,`2,`3\n'));
    expect(err.code).toBe('wrong_header');
    expect(err.line).toBe(1);
    expect(err.message).toMatch(/not a WeChat Pay statement header/);
    const alipay = await rejection(convertText('wechat', 'Partner_transaction_id|Transaction_id\n'));
    expect(alipay.code).toBe('wrong_header');
  });

  it('names a downloadbill error reply saved as a statement', async () => {
    const err = await rejection(
      convertText(
        'wechat',
        '<xml><return_code>FAIL</return_code><return_msg>No Bill Exist</return_msg><error_code>20002</error_code></xml>',
      ),
    );
    expect(err.message).toBe('a WeChat Pay error reply ("No Bill Exist"), not a statement');
  });

  it('rejects a wrong encoding (GBK, UTF-16)', async () => {
    const gbk = iconv.encode(wechatStatement(rows, 'zh'), 'gbk');
    const err = await rejection(convertText('wechat', gbk));
    expect(err.code).toBe('wrong_encoding');
    expect(err.line).toBe(1);
    const utf16 = iconv.encode(wechatStatement(rows, 'en'), 'utf16-le', { addBOM: true });
    expect((await rejection(convertText('wechat', utf16))).code).toBe('wrong_encoding');
    // A UTF-8 header but a GBK row further down.
    const text = wechatStatement(rows, 'zh');
    const lines = text.split('\n');
    const mixed = Buffer.concat([
      Buffer.from(lines.slice(0, 2).join('\n') + '\n'),
      iconv.encode(lines.slice(2).join('\n'), 'gbk'),
    ]);
    const err3 = await rejection(convertText('wechat', mixed));
    expect(err3.code).toBe('wrong_encoding');
    expect(err3.line).toBe(3);
  });

  it('rejects a summary that does not match the rows, at the minor unit', async () => {
    const good = wechatStatement(rows, 'en');
    const lines = good.trimEnd().split('\n');
    const totals = lines[lines.length - 1]!.split(',`');
    const withTotals = (t: string[]): string => [...lines.slice(0, -1), t.join(',`')].join('\n') + '\n';
    const count = await rejection(convertText('wechat', withTotals(['`5', ...totals.slice(1)])));
    expect(count.code).toBe('summary_mismatch');
    expect(count.line).toBe(7);
    expect(count.message).toMatch(/says 5 but the file has 4 rows/);
    const amount = await rejection(convertText('wechat', withTotals([totals[0]!, '17.35', ...totals.slice(2)])));
    expect(amount.code).toBe('summary_mismatch');
    expect(amount.message).toMatch(/Total transaction amount says 17.35 but the rows add up to 17.34/);
    // Fees carry five decimals per row; the summary is compared after rounding to cents.
    const fee = totals[4]!;
    expect(fee).toBe('0.08');
    expect(await convertText('wechat', withTotals([...totals.slice(0, 4), '0.077']))).toHaveLength(4);
    expect((await rejection(convertText('wechat', withTotals([...totals.slice(0, 4), '0.09'])))).code).toBe(
      'summary_mismatch',
    );
  });

  it('rejects amounts finer than the currency allows, unknown statuses and rows after the summary', async () => {
    const good = wechatStatement(rows.slice(0, 1), 'en');
    const bad = good.replace('`12.34,', '`12.345,');
    const err = await rejection(convertText('wechat', bad));
    expect(err.code).toBe('malformed_row');
    expect(err.line).toBe(2);
    expect(err.message).toMatch(/Total amount "12.345" is not an amount in NZD's minor unit/);
    const status = await rejection(convertText('wechat', good.replace('`SUCCESS', '`NOTPAY')));
    expect(status.message).toMatch(/Transaction status "NOTPAY"/);
    const after = await rejection(convertText('wechat', good + good.split('\n')[1] + '\n'));
    expect(after.message).toMatch(/after the summary/);
    expect(after.line).toBe(5);
  });
});
