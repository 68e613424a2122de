import { describe, it, expect } from 'vitest';
import { createSecureContext } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureClientCertificate, ensureServerTls } from './tls.js';

describe('simulator certificates', () => {
  it('issues a server certificate for 127.0.0.1 and a PKCS#12 client certificate Node can load', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kauri-tls-'));
    const server = ensureServerTls(dir, 'test');
    const ca = new X509Certificate(server.caPem);
    const cert = new X509Certificate(server.certPem);
    expect(cert.verify(ca.publicKey)).toBe(true);
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(cert.checkHost('localhost')).toBe('localhost');

    const client = ensureClientCertificate(dir, 'test', dir, {
      base: 'apiclient',
      commonName: '10000100',
      passphrase: '10000100',
    });
    const c = new X509Certificate(client.certPem);
    expect(c.verify(ca.publicKey)).toBe(true);
    expect(c.subject).toContain('CN=10000100');
    expect(() => createSecureContext({ pfx: client.p12, passphrase: '10000100' })).not.toThrow();
    expect(() => createSecureContext({ pfx: client.p12, passphrase: 'wrong' })).toThrow();

    // A second call reuses what is on disk.
    expect(ensureServerTls(dir, 'test').certPem).toBe(server.certPem);
    expect(
      ensureClientCertificate(dir, 'test', dir, { base: 'apiclient', commonName: '10000100', passphrase: '10000100' })
        .certPem,
    ).toBe(client.certPem);
  });
});
