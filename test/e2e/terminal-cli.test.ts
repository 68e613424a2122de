import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, expect } from 'vitest';
import { runKauri as run } from '../support/processes.js';

// `kauri terminal` refuses what it cannot run with a one-line reason and leaves nothing behind.

describe('kauri terminal (arguments)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kauri-terminal-cli-'));

  it('explains itself with --help', async () => {
    const r = await run(['terminal', '--help']);
    expect(r.code).toBe(0);
    for (const flag of [
      '--bridge',
      '--data',
      '--pair',
      '--headless',
      '--ui-port',
      '--printer',
      '--display',
      '--scanner',
    ])
      expect(r.stdout).toContain(flag);
  });

  it('refuses a bridge URL that is not ws(s), a bad device SPEC, an unpaired data folder, and an unknown pairing code', async () => {
    const cases: Array<[string[], RegExp, NodeJS.ProcessEnv?]> = [
      [['terminal', '--data', join(dir, 'a'), '--bridge', 'http://127.0.0.1:1', '--headless'], /ws:\/\/ or wss:\/\//],
      [['terminal', '--data', join(dir, 'b'), '--printer', 'bogus:', '--headless'], /--printer/],
      // Saying how to pair without putting the code where ps shows it.
      [
        ['terminal', '--data', join(dir, 'c'), '--headless'],
        /not paired: pair it once with KAURI_PAIRING_CODE=CODE .*--pair -/,
      ],
      [
        ['terminal', '--data', join(dir, 'd'), '--bridge', 'ws://127.0.0.1:1/terminal', '--headless'],
        /Cannot reach the bridge/,
        { KAURI_PAIRING_CODE: 'ABCDE-FGHJK' },
      ],
    ];
    for (const [args, reason, env] of cases) {
      const r = await run(args, { env });
      expect(r.code).not.toBe(0);
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(reason);
    }
    for (const d of ['a', 'b', 'c', 'd']) expect(existsSync(join(dir, d, 'terminal.db'))).toBe(false);
    rmSync(dir, { recursive: true, force: true });
  });
});
