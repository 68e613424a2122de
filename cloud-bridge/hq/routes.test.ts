import { afterEach, describe, expect, it } from 'vitest';
import { FREE_ATTEMPTS, loginDelayMs } from './sessions.js';
import { openHq, type HqTest } from '../../test/support/hq-routes.js';

// The HQ cookie behind a TLS-terminating proxy that the bridge is not told to trust: the
// request reaches us over plain http, but the browser is on https, so the cookie must be Secure.

describe('HQ login and session cookie', () => {
  const open: HqTest[] = [];
  afterEach(async () => {
    for (const o of open.splice(0)) await o.close();
  });

  const loginCookie = async (publicBaseUrl: string | undefined): Promise<string> => {
    const hq = await openHq('sqlite', publicBaseUrl ? { publicBaseUrl } : {});
    open.push(hq);
    const bridge = hq.bridge;
    await hq.users([{ username: 'aroha', password: 'correct horse battery', role: 'hq_admin' }]);
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
    // Behind a trusted proxy, so each request can name its client in X-Forwarded-For.
    const hq = await openHq('sqlite', { trustProxy: '127.0.0.1' });
    open.push(hq);
    const bridge = hq.bridge;
    await hq.users([{ username: 'aroha', password: 'correct horse battery', role: 'hq_admin' }]);
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
