// What every request reads and almost never changes (API keys, channel accounts) is kept
// in memory for a short while; see AccountsRepo for what is cached and why.

/**
 * How long another instance's change (a key revoked, a new channel account) may go unseen
 * here, in real ms: the change is seen at once by the instance that made it.
 */
export const ACCOUNTS_CACHE_TTL_MS = 5_000;

/** A small map with expiry: what every request reads and almost never changes. */
export class TtlCache<V> {
  private readonly entries = new Map<string, { value: V; until: number }>();
  constructor(
    private readonly ttlMs: number,
    private readonly max = 10_000,
  ) {}

  get(key: string): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.until <= Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return e.value;
  }

  set(key: string, value: V): void {
    if (this.ttlMs <= 0) return;
    // Keys come from rows that exist (never from what a caller typed), so this bound is
    // only a guard; clearing all is simpler than LRU and costs one read per entry.
    if (this.entries.size >= this.max) this.entries.clear();
    this.entries.set(key, { value, until: Date.now() + this.ttlMs });
  }

  delete(predicate: (key: string) => boolean): void {
    for (const k of this.entries.keys()) if (predicate(k)) this.entries.delete(k);
  }
}
