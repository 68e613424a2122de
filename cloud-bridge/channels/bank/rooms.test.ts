import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// The bank channel has the rooms every channel has, and is a wire client only: nothing in
// it reads the bridge's store (the bridge passes in what a page needs).

const here = import.meta.dirname;

describe('bank channel layout', () => {
  it('has channel.ts, outcomes.ts, config.ts, sign.ts and README.md', () => {
    for (const f of ['channel.ts', 'outcomes.ts', 'config.ts', 'sign.ts', 'README.md'])
      expect(existsSync(join(here, f)), f).toBe(true);
  });
  it('imports nothing from the store', () => {
    const offenders = readdirSync(here)
      .filter((f) => f.endsWith('.ts'))
      .filter((f) => /from\s+['"][./]*\/store\//.test(readFileSync(join(here, f), 'utf8')));
    expect(offenders).toEqual([]);
  });
});
