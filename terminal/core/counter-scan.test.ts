import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { systemClock } from '../../protocol/clock.js';
import { newId } from '../../protocol/ids.js';
import { Counter } from './counter.js';
import type { SaleRow } from './db.js';

// The scan field at a counter that is not connected: a receipt's QR (its order number)
// picks the sale to refund instead of being refused as a payment code; a refused scan is
// said once and stops being news when the cashier moves on.

describe('the scan field', () => {
  let dir: string;
  let counter: Counter;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kauri-scan-'));
    counter = new Counter({ dataDir: dir, clock: systemClock(1), log: pino({ level: 'silent' }) });
  });
  afterEach(() => {
    vi.useRealTimers();
    counter.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  function addSale(status: SaleRow['status'], amountMinor: number, refundedMinor = 0): SaleRow {
    const now = new Date().toISOString();
    const row: SaleRow = {
      id: newId('sale'),
      kind: 'scan',
      out_trade_no: `K${newId()}`,
      checkout_id: null,
      checkout_url: null,
      channel: 'wechat',
      amount_minor: amountMinor,
      currency: 'NZD',
      status,
      refunded_minor: refundedMinor,
      cny_charged_minor: null,
      rate: null,
      payment_id: null,
      channel_trade_no: null,
      message: null,
      expires_at: null,
      cancel_requested: 0,
      created_at: now,
      updated_at: now,
      paid_at: now,
    };
    counter.db.insertSale(row);
    return row;
  }
  const salesCount = () => (counter.db.raw.prepare('select count(*) as n from sales').get() as { n: number }).n;

  it('takes a scanned receipt as the sale to refund, bare or as a link, and starts no payment', async () => {
    const sale = addSale('partially_refunded', 1840, 300);
    const before = salesCount();
    const view = counter.scan(` ${sale.out_trade_no!}\r\n`, '');
    expect(view).toMatchObject({ id: sale.id, refundableMinor: 1540 });
    let state = await counter.snapshot();
    expect(state.refundCandidate).toMatchObject({ id: sale.id, outTradeNo: sale.out_trade_no });
    expect(state.notice?.en).toContain('up to 15.40 NZD can be refunded');
    expect(state.scanError).toBeNull();
    expect(salesCount()).toBe(before);

    const firstAt = state.refundCandidate!.at;
    await new Promise((r) => setTimeout(r, 5));
    counter.scan(`https://pay.example.nz/r/${sale.out_trade_no!}`, '');
    state = await counter.snapshot();
    expect(state.refundCandidate?.id).toBe(sale.id);
    expect(state.refundCandidate!.at > firstAt).toBe(true); // a second scan is a new pick: the screen fills the form again
  });

  it('says when a scanned receipt has nothing left to refund', async () => {
    const sale = addSale('refunded', 1000, 1000);
    counter.scan(sale.out_trade_no!, '');
    const state = await counter.snapshot();
    expect(state.refundCandidate).toBeNull();
    expect(state.scanError?.en).toContain('nothing left to refund');
    expect(state.scanError?.zh).toContain('没有可退金额');
  });

  it('clears the pick once the refund is asked for', async () => {
    const sale = addSale('paid', 2000);
    counter.scan(sale.out_trade_no!, '');
    const r = await counter.refund(sale.out_trade_no!, '5.00', '246813');
    expect(r.status).toBe('queued'); // offline: it waits in the outbox
    expect((await counter.snapshot()).refundCandidate).toBeNull();
  });

  it('refuses garbage with one message, which goes when a new amount is keyed or after a minute', async () => {
    expect(() => counter.scan('hello123', '9.99')).toThrow(/Not a WeChat or Alipay payment code/);
    expect(salesCount()).toBe(0);
    expect((await counter.snapshot()).scanError?.en).toContain('Not a WeChat or Alipay');

    counter.setKeyedAmount('');
    expect((await counter.snapshot()).scanError).not.toBeNull(); // nothing changed: still the news
    counter.setKeyedAmount('9');
    expect((await counter.snapshot()).scanError).toBeNull();

    expect(() => counter.scan('x'.repeat(3000), '9')).toThrow();
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 30_000);
    expect((await counter.snapshot()).scanError).not.toBeNull();
    vi.setSystemTime(Date.now() + 31_000);
    expect((await counter.snapshot()).scanError).toBeNull();
  });

  it('does not call a code refused for its amount a duplicate when it is scanned again with one', async () => {
    const code = '134567890123456789';
    const refusal = (amount: string) => {
      try {
        counter.scan(code, amount);
      } catch (e) {
        return (e as { code: string }).code;
      }
      return 'started';
    };
    expect(refusal('')).toBe('invalid_amount');
    // Keyed now, and scanned again at once: taken as a scan (here refused only for being offline).
    expect(refusal('9.99')).not.toBe('scan_duplicate');
    expect((await counter.snapshot()).scanError?.en).not.toMatch(/just scanned/);
  });
});
