import { constants as fsc, existsSync } from 'node:fs';
import { open as fsOpen, type FileHandle } from 'node:fs/promises';
import net from 'node:net';
import { SerialPort } from 'serialport';
import { describeSpec, type DeviceSpec } from './device-spec.js';
import { DeviceError } from './errors.js';
import { BaseTransport, type ByteTransport } from './transport-base.js';
import { UsbPrinterTransport, type UsbDeviceFinder } from './usb-transport.js';

// The transports, and the one place a SPEC picks one (openTransport, at the end).
export type { ByteTransport, PrinterTransport, DisplayTransport } from './transport-base.js';

/** How often an open serial device's file is looked for (a cheap stat). */
const UNPLUG_CHECK_MS = 250;

export class SerialTransport extends BaseTransport {
  readonly description: string;
  private port: SerialPort | undefined;
  private watch: NodeJS.Timeout | undefined;

  constructor(
    private readonly path: string,
    private readonly baudRate: number,
  ) {
    super();
    this.description = `serial:${path}@${baudRate}`;
  }

  get isOpen(): boolean {
    return this.port?.isOpen ?? false;
  }

  async open(): Promise<void> {
    if (this.isOpen) return;
    const port = new SerialPort({ path: this.path, baudRate: this.baudRate, autoOpen: false });
    await new Promise<void>((resolve, reject) =>
      port.open((err) =>
        err
          ? reject(new DeviceError('printer_disconnected', `${this.path}: ${err.message}`, { cause: err }))
          : resolve(),
      ),
    );
    port.on('data', (chunk: Buffer) => this.emitData(chunk));
    port.on('error', () => {
      /* surfaced by the write that failed, and by 'close' */
    });
    // A pty whose socat died emits no 'close' until a write fails with EIO; the
    // status watchdog's writes find that out.
    port.once('close', (err?: Error) => {
      if (this.port === port) this.port = undefined;
      this.stopWatch();
      this.emitClose(err ?? undefined);
    });
    this.port = port;
    // A device that only sends (a scanner) never writes, and its read poller does not always
    // wake when the device goes: a USB adapter pulled out or a pty whose socat died removes the
    // device file, so its absence is the unplug.
    this.watch = setInterval(() => {
      if (this.port === port && !existsSync(this.path)) void this.close();
    }, UNPLUG_CHECK_MS);
    this.watch.unref();
  }

  private stopWatch(): void {
    if (this.watch) clearInterval(this.watch);
    this.watch = undefined;
  }

  async write(data: Uint8Array): Promise<void> {
    const port = this.port;
    if (!port?.isOpen) throw new DeviceError('printer_disconnected', this.path);
    await new Promise<void>((resolve, reject) => {
      port.write(Buffer.from(data), (err) => {
        if (err) return reject(new DeviceError('printer_disconnected', `${this.path}: ${err.message}`, { cause: err }));
        port.drain((e) =>
          e ? reject(new DeviceError('printer_disconnected', `${this.path}: ${e.message}`, { cause: e })) : resolve(),
        );
      });
    }).catch(async (err) => {
      await this.close();
      throw err;
    });
  }

  async close(): Promise<void> {
    const port = this.port;
    this.port = undefined;
    this.stopWatch();
    if (!port) return;
    if (port.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
    else port.destroy();
    this.emitClose();
  }
}

export class TcpTransport extends BaseTransport {
  readonly description: string;
  private socket: net.Socket | undefined;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly connectTimeoutMs = 3000,
  ) {
    super();
    this.description = `tcp:${host}:${port}`;
  }

  get isOpen(): boolean {
    return this.socket !== undefined && !this.socket.destroyed;
  }

