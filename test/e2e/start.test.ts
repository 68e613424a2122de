import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import { spawnKauri, portBase, kauriBin, repoRoot } from '../support/processes.js';

function kauriPids(marker: string): string[] {
  const out = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((l) => l.includes(marker) && !l.includes('ps -eo'))
    .map((l) => l.trim().split(/\s+/)[0]!);
}

describe('kauri start', () => {
  it('runs the system, writes endpoints.json, answers the merchant API, and leaves no process behind', async () => {
    const data = mkdtempSync(join(tmpdir(), 'kauri-start-'));
    const base = await portBase();
    const kauri = await spawnKauri(['start', '--data', data, '--port-base', String(base)], {
      ready: /Press Ctrl-C to stop/,
      timeoutMs: 60_000,
    });
    const endpoints = JSON.parse(readFileSync(join(data, 'endpoints.json'), 'utf8'));
    expect(endpoints.bridge).toBe(`http://127.0.0.1:${base}`);
    expect(endpoints.sims.wechat).toBe(`https://127.0.0.1:${base + 1}`);
    expect(endpoints.demo).toMatchObject({ merchantId: 'mch_demo', storeCode: expect.any(String), hqUser: 'hq' });
    expect(kauri.stdout()).toContain(endpoints.demo.apiKey);
    // The files holding secrets are this user's only, and the counter was
    // paired without its code on a command line (ps shows every user's).
    for (const f of [
      'endpoints.json',
      'demo-secrets.json',
      'secret.key',
      'bridge.db',
      'bridge.db-wal',
      join('terminal', 'terminal.db'),
    ]) {
      expect(statSync(join(data, f)).mode & 0o777, f).toBe(0o600);
    }
    expect(statSync(join(data, 'terminal')).mode & 0o777).toBe(0o700);
    const commandLines = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.includes(data));
    expect(commandLines.some((l) => l.includes(' terminal '))).toBe(true);
    expect(commandLines.join('\n')).not.toContain('--pair');

    const health = await fetch(`${endpoints.bridge}/healthz`);
    expect(health.status).toBe(200);
    const missing = await fetch(`${endpoints.bridge}/api/v1/payments/nothing-here`, {
      headers: { authorization: `Bearer ${endpoints.demo.apiKey}` },
    });
    expect(missing.status).toBe(404);
    expect((await missing.json()).error.code).toBe('order_not_found');

    expect(kauriPids(data).length).toBeGreaterThanOrEqual(2);
    expect(await kauri.stop('SIGTERM')).toBe(0);
    await new Promise((r) => setTimeout(r, 500));
    expect(kauriPids(data)).toEqual([]);
  });

  it('refuses bad arguments with a one-line reason', async () => {
    const k = await spawnKauri(['start', '--port-base', 'abc']);
    expect(await k.finished()).not.toBe(0);
    expect(k.stderr()).toMatch(/port base/);
    expect(existsSync(join(process.cwd(), 'data', 'endpoints.json.tmp'))).toBe(false);
  });

  it('takes its bridge down and brings it back when told so at its terminal', async () => {
    const data = mkdtempSync(join(tmpdir(), 'kauri-start-'));
    const base = await portBase();
    // `script` gives kauri start a terminal of its own, in whose foreground it runs, as in a shell.
    const proc = spawn(
      'script',
      ['-qfec', `'${process.execPath}' '${kauriBin}' start --data '${data}' --port-base ${base}`, '/dev/null'],
      {
        cwd: repoRoot,
        env: { ...process.env, KAURI_FROM_SOURCE: '1', KAURI_LOG_LEVEL: 'warn' },
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    let out = '';
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const exited = new Promise<number | null>((r) => proc.once('exit', r));
    const until = async (pattern: RegExp, ms = 60_000) => {
      const deadline = Date.now() + ms;
      while (!pattern.test(out)) {
        if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`no ${pattern} in:\n${out}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const healthy = () =>
      fetch(`http://127.0.0.1:${base}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
    try {
      await until(/Press Ctrl-C to stop/, 90_000);
      expect(await healthy()).toBe(true);
      proc.stdin.write('bridge stop\n');
      await until(/bridge stopped: the counter is offline/);
      expect(await healthy()).toBe(false);
      proc.stdin.write('what now\n');
      await until(/commands: "bridge stop", "bridge start"/);
      proc.stdin.write('bridge start\n');
      await until(/bridge running again at/);
      expect(await healthy()).toBe(true);
    } finally {
      proc.stdin.write('\x03'); // Ctrl-C at the terminal: everything stops
      const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    }
    await new Promise((r) => setTimeout(r, 500));
    expect(kauriPids(data)).toEqual([]);
  });
});
