import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// Every channel has the same rooms (calls, pure outcome mapping, configuration, signing and
// its README), and channels are wire clients only: nothing under channels/ reads the
// bridge's store; the bridge records messages and passes in what a page needs.

const here = import.meta.dirname;
const CHANNELS = ['wechat', 'alipay', 'bank'];
const ROOMS = ['channel.ts', 'outcomes.ts', 'outcomes.test.ts', 'config.ts', 'sign.ts', 'sign.test.ts', 'README.md'];

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return tsFiles(p);
    return f.endsWith('.ts') ? [p] : [];
  });
}

describe('channel folders', () => {
  for (const channel of CHANNELS) {
    it(`${channel} has ${ROOMS.join(', ')}`, () => {
      const missing = ROOMS.filter((f) => !existsSync(join(here, channel, f)));
      expect(missing).toEqual([]);
    });
  }

  it('nothing under channels/ imports the store', () => {
    const offenders = tsFiles(here)
      .filter((p) => !p.endsWith('.test.ts'))
      .filter((p) => /from\s+['"](\.\.?\/)+store\//.test(readFileSync(p, 'utf8')));
    expect(offenders).toEqual([]);
  });

  it('the store check catches an import of the store', () => {
    expect(/from\s+['"](\.\.?\/)+store\//.test("import { nowIso } from '../store/db.js';")).toBe(true);
  });
});
