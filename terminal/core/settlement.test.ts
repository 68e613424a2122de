import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { systemClock } from '../../protocol/clock.js';
import { newId } from '../../protocol/ids.js';
import { startTestBridge, type TestBridge } from '../../test/support/bridges.js';
import { Counter, pairTerminal, storeDay, type CounterDevices } from './counter.js';
import type { SaleRow } from './db.js';
import type { SettlementSummary } from './records.js';
import { LINK_VERSION, type EventMessage } from '../../protocol/link.js';

// The counter's settlement and health against a real bridge in this process. Closing the
// day (Z): the PIN is the store's, checked by the bridge; the close is refused while a
// payment's outcome is unknown or a payment is in progress, happens once per store day, and
// survives a restart; the next report counts what settled after it, once. Refunds made
// elsewhere are counted from their events. Device changes reach the bridge's record.

const PIN = '246813';
const TZ = 'Pacific/Auckland';

describe('Counter.closeDay', () => {
  let tb: TestBridge;
  let wsUrl: string;
  let dir: string;
  let counter: Counter;
  const printed: SettlementSummary[] = [];
  // The printer driver is tested against the printer simulator (test/e2e): here, what the counter hands it.
  const devices: CounterDevices = {
    health: () => [],
    printSettlement: (s) => {
      printed.push(s);
    },
  };
  const open = (data: string) =>
    new Counter({ dataDir: data, clock: systemClock(1), log: pino({ level: 'silent' }), devices });

  beforeAll(async () => {
    tb = await startTestBridge({ kind: 'sqlite', secretKey: 'test-secret-key-0123456789', timeScale: 1 });
    const bridge = tb.bridge;
    const merchant = (await bridge.accounts.createMerchant({ name: 'M' })).id;
    const store = (
      await bridge.accounts.createStore({ merchantId: merchant, name: 'Kauri Dairy', code: 'dairy', timezone: TZ })
    ).id;
    await bridge.terminals.repo.setManagerPin(store, PIN);
    wsUrl = `${bridge.url.replace('http', 'ws')}/terminal`;
    dir = mkdtempSync(join(tmpdir(), 'kauri-close-'));
    const { code } = await bridge.terminals.createPairingCode('dairy');
    await pairTerminal(dir, wsUrl, code, 'till 1');
    counter = open(dir);
  });
  afterAll(async () => {
    counter?.stop();
    await tb?.bridge.close();
    await tb?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function addSale(status: SaleRow['status'], amountMinor: number): SaleRow {
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
      refunded_minor: 0,
      cny_charged_minor: null,
      rate: null,
      payment_id: null,
      channel_trade_no: null,
      message: null,
      expires_at: null,
      cancel_requested: 0,
      created_at: now,
      updated_at: now,
      paid_at: status === 'paid' ? now : null,
    };
    counter.db.insertSale(row);
    return row;
  }
  const closes = () =>
    counter.db.raw.prepare('select * from day_closes order by close_no').all() as Array<{
      close_no: number;
      store_day: string;
      generated_at: string;
      summary: string;
      journal_seq: number;
      journal_hash: string;
    }>;

  it('offline, the day stays open: the PIN cannot be checked', async () => {
    addSale('paid', 1250);
    await expect(counter.closeDay(PIN)).rejects.toMatchObject({ code: 'day_close_offline' });
    expect(closes()).toEqual([]);
    expect(printed).toEqual([]);
  });

  it('refuses a PIN that is not 6–12 digits before asking anyone', async () => {
    await expect(counter.closeDay('12')).rejects.toMatchObject({ code: 'manager_pin_invalid' });
    await expect(counter.closeDay('abcd')).rejects.toMatchObject({ code: 'manager_pin_invalid' });
  });

  it('refuses while a payment of the day has an unknown outcome, with the reason in English and Chinese', async () => {
    counter.start();
    await expect.poll(() => counter.online, { timeout: 10_000 }).toBe(true);
    const unknown = addSale('unknown', 880);
    const err = (await counter.closeDay(PIN).catch((e: unknown) => e)) as { code: string; message: string; zh: string };
    expect(err.code).toBe('day_close_refused');
    expect(err.message).toContain('1 payment with unknown outcome: day cannot be closed');
    expect(err.zh).toBe('仍有结果未知或进行中的支付，暂不能日结');
    expect(closes()).toEqual([]);
    expect(printed).toEqual([]);
    // Resolved (the bridge's answer arrives as an event): it no longer holds the day open.
    counter.db.updateSale(unknown.id, { status: 'failed' });
  });

  it('refuses while a payment is in progress at the counter', async () => {
    const pending = addSale('pending', 990);
    counter.db.setSetting('current_sale', pending.id);
    await expect(counter.closeDay(PIN)).rejects.toMatchObject({
      code: 'day_close_refused',
      message: expect.stringContaining('in progress'),
    });
    counter.db.updateSale(pending.id, { status: 'paid', paid_at: new Date().toISOString() });
    expect(closes()).toEqual([]);
  });

  it('refuses a wrong PIN (the bridge checks it) and closes nothing', async () => {
    await expect(counter.closeDay('999999')).rejects.toMatchObject({ code: 'manager_pin_invalid' });
    expect(closes()).toEqual([]);
    expect(printed).toEqual([]);
  });

  it('closes the day with the right PIN: numbered, stored with the journal head, journalled, printed and shown', async () => {
    // Yesterday's close, so this one is the next number on this terminal.
    counter.db.insertDayClose({
      close_no: 1,
      store_day: '2000-01-01',
      generated_at: '2000-01-01T10:00:00.000Z',
      summary: '{}',
      journal_seq: 0,
      journal_hash: 'x',
    });
    // A payment still pending (not unknown) does not hold the day: it is listed as open.
    const pending = addSale('pending', 330);
    const z = await counter.closeDay(PIN);
    const today = storeDay(new Date().toISOString(), TZ);
    expect(z).toMatchObject({ report: 'Z', storeDay: today, closeNumber: 2, printedBy: 'PIN verified 已验证' });
    expect(z.channels).toEqual([
      expect.objectContaining({ channel: 'wechat', count: 2, grossMinor: 1250 + 990, netMinor: 2240 }),
    ]);
    expect(z.openPayments).toEqual([expect.objectContaining({ outTradeNo: pending.out_trade_no, status: 'pending' })]);

    const row = closes().find((c) => c.store_day === today)!;
    expect(row).toMatchObject({ close_no: 2, journal_seq: z.journalHead.sequence, journal_hash: z.journalHead.hash });
    expect(JSON.parse(row.summary)).toEqual(z);
    const entry = counter.db.journalEntries().at(-1)!;
    expect(entry.kind).toBe('settlement.z');
    expect(JSON.parse(entry.data)).toMatchObject({ storeDay: today, closeNumber: 2, head: z.journalHead, open: 1 });
    expect(printed).toEqual([z]);
    expect((await counter.snapshot()).settlement).toEqual(z);
  });

  it('refuses a second close of the same store day, and remembers it after a restart', async () => {
    await expect(counter.closeDay(PIN)).rejects.toMatchObject({
      code: 'day_already_closed',
      message: expect.stringContaining('close no. 2'),
    });
    counter.stop();
    counter = open(dir);
    counter.start();
    await expect.poll(() => counter.online, { timeout: 10_000 }).toBe(true);
    await expect(counter.closeDay(PIN)).rejects.toMatchObject({ code: 'day_already_closed' });
    expect(closes().map((c) => c.close_no)).toEqual([1, 2]);
    expect(printed).toHaveLength(1);
    // The X-report still prints: a look at the day, closing nothing.
    expect(counter.settlementReport()).toMatchObject({ report: 'X' });
    expect(printed.at(-1)?.closeNumber).toBeUndefined();
  });

  it('counts on the next report what settled after the close, once: a payment pending at the close, a refund of a counted sale', async () => {
    const lastClose = closes().at(-1)!;
    const x0 = counter.settlementReport();
    expect(x0.periodStart).toBe(lastClose.generated_at);
    expect(x0.channels).toEqual([]); // everything settled so far was counted by close no. 2

    const [late] = counter.db.openSales();
    expect(late?.amount_minor).toBe(330);
    counter.db.updateSale(late!.id, { status: 'paid', paid_at: new Date().toISOString() });
    const counted = counter.db.raw
      .prepare('select * from sales where z_close_no = 2 order by amount_minor desc limit 1')
      .get() as SaleRow;
    const now = new Date().toISOString();
    counter.db.insertRefund({
      out_refund_no: 'R-after-close',
      sale_id: counted.id,
      amount_minor: 200,
      currency: 'NZD',
      status: 'succeeded',
      message: null,
      created_at: now,
      updated_at: now,
    });

    const x1 = counter.settlementReport();
    expect(x1.channels).toEqual([
      { channel: 'wechat', count: 1, grossMinor: 330, refundCount: 1, refundsMinor: 200, netMinor: 130 },
    ]);
    expect(x1.openPayments).toEqual([]);
    expect(x1.channelDays.reduce((a, d) => a + d.netMinor, 0)).toBe(130);
  });
});

describe("refunds of the counter's sales made elsewhere", () => {
  it('are kept when their event arrives, so the next report counts them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kauri-close-'));
    const counter = new Counter({ dataDir: dir, clock: systemClock(1), log: pino({ level: 'silent' }) });
    try {
      const now = new Date().toISOString();
      const outTradeNo = `K${newId()}`;
      counter.db.insertSale({
        id: newId('sale'),
        kind: 'scan',
        out_trade_no: outTradeNo,
        checkout_id: null,
        checkout_url: null,
        channel: 'alipay',
        amount_minor: 5000,
        currency: 'NZD',
        status: 'paid',
        refunded_minor: 0,
        cny_charged_minor: null,
        rate: null,
        payment_id: 'pay_1',
        channel_trade_no: null,
        message: null,
        expires_at: null,
        cancel_requested: 0,
        created_at: now,
        updated_at: now,
        paid_at: now,
      });
      const event: EventMessage = {
        v: LINK_VERSION,
        type: 'event',
        seq: 1,
        event: 'refund.succeeded',
        at: now,
        payload: {
          refund: {
            id: 'ref_1',
            out_refund_no: 'api-refund-1',
            amount_minor: 1500,
            currency: 'NZD',
            status: 'succeeded',
            automatic: false,
          },
          payment: {
            id: 'pay_1',
            out_trade_no: outTradeNo,
            channel: 'alipay',
            status: 'partially_refunded',
            amount_minor: 5000,
            currency: 'NZD',
            refunded_minor: 1500,
            created_at: now,
          },
        },
      };
      (counter as unknown as { onEvent(m: EventMessage): void }).onEvent(event);
      (counter as unknown as { onEvent(m: EventMessage): void }).onEvent(event); // replayed after a reconnect: applied once
      expect(counter.db.refund('api-refund-1')).toMatchObject({ amount_minor: 1500, status: 'succeeded' });
      expect(counter.buildSettlement('X').channels).toEqual([
        { channel: 'alipay', count: 1, grossMinor: 5000, refundCount: 1, refundsMinor: 1500, netMinor: 3500 },
      ]);
    } finally {
      counter.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('device health at the bridge', () => {
  it('tells the bridge when a device changes, once per change', async () => {
    // A bridge of its own and a counter whose printer runs out of paper, then gets it back.
    const tb2 = await startTestBridge({ kind: 'sqlite', secretKey: 'test-secret-key-0123456789', timeScale: 1 });
    const dir2 = mkdtempSync(join(tmpdir(), 'kauri-health-'));
    let printer = { kind: 'printer' as const, state: 'ready', detail: 'serial:/dev/ttyS0' };
    const devices: CounterDevices = {
      health: () => [printer, { kind: 'display', state: 'none' }, { kind: 'scanner', state: 'keyboard' }],
    };
    let c: Counter | undefined;
    try {
      const m = (await tb2.bridge.accounts.createMerchant({ name: 'M' })).id;
      await tb2.bridge.accounts.createStore({ merchantId: m, name: 'Dairy', code: 'dairy2', timezone: TZ });
      const { code } = await tb2.bridge.terminals.createPairingCode('dairy2');
      const paired = await pairTerminal(dir2, `${tb2.bridge.url.replace('http', 'ws')}/terminal`, code, 'till 2');
      c = new Counter({ dataDir: dir2, clock: systemClock(1), log: pino({ level: 'silent' }), devices });
      c.start();
      const health = async () => (await tb2.bridge.terminals.repo.get(paired.terminalId))?.health;
      await expect
        .poll(health, { timeout: 10_000 })
        .toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'printer', state: 'ready' })]));

      printer = { kind: 'printer', state: 'held', detail: 'paper out' };
      c.devicesChanged();
      await expect
        .poll(health, { timeout: 10_000 })
        .toEqual(
          expect.arrayContaining([expect.objectContaining({ kind: 'printer', state: 'held', detail: 'paper out' })]),
        );
      const at = (await tb2.bridge.terminals.repo.get(paired.terminalId))!.healthAt;
      c.devicesChanged(); // nothing changed: nothing sent
      await new Promise((r) => setTimeout(r, 300));
      expect((await tb2.bridge.terminals.repo.get(paired.terminalId))!.healthAt).toBe(at);

      printer = { kind: 'printer', state: 'ready', detail: 'serial:/dev/ttyS0' };
      c.devicesChanged();
      await expect
        .poll(health, { timeout: 10_000 })
        .toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'printer', state: 'ready' })]));
    } finally {
      c?.stop();
      await tb2.bridge.close();
      await tb2.cleanup();
      rmSync(dir2, { recursive: true, force: true });
    }
  });
});
