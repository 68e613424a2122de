import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPtyPair, startDeviceSimulators, type DeviceSimulators } from '../../cli/devices.js';
import { PoleDisplay } from '../../terminal/drivers/customer-display/pole-display.js';
import {
  amountScreen,
  idleScreen,
  paidScreen,
  scanToPayScreen,
} from '../../terminal/drivers/customer-display/screens.js';
import { parseDeviceSpec } from '../../terminal/drivers/device-spec.js';
import type { ScanResult } from '../../terminal/drivers/scanner/payment-code.js';
import { SerialScanner } from '../../terminal/drivers/scanner/serial-scanner.js';
import { openTransport } from '../../terminal/drivers/transport.js';
import { waitFor } from '../support/wait.js';

// The pole display and the payment-code scanner over real ptys.

describe('pole display through startDeviceSimulators', () => {
  let dir: string;
  let devices: DeviceSimulators;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kauri-display-'));
    devices = await startDeviceSimulators({ dataDir: dir });
  });

  afterAll(async () => {
    await devices?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives the terminal device paths and simulator outputs under the data folder', () => {
    expect(devices.printerSpec).toBe(`serial:${join(dir, 'devices', 'printer')}`);
    expect(devices.displayOut).toBe(join(dir, 'display.txt'));
    expect(devices.printerOut).toBe(join(dir, 'printer'));
  });

  it.each(['epson', 'cd5220'] as const)('shows what the terminal says (%s command set)', async (commandSet) => {
    const spec = parseDeviceSpec(`${devices.displaySpec}?protocol=${commandSet}`);
    const display = new PoleDisplay({ transport: openTransport(spec), commandSet: spec.options.protocol });
    const shown = () => readFileSync(devices.displayOut, 'utf8');
    const nzd = { minor: 2550, currency: 'NZD' } as const;
    await display.start();
    for (const lines of [
      idleScreen('Kauri Tea House 考里茶馆'),
      amountScreen(nzd, { minor: 10726, currency: 'CNY' }),
      scanToPayScreen(nzd),
      paidScreen(nzd),
    ]) {
      await display.show(lines);
      const want = lines.map((l) => l.trimEnd()).join('\n') + '\n';
      await waitFor(`display to show ${JSON.stringify(lines)}`, () => shown() === want);
    }
    expect(shown()).toBe('PAID       NZD 25.50\n     Thank you\n');
    await display.stop();
  });
});

describe('serial payment-code scanner over a pty', () => {
  it('delivers codes ended by CR, LF or CRLF, and rejects garbage', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kauri-scanner-'));
    const pair = await createPtyPair(join(dir, 'scanner'), join(dir, 'scanner-device'));
    const scanner = new SerialScanner(openTransport(parseDeviceSpec(`serial:${pair.a}?baud=9600`)), undefined, 100);
    const got: ScanResult[] = [];
    scanner.on('scan', (r) => got.push(r));
    await scanner.start();
    // The scanner hardware, played by the other end of the pty.
    const device = new SerialPort({ path: pair.b, baudRate: 9600 });
    await new Promise<void>((r) => device.once('open', () => r()));
    for (const s of ['134567890123456789\r', '2845678901234567\n', '\x1b[A garbage\r\n', '285678901234567890\r\n']) {
      await new Promise<void>((r) => device.write(s, () => device.drain(() => r())));
    }
    await waitFor('four scans', () => got.length >= 4);
    expect(got.map((r) => (r.ok ? `${r.channel}:${r.code}` : `rejected:${r.error.code}`))).toEqual([
      'wechat:134567890123456789',
      'alipay:2845678901234567',
      'rejected:scan_code_invalid',
      'alipay:285678901234567890',
    ]);
    await new Promise<void>((r) => device.close(() => r()));

    // Unplugged and plugged back: the scanner is read again without a restart.
    const health: boolean[] = [];
    scanner.on('health', (h) => health.push(h.connected));
    await pair.stop();
    await waitFor('the scanner to notice', () => health.includes(false));
    const pair2 = await createPtyPair(join(dir, 'scanner'), join(dir, 'scanner-device'));
    await waitFor('the scanner to reopen', () => health.at(-1) === true);
    const device2 = new SerialPort({ path: pair2.b, baudRate: 9600 });
    await new Promise<void>((r) => device2.once('open', () => r()));
    await new Promise<void>((r) => device2.write('144567890123456789\r\n', () => device2.drain(() => r())));
    await waitFor('a scan after reconnect', () => got.length >= 5);
    expect(got[4]).toMatchObject({ ok: true, channel: 'wechat', code: '144567890123456789' });
    await new Promise<void>((r) => device2.close(() => r()));
    await scanner.stop();
    await pair2.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  it('notices a device file that went away even while the other end still holds the pty', async () => {
    // A scanner only sends, so nothing it writes can fail: when its device file is gone (a USB
    // adapter pulled out, a pty whose link was removed) the scanner must still say so.
    const dir = mkdtempSync(join(tmpdir(), 'kauri-scanner-gone-'));
    const pair = await createPtyPair(join(dir, 'scanner'), join(dir, 'scanner-device'));
    const scanner = new SerialScanner(openTransport(parseDeviceSpec(`serial:${pair.a}?baud=9600`)), undefined, 60_000);
    const health: boolean[] = [];
    scanner.on('health', (h) => health.push(h.connected));
    await scanner.start();
    expect(health).toEqual([true]);
    rmSync(pair.a);
    await waitFor('the scanner to notice its device file is gone', () => health.includes(false), 5_000);
    await scanner.stop();
    await pair.stop();
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('kauri sim display as its own process', () => {
  it('keeps FILE holding the two lines shown', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kauri-simdisplay-'));
    const pair = await createPtyPair(join(dir, 'display'), join(dir, 'display-sim'));
    const outFile = join(dir, 'display.txt');
    const child = spawn(
      process.execPath,
      [join(import.meta.dirname, '..', '..', 'bin', 'kauri'), 'sim', 'display', '--device', pair.b, '--out', outFile],
      {
        env: { ...process.env, KAURI_FROM_SOURCE: '1' },
        stdio: 'ignore',
      },
    );
    try {
      await waitFor('the display file', () => existsSync(outFile), 30_000);
      const display = new PoleDisplay({
        transport: openTransport(parseDeviceSpec(`serial:${pair.a}`)),
        commandSet: 'cd5220',
      });
      await display.show(scanToPayScreen({ minor: 880, currency: 'NZD' }));
      await waitFor('the lines', () => readFileSync(outFile, 'utf8') === 'TOTAL       NZD 8.80\n    Scan to pay\n');
      await display.stop();
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await pair.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
