import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { spawnKauri, freePort } from '../support/processes.js';

function kauriPids(marker: string): string[] {
  const out = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.includes(marker) && !l.includes('ps -eo')).map((l) => l.trim().split(/\s+/)[0]!);
}

describe('kauri start', () => {
  it('runs the system, writes endpoints.json, answers the merchant API, and leaves no process behind', async () => {
    const data = mkdtempSync(join(tmpdir(), 'kauri-start-'));
    // a port base with room for +0…+10
    let base = await freePort();
    if (base > 60_000) base = 40_000 + (base % 10_000);
    const kauri = await spawnKauri(['start', '--data', data, '--port-base', String(base)], { ready: /Press Ctrl-C to stop/, timeoutMs: 60_000 });
    const endpoints = JSON.parse(readFileSync(join(data, 'endpoints.json'), 'utf8'));
    expect(endpoints.bridge).toBe(`http://127.0.0.1:${base}`);
    expect(endpoints.sims.wechat).toBe(`https://127.0.0.1:${base + 1}`);
    expect(endpoints.demo).toMatchObject({ merchantId: 'mch_demo', storeCode: expect.any(String), hqUser: 'hq' });
    expect(kauri.stdout()).toContain(endpoints.demo.apiKey);

    const health = await fetch(`${endpoints.bridge}/healthz`);
    expect(health.status).toBe(200);
    const missing = await fetch(`${endpoints.bridge}/api/v1/payments/nothing-here`, { headers: { authorization: `Bearer ${endpoints.demo.apiKey}` } });
    expect(missing.status).toBe(404);
    expect((await missing.json()).error.code).toBe('order_not_found');

    expect(kauriPids(data).length).toBeGreaterThanOrEqual(2);
    expect(await kauri.stop('SIGTERM')).toBe(0);
    await new Promise((r) => setTimeout(r, 500));
    expect(kauriPids(data)).toEqual([]);
  });

  it('refuses bad arguments with a one-line reason', async () => {
    const k = await spawnKauri(['start', '--port-base', 'abc']);
    expect(await new Promise((r) => k.proc.once('exit', r))).not.toBe(0);
    expect(k.stderr()).toMatch(/port base/);
    expect(existsSync(join(process.cwd(), 'data', 'endpoints.json.tmp'))).toBe(false);
  });
});
