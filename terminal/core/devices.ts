import { join } from 'node:path';
import { money } from '../../protocol/money.js';
import { startCounterDevices } from '../drivers/counter-devices.js';
import { amountScreen, idleScreen, paidScreen, scanToPayScreen } from '../drivers/customer-display/screens.js';
import type { CounterDevices, DeviceHealth } from './counter.js';
import type { DeviceFactory } from './run.js';

// The counter's devices from their SPECs (terminal/drivers' startCounterDevices): the
// receipt printer behind its persisted print queue, the pole display following the
// current sale, and a serial payment-code scanner whose codes are charged for the amount
// keyed on the cashier screen. `none` leaves a device out; keyboard-wedge scanners need
// nothing, they type into the scan field.

export const counterDevices: DeviceFactory = async (o): Promise<CounterDevices | undefined> => {
  if (o.printer === 'none' && o.display === 'none' && o.scanner === 'none') return undefined;
  const d = await startCounterDevices({
    printer: o.printer,
    display: o.display,
    scanner: o.scanner,
    jobs: join(o.dataDir, 'print-jobs.db'),
  });
  let held: string | undefined;
  d.on('health', () => o.counter()?.devicesChanged());
  d.on('held', (j) => {
    held = `${j.message} — ${j.kind} held, prints when fixed (${j.messageZh})`;
    o.counter()?.devicesChanged();
  });
  d.on('printed', () => {
    if (held === undefined) return;
    held = undefined;
    o.counter()?.devicesChanged();
  });
  d.on('scan', (r) => {
    if (r.ok) o.counter()?.scanFromDevice(r.code);
    else o.counter()?.deviceScanRefused(`${r.error.message}: "${r.shown}"`);
  });
  const health = (): DeviceHealth[] => {
    const h = d.health();
    return [
      h.printer.state === 'none'
        ? { kind: 'printer', state: 'none', detail: 'not configured (--printer)' }
        : {
            kind: 'printer',
            state: h.printer.state,
            detail: held ?? ('message' in h.printer && h.printer.message ? h.printer.message : h.printer.spec),
          },
      h.display.state === 'none'
        ? { kind: 'display', state: 'none', detail: 'not configured (--display)' }
        : { kind: 'display', state: h.display.state, detail: h.display.spec },
      h.scanner.state === 'none'
        ? { kind: 'scanner', state: 'keyboard', detail: 'scan field (keyboard wedge)' }
        : { kind: 'scanner', state: h.scanner.state, detail: h.scanner.spec },
    ];
  };
  return {
    health,
    showSale: (sale, storeName) => {
      let lines = idleScreen(storeName);
      if (sale) {
        const amount = money(sale.amountMinor, sale.currency);
        if (sale.status === 'PAID') lines = paidScreen(amount);
        else if (sale.status === 'WAITING' || sale.status === 'PENDING')
          lines = sale.cnyMinor ? amountScreen(amount, money(sale.cnyMinor, 'CNY')) : scanToPayScreen(amount);
        else lines = idleScreen(storeName, sale.status);
      }
      void d.show(lines).catch(() => undefined);
    },
    printSale: (r) => {
      d.printSale(r);
    },
    printRefund: (r) => {
      d.printRefund(r);
    },
    printSettlement: (s) => {
      d.printSettlement(s);
    },
    stop: () => d.stop(),
  };
};
