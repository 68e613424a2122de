import { describe, expect, it } from 'vitest';
import { PREPARED_MARK, preparedName } from './pg-prepared.js';

// Which statements go out prepared, and under what name (the per-connection use is tested
// against PostgreSQL in orders/commit.test.ts).

describe('prepared statement names', () => {
  it('names only marked statements, the same text always by the same name and two texts never by one', () => {
    expect(preparedName('select 1')).toBeUndefined();
    expect(preparedName(`select 1 ${PREPARED_MARK}`)).toBeUndefined();
    const a = preparedName(`${PREPARED_MARK}with w0 as (insert into t values ($1)) select 1`);
    const b = preparedName(`${PREPARED_MARK}with w0 as (insert into t values ($1), ($2)) select 1`);
    expect(a).toMatch(/^kauri_[0-9a-f]{32}$/);
    expect(b).toMatch(/^kauri_[0-9a-f]{32}$/);
    expect(b).not.toBe(a);
    expect(preparedName(`${PREPARED_MARK}with w0 as (insert into t values ($1)) select 1`)).toBe(a);
  });

  it('stops naming new texts past 256 of them, and keeps the names it gave', () => {
    const first = preparedName(`${PREPARED_MARK}select 'first'`);
    const names = new Set<string | undefined>();
    for (let i = 0; i < 300; i++) names.add(preparedName(`${PREPARED_MARK}select ${i}`));
    // Three texts were named above; 253 more fit, the rest go unnamed.
    expect([...names].filter((n) => n !== undefined)).toHaveLength(256 - 3);
    expect(names.has(undefined)).toBe(true);
    expect(preparedName(`${PREPARED_MARK}select 'first'`)).toBe(first);
    expect(preparedName(`${PREPARED_MARK}select 299`)).toBeUndefined();
  });
});
