// The two stores' differences in one place, imported by the store and by every feature's
// migrations (which the store applies), so neither imports the other.

export type Dialect = 'sqlite' | 'postgres';

/** Money in minor units: 64-bit on PostgreSQL (SQLite integers are 64-bit already). */
export const moneyColumn = (d: Dialect) => (d === 'postgres' ? 'bigint' : 'integer');
/** An auto-increment sequence. */
export const serialColumn = (d: Dialect) => (d === 'postgres' ? 'bigserial' : 'integer');

/** Timestamps are ISO 8601 strings in UTC with milliseconds: they sort as text on both stores. */
export function nowIso(date: Date): string {
  return date.toISOString();
}
