import { describe, it, expect } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../bin/kauri', import.meta.url));
const env = { ...process.env, KAURI_FROM_SOURCE: '1' };

function help(args: string[]): string {
  return execFileSync(process.execPath, [bin, ...args, '--help'], { env, encoding: 'utf8' });
}

describe('kauri --help', () => {
  it('lists the commands, and every command has its own help', { timeout: 180_000 }, () => {
    const top = help([]);
    const commands = [...top.matchAll(/^ {2}([a-z-]+)(?: \[options\]| <|\s)/gm)]
      .map((m) => m[1]!)
      .filter((c) => c !== 'help');
    expect(commands).toEqual(expect.arrayContaining(['start', 'bridge', 'admin', 'sim']));
    for (const c of commands) expect(help([c])).toMatch(new RegExp(`Usage: kauri ${c}`));
    expect(help(['admin', 'merchant', 'create'])).toContain('--name');
  });

  it('exits non-zero with a one-line reason for unknown commands and bad options', { timeout: 60_000 }, () => {
    const r = spawnSync(process.execPath, [bin, 'frobnicate'], { env, encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/unknown command/);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1); // the reason and the hint on one line
    const missing = spawnSync(process.execPath, [bin, 'sticker'], { env, encoding: 'utf8' });
    expect(missing.status).not.toBe(0);
    expect(missing.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(/required option '--store/)]);
    const p = spawnSync(process.execPath, [bin, 'bridge', '--port', 'nine'], { env, encoding: 'utf8' });
    expect(p.status).not.toBe(0);
    expect(p.stderr).toMatch(/port/);
  });
});
