import type { Logger } from 'pino';
import type { Store } from './db.js';
import { PgListener } from './pg-listener.js';

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
  private listener: PgListener | undefined;
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
    return this.listener?.connected ?? false;
  }

  async start(): Promise<void> {
    if (this.store.dialect !== 'postgres') return;
    this.listener = new PgListener({
      url: this.store.url,
      channel: ACCOUNTS_CHANNEL,
      what: 'merchant cache listener',
      log: this.log,
      onNotice: (payload) => {
        if (!payload) return;
        this.forget(payload);
        for (const l of this.noticeListeners) l(payload);
      },
      // Connected again or lost: whatever was cached may have changed unheard.
      onUp: () => this.drop(),
      onDown: () => this.drop(),
    });
    await this.listener.start().catch((err: Error) => {
      this.log?.warn({ err: err.message }, 'merchant cache listener failed to connect; reading merchants uncached');
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
    await this.listener?.close();
    this.drop();
  }

  private drop(): void {
    this.generation++;
    this.entries.clear();
  }
}
