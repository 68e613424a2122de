import type Database from 'better-sqlite3';
import { EventEmitter } from 'node:events';
import type { Clock } from '../../protocol/clock.js';
import type { RefundRecord, SaleRecord, SettlementSummary } from '../core/records.js';
import { DEFAULT_PRINTER_PROFILE, displayProfile, printerProfile, type PrinterProfile } from '../receipts/profiles.js';
import { refundReceipt, saleReceipt } from '../receipts/sale-receipt.js';
import { settlementReport } from '../receipts/settlement-report.js';
import { testPage } from '../receipts/test-page.js';
import { PoleDisplay } from './customer-display/pole-display.js';
import type { DisplayLines } from './customer-display/screens.js';
import { describeSpec, parseDeviceSpec } from './device-spec.js';
import type { DeviceErrorCode } from './errors.js';
import { SqlitePrintJobStore, type PrintJob, type PrintJobStore } from './escpos/job-store.js';
import { PrintQueue, type HeldJob } from './escpos/print-queue.js';
import { EscPosPrinter, type PrinterHealth } from './escpos/printer.js';
import type { ScanResult } from './scanner/payment-code.js';
import { SerialScanner } from './scanner/serial-scanner.js';
import { openTransport, type TransportOptions } from './transport.js';

// The counter's devices from the three SPECs of `kauri terminal --printer --display
// --scanner`, in one object the terminal core holds: print a record, show two lines,
// hear scans, and one health summary for the cashier's device panel and the bridge.

export interface CounterDevicesOptions {
  printer?: string;
  display?: string;
  scanner?: string;
  /** Where print jobs are written before printing: the terminal's own database, or a file path. */
  jobs: Database.Database | string | PrintJobStore;
  clock?: Clock;
  transport?: TransportOptions;
}

export interface DevicesHealth {
  printer: (PrinterHealth & { spec: string; profile: string; heldJobs: number }) | { state: 'none' };
  display: { state: 'connected' | 'disconnected'; spec: string } | { state: 'none' };
  scanner: { state: 'connected' | 'disconnected'; spec: string } | { state: 'none' };
}

export interface CounterDevices extends EventEmitter<{
  health: [DevicesHealth];
  held: [HeldJob];
  printed: [PrintJob];
  scan: [ScanResult];
}> {
  readonly profile: PrinterProfile | undefined;
  printSale(sale: SaleRecord): PrintJob | undefined;
  printRefund(refund: RefundRecord): PrintJob | undefined;
  printSettlement(summary: SettlementSummary): PrintJob | undefined;
  printTestPage(): PrintJob | undefined;
  show(lines: DisplayLines): Promise<void>;
  health(): DevicesHealth;
  stop(): Promise<void>;
}

