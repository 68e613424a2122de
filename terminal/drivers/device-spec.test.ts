import { describe, expect, it } from 'vitest';
import { parseDeviceSpec } from './device-spec.js';

describe('device SPECs', () => {
  it('parses every form of docs/CONTRACTS.md', () => {
    expect(parseDeviceSpec('serial:/dev/ttyUSB0?baud=115200&profile=generic-58mm-cn')).toEqual({
      kind: 'serial',
      path: '/dev/ttyUSB0',
      baudRate: 115200,
      options: { profile: 'generic-58mm-cn' },
    });
    expect(parseDeviceSpec('serial:/dev/pts/3')).toMatchObject({ kind: 'serial', baudRate: 9600 });
    expect(parseDeviceSpec('usb:04b8:0E28')).toMatchObject({ kind: 'usb', vendorId: 0x04b8, productId: 0x0e28 });
    expect(parseDeviceSpec('usb:/dev/usb/lp0&profile=tm-t88-80mm')).toMatchObject({
      kind: 'usb-lp',
      path: '/dev/usb/lp0',
      options: { profile: 'tm-t88-80mm' },
    });
    expect(parseDeviceSpec('tcp:192.168.1.50:9100')).toMatchObject({ kind: 'tcp', host: '192.168.1.50', port: 9100 });
    expect(parseDeviceSpec('tcp:printer.local')).toMatchObject({ kind: 'tcp', host: 'printer.local', port: 9100 });
    expect(parseDeviceSpec('serial:/dev/ttyS1?protocol=cd5220')).toMatchObject({ options: { protocol: 'cd5220' } });
    expect(parseDeviceSpec('none')).toEqual({ kind: 'none', options: {} });
  });

  it.each([
    'serial:ttyUSB0',
    'serial:/dev/x?baud=12345',
    'usb:4b8:e28',
    'tcp:host:70000',
    'tcp:',
    'lpt:1',
    'none:x',
    'serial:/dev/x?colour=red',
    'tcp:h:9100?baud=9600',
    'serial:/dev/x?protocol=aedex',
    '',
  ])('rejects %j with device_spec_invalid', (spec) => {
    expect(() => parseDeviceSpec(spec)).toThrow(expect.objectContaining({ code: 'device_spec_invalid' }));
  });
});
