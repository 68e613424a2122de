import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { KauriError } from '../../protocol/errors.js';
import { checkDestination, isPublicAddress, pinnedAgent, shortCause, type Resolver } from './destination.js';

// Where a webhook may go. Every name here is resolved by an injected resolver: no test sends
// traffic to a private-range address; loopback is the only address ever connected to.

const fakeDns = (table: Record<string, string[]>): Resolver & { asked: string[] } => {
  const asked: string[] = [];
  const r = async (host: string) => {
    asked.push(host);
    const list = table[host];
    if (!list) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return list.map((address) => ({ address, family: (address.includes(':') ? 6 : 4) as 4 | 6 }));
  };
  return Object.assign(r, { asked });
};

const refusedCode = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
    return 'accepted';
  } catch (err) {
    return err instanceof KauriError ? `${err.code}: ${err.message}` : String(err);
  }
};

describe('webhook destinations', () => {
  it('refuses loopback, private, link-local, metadata, multicast and unspecified addresses, IPv4 and IPv6, mapped forms too', () => {
    for (const a of [
      '127.0.0.1',
      '127.1.2.3',
      '10.0.0.7',
      '172.16.0.1',
      '172.31.255.254',
      '192.168.1.10',
      '169.254.169.254',
      '100.100.100.200',
      '100.64.0.1',
      '0.0.0.0',
      '224.0.0.251',
      '255.255.255.255',
      '192.0.0.192',
      '198.18.0.1',
      '::1',
      '::',
      'fe80::1',
      'fc00::1',
      'fd00:ec2::254',
      'ff02::1',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '::ffff:10.0.0.7',
      '::ffff:169.254.169.254',
      // IPv4-compatible (::/96), in both spellings: ipaddr.js knows only the dotted one.
      '::127.0.0.1',
      '::7f00:1',
      '::a9fe:a9fe',
      '::a00:7',
      '::808:808',
      '64:ff9b::a9fe:a9fe',
      '2002:a9fe:a9fe::1',
      '2001::1',
    ])
      expect(isPublicAddress(a), a).toBe(false);
    for (const a of ['8.8.8.8', '172.32.0.1', '203.97.78.44', '2606:4700:4700::1111', '2404:6800:4006:80a::200e'])
      expect(isPublicAddress(a), a).toBe(true);
    expect(isPublicAddress('not-an-ip')).toBe(false);
  });

  it('resolves at delivery time and refuses a name with any private answer; a public one is pinned', async () => {
    const dns = fakeDns({
      'hooks.shop.example': ['203.97.78.44'],
      'intranet.shop.example': ['10.0.0.7'],
      'loop.shop.example': ['127.0.0.1'],
      'mixed.shop.example': ['203.97.78.44', '192.168.1.10'],
      'v6local.shop.example': ['::ffff:169.254.169.254'],
      'v6compat.shop.example': ['::a9fe:a9fe'],
    });
    expect(await checkDestination(new URL('https://hooks.shop.example/k'), false, dns)).toEqual({
      address: '203.97.78.44',
      family: 4,
    });
    for (const host of ['intranet', 'loop', 'mixed', 'v6local', 'v6compat']) {
      const why = await refusedCode(checkDestination(new URL(`https://${host}.shop.example/k`), false, dns));
      expect(why).toMatch(
        /^webhook_url_refused: .* resolves to a private, loopback or link-local address: use a public https URL, or ask the operator/,
      );
      expect(why).not.toMatch(/10\.0\.0\.7|127\.0\.0\.1|192\.168/); // the merchant learns nothing of our network
    }
    expect(await refusedCode(checkDestination(new URL('https://gone.shop.example/k'), false, dns))).toMatch(
      /^webhook_url_refused: the host name gone\.shop\.example was not found/,
    );
    expect(dns.asked).toContain('intranet.shop.example');
  });

  it('requires https and refuses literal private addresses without asking DNS; a merchant allowed private webhooks may use them', async () => {
    const dns = fakeDns({ 'intranet.shop.example': ['10.0.0.7'] });
    expect(await refusedCode(checkDestination(new URL('http://hooks.shop.example/k'), false, dns))).toMatch(
      /^webhook_url_refused: webhook URLs must be https/,
    );
    for (const u of [
      'https://127.0.0.1/k',
      'https://[::1]/k',
      'https://[::ffff:a9fe:a9fe]/k',
      'https://[::127.0.0.1]/k',
      'https://[::a9fe:a9fe]/k',
      'https://localhost/k',
    ]) {
      expect(await refusedCode(checkDestination(new URL(u), false, dns)), u).toMatch(/^webhook_url_refused:/);
    }
    expect(dns.asked).toEqual([]);
    expect(await checkDestination(new URL('http://intranet.shop.example/k'), true, dns)).toEqual({
      address: '10.0.0.7',
      family: 4,
    });
    expect(await checkDestination(new URL('http://127.0.0.1:9/k'), true, dns)).toEqual({
      address: '127.0.0.1',
      family: 4,
    });
  });

  describe('pinning', () => {
    let server: Server;
    let port = 0;
    const hosts: string[] = [];
    beforeAll(async () => {
      server = createServer((req, res) => {
        hosts.push(String(req.headers.host));
        res.writeHead(204).end();
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      port = (server.address() as { port: number }).port;
    });
    afterAll(async () => {
      await new Promise((r) => server.close(r));
    });

    it('connects to the checked address, never looking the name up again (no DNS rebinding)', async () => {
      // "rebind.kauri.test" exists in no DNS: the request can only arrive if the connection
      // used the address we checked, and the Host header still names the URL's host.
      const agent = pinnedAgent({ address: '127.0.0.1', family: 4 }, 5_000);
      try {
        const res = await request(`http://rebind.kauri.test:${port}/hook`, {
          method: 'POST',
          body: '{}',
          dispatcher: agent,
        });
        expect(res.statusCode).toBe(204);
        await res.body.dump();
      } finally {
        await agent.close();
      }
      expect(hosts).toEqual([`rebind.kauri.test:${port}`]);
    });

    it('tells the merchant a short cause, not the socket error', async () => {
      const agent = pinnedAgent({ address: '127.0.0.1', family: 4 }, 5_000);
      const closed = createServer();
      await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
      const dead = (closed.address() as { port: number }).port;
      await new Promise((r) => closed.close(r));
      let cause = '';
      try {
        await request(`http://hooks.shop.example:${dead}/hook`, { method: 'POST', body: '{}', dispatcher: agent });
      } catch (err) {
        cause = shortCause(err);
      } finally {
        await agent.close();
      }
      expect(cause).toBe('connection refused');
    });
  });
});
