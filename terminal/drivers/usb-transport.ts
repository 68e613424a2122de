import { DeviceError } from './errors.js';
import { BaseTransport } from './transport-base.js';

// A USB receipt printer through libusb (the `usb` package, v3: a WebUSB-shaped API).
// Epson TM printers offer two USB classes: printer class 0x07 and vendor class 0xFF;
// both have one bulk OUT endpoint (print data) and one bulk IN endpoint (DLE EOT and
// ASB replies). On Linux the kernel's usblp binds printer-class devices, so it is
// detached before the interface is claimed (else LIBUSB_ERROR_BUSY).
//
// Only the calls used here are typed, so a fake device can stand in for tests: these
// machines have no USB subsystem at all (no /sys/bus/usb), which cannot be emulated.

export interface UsbEndpointLike {
  endpointNumber: number;
  direction: 'in' | 'out';
  type: 'bulk' | 'interrupt' | 'isochronous';
  packetSize?: number;
}

export interface UsbInterfaceLike {
  interfaceNumber: number;
  alternate: { interfaceClass: number; endpoints: UsbEndpointLike[] };
}

export interface UsbDeviceLike {
  readonly opened: boolean;
  readonly configuration: { configurationValue: number; interfaces: UsbInterfaceLike[] } | null | undefined;
  open(): Promise<void>;
  close(): Promise<void>;
  selectConfiguration(value: number): Promise<void>;
  claimInterface(n: number): Promise<void>;
  releaseInterface(n: number): Promise<void>;
  detachKernelDriver?(n: number): Promise<void>;
  transferOut(endpoint: number, data: BufferSource): Promise<{ status: string; bytesWritten: number }>;
  transferIn(endpoint: number, length: number): Promise<{ status: string; data?: DataView }>;
}

export type UsbDeviceFinder = (vendorId: number, productId: number) => Promise<UsbDeviceLike | undefined>;

const PRINTER_CLASS = 0x07;
const VENDOR_CLASS = 0xff;

/** The default finder: libusb through the `usb` package, loaded only when a usb: SPEC is used. */
export const libusbFinder: UsbDeviceFinder = async (vendorId, productId) => {
  let mod: typeof import('usb');
  try {
    mod = await import('usb');
  } catch (err) {
    throw new DeviceError('usb_unavailable', `the usb module did not load: ${(err as Error).message}`, { cause: err });
  }
  try {
    return (await mod.usb.findDeviceByIds(vendorId, productId)) as unknown as UsbDeviceLike | undefined;
  } catch (err) {
    // e.g. "getDevices error: /sys/bus/usb/devices/ not found" on machines without USB.
    throw new DeviceError('usb_unavailable', (err as Error).message, { cause: err });
  }
};

export class UsbPrinterTransport extends BaseTransport {
  readonly description: string;
  private device: UsbDeviceLike | undefined;
  private iface = -1;
  private epOut = -1;
  private epIn = -1;

  constructor(
    private readonly vendorId: number,
    private readonly productId: number,
    private readonly finder: UsbDeviceFinder = libusbFinder,
  ) {
    super();
    const hex = (n: number) => n.toString(16).padStart(4, '0');
    this.description = `usb:${hex(vendorId)}:${hex(productId)}`;
  }

  get isOpen(): boolean {
    return this.device !== undefined;
  }

  async open(): Promise<void> {
    if (this.device) return;
    const device = await this.finder(this.vendorId, this.productId);
    if (!device) throw new DeviceError('usb_unavailable', `${this.description} is not plugged in`);
    try {
      if (!device.opened) await device.open();
      if (!device.configuration) await device.selectConfiguration(1);
      const interfaces = device.configuration?.interfaces ?? [];
      const pick =
        interfaces.find((i) => i.alternate.interfaceClass === PRINTER_CLASS) ??
        interfaces.find((i) => i.alternate.interfaceClass === VENDOR_CLASS);
      const out = pick?.alternate.endpoints.find((e) => e.direction === 'out' && e.type === 'bulk');
      if (!pick || !out)
        throw new DeviceError(
          'usb_unavailable',
          `${this.description} has no printer interface with a bulk OUT endpoint`,
        );
      const inEp = pick.alternate.endpoints.find((e) => e.direction === 'in' && e.type === 'bulk');
      if (process.platform === 'linux' && device.detachKernelDriver) {
        // Fails when no driver is bound (vendor class): that is fine.
        await device.detachKernelDriver(pick.interfaceNumber).catch(() => undefined);
      }
      await device.claimInterface(pick.interfaceNumber);
      this.device = device;
      this.iface = pick.interfaceNumber;
      this.epOut = out.endpointNumber;
      this.epIn = inEp?.endpointNumber ?? -1;
    } catch (err) {
      await device.close().catch(() => undefined);
      if (err instanceof DeviceError) throw err;
      throw new DeviceError('usb_unavailable', `${this.description}: ${(err as Error).message}`, { cause: err });
    }
    if (this.epIn >= 0) void this.readLoop(this.device);
  }

  private async readLoop(device: UsbDeviceLike): Promise<void> {
    while (this.device === device) {
      try {
        const r = await device.transferIn(this.epIn, 64);
        if (this.device !== device) break;
        if (r.data && r.data.byteLength > 0) {
          this.emitData(Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength));
        }
      } catch (err) {
        if (this.device === device) await this.close(err as Error);
        break;
      }
    }
  }

  async write(data: Uint8Array): Promise<void> {
    const device = this.device;
    if (!device) throw new DeviceError('printer_disconnected', this.description);
    try {
      const r = await device.transferOut(this.epOut, data as Uint8Array<ArrayBuffer>);
      if (r.status !== 'ok' || r.bytesWritten !== data.length) {
        throw new Error(`transfer ${r.status}, ${r.bytesWritten}/${data.length} bytes`);
      }
    } catch (err) {
      await this.close(err as Error);
      throw new DeviceError('printer_disconnected', `${this.description}: ${(err as Error).message}`, { cause: err });
    }
  }

  async close(err?: Error): Promise<void> {
    const device = this.device;
    this.device = undefined;
    if (!device) return;
    await device.releaseInterface(this.iface).catch(() => undefined);
    await device.close().catch(() => undefined);
    this.emitClose(err);
  }
}
