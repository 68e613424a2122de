import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jsQRModule from 'jsqr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPtyPair } from '../../cli/devices.js';
import { EscPosDecoder } from '../../simulators/printer/decoder.js';
import { startPrinterSim, type PrinterSim } from '../../simulators/printer/printer-sim.js';
import { parseDeviceSpec } from '../../terminal/drivers/device-spec.js';
import { EscPosPrinter } from '../../terminal/drivers/escpos/printer.js';
import { openTransport } from '../../terminal/drivers/transport.js';
import { libusbFinder, type UsbDeviceLike } from '../../terminal/drivers/usb-transport.js';
import { sampleRefund, sampleSale } from '../../terminal/receipts/fixtures.js';
import { printerProfile } from '../../terminal/receipts/profiles.js';
import { refundReceipt, saleReceipt } from '../../terminal/receipts/sale-receipt.js';
import { testPage } from '../../terminal/receipts/test-page.js';
import { printedJobs } from '../support/printer-out.js';
import { waitFor } from '../support/wait.js';

// Network (TCP 9100) and USB printers. The TCP test is real (loopback). USB cannot be
// emulated on these machines (no USB subsystem in the kernel), so the USB transport
// runs against a fake device whose bulk endpoints are wired to the printer simulator
// over loopback TCP: the transport's claim/transfer logic is real, the wire is not.

// jsqr is CommonJS whose types declare an ES default export: take whichever is callable.
const jsQR = ((jsQRModule as unknown as { default?: unknown }).default ?? jsQRModule) as typeof jsQRModule.default;

/** A printer-class USB device whose bulk endpoints talk to a TCP printer (the simulator). */
class FakeUsbPrinter implements UsbDeviceLike {
  opened = false;
  claimed: number[] = [];
  detached: number[] = [];
  private socket: net.Socket | undefined;
  private inbox: Buffer[] = [];
  private waiting: ((b: Buffer | undefined) => void) | undefined;
  unplugged = false;

  constructor(
    private readonly port: number,
    readonly interfaceClass = 0x07,
  ) {}

  get configuration() {
    return {
      configurationValue: 1,
      interfaces: [
        {
          interfaceNumber: 0,
          alternate: {
            interfaceClass: 0x03,
            endpoints: [{ endpointNumber: 1, direction: 'in' as const, type: 'interrupt' as const }],
          },
        },
        {
          interfaceNumber: 1,
          alternate: {
            interfaceClass: this.interfaceClass,
            endpoints: [
              { endpointNumber: 2, direction: 'out' as const, type: 'bulk' as const, packetSize: 64 },
              { endpointNumber: 3, direction: 'in' as const, type: 'bulk' as const, packetSize: 64 },
            ],
          },
        },
      ],
    };
  }

  async open() {
    this.socket = net.connect({ host: '127.0.0.1', port: this.port });
    await new Promise<void>((r, j) => this.socket!.once('connect', () => r()).once('error', j));
    this.socket.on('data', (d: Buffer) => {
      if (this.waiting) {
        const w = this.waiting;
        this.waiting = undefined;
        w(d);
      } else this.inbox.push(d);
    });
    this.opened = true;
  }
  async close() {
    this.socket?.destroy();
    this.opened = false;
    this.waiting?.(undefined);
  }
  async selectConfiguration() {}
  async claimInterface(n: number) {
    this.claimed.push(n);
  }
  async releaseInterface() {}
  async detachKernelDriver(n: number) {
    this.detached.push(n);
  }
  async transferOut(endpoint: number, data: BufferSource) {
    if (this.unplugged) throw new Error('LIBUSB_ERROR_NO_DEVICE');
    expect(endpoint).toBe(2);
    const bytes = Buffer.from(data as Uint8Array);
    await new Promise<void>((r) => this.socket!.write(bytes, () => r()));
    return { status: 'ok', bytesWritten: bytes.length };
  }
  async transferIn(endpoint: number, _length: number) {
    expect(endpoint).toBe(3);
    const d = this.inbox.shift() ?? (await new Promise<Buffer | undefined>((r) => (this.waiting = r)));
    if (!d) throw new Error('LIBUSB_ERROR_NO_DEVICE');
    return { status: 'ok', data: new DataView(d.buffer, d.byteOffset, d.byteLength) };
  }
}

