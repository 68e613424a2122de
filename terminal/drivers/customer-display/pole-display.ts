import { EventEmitter } from 'node:events';
import { systemClock, type Clock } from '../../../protocol/clock.js';
import type { ByteTransport } from '../transport-base.js';
import { displayProtocol, type CommandSet, type PoleDisplayProtocol } from './protocol.js';
import type { DisplayLines } from './screens.js';

// A pole display behind a transport. It remembers what it should show; a display that
// was unplugged gets the current lines again as soon as it can be reopened.

export interface PoleDisplayOptions {
  transport: ByteTransport;
  commandSet?: CommandSet;
  brightness?: number;
  clock?: Clock;
  /** How often a lost display is retried (protocol time). */
  retryMs?: number;
}

export class PoleDisplay extends EventEmitter<{ health: [{ connected: boolean; since: string }] }> {
  private readonly transport: ByteTransport;
  private readonly protocol: PoleDisplayProtocol;
  private readonly brightness: number;
  private readonly clock: Clock;
  private readonly retryMs: number;
  private lines: DisplayLines = ['', ''];
  private connected = false;
  private timer: NodeJS.Timeout | undefined;
  private busy: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(opts: PoleDisplayOptions) {
    super();
    this.transport = opts.transport;
    this.protocol = displayProtocol(opts.commandSet ?? 'epson');
    this.brightness = opts.brightness ?? 4;
    this.clock = opts.clock ?? systemClock();
    this.retryMs = opts.retryMs ?? 5000;
    this.transport.onClose(() => this.setConnected(false));
  }

  get current(): DisplayLines {
    return this.lines;
  }

  start(): Promise<void> {
    this.stopped = false;
    return this.flush();
  }

  show(lines: DisplayLines): Promise<void> {
    this.lines = lines;
    return this.flush();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.busy;
    await this.transport.close();
  }

  private flush(): Promise<void> {
    this.busy = this.busy.then(async () => {
      if (this.stopped) return;
      try {
        if (!this.transport.isOpen) {
          await this.transport.open();
          await this.transport.write(this.protocol.init(this.brightness));
        }
        await this.transport.write(this.protocol.show(this.lines[0], this.lines[1]));
        this.setConnected(true);
      } catch {
        this.setConnected(false);
        await this.transport.close().catch(() => undefined);
        this.retryLater();
      }
    });
    return this.busy;
  }

  private retryLater(): void {
    if (this.timer || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.clock.duration(this.retryMs));
    this.timer.unref?.();
  }

  private setConnected(c: boolean): void {
    if (c === this.connected) return;
    this.connected = c;
    this.emit('health', { connected: c, since: new Date().toISOString() });
  }
}
