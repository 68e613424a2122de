import type { CounterDevices } from './counter.js';
import type { DeviceFactory } from './run.js';

// The counter's devices from their SPECs. `none` everywhere: the screens alone.
export const counterDevices: DeviceFactory = async (o): Promise<CounterDevices | undefined> => {
  if (o.printer === 'none' && o.display === 'none' && o.scanner === 'none') return undefined;
  return undefined;
};
