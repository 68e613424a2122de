import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { COUNT_MASK, HIGH_BIT, splitBacktickFields, splitBacktickFieldsWords } from './fields.js';

describe('splitBacktickFields, byte and word versions', () => {
  it('agree on any row, at any alignment', () => {
    const field = fc.stringMatching(/^[a-z0-9,`. 中]{0,9}$/);
    fc.assert(
      fc.property(fc.array(field, { minLength: 1, maxLength: 12 }), fc.nat(7), (fields, pad) => {
        const row = new TextEncoder().encode(`${' '.repeat(pad)}\`${fields.join(',`')}`);
        const ab = new ArrayBuffer(row.length + 8);
        const buf = new Uint8Array(ab, 0, row.length);
        buf.set(row);
        const u32 = new Uint32Array(ab, 0, ab.byteLength >> 2);
        const n = 40;
        const [S1, E1, S2, E2] = [
          new Int32Array(n + 1),
          new Int32Array(n + 1),
          new Int32Array(n + 1),
          new Int32Array(n + 1),
        ];
        const a = splitBacktickFields(buf, pad, buf.length, S1, E1, n);
        const b = splitBacktickFieldsWords(buf, u32, pad, buf.length, S2, E2, n);
        expect(b).toBe(a);
        const count = a & COUNT_MASK;
        expect([...S2.subarray(0, count)]).toEqual([...S1.subarray(0, count)]);
        expect([...E2.subarray(0, count)]).toEqual([...E1.subarray(0, count)]);
        expect((a & HIGH_BIT) !== 0).toBe(/中/.test(fields.join('')));
      }),
      { numRuns: 2000 },
    );
  });
});
