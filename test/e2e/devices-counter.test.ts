import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDeviceSimulators, type DeviceSimulators } from '../../cli/devices.js';
import { startCounterDevices } from '../../terminal/drivers/counter-devices.js';
import { paidScreen } from '../../terminal/drivers/customer-display/screens.js';
import { sampleSale, sampleSettlement } from '../../terminal/receipts/fixtures.js';
import { waitFor } from '../support/wait.js';

// What `kauri start` wires: the simulated printer and display on socat ptys, and the
// terminal's devices opened from SPECs, printing into the simulator's folder.

describe('counter devices from SPECs against the simulators', () => {
  let dir: string;
  let sims: DeviceSimulators;
  const texts = () =>
    readdirSync(sims.printerOut)
      .filter((f) => f.endsWith('.txt'))
      .sort()
      .map((f) => readFileSync(join(sims.printerOut, f), 'utf8'));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kauri-counter-'));
    sims = await startDeviceSimulators({ dataDir: dir });
  });

  afterAll(async () => {
    await sims?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints a sale and the settlement, shows the display, reports health', async () => {
    const db = new Database(join(dir, 'terminal.db'));
    db.pragma('journal_mode = WAL');
    const devices = await startCounterDevices({
      printer: sims.printerSpec,
      display: sims.displaySpec,
      scanner: 'none',
      jobs: db,
    });
    expect(devices.health()).toMatchObject({
      printer: { state: 'ready', profile: 'tm-t88-80mm', heldJobs: 0 },
      display: { state: 'connected' },
      scanner: { state: 'none' },
    });
    devices.printSale(sampleSale);
    devices.printSettlement(sampleSettlement);
    await devices.show(paidScreen(sampleSale.amount));
    await waitFor('two jobs', () => texts().length >= 2);
    expect(texts()[0]).toContain(`[QR: ${sampleSale.lookupPayload}]`);
    expect(texts()[1]).toContain('Z-REPORT 日结');
    await waitFor('the display', () => readFileSync(sims.displayOut, 'utf8').startsWith('PAID'));
    await devices.stop();
    db.close();
  });

  it('keeps a job held through a restart and prints it once the printer is ready', async () => {
    const dbFile = join(dir, 'restart.db');
    const before = texts().length;
    writeFileSync(join(sims.printerOut, 'status'), 'cover-open');
    const first = await startCounterDevices({ printer: sims.printerSpec, jobs: dbFile });
    expect(first.health().printer).toMatchObject({
      state: 'held',
      code: 'printer_cover_open',
      messageZh: '打印机盖未关',
    });
    const held = new Promise((r) => first.once('held', r));
    first.printSale({ ...sampleSale, lookupPayload: 'https://kauri.example/r/RESTART' });
    await held;
    expect(first.health().printer).toMatchObject({ heldJobs: 1 });
    await first.stop(); // the terminal goes down with the job unprinted

    writeFileSync(join(sims.printerOut, 'status'), 'ok');
    const second = await startCounterDevices({ printer: sims.printerSpec, jobs: dbFile });
    await waitFor('the held job', () =>
      texts()
        .slice(before)
        .some((t) => t.includes('[QR: https://kauri.example/r/RESTART]')),
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(
      texts()
        .slice(before)
        .filter((t) => t.includes('RESTART') && t.includes('[CUT')),
    ).toHaveLength(1);
    await waitFor(
      'no held jobs',
      () =>
        second.health().printer.state === 'ready' && (second.health().printer as { heldJobs: number }).heldJobs === 0,
    );
    await second.stop();
  });
});