  async open(): Promise<void> {
    if (this.isOpen) return;
    const socket = net.connect({ host: this.host, port: this.port });
    socket.setNoDelay(true);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new DeviceError('printer_disconnected', `${this.description}: connect timed out`));
      }, this.connectTimeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(new DeviceError('printer_disconnected', `${this.description}: ${err.message}`, { cause: err }));
      });
    });
    socket.on('data', (chunk: Buffer) => this.emitData(chunk));
    socket.on('error', () => {
      /* followed by 'close' */
    });
    socket.once('close', () => {
      if (this.socket === socket) this.socket = undefined;
      this.emitClose();
    });
    this.socket = socket;
  }

  async write(data: Uint8Array): Promise<void> {
    const socket = this.socket;
    if (!socket || socket.destroyed) throw new DeviceError('printer_disconnected', this.description);
    await new Promise<void>((resolve, reject) =>
      socket.write(Buffer.from(data), (err) =>
        err
          ? reject(new DeviceError('printer_disconnected', `${this.description}: ${err.message}`, { cause: err }))
          : resolve(),
      ),
    );
  }

  async close(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    if (!socket) return;
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      socket.destroy();
    });
  }
}

/**
 * A character device the kernel made for a USB printer-class device (usblp's
 * /dev/usb/lpN). Opened non-blocking and read by polling, so a read never parks a
 * libuv thread on a device that has nothing to say. Also works on a pty, which is
 * how it is tested here (no USB on these machines).
 */
export class DeviceFileTransport extends BaseTransport {
  readonly description: string;
  private handle: FileHandle | undefined;
  private readTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly path: string,
    private readonly pollMs = 20,
  ) {
    super();
    this.description = `usb:${path}`;
  }

  get isOpen(): boolean {
    return this.handle !== undefined;
  }

  async open(): Promise<void> {
    if (this.handle) return;
    try {
      this.handle = await fsOpen(this.path, fsc.O_RDWR | fsc.O_NONBLOCK | fsc.O_NOCTTY);
    } catch (err) {
      throw new DeviceError('printer_disconnected', `${this.path}: ${(err as Error).message}`, { cause: err });
    }
    this.poll();
  }

  private poll(): void {
    const handle = this.handle;
    if (!handle) return;
    const buf = Buffer.alloc(256);
    handle.read(buf, 0, buf.length, null).then(
      ({ bytesRead }) => {
        if (this.handle !== handle) return;
        if (bytesRead > 0) this.emitData(buf.subarray(0, bytesRead));
        this.readTimer = setTimeout(() => this.poll(), bytesRead > 0 ? 0 : this.pollMs);
      },
      (err: NodeJS.ErrnoException) => {
        if (this.handle !== handle) return;
        if (err.code === 'EAGAIN' || err.code === 'EWOULDBLOCK') {
          this.readTimer = setTimeout(() => this.poll(), this.pollMs);
          return;
        }
        void this.close(err);
      },
    );
  }

  async write(data: Uint8Array): Promise<void> {
    const handle = this.handle;
    if (!handle) throw new DeviceError('printer_disconnected', this.path);
    let offset = 0;
    while (offset < data.length) {
      try {
        const { bytesWritten } = await handle.write(data, offset, data.length - offset, null);
        offset += bytesWritten;
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        if (e.code === 'EAGAIN') {
          await new Promise((r) => setTimeout(r, this.pollMs));
          continue;
        }
        await this.close(e);
        throw new DeviceError('printer_disconnected', `${this.path}: ${e.message}`, { cause: e });
      }
    }
  }

  async close(err?: Error): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    if (this.readTimer) clearTimeout(this.readTimer);
    if (!handle) return;
    await handle.close().catch(() => undefined);
    this.emitClose(err);
  }
}

export interface TransportOptions {
  /** How a usb:VID:PID SPEC finds its device (tests pass a fake; default: the `usb` package). */
  usbFinder?: UsbDeviceFinder;
}

/** The one place a SPEC becomes a transport. */
export function openTransport(spec: DeviceSpec, opts: TransportOptions = {}): ByteTransport {
  switch (spec.kind) {
    case 'serial':
      return new SerialTransport(spec.path, spec.baudRate);
    case 'tcp':
      return new TcpTransport(spec.host, spec.port);
    case 'usb-lp':
      return new DeviceFileTransport(spec.path);
    case 'usb':
      return new UsbPrinterTransport(spec.vendorId, spec.productId, opts.usbFinder);
    case 'none':
      throw new DeviceError('device_spec_invalid', `${describeSpec(spec)} has no transport`);
  }
}
