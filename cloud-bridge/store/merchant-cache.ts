import pg from 'pg';
import type { Logger } from 'pino';
import type { Store } from './db.js';

// Merchants as every payment reads them (the maximum per payment), kept in memory on
// PostgreSQL, where each read is a round trip to the server. A merchant changed anywhere
// (HQ's console on another bridge, `kauri admin merchant update`) must be in force at once
// on every bridge, so there is no expiry to wait for: the writer sends
// `NOTIFY kauri_accounts, '<merchant id>'` in the transaction of the change, and every
// bridge LISTENs and forgets that merchant when the change commits. Entries are used only
// while the listener is connected; losing it forgets everything and reads from the
// database until it is back, so a notification missed while it was down costs nothing.
// On SQLite a read is a call into the same process, and another process (the admin CLI)
// has no NOTIFY to send: nothing is cached there.

/**
 * The channel a change to what every request reads is announced on. Its payload: a merchant
 * id (the merchant, or one of its channel accounts, changed), `key:<id>` (an API key
 * revoked) or `account:<id>` (a channel account turned off or on).
 */
export const ACCOUNTS_CHANNEL = 'kauri_accounts';

export class MerchantCache<M> {
  private readonly entries = new Map<string, M>();
  private listener: pg.Client | undefined;
  private closed = false;
  private relistening: NodeJS.Timeout | undefined;
  /**
   * Bumped by every notification and every reconnect: a read that began before a change
   * was announced must not put its (possibly older) row in the cache after it.
   */
  private generation = 0;
  private readonly noticeListeners = new Set<(payload: string) => void>();

  constructor(
    private readonly store: Store,
    private readonly log?: Logger,
  ) {}

  /** True while entries may be used (PostgreSQL, listener connected). */
  get active(): boolean {
    return this.listener !== undefined;
  }

  async start(): Promise<void> {
    if (this.store.dialect !== 'postgres') return;
    await this.listen().catch((err: Error) => {
      this.log?.warn({ err: err.message }, 'merchant cache listener failed to connect; reading merchants uncached');
      this.relisten();
    });
  }

  /** The cached merchant, or a read through `load` (cached if nothing changed meanwhile). */
  async get(id: string, load: () => Promise<M | undefined>): Promise<M | undefined> {
    if (!this.active) return load();
    const hit = this.entries.get(id);
    if (hit !== undefined) return hit;
    const before = this.generation;
    const row = await load();
    if (row !== undefined && this.active && this.generation === before) {
      if (this.entries.size >= 10_000) this.entries.clear();
      this.entries.set(id, row);
    }
    return row;
  }

  /** Hears every announcement on the channel (other caches keyed by what it names). */
  onNotice(listener: (payload: string) => void): () => void {
    this.noticeListeners.add(listener);
    return () => this.noticeListeners.delete(listener);
  }

  /** Forgets one merchant here at once (the writer's own instance does not wait for its NOTIFY). */
  forget(id: string): void {
    this.generation++;
    this.entries.delete(id);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.relistening);
    const l = this.listener;
    this.drop();
    await l?.end().catch(() => undefined);
  }

  private drop(): void {
    this.listener = undefined;
    this.generation++;
    this.entries.clear();
  }

  private async listen(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({ connectionString: this.store.url });
    client.on('notification', (n) => {
      if (n.channel !== ACCOUNTS_CHANNEL || !n.payload) return;
      this.forget(n.payload);
      for (const l of this.noticeListeners) l(n.payload);
    });
    const lost = (err?: Error) => {
      if (this.listener !== client) return;
      this.log?.warn({ err: err?.message }, 'merchant cache listener lost its connection; reading uncached');
      this.drop();
      client.end().catch(() => undefined);
      this.relisten();
    };
    client.on('error', lost);
    client.on('end', () => lost());
    await client.connect();
    try {
      await client.query(`LISTEN ${ACCOUNTS_CHANNEL}`);
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.generation++;
    this.entries.clear();
    this.listener = client;
  }

  private relisten(): void {
    if (this.relistening || this.closed) return;
    this.relistening = setTimeout(() => {
      this.relistening = undefined;
      void this.listen().catch(() => this.relisten());
    }, 1000);
    this.relistening.unref();
  }
}
