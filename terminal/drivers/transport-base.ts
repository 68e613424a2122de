// One byte pipe per device, whatever the wire: serial (RS-232, USB-serial, ptys), a
// USB printer-class device (libusb, or the kernel's /dev/usb/lpN), or TCP 9100.
// Drivers only ever see this interface.

export interface ByteTransport {
  readonly description: string;
  readonly isOpen: boolean;
  open(): Promise<void>;
  /** Resolves once the bytes are handed to the OS (drained), rejects when the link is gone. */
  write(data: Uint8Array): Promise<void>;
  onData(listener: (chunk: Buffer) => void): () => void;
  /** The link went away (unplugged, socket closed, write failed). */
  onClose(listener: (err?: Error) => void): () => void;
  close(): Promise<void>;
}

export type PrinterTransport = ByteTransport;
export type DisplayTransport = ByteTransport;

/** Listener bookkeeping shared by the transports. */
export abstract class BaseTransport implements ByteTransport {
  abstract readonly description: string;
  abstract readonly isOpen: boolean;
  private readonly dataListeners = new Set<(chunk: Buffer) => void>();
  private readonly closeListeners = new Set<(err?: Error) => void>();

  abstract open(): Promise<void>;
  abstract write(data: Uint8Array): Promise<void>;
  abstract close(): Promise<void>;

  onData(listener: (chunk: Buffer) => void): () => void {
    this.dataListeners.add(listener);
    return () => this.dataListeners.delete(listener);
  }

  onClose(listener: (err?: Error) => void): () => void {
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  protected emitData(chunk: Buffer): void {
    for (const l of this.dataListeners) l(chunk);
  }

  protected emitClose(err?: Error): void {
    for (const l of this.closeListeners) l(err);
  }
}
