import { readFileSync } from 'node:fs';
import { describe, it, expect } from 'vitest';
import { pino } from 'pino';
import { SimClock } from '../common/clock.js';
import { FaultRegistry } from '../common/faults.js';
import { Notifier } from '../common/notifier.js';
import { BILL_HEADER, BILL_SUMMARY_HEADER, BILL_LAYOUTS, renderBill } from './bill.js';
import { WechatGateway } from './gateway.js';
import { DEFAULT_MERCHANT as M, parseMerchantSpec } from './merchants.js';

function setup(startIso: string) {
  let real = Date.parse(startIso);
  const clock = new SimClock({ scale: 1, realNow: () => real });
  const notifier = new Notifier({
    clock,
    faults: new FaultRegistry(),
    log: pino({ level: 'silent' }),
    schedule: [],
    isAck: () => true,
    jobs: [],
    onChange: () => {},
  });
  notifier.stop();
  const gw = new WechatGateway(
    { orders: [], paycodes: [], oauthCodes: [], rates: [] },
    new Map([[M.mch_id, M]]),
    clock,
    notifier,
    pino({ level: 'silent' }),
    () => {},
  );
  const order = (out: string, fee: number) => {
    gw.unifiedOrder(
      M,
      {
        appid: M.appid,
        mch_id: M.mch_id,
        nonce_str: 'n',
        body: `Item, ${out}`,
        out_trade_no: out,
        total_fee: String(fee),
        fee_type: 'NZD',
        spbill_create_ip: '1.2.3.4',
        notify_url: 'http://127.0.0.1:1/n',
        trade_type: 'NATIVE',
        product_id: 'p',
      },
      'MD5',
    );
  };
  return { gw, clock, order, at: (iso: string) => (real = Date.parse(iso) - clock.offsetMs) };
}

/** tenpay's way of reading a statement: trim, split lines, strip the backticks. */
function parseBill(text: string) {
  const lines = text.trim().split(/\r?\n/);
  return {
    header: lines[0]!,
    rows: lines.slice(1, -2).map((l) => l.slice(1).split(',`')),
    summaryHeader: lines.at(-2)!,
    totals: lines.at(-1)!.slice(1).split(',`'),
  };
}

