import { join } from 'node:path';
import { money } from '../../protocol/money.js';
import { parseDeviceSpec } from '../drivers/device-spec.js';
import { openTransport } from '../drivers/transport.js';
import { EscPosPrinter, type PrinterHealth } from '../drivers/escpos/printer.js';
import { PrintQueue } from '../drivers/escpos/print-queue.js';
import { SqlitePrintJobStore } from '../drivers/escpos/job-store.js';
import { PoleDisplay } from '../drivers/customer-display/pole-display.js';
import { amountScreen, idleScreen, paidScreen, scanToPayScreen } from '../drivers/customer-display/screens.js';
import { DEFAULT_PRINTER_PROFILE, printerProfile } from '../receipts/profiles.js';
import { refundReceipt, saleReceipt } from '../receipts/sale-receipt.js';
import { settlementReport } from '../receipts/settlement-report.js';
import type { CounterDevices, DeviceHealth } from './counter.js';
import type { DeviceFactory } from './run.js';

// The counter's devices from their SPECs: the receipt printer behind its persisted print
// queue (a job is in SQLite before a byte is sent; paper-out holds it), and the pole
// display. `none` leaves a device out. Keyboard-wedge scanners need nothing: they type
// into the scan field.

export const counterDevices: DeviceFactory = async (o): Promise<CounterDevices | undefined> => {
  const printerSpec = parseDeviceSpec(o.printer);
  const displaySpec = parseDeviceSpec(o.display);
  if (printerSpec.kind === 'none' && displaySpec.kind === 'none') return undefined;

  let printer: EscPosPrinter | undefined;
  let queue: PrintQueue | undefined;
  let held: string | undefined;
  const profile = printerProfile(printerSpec.options.profile ?? DEFAULT_PRINTER_PROFILE);
  if (printerSpec.kind !== 'none') {
    printer = new EscPosPrinter({ transport: openTransport(printerSpec) });
    queue = new PrintQueue({ printer, store: new SqlitePrintJobStore(join(o.dataDir, 'print-jobs.db')) });
    queue.on('held', (j) => { held = `${j.message} (${j.kind} held)`; o.counter()?.emit('change'); });
    queue.on('printed', () => { held = undefined; o.counter()?.emit('change'); });
    printer.on('health', () => o.counter()?.emit('change'));
    await printer.start().catch(() => undefined); // the watchdog keeps trying
    queue.kick();
  }
  let display: PoleDisplay | undefined;
  let displayConnected = false;
  if (displaySpec.kind !== 'none') {
    display = new PoleDisplay({ transport: openTransport(displaySpec), commandSet: displaySpec.options.protocol ?? 'epson' });
    display.on('health', (h) => { displayConnected = h.connected; o.counter()?.emit('change'); });
    await display.start().catch(() => undefined);
  }
  const describe = (h: PrinterHealth): DeviceHealth => ({ kind: 'printer', state: h.state, detail: held ?? h.message });

  return {
    health: () => [
      printer ? describe(printer.health) : { kind: 'printer', state: 'none', detail: 'not configured (--printer)' },
      display ? { kind: 'display', state: displayConnected ? 'ready' : 'disconnected' } : { kind: 'display', state: 'none', detail: 'not configured (--display)' },
      { kind: 'scanner', state: 'keyboard', detail: 'scan field (keyboard wedge)' },
    ],
    showSale: (sale, storeName) => {
      if (!display) return;
      if (!sale) void display.show(idleScreen(storeName)).catch(() => undefined);
      else {
        const amount = money(sale.amountMinor, sale.currency);
        const lines = sale.status === 'PAID' ? paidScreen(amount)
          : sale.status === 'WAITING' || sale.status === 'PENDING' ? (sale.cnyMinor ? amountScreen(amount, money(sale.cnyMinor, 'CNY')) : scanToPayScreen(amount))
          : idleScreen(storeName, sale.status);
        void display.show(lines).catch(() => undefined);
      }
    },
    printSale: (r) => { queue?.enqueue('sale', saleReceipt(r, profile), r.outTradeNo); },
    printRefund: (r) => { queue?.enqueue('refund', refundReceipt(r, profile), r.outRefundNo); },
    printSettlement: (s) => { queue?.enqueue('settlement', settlementReport(s, profile), s.generatedAt); },
    async stop() {
      await queue?.stop().catch(() => undefined);
      await printer?.stop().catch(() => undefined);
      await display?.stop().catch(() => undefined);
    },
  };
};
