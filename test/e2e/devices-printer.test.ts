import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPtyPair, socatAvailable, type PtyPair } from '../../cli/devices.js';
import { startPrinterSim, type PrinterSim } from '../../simulators/printer/printer-sim.js';
import { parseDeviceSpec } from '../../terminal/drivers/device-spec.js';
import { SqlitePrintJobStore } from '../../terminal/drivers/escpos/job-store.js';
import { printTestPage } from '../../terminal/drivers/escpos/print-test.js';
import { PrintQueue, type HeldJob } from '../../terminal/drivers/escpos/print-queue.js';
import { EscPosPrinter, type PrinterHealth } from '../../terminal/drivers/escpos/printer.js';
import { openTransport } from '../../terminal/drivers/transport.js';
import { sampleSale, sampleSettlement } from '../../terminal/receipts/fixtures.js';
import { printerProfile } from '../../terminal/receipts/profiles.js';
import { saleReceipt } from '../../terminal/receipts/sale-receipt.js';
import { settlementReport } from '../../terminal/receipts/settlement-report.js';
import { printedJobs } from '../support/printer-out.js';
import { waitFor } from '../support/wait.js';

// The receipt printer end to end over real pseudo-terminals: the terminal's serial
// driver on one end of a socat pair, the printer simulator on the other.

const root = join(import.meta.dirname, '..', '..');
if (!socatAvailable())
  console.warn('devices-printer: socat is missing (apt-get install socat); these tests fail without it');

