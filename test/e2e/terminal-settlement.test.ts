import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { systemClock } from '../../protocol/clock.js';
import { newId } from '../../protocol/ids.js';
import { Counter, pairTerminal, storeDay, type CounterDevices } from '../../terminal/core/counter.js';
import type { SaleRow } from '../../terminal/core/db.js';
import type { SettlementSummary } from '../../terminal/core/records.js';
import { runKauri, spawnKauri, type KauriProcess } from '../support/processes.js';

// The counter's settlement and health against a bridge process, over the link. Closing the
// day (Z): the PIN is the store's, checked by the bridge; the close is refused while a
// payment's outcome is unknown or a payment is in progress, happens once per store day, and
// survives a restart; the next report counts what settled after it, once. Device changes
// reach the bridge's record. Stores, the PIN and pairing codes are made as HQ makes them:
// with `kauri admin`.

const PIN = '246813';
const TZ = 'Pacific/Auckland';
const ENV = { KAURI_SECRET_KEY: 'test-secret-key-0123456789', KAURI_TIME_SCALE: '1' };

let bridgeDir: string;
let bridge: KauriProcess | undefined;
let bridgeUrl: string;
let merchantId: string;
const db = () => `sqlite:${join(bridgeDir, 'bridge.db')}`;

async function admin(args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const r = await runKauri(['admin', ...args, '--db', db()], { env: { ...ENV, ...env } });
  if (r.code !== 0) throw new Error(`kauri admin ${args.join(' ')} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}
const createStore = (code: string, name: string) =>
  admin(['store', 'create', '--merchant', merchantId, '--name', name, '--code', code, '--timezone', TZ, '--json']);
const pairingCode = async (store: string) =>
  (JSON.parse(await admin(['pairing-code', 'create', '--store', store, '--json'])) as { code: string }).code;
async function terminalRecord(id: string): Promise<{ health: unknown; healthAt: string | null } | undefined> {
  const list = JSON.parse(await admin(['terminal', 'list', '--json'])) as Array<{
    id: string;
    health: unknown;
    healthAt: string | null;
  }>;
  return list.find((t) => t.id === id);
}

beforeAll(async () => {
  bridgeDir = mkdtempSync(join(tmpdir(), 'kauri-settle-bridge-'));
  merchantId = (JSON.parse(await admin(['merchant', 'create', '--name', 'M', '--json'])) as { id: string }).id;
  bridge = await spawnKauri(['bridge', '--port', '0', '--db', db(), '--files', join(bridgeDir, 'files')], {
    ready: /bridge listening on (\S+)/,
    env: ENV,
    timeoutMs: 60_000,
  });
  bridgeUrl = bridge.ready;
});
afterAll(async () => {
  await bridge?.stop();
  if (bridgeDir) rmSync(bridgeDir, { recursive: true, force: true });
});

describe('Counter.closeDay', () => {
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
    await createStore('dairy', 'Kauri Dairy');
    await admin(['manager-pin', 'set', '--store', 'dairy'], { KAURI_NEW_PIN: PIN });
    wsUrl = `${bridgeUrl.replace('http', 'ws')}/terminal`;
    dir = mkdtempSync(join(tmpdir(), 'kauri-close-'));
    await pairTerminal(dir, wsUrl, await pairingCode('dairy'), 'till 1');
    counter = open(dir);
  });
  afterAll(() => {
    counter?.stop();
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

describe('device health at the bridge', () => {
  it('tells the bridge when a device changes, once per change', async () => {
    // A store of its own and a counter whose printer runs out of paper, then gets it back.
    const dir2 = mkdtempSync(join(tmpdir(), 'kauri-health-'));
    let printer = { kind: 'printer' as const, state: 'ready', detail: 'serial:/dev/ttyS0' };
    const devices: CounterDevices = {
      health: () => [printer, { kind: 'display', state: 'none' }, { kind: 'scanner', state: 'keyboard' }],
    };
    let c: Counter | undefined;
    try {
      await createStore('dairy2', 'Dairy');
      const code = await pairingCode('dairy2');
      const paired = await pairTerminal(dir2, `${bridgeUrl.replace('http', 'ws')}/terminal`, code, 'till 2');
      c = new Counter({ dataDir: dir2, clock: systemClock(1), log: pino({ level: 'silent' }), devices });
      c.start();
      const health = async () => (await terminalRecord(paired.terminalId))?.health;
      await expect
        .poll(health, { timeout: 30_000 })
        .toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'printer', state: 'ready' })]));

      printer = { kind: 'printer', state: 'held', detail: 'paper out' };
      c.devicesChanged();
      await expect
        .poll(health, { timeout: 30_000 })
        .toEqual(
          expect.arrayContaining([expect.objectContaining({ kind: 'printer', state: 'held', detail: 'paper out' })]),
        );
      const at = (await terminalRecord(paired.terminalId))!.healthAt;
      c.devicesChanged(); // nothing changed: nothing sent
      await new Promise((r) => setTimeout(r, 300));
      expect((await terminalRecord(paired.terminalId))!.healthAt).toBe(at);

      printer = { kind: 'printer', state: 'ready', detail: 'serial:/dev/ttyS0' };
      c.devicesChanged();
      await expect
        .poll(health, { timeout: 30_000 })
        .toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'printer', state: 'ready' })]));
    } finally {
      c?.stop();
      rmSync(dir2, { recursive: true, force: true });
    }
  });
});