class Devices
  extends EventEmitter<{ health: [DevicesHealth]; held: [HeldJob]; printed: [PrintJob]; scan: [ScanResult] }>
  implements CounterDevices
{
  profile: PrinterProfile | undefined;
  printer: EscPosPrinter | undefined;
  queue: PrintQueue | undefined;
  store: PrintJobStore | undefined;
  ownedStore: SqlitePrintJobStore | undefined;
  display: PoleDisplay | undefined;
  displayConnected = false;
  scanner: SerialScanner | undefined;
  scannerConnected = false;
  specs = { printer: '', display: '', scanner: '' };

  private enqueue(kind: string, bytes: (p: PrinterProfile) => Uint8Array, ref?: string): PrintJob | undefined {
    if (!this.queue || !this.profile) return undefined;
    return this.queue.enqueue(kind, bytes(this.profile), ref);
  }

  printSale(sale: SaleRecord) {
    return this.enqueue('sale', (p) => saleReceipt(sale, p), sale.paymentId);
  }
  printRefund(refund: RefundRecord) {
    return this.enqueue('refund', (p) => refundReceipt(refund, p), refund.outRefundNo);
  }
  printSettlement(summary: SettlementSummary) {
    return this.enqueue(
      `settlement-${summary.report.toLowerCase()}`,
      (p) => settlementReport(summary, p),
      summary.storeDay,
    );
  }
  printTestPage() {
    return this.enqueue('test-page', (p) => testPage(p));
  }

  async show(lines: DisplayLines): Promise<void> {
    await this.display?.show(lines);
  }

  health(): DevicesHealth {
    return {
      printer: this.printer
        ? {
            ...this.printer.health,
            spec: this.specs.printer,
            profile: this.profile!.name,
            heldJobs: this.store!.list('held').length,
          }
        : { state: 'none' },
      display: this.display
        ? { state: this.displayConnected ? 'connected' : 'disconnected', spec: this.specs.display }
        : { state: 'none' },
      scanner: this.scanner
        ? { state: this.scannerConnected ? 'connected' : 'disconnected', spec: this.specs.scanner }
        : { state: 'none' },
    };
  }

  changed(): void {
    this.emit('health', this.health());
  }

  async stop(): Promise<void> {
    await this.queue?.stop();
    await this.printer?.stop();
    await this.display?.stop();
    await this.scanner?.stop().catch(() => undefined);
    this.ownedStore?.close();
  }
}

/**
 * Opens what the SPECs name ("none" or absent: no such device). Devices that are not
 * there yet do not fail the start: the printer's watchdog and the display's retry
 * pick them up when they appear, and health() says so meanwhile.
 */
export async function startCounterDevices(opts: CounterDevicesOptions): Promise<CounterDevices> {
  const d = new Devices();
  const printerSpec = opts.printer ? parseDeviceSpec(opts.printer) : undefined;
  const displaySpec = opts.display ? parseDeviceSpec(opts.display) : undefined;
  const scannerSpec = opts.scanner ? parseDeviceSpec(opts.scanner) : undefined;

  if (printerSpec && printerSpec.kind !== 'none') {
    d.profile = printerProfile(printerSpec.options.profile ?? DEFAULT_PRINTER_PROFILE);
    d.specs.printer = describeSpec(printerSpec);
    if (typeof opts.jobs === 'string' || !('add' in opts.jobs)) {
      d.ownedStore = new SqlitePrintJobStore(opts.jobs as Database.Database | string);
      d.store = d.ownedStore;
    } else d.store = opts.jobs;
    d.printer = new EscPosPrinter({ transport: openTransport(printerSpec, opts.transport), clock: opts.clock });
    d.queue = new PrintQueue({ printer: d.printer, store: d.store, clock: opts.clock });
    d.printer.on('health', () => d.changed());
    d.queue.on('held', (h) => {
      d.emit('held', h);
      d.changed();
    });
    d.queue.on('printed', (j) => {
      d.emit('printed', j);
      d.changed();
    });
    await d.printer.start();
    d.queue.kick(); // jobs left from before a restart
  }

  if (displaySpec && displaySpec.kind !== 'none') {
    d.specs.display = describeSpec(displaySpec);
    d.display = new PoleDisplay({
      transport: openTransport(displaySpec, opts.transport),
      commandSet: displaySpec.options.protocol ?? displayProfile.commandSet,
      brightness: displayProfile.brightness,
      clock: opts.clock,
    });
    d.display.on('health', (h) => {
      d.displayConnected = h.connected;
      d.changed();
    });
    await d.display.start();
  }

  if (scannerSpec && scannerSpec.kind !== 'none') {
    d.specs.scanner = describeSpec(scannerSpec);
    d.scanner = new SerialScanner(openTransport(scannerSpec, opts.transport), opts.clock);
    d.scanner.on('scan', (r) => d.emit('scan', r));
    d.scanner.on('health', (h) => {
      d.scannerConnected = h.connected;
      d.changed();
    });
    await d.scanner.start().catch(() => undefined);
  }
  return d;
}

export type { DeviceErrorCode };