describe('network and USB printers', () => {
  let dir: string;
  let sim: PrinterSim;
  let out: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kauri-net-'));
    out = join(dir, 'out');
    sim = await startPrinterSim({ tcpPort: 0, outDir: out });
  });

  afterAll(async () => {
    await sim?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints over TCP 9100 to a loopback printer, and a raster QR decodes to the order', async () => {
    const printer = new EscPosPrinter({
      transport: openTransport(parseDeviceSpec(`tcp:127.0.0.1:${sim.tcpPort}&profile=basic-58mm-raster`)),
    });
    const before = printedJobs(out).length;
    const bytes = saleReceipt(sampleSale, printerProfile('basic-58mm-raster'));
    await printer.print(bytes);
    await printer.stop();
    const job = await waitFor('the job', () => printedJobs(out).slice(before)[0]);
    expect(job.text).toContain('TOTAL 合计');
    expect(job.text).toMatch(/\[IMAGE \d+x\d+\]/);
    expect(job.bin).toEqual(Buffer.from(bytes));
    // Read the GS v 0 bitmap back the way paper would show it, and scan it.
    const image = new EscPosDecoder().feed(job.bin).find((c) => c.event?.t === 'image')!.event as {
      width: number;
      height: number;
      bits: Buffer;
    };
    const rgba = new Uint8ClampedArray(image.width * image.height * 4);
    for (let y = 0; y < image.height; y++) {
      for (let x = 0; x < image.width; x++) {
        const black = (image.bits[y * (image.width / 8) + (x >> 3)]! >> (7 - (x & 7))) & 1;
        rgba.set(black ? [0, 0, 0, 255] : [255, 255, 255, 255], (y * image.width + x) * 4);
      }
    }
    expect(jsQR(rgba, image.width, image.height)?.data).toBe(sampleSale.lookupPayload);
  });

  it('reports a TCP printer that is not there as disconnected', async () => {
    const free = net.createServer();
    await new Promise<void>((r) => free.listen(0, '127.0.0.1', () => r()));
    const port = (free.address() as net.AddressInfo).port;
    await new Promise<void>((r) => free.close(() => r()));
    const printer = new EscPosPrinter({ transport: openTransport(parseDeviceSpec(`tcp:127.0.0.1:${port}`)) });
    await expect(printer.print(testPage(printerProfile()))).rejects.toMatchObject({ code: 'printer_disconnected' });
    expect(printer.health.state).toBe('disconnected');
  });

  it('prints through the USB transport (printer class, bulk OUT, status on bulk IN) on a fake device', async () => {
    const device = new FakeUsbPrinter(sim.tcpPort!);
    const printer = new EscPosPrinter({
      transport: openTransport(parseDeviceSpec('usb:04b8:0e28'), {
        usbFinder: async (v, p) => (v === 0x04b8 && p === 0x0e28 ? device : undefined),
      }),
    });
    const before = printedJobs(out).length;
    await printer.print(refundReceipt(sampleRefund, printerProfile('tm-t88-80mm')));
    expect(device.claimed).toEqual([1]);
    if (process.platform === 'linux') expect(device.detached).toEqual([1]);
    const job = await waitFor('the refund slip', () => printedJobs(out).slice(before)[0]);
    expect(job.text).toContain('退款成功');
    expect(job.text).toContain(`[QR: ${sampleRefund.lookupPayload}]`);

    // Paper out is read back over bulk IN like any status.
    writeFileSync(join(out, 'status'), 'paper-out');
    await expect(printer.print(testPage(printerProfile()))).rejects.toMatchObject({ code: 'printer_paper_out' });
    writeFileSync(join(out, 'status'), 'ok');

    // Unplugged mid-session: the transfer fails, the printer is reported disconnected.
    device.unplugged = true;
    await expect(printer.print(testPage(printerProfile()))).rejects.toMatchObject({ code: 'printer_disconnected' });
    expect(printer.health.state).toBe('disconnected');
    await printer.stop();
  });

  it('refuses USB devices it cannot use, with usb_unavailable', async () => {
    const none = new EscPosPrinter({
      transport: openTransport(parseDeviceSpec('usb:04b8:0202'), { usbFinder: async () => undefined }),
    });
    await expect(none.print(testPage(printerProfile()))).rejects.toMatchObject({ code: 'usb_unavailable' });
    const hid = new FakeUsbPrinter(sim.tcpPort!, 0x03);
    const wrong = new EscPosPrinter({
      transport: openTransport(parseDeviceSpec('usb:04b8:0202'), { usbFinder: async () => hid }),
    });
    await expect(wrong.print(testPage(printerProfile()))).rejects.toMatchObject({ code: 'usb_unavailable' });
    // The real libusb binding loads; this machine has no USB subsystem, which is a clean error.
    const found = await libusbFinder(0x04b8, 0x0e28).then(
      (d) => (d ? 'found' : 'absent'),
      (e: { code?: string }) => e.code,
    );
    expect(['absent', 'usb_unavailable', 'found']).toContain(found);
  });

  it('prints to a kernel printer device file (usb:/dev/usb/lpN), here a pty standing in for it', async () => {
    const pair = await createPtyPair(join(dir, 'lp0'), join(dir, 'lp0-far'));
    const far = await startPrinterSim({ device: pair.b, outDir: join(dir, 'lp-out') });
    const printer = new EscPosPrinter({ transport: openTransport(parseDeviceSpec(`usb:${pair.a}`)) });
    await printer.print(testPage(printerProfile('generic-58mm-cn')));
    await printer.stop();
    const job = await waitFor('the test page', () => printedJobs(join(dir, 'lp-out'))[0]);
    expect(job.text).toContain('[QR: KAURI-PRINT-TEST:generic-58mm-cn]');
    await far.stop();
    await pair.stop();
  });
});
