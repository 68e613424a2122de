import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { makeStateDir } from './state.js';
import { join } from 'node:path';
import forge from 'node-forge';

// Certificates for a simulator's `--tls`: a CA of its own, a server certificate for
// 127.0.0.1/localhost signed by it, and client certificates (PEM + PKCS#12) such as
// WeChat's `apiclient_cert.p12`. Generated once into the state folder and reused, so a
// restarted simulator keeps the certificates its clients were configured with.
// Keys come from Node's native RSA (fast); node-forge builds the X.509 and PKCS#12.

export interface CaFiles {
  caPem: string;
  caKeyPem: string;
}

export interface ServerTls {
  caPem: string;
  certPem: string;
  keyPem: string;
}

export interface ClientCertificateFiles {
  certPem: string;
  keyPem: string;
  p12: Buffer;
  p12Path: string;
  certPath: string;
  keyPath: string;
}

function writeAtomic(path: string, content: string | Buffer, mode = 0o644): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, content, { mode });
  renameSync(tmp, path);
}

function rsaKey(): forge.pki.rsa.PrivateKey {
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  return forge.pki.privateKeyFromPem(privateKey) as forge.pki.rsa.PrivateKey;
}

function serial(): string {
  // Positive, 16 bytes: the top bit cleared so DER does not read it as negative.
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f;
  return b.toString('hex');
}

function newCert(
  subject: forge.pki.CertificateField[],
  publicKey: forge.pki.PublicKey,
  years: number,
): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = serial();
  cert.validity.notBefore = new Date(Date.now() - 24 * 3600_000);
  cert.validity.notAfter = new Date(Date.now() + years * 365 * 24 * 3600_000);
  cert.setSubject(subject);
  return cert;
}

/** The simulator's CA (ca.pem, ca-key.pem), created on first use. */
export function ensureCa(dir: string, name: string): CaFiles {
  makeStateDir(dir);
  const caPath = join(dir, 'ca.pem');
  const keyPath = join(dir, 'ca-key.pem');
  if (existsSync(caPath) && existsSync(keyPath)) {
    return { caPem: readFileSync(caPath, 'utf8'), caKeyPem: readFileSync(keyPath, 'utf8') };
  }
  const key = rsaKey();
  const subject = [
    { name: 'commonName', value: `Kauri ${name} simulator CA` },
    { name: 'organizationName', value: 'Kauri simulators' },
  ];
  const cert = newCert(subject, forge.pki.setRsaPublicKey(key.n, key.e), 20);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(key, forge.md.sha256.create());
  const caPem = forge.pki.certificateToPem(cert);
  const caKeyPem = forge.pki.privateKeyToPem(key);
  writeAtomic(keyPath, caKeyPem, 0o600);
  writeAtomic(caPath, caPem);
  return { caPem, caKeyPem };
}

function issue(
  ca: CaFiles,
  subject: forge.pki.CertificateField[],
  extensions: object[],
): { certPem: string; keyPem: string; key: forge.pki.rsa.PrivateKey; cert: forge.pki.Certificate } {
  const caCert = forge.pki.certificateFromPem(ca.caPem);
  const caKey = forge.pki.privateKeyFromPem(ca.caKeyPem);
  const key = rsaKey();
  const cert = newCert(subject, forge.pki.setRsaPublicKey(key.n, key.e), 10);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([{ name: 'basicConstraints', cA: false }, ...extensions]);
  cert.sign(caKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: forge.pki.privateKeyToPem(key), key, cert };
}

/** server-cert.pem / server-key.pem for 127.0.0.1 and localhost, plus the CA that signed them. */
export function ensureServerTls(dir: string, name: string): ServerTls {
  const ca = ensureCa(dir, name);
  const certPath = join(dir, 'server-cert.pem');
  const keyPath = join(dir, 'server-key.pem');
  if (existsSync(certPath) && existsSync(keyPath)) {
    return { caPem: ca.caPem, certPem: readFileSync(certPath, 'utf8'), keyPem: readFileSync(keyPath, 'utf8') };
  }
  const { certPem, keyPem } = issue(
    ca,
    [{ name: 'commonName', value: `${name} simulator` }],
    [
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
          { type: 2, value: 'localhost' },
        ],
      },
    ],
  );
  writeAtomic(keyPath, keyPem, 0o600);
  writeAtomic(certPath, certPem);
  return { caPem: ca.caPem, certPem, keyPem };
}

/**
 * A client certificate signed by the simulator's CA, written as `<base>_cert.pem`,
 * `<base>_key.pem` and `<base>_cert.p12` (PKCS#12 holding key, certificate and CA,
 * protected by `passphrase`) into `dir`.
 */
export function ensureClientCertificate(
  caDir: string,
  name: string,
  dir: string,
  opts: { base: string; commonName: string; organizationalUnit?: string; passphrase: string },
): ClientCertificateFiles {
  const ca = ensureCa(caDir, name);
  makeStateDir(dir);
  const certPath = join(dir, `${opts.base}_cert.pem`);
  const keyPath = join(dir, `${opts.base}_key.pem`);
  const p12Path = join(dir, `${opts.base}_cert.p12`);
  if (existsSync(certPath) && existsSync(keyPath) && existsSync(p12Path)) {
    return {
      certPem: readFileSync(certPath, 'utf8'),
      keyPem: readFileSync(keyPath, 'utf8'),
      p12: readFileSync(p12Path),
      p12Path,
      certPath,
      keyPath,
    };
  }
  const subject: forge.pki.CertificateField[] = [{ name: 'commonName', value: opts.commonName }];
  if (opts.organizationalUnit) subject.push({ name: 'organizationalUnitName', value: opts.organizationalUnit });
  const { certPem, keyPem, key, cert } = issue(ca, subject, [
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', clientAuth: true },
  ]);
  const asn1 = forge.pkcs12.toPkcs12Asn1(key, [cert, forge.pki.certificateFromPem(ca.caPem)], opts.passphrase, {
    algorithm: '3des',
    friendlyName: opts.commonName,
  });
  const p12 = Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary');
  writeAtomic(keyPath, keyPem, 0o600);
  writeAtomic(certPath, certPem);
  writeAtomic(p12Path, p12, 0o600);
  return { certPem, keyPem, p12, p12Path, certPath, keyPath };
}
