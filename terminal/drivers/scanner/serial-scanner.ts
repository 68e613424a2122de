import { EventEmitter } from 'node:events';
import { Transform, type TransformCallback } from 'node:stream';
import { ReadlineParser } from '@serialport/parser-readline';
import { systemClock, type Clock } from '../../../protocol/clock.js';
import type { ByteTransport } from '../transport-base.js';
import { checkScannedCode, type ScanResult } from './payment-code.js';

// A serial (or USB-CDC) payment-code scanner: one code per line, ended by CR, LF or
// CRLF depending on how the scanner was programmed. CRs become LFs ahead of the
// readline parser, and the empty line a CRLF then leaves is ignored. A scanner that
// sends garbage without any line end is cut off after MAX_LINE bytes.

const MAX_LINE = 64;

/** CR → LF, and a forced line end after MAX_LINE bytes without one. */
class LineEnds extends Transform {
  private run = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    const out: number[] = [];
    for (const b of chunk) {
      if (b === 0x0d || b === 0x0a) {
        out.push(0x0a);
        this.run = 0;
        continue;
      }
      out.push(b);
      if (++this.run >= MAX_LINE) {
        out.push(0x0a);
        this.run = 0;
      }
    }
    done(null, Buffer.from(out));
  }
}

export class SerialScanner extends EventEmitter<{ scan: [ScanResult]; health: [{ connected: boolean }] }> {
  private readonly ends = new LineEnds();
  private readonly parser = new ReadlineParser({ delimiter: '\n', encoding: 'latin1' });
  private detach: (() => void) | undefined;
  private retry: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly transport: ByteTransport,
    private readonly clock: Clock = systemClock(),
    private readonly retryMs = 5000,
  ) {
    super();
    // An unplugged scanner is reopened when it comes back.
    this.transport.onClose(() => {
      this.emit('health', { connected: false });
      this.reopenLater();
    });
    this.ends.pipe(this.parser);
    this.parser.on('data', (line: string) => {
      if (line.trim() === '') return;
      this.emit('scan', checkScannedCode(line));
    });
  }

  async start(): Promise<void> {
    this.stopped = false;
    this.detach ??= this.transport.onData((chunk) => this.ends.write(chunk));
    try {
      await this.transport.open();
      this.emit('health', { connected: true });
    } catch (err) {
      this.reopenLater();
      throw err;
    }
  }

  private reopenLater(): void {
    if (this.stopped || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.start().catch(() => undefined);
    }, this.clock.duration(this.retryMs));
    this.retry.unref?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    this.retry = undefined;
    this.detach?.();
    this.detach = undefined;
    await this.transport.close();
  }
}
