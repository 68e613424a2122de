import { DeviceError } from './errors.js';

// Device SPECs of docs/CONTRACTS.md, parsed in one place:
//   serial:/dev/ttyX?baud=9600   usb:VID:PID   usb:/dev/usb/lp0   tcp:HOST:PORT   none
// with options after "?" or "&" (profile=NAME for printers, protocol=epson|cd5220 for
// pole displays), e.g. "tcp:10.0.0.5:9100&profile=generic-58mm-cn".

export type DeviceSpec =
  | { kind: 'serial'; path: string; baudRate: number; options: SpecOptions }
  | { kind: 'usb'; vendorId: number; productId: number; options: SpecOptions }
  | { kind: 'usb-lp'; path: string; options: SpecOptions }
  | { kind: 'tcp'; host: string; port: number; options: SpecOptions }
  | { kind: 'none'; options: SpecOptions };

export interface SpecOptions {
  profile?: string;
  protocol?: 'epson' | 'cd5220';
}

const BAUDS = new Set([1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400]);

function bad(spec: string, why: string): DeviceError {
  return new DeviceError('device_spec_invalid', `"${spec}": ${why}`);
}

export function parseDeviceSpec(spec: string): DeviceSpec {
  const trimmed = spec.trim();
  const cut = trimmed.search(/[?&]/);
  const head = cut < 0 ? trimmed : trimmed.slice(0, cut);
  const params = new URLSearchParams(cut < 0 ? '' : trimmed.slice(cut + 1));
  const options: SpecOptions = {};
  let baud: number | undefined;
  for (const [key, value] of params) {
    if (key === 'profile') {
      if (!/^[a-z0-9-]+$/.test(value)) throw bad(spec, `profile "${value}" is not a profile name`);
      options.profile = value;
    } else if (key === 'protocol') {
      if (value !== 'epson' && value !== 'cd5220') throw bad(spec, 'protocol must be epson or cd5220');
      options.protocol = value;
    } else if (key === 'baud') {
      baud = Number(value);
      if (!BAUDS.has(baud)) throw bad(spec, `baud must be one of ${[...BAUDS].join(', ')}`);
    } else throw bad(spec, `unknown option "${key}"`);
  }
  const colon = head.indexOf(':');
  const scheme = colon < 0 ? head : head.slice(0, colon);
  const rest = colon < 0 ? '' : head.slice(colon + 1);
  if (baud !== undefined && scheme !== 'serial') throw bad(spec, 'baud applies to serial devices only');

  switch (scheme) {
    case 'none':
      if (rest) throw bad(spec, '"none" takes no address');
      return { kind: 'none', options };
    case 'serial':
      if (!rest.startsWith('/')) throw bad(spec, 'serial needs an absolute device path, e.g. serial:/dev/ttyUSB0');
      return { kind: 'serial', path: rest, baudRate: baud ?? 9600, options };
    case 'usb': {
      if (rest.startsWith('/')) return { kind: 'usb-lp', path: rest, options };
      const m = /^([0-9a-fA-F]{4}):([0-9a-fA-F]{4})$/.exec(rest);
      if (!m) throw bad(spec, 'usb needs VID:PID in hex (usb:04b8:0e28) or a device file (usb:/dev/usb/lp0)');
      return { kind: 'usb', vendorId: parseInt(m[1]!, 16), productId: parseInt(m[2]!, 16), options };
    }
    case 'tcp': {
      const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(rest);
      if (!m) throw bad(spec, 'tcp needs HOST:PORT, e.g. tcp:192.168.1.50:9100');
      const port = m[2] === undefined ? 9100 : Number(m[2]);
      if (port < 1 || port > 65535) throw bad(spec, 'port must be 1..65535');
      return { kind: 'tcp', host: m[1]!.replace(/^\[|\]$/g, ''), port, options };
    }
    default:
      throw bad(spec, 'must start with serial:, usb:, tcp: or be none');
  }
}

export function describeSpec(spec: DeviceSpec): string {
  switch (spec.kind) {
    case 'serial':
      return `serial:${spec.path}@${spec.baudRate}`;
    case 'usb':
      return `usb:${spec.vendorId.toString(16).padStart(4, '0')}:${spec.productId.toString(16).padStart(4, '0')}`;
    case 'usb-lp':
      return `usb:${spec.path}`;
    case 'tcp':
      return `tcp:${spec.host}:${spec.port}`;
    case 'none':
      return 'none';
  }
}
