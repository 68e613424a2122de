import pg from 'pg';
import type { Logger } from 'pino';

// One connection LISTENing on a PostgreSQL channel for as long as its owner runs. A listener
// loses its connection when PostgreSQL restarts or fails over; it then tells its owner (who
// must stop trusting what only notifications keep fresh) and reconnects every second until
// the server is back, when the owner catches up on what it may have missed.

export interface PgListenerOptions {
  url: string;
  channel: string;
  /** What listens, for the logs ("event listener", "merchant cache listener"). */
  what: string;
  log?: Logger;
  onNotice(payload: string): void;
  /** Listening (again): anything announced while it was not is unheard, so catch up. */
  onUp(): void;
  /** The connection is lost: nothing is heard until onUp. */
  onDown?(): void;
}

export class PgListener {
  private client: pg.Client | undefined;
  private closed = false;
  private retry: NodeJS.Timeout | undefined;

  constructor(private readonly o: PgListenerOptions) {}

  get connected(): boolean {
    return this.client !== undefined;
  }

  /** Connects; when that fails it keeps trying in the background, and the error is thrown to say so. */
  async start(): Promise<void> {
    try {
      await this.connect();
    } catch (err) {
      this.retryLater();
      throw err;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({ connectionString: this.o.url });
    client.on('notification', (n) => {
      if (n.channel === this.o.channel) this.o.onNotice(n.payload ?? '');
    });
    const lost = (err?: Error) => {
      if (this.client !== client) return;
      this.client = undefined;
      this.o.log?.warn({ err: err?.message }, `${this.o.what} lost its connection; reconnecting`);
      client.end().catch(() => undefined);
      this.o.onDown?.();
      this.retryLater();
    };
    client.on('error', lost);
    client.on('end', () => lost());
    try {
      await client.connect();
      await client.query(`LISTEN ${this.o.channel}`);
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    // Closed while connecting: nobody is there to hear it.
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.o.onUp();
  }

  private retryLater(): void {
    if (this.retry || this.closed) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      void this.connect().catch(() => this.retryLater());
    }, 1000);
    this.retry.unref();
  }
}