describe('receipt printer over a socat pty pair', () => {
  let dir: string;
  let pair: PtyPair;
  let sim: PrinterSim;
  let out: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kauri-printer-'));
    out = join(dir, 'out');
    pair = await createPtyPair(join(dir, 'printer'), join(dir, 'printer-sim'));
    sim = await startPrinterSim({ device: pair.b, outDir: out });
  });

  afterAll(async () => {
    await sim?.stop();
    await pair?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints a sale receipt that arrives decoded, in English and Chinese, with the order QR', async () => {
    const store = new SqlitePrintJobStore(join(dir, 'jobs.db'));
    const printer = new EscPosPrinter({ transport: openTransport(parseDeviceSpec(`serial:${pair.a}`)) });
    const queue = new PrintQueue({ printer, store });
    const before = printedJobs(out).length;
    const bytes = saleReceipt(sampleSale, printerProfile('tm-t88-80mm'));
    const printed = new Promise((r) => queue.once('printed', r));
    const job = queue.enqueue('sale', bytes, sampleSale.paymentId);
    // Written down before it was printed.
    expect(store.get(job.id)).toBeTruthy();
    await printed;
    expect(store.get(job.id)?.state).toBe('printed');
    const jobs = await waitFor('the receipt', () => (printedJobs(out).length > before ? printedJobs(out) : undefined));
    const { text, bin } = jobs.at(-1)!;
    expect(text).toContain('Kauri Tea House');
    expect(text).toContain('考里茶馆');
    expect(text).toMatch(/\{b,2x2\}TOTAL 合计\s+NZD 25\.50\{\/\}/);
    expect(text).toContain('珍珠奶茶');
    expect(text).toMatch(/Charged 实付\s+CNY 107\.26/);
    expect(text).toContain('1 NZD = 4.2063 CNY');
    expect(text).toContain(sampleSale.channelTradeNo);
    expect(text).toContain(`[QR: ${sampleSale.lookupPayload}]`);
    expect(text.trimEnd().endsWith('[CUT partial]')).toBe(true);
    expect(text).not.toContain('[UNKNOWN');
    // The print bytes arrive unchanged (status queries are not part of the job).
    expect(bin).toEqual(Buffer.from(bytes));
    await queue.stop();
    await printer.stop();
    store.close();
  });

  it('holds a job when the paper runs out mid-job, and prints it exactly once when paper is back', async () => {
    const store = new SqlitePrintJobStore(join(dir, 'jobs-paper.db'));
    const printer = new EscPosPrinter({
      transport: openTransport(parseDeviceSpec(`serial:${pair.a}`)),
      chunkSize: 128,
    });
    let pulled = false;
    const queue = new PrintQueue({
      printer,
      store,
      retryMs: 100,
      printOptions: () => ({
        onChunk: () => {
          if (!pulled) {
            pulled = true;
            writeFileSync(join(out, 'status'), 'paper-out\n');
          }
        },
      }),
    });
    try {
      const healths: PrinterHealth[] = [];
      printer.on('health', (h) => healths.push(h));
      const before = printedJobs(out).length;
      const payload = 'https://kauri.example/r/PAPER-TEST-1';
      const bytes = saleReceipt({ ...sampleSale, lookupPayload: payload }, printerProfile('tm-t88-80mm'));
      const held = new Promise<HeldJob>((r) => queue.once('held', r));
      const job = queue.enqueue('sale', bytes);
      const h = await held;
      expect(h.code).toBe('printer_paper_out');
      expect(h.messageZh).toBe('打印机缺纸');
      expect(store.get(job.id)?.state).toBe('held');
      expect(healths.at(-1)).toMatchObject({
        state: 'held',
        code: 'printer_paper_out',
        message: 'Printer is out of paper',
      });
      // Still held while the paper is out: retries (each briefly 'printing' while it asks
      // the printer) do not print.
      await new Promise((r) => setTimeout(r, 400));
      expect(['held', 'printing']).toContain(store.get(job.id)?.state);
      expect(
        printedJobs(out)
          .slice(before)
          .filter((j) => j.text.includes('[CUT')),
      ).toHaveLength(0);

      const resumed = new Promise((r) => queue.once('resumed', r));
      writeFileSync(join(out, 'status'), 'ok\n');
      await resumed;
      expect(store.get(job.id)).toMatchObject({ state: 'printed' });
      expect(store.get(job.id)!.attempts).toBeGreaterThanOrEqual(2);
      await new Promise((r) => setTimeout(r, 300));
      const after = printedJobs(out).slice(before);
      const complete = after.filter((j) => j.text.includes(`[QR: ${payload}]`) && j.text.includes('[CUT'));
      expect(complete).toHaveLength(1);
      expect(complete[0]!.bin).toEqual(Buffer.from(bytes));
      // Anything else is the torn half-slip from before the paper ran out.
      for (const j of after) if (!complete.includes(j)) expect(j.text).toContain('[INTERRUPTED: paper-out]');
      expect(healths.at(-1)?.state).toBe('ready');
    } finally {
      // A failed assertion must not leave the port locked for the tests after it.
      await queue.stop();
      await printer.stop();
      store.close();
    }
  });

  it('kauri print-test prints a test page with Chinese and a QR, and reports paper out, cover open, offline and silence', async () => {
    const run = (args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(
          process.execPath,
          [join(root, 'bin', 'kauri'), ...args],
          { env: { ...process.env, KAURI_FROM_SOURCE: '1' }, timeout: 60_000 },
          (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
        );
      });
    const before = printedJobs(out).length;
    const ok = await run(['print-test', '--printer', `serial:${pair.a}?baud=9600`]);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^printed: test page \(\d+ bytes, profile tm-t88-80mm\)/);
    const page = printedJobs(out).slice(before).at(-1)!;
    expect(page.text).toContain('KAURI PRINT TEST');
    expect(page.text).toContain('中文: 收据 微信支付 支付宝 ￥12.50');
    expect(page.text).toContain('[QR: KAURI-PRINT-TEST:tm-t88-80mm]');
    expect(page.text).toContain('[CUT partial]');
    expect(page.bin.length).toBeLessThan(4096);

    // The CLI's failure path once; the other reasons through the same function in-process.
    writeFileSync(join(out, 'status'), 'paper-out');
    const r = await run(['print-test', '--printer', `serial:${pair.a}`]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/^kauri: printer_paper_out: Printer is out of paper/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    for (const [status, reason] of [
      ['cover-open', 'printer_cover_open'],
      ['offline', 'printer_offline'],
    ] as const) {
      writeFileSync(join(out, 'status'), status);
      await expect(printTestPage(`serial:${pair.a}`)).rejects.toMatchObject({ code: reason });
    }
    writeFileSync(join(out, 'status'), 'ok');
    expect(printedJobs(out).slice(before)).toHaveLength(1);

    // A printer that does not answer at all: socat running, nobody on the other end.
    const silent = await createPtyPair(join(dir, 'silent'), join(dir, 'silent-far'));
    await expect(printTestPage(`serial:${silent.a}`, { statusTimeoutMs: 500 })).rejects.toMatchObject({
      code: 'printer_no_answer',
    });
    await silent.stop();
    await expect(printTestPage('lpt:1')).rejects.toMatchObject({ code: 'device_spec_invalid' });
  });

  it('reconnects by itself when the pty disappears and comes back', async () => {
    const reconnectDir = mkdtempSync(join(tmpdir(), 'kauri-reconnect-'));
    const link = join(reconnectDir, 'printer');
    const farLink = join(reconnectDir, 'printer-sim');
    const out2 = join(reconnectDir, 'out');
    let p1 = await createPtyPair(link, farLink);
    let s1 = await startPrinterSim({ device: p1.b, outDir: out2 });
    const printer = new EscPosPrinter({
      transport: openTransport(parseDeviceSpec(`serial:${link}`)),
      watchdogMs: 150,
      statusTimeoutMs: 500,
    });
    const states: string[] = [];
    printer.on('health', (h) => states.push(h.state));
    await printer.start();
    expect(printer.health.state).toBe('ready');

    // Unplug: the simulator and socat go away, the links vanish.
    await s1.stop();
    await p1.stop();
    expect(existsSync(link)).toBe(false);
    await waitFor('disconnected', () => printer.health.state === 'disconnected');

    // Plug back in: same path, new pty.
    p1 = await createPtyPair(link, farLink);
    s1 = await startPrinterSim({ device: p1.b, outDir: out2 });
    await waitFor('reconnected', () => printer.health.state === 'ready');
    await printer.print(settlementReport(sampleSettlement, printerProfile('tm-t88-80mm')));
    const jobs = await waitFor('the report', () => (printedJobs(out2).length > 0 ? printedJobs(out2) : undefined));
    expect(jobs.at(-1)!.text).toContain('Z-REPORT 日结');
    expect(states).toEqual(expect.arrayContaining(['ready', 'disconnected']));
    await printer.stop();
    await s1.stop();
    await p1.stop();
    rmSync(reconnectDir, { recursive: true, force: true });
  });

  it('kauri sim printer runs as its own process', async () => {
    const simDir = mkdtempSync(join(tmpdir(), 'kauri-simcli-'));
    const p = await createPtyPair(join(simDir, 'a'), join(simDir, 'b'));
    let child: ChildProcess | undefined;
    try {
      child = spawn(
        process.execPath,
        [join(root, 'bin', 'kauri'), 'sim', 'printer', '--device', p.b, '--out', join(simDir, 'out')],
        {
          env: { ...process.env, KAURI_FROM_SOURCE: '1' },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let stdout = '';
      child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
      await waitFor('the simulator banner', () => stdout.includes('printer simulator on'), 30_000);
      const printer = new EscPosPrinter({ transport: openTransport(parseDeviceSpec(`serial:${p.a}`)) });
      await printer.print(saleReceipt(sampleSale, printerProfile('generic-58mm-cn')));
      await printer.stop();
      const jobs = await waitFor('a job', () =>
        existsSync(join(simDir, 'out', '0001.txt')) ? printedJobs(join(simDir, 'out')) : undefined,
      );
      expect(jobs[0]!.text).toContain('TOTAL 合计');
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child && child.exitCode === null) child.kill('SIGKILL');
      await p.stop();
      rmSync(simDir, { recursive: true, force: true });
    }
  });
});
