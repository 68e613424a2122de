import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { startBridge, type Bridge } from '../bridge.js';
import { ChannelRegistry } from '../channels/channel.js';
import { FREE_ATTEMPTS, loginDelayMs } from './sessions.js';
import { createTestDatabase, type TestDatabase } from '../../test/support/stores.js';

// The HQ cookie behind a TLS-terminating proxy that the bridge is not told to trust: the
// request reaches us over plain http, but the browser is on https, so the cookie must be Secure.

describe('HQ login and session cookie', () => {
  const open: Array<{ bridge: Bridge; db: TestDatabase; files: string }> = [];
  afterEach(async () => {
    for (const o of open.splice(0)) {
      await o.bridge.close();
      await o.db.drop();
      rmSync(o.files, { recursive: true, force: true });
    }
  });

  const loginCookie = async (publicBaseUrl: string | undefined): Promise<string> => {
    const db = await createTestDatabase('sqlite');
    const files = mkdtempSync(join(tmpdir(), 'kauri-hq-cookie-'));
    const bridge = await startBridge({
      dbUrl: db.url,
      port: 0,
      secretKey: 'hq-cookie-secret-key-0123456789abcdef',
      filesDir: files,
      log: pino({ level: 'silent' }),
      channels: new ChannelRegistry(),
      fx: { pullAtStart: false },
      runJobs: false,
      ...(publicBaseUrl ? { publicBaseUrl } : {}),
    });
    open.push({ bridge, db, files });
    await bridge.accounts.createUser({ username: 'aroha', password: 'correct horse battery', role: 'hq_admin' });
    const res = await fetch(`${bridge.url}/hq/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'aroha', password: 'correct horse battery' }),
    });
    expect(res.status).toBe(200);
    return res.headers.get('set-cookie') ?? '';
  };

  it('is Secure when the public URL is https, though the request came over http', async () => {
    const cookie = await loginCookie('https://pay.example.co.nz');
    expect(cookie).toMatch(/^kauri_hq=/);
    expect(cookie).toMatch(/;\s*Secure(;|$)/);
    expect(cookie).toMatch(/HttpOnly/);
  });

  it('a burst of bad logins from one client leaves the real user, from another, logging in at once', async () => {
    const db = await createTestDatabase('sqlite');
    const files = mkdtempSync(join(tmpdir(), 'kauri-hq-burst-'));
    // Behind a trusted proxy, so each request can name its client in X-Forwarded-For.
    const bridge = await startBridge({
      dbUrl: db.url,
      port: 0,
      secretKey: 'hq-cookie-secret-key-0123456789abcdef',
      filesDir: files,
      log: pino({ level: 'silent' }),
      channels: new ChannelRegistry(),
      fx: { pullAtStart: false },
      runJobs: false,
      trustProxy: '127.0.0.1',
    });
    open.push({ bridge, db, files });
    await bridge.accounts.createUser({ username: 'aroha', password: 'correct horse battery', role: 'hq_admin' });
    const login = (from: string, password: string) =>
      fetch(`${bridge.url}/hq/api/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': from },
        body: JSON.stringify({ username: 'aroha', password }),
      });
    const started = Date.now();
    const burst = await Promise.all(Array.from({ length: 15 }, (_, i) => login('203.0.113.66', `guess-${i}`)));
    const elapsed = Date.now() - started;
    // The free guesses and the one that starts the delays reach the password check; after
    // that only a guess arriving once a delay (1 s, 2 s…) has run out, while the burst lasts.
    let allowed = FREE_ATTEMPTS + 1;
    for (let waited = 0, n = allowed; waited + loginDelayMs(n) <= elapsed; n++, allowed++) waited += loginDelayMs(n);
    const codes = burst.map((r) => r.status).sort();
    expect(codes.filter((c) => c === 401).length).toBeLessThanOrEqual(allowed);
    expect(codes.filter((c) => c === 429).length).toBeGreaterThanOrEqual(15 - allowed);
    const held = burst.find((r) => r.status === 429)!;
    expect(Number(held.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(((await held.json()) as { error: { code: string } }).error.code).toBe('too_many_logins');
    const real = await login('198.51.100.7', 'correct horse battery');
    expect(real.status).toBe(200);
    expect(real.headers.get('set-cookie')).toMatch(/^kauri_hq=/);
  });

  it('is not Secure on a plain-http bridge (a browser would drop it)', async () => {
    const cookie = await loginCookie(undefined);
    expect(cookie).toMatch(/^kauri_hq=/);
    expect(cookie).not.toMatch(/Secure/);
  });
});
