import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { createServer } from 'node:net';
import { kauriBin, repoRoot, spawnKauri } from '../support/processes.js';

// `kauri sim bank` as a command: help, argument errors, a clean start on a free port.

const run = (args: string[]) =>
  spawnSync(process.execPath, [kauriBin, ...args], {
    cwd: repoRoot,
    env: { ...process.env, KAURI_FROM_SOURCE: '1' },
    encoding: 'utf8',
    timeout: 60_000,
  });

describe('kauri sim bank', () => {
  it('has --help', () => {
    const r = run(['sim', 'bank', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/--port/);
    expect(r.stdout).toMatch(/--state/);
  });
  it('refuses bad arguments with a one-line reason', () => {
    for (const args of [
      ['--port', '70000'],
      ['--merchant', 'v_mid=abc'],
    ]) {
      const r = run(['sim', 'bank', ...args]);
      expect(r.status, args.join(' ')).not.toBe(0);
      expect(r.stderr.trim().split('\n')[0]).toMatch(/^error: .*(port|v_mid)/);
    }
  });
  it('starts on a free port, prints its URL, serves the rate and stops on SIGTERM', async () => {
    const p = await spawnKauri(['sim', 'bank', '--port', '0'], {
      ready: /^bank simulator listening on (http:\/\/127\.0\.0\.1:\d+)$/m,
      timeoutMs: 60_000,
    });
    const rate = await (await fetch(`${p.ready}/rate?currency=NZD`)).json();
    expect(rate).toMatchObject({ currency: 'NZD', cny_per_unit: '4.2350' });
    expect(await p.stop()).toBe(0);
  });
  it('says so when the port is taken', async () => {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    try {
      const r = run(['sim', 'bank', '--port', String(port)]);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/EADDRINUSE/);
    } finally {
      srv.close();
    }
  });
});