describe('downloadbill', () => {
  it('lists the day’s payments and refunds in the statement format, with totals', () => {
    // 2026-11-20 in Beijing runs from 2026-11-19T16:00Z to 2026-11-20T16:00Z.
    const s = setup('2026-11-20T01:00:00Z');
    s.order('A1', 1000);
    s.gw.simPay({ out_trade_no: 'A1' });
    s.order('A2', 250);
    s.gw.simPay({ out_trade_no: 'A2' });
    s.gw.refund(M, { out_trade_no: 'A1', out_refund_no: 'R1', total_fee: '1000', refund_fee: '400' });
    s.order('A3', 999); // never paid: not in the statement
    s.at('2026-11-20T15:59:59Z'); // 23:59:59 Beijing: still the 20th
    s.order('A4', 100);
    s.gw.simPay({ out_trade_no: 'A4' });
    s.at('2026-11-20T16:00:00Z'); // the 21st
    s.order('A5', 100);
    s.gw.simPay({ out_trade_no: 'A5' });

    s.at('2026-11-21T00:59:59Z'); // 08:59:59 on T+1: not generated yet
    expect(s.gw.downloadBill(M, { bill_date: '20261120' })).toEqual({ error: 'No Bill Exist', errorCode: '20002' });
    s.at('2026-11-21T01:00:00Z');
    const res = s.gw.downloadBill(M, { bill_date: '20261120' });
    if (!('text' in res)) throw new Error(res.error);
    expect(res.text.startsWith('\uFEFF')).toBe(true);
    const b = parseBill(res.text.replace(/^\uFEFF/, ''));
    expect(b.header).toBe(BILL_HEADER.join(','));
    expect(b.summaryHeader).toBe(BILL_SUMMARY_HEADER.join(','));
    expect(b.rows.map((r) => [r[6], r[9]])).toEqual([
      ['A1', 'SUCCESS'],
      ['A1', 'REFUND'], // same second as the payments: ordered by time, then order number
      ['A2', 'SUCCESS'],
      ['A4', 'SUCCESS'],
    ]);
    for (const r of b.rows) expect(r).toHaveLength(BILL_HEADER.length);
    expect(b.rows[0]![0]).toMatch(/^2026-11-20 09:00:00$/);
    expect(b.rows[0]![20]).toBe('Item, A1'); // a comma inside a field survives ",`" splitting
    expect(b.rows[0]!.slice(11, 13)).toEqual(['NZD', '10.00']);
    expect(b.rows[1]!.slice(16, 20)).toEqual(['4.00', '0.00', 'ORIGINAL', 'SUCCESS']);
    expect(b.totals).toEqual(['4', '13.50', '4.00', '0.00', '0.00']);

    const refunds = s.gw.downloadBill(M, { bill_date: '20261120', bill_type: 'REFUND' });
    expect('text' in refunds && parseBill(refunds.text).rows).toHaveLength(1);
  });

  it('says No Bill Exist for an empty day and refuses today, the future and bad dates', () => {
    const s = setup('2026-11-20T01:00:00Z');
    s.order('A1', 1000); // unpaid only
    expect(s.gw.downloadBill(M, { bill_date: '20261119' })).toEqual({ error: 'No Bill Exist', errorCode: '20002' });
    expect(s.gw.downloadBill(M, { bill_date: '20261120' })).toEqual({ error: 'invalid bill_date', errorCode: '20001' });
    expect(s.gw.downloadBill(M, { bill_date: '20261131' })).toEqual({ error: 'invalid bill_date', errorCode: '20001' });
    expect(s.gw.downloadBill(M, { bill_date: '2026-11-19' })).toEqual({
      error: 'invalid bill_date',
      errorCode: '20001',
    });
    expect(s.gw.downloadBill(M, { bill_date: '20261119', bill_type: 'FOO' })).toEqual({
      error: 'invalid bill_type',
      errorCode: '20001',
    });
  });

  it('follows the simulator clock', () => {
    const s = setup('2026-11-20T01:00:00Z');
    s.clock.set(new Date('2026-10-01T02:00:00Z'));
    s.order('OLD', 500);
    s.gw.simPay({ out_trade_no: 'OLD' });
    s.clock.set(new Date('2026-10-02T02:00:00Z'));
    const res = s.gw.downloadBill(M, { bill_date: '20261001' });
    expect('text' in res && parseBill(res.text).rows.map((r) => r[6])).toEqual(['OLD']);
  });

  it('keeps a payment revoked after it was paid as a REVOKED row, counted in the summary like every row', () => {
    const s = setup('2026-11-20T01:00:00Z');
    s.order('P1', 1234);
    s.gw.simPay({ out_trade_no: 'P1' });
    s.gw.micropay(
      M,
      {
        body: 'Flat white',
        out_trade_no: 'P2',
        total_fee: '500',
        fee_type: 'NZD',
        spbill_create_ip: '1.2.3.4',
        auth_code: s.gw.mintPaycode('success').auth_code,
      },
      'MD5',
    );
    s.at('2026-11-20T01:00:20Z');
    s.gw.reverse(M, { out_trade_no: 'P2' });
    s.at('2026-11-21T02:00:00Z');
    for (const layout of BILL_LAYOUTS) {
      const b = parseBill(renderBill(s.gw.data.orders, '20261120', 'ALL', layout)!.replace(/^\uFEFF/, ''));
      expect(b.rows.map((r) => [r[6], r[9]])).toEqual([
        ['P1', 'SUCCESS'],
        ['P2', 'REVOKED'],
      ]);
      // The REVOKED row counts in the total (17.34, not 12.34), as the convertor counts it.
      expect(b.totals.slice(0, 2)).toEqual(['2', '17.34']);
    }
  });

  it.each(BILL_LAYOUTS)(
    'lays out the %s bill as the wire corpus does: header, summary header, field counts, BOM, CRLF',
    (layout) => {
      const s = setup('2026-11-20T01:00:00Z');
      s.order('P1', 1234);
      s.gw.simPay({ out_trade_no: 'P1' });
      s.gw.refund(M, { out_trade_no: 'P1', out_refund_no: 'R1', total_fee: '1234', refund_fee: '234' });
      s.at('2026-11-21T02:00:00Z');
      const ours = renderBill(s.gw.data.orders, '20261120', 'ALL', layout)!;
      const corpus = readFileSync(
        new URL(`../../test/fixtures/wire/wechat/downloadbill-all-${layout}.csv`, import.meta.url),
        'utf8',
      );
      const shape = (text: string) => {
        const lines = text.split('\r\n');
        expect(lines.at(-1)).toBe(''); // ends with CRLF
        const b = parseBill(text.replace(/^\uFEFF/, ''));
        return {
          bom: text.startsWith('\uFEFF'),
          header: b.header,
          summary: b.summaryHeader,
          width: new Set(b.rows.map((r) => r.length)),
          totals: b.totals.length,
        };
      };
      expect(shape(ours)).toEqual(shape(corpus));
    },
  );

  it("takes a merchant's bill layout from its --merchant spec", () => {
    expect(parseMerchantSpec('mch_id=1,appid=wx1,key=' + 'a'.repeat(32) + ',bill_layout=zh-legacy').bill_layout).toBe(
      'zh-legacy',
    );
    expect(() => parseMerchantSpec('mch_id=1,appid=wx1,key=' + 'a'.repeat(32) + ',bill_layout=xls')).toThrow(
      /bill_layout must be one of/,
    );
  });
});
