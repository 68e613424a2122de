import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

// Runs `kauri sim wechat` as a real process and talks to it over the wire with a
// deliberately small, separate client (signing and XML written here again, not
// imported from the simulator), so these tests check the protocol rather than agree
// with themselves.

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const MERCHANT = { appid: 'wx2421b1c4370ec43b', mch_id: '10000100', key: '192006250b4c09247ec02edce69f6a2d' };

export interface RunningSim {
  url: string;
  proc: ChildProcess;
  stderr: () => string;
  stop(): Promise<number | null>;
}

export async function startSim(args: string[], env: Record<string, string> = {}): Promise<RunningSim> {
  const proc = spawn(process.execPath, [join(root, 'bin', 'kauri'), 'sim', 'wechat', ...args], {
    cwd: root,
    env: { ...process.env, KAURI_FROM_SOURCE: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stderr!.on('data', (c) => (err += c));
  const url = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`simulator did not start in time:\n${err}`)), 60_000);
    proc.stdout!.on('data', (c) => {
      out += c;
      const m = /wechat simulator listening on (\S+)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(m[1]!);
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`simulator exited (${code}):\n${err}`));
    });
  });
  return {
    url,
    proc,
    stderr: () => err,
    stop: () =>
      new Promise((resolve) => {
        if (proc.exitCode !== null) return resolve(proc.exitCode);
        proc.once('exit', (code) => resolve(code));
        proc.kill('SIGTERM');
      }),
  };
}

export function signFields(f: Record<string, string>, key: string, type: 'MD5' | 'HMAC-SHA256' = 'MD5'): string {
  const s =
    Object.keys(f)
      .filter((k) => k !== 'sign' && f[k] !== '')
      .sort()
      .map((k) => `${k}=${f[k]}`)
      .join('&') + `&key=${key}`;
  return (type === 'MD5' ? createHash('md5').update(s) : createHmac('sha256', key).update(s))
    .digest('hex')
    .toUpperCase();
}

export function toXml(f: Record<string, string>): string {
  return `<xml>${Object.entries(f)
    .map(([k, v]) => `<${k}><![CDATA[${v}]]></${k}>`)
    .join('')}</xml>`;
}

/** A flat <xml> reply as fields (enough for WeChat's replies; not a general parser). */
export function fromXml(xml: string): Record<string, string> {
  const out: Record<string, string> = {};
  const body = /^\s*<xml>([\s\S]*)<\/xml>\s*$/.exec(xml);
  if (!body) throw new Error(`not a WeChat XML reply: ${xml.slice(0, 200)}`);
  for (const m of body[1]!.matchAll(/<([A-Za-z_0-9]+)>(?:<!\[CDATA\[([\s\S]*?)\]\]>|([^<]*))<\/\1>/g)) {
    out[m[1]!] = m[2] ?? m[3] ?? '';
  }
  return out;
}

export interface TlsClient {
  ca?: string | Buffer;
  pfx?: Buffer;
  passphrase?: string;
}

export function rawPost(
  url: string,
  body: string | Buffer,
  tls: TlsClient = {},
  headers: Record<string, string> = {},
  method = 'POST',
): Promise<{ status: number; text: string; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(
      u,
      {
        method,
        headers: { 'content-length': String(Buffer.byteLength(body)), ...headers },
        ...(u.protocol === 'https:' ? { ...tls, agent: false } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode!, text: Buffer.concat(chunks).toString('utf8'), headers: res.headers }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Signs and posts a v2 call; returns the reply fields. */
export async function call(
  base: string,
  path: string,
  fields: Record<string, string>,
  opts: { tls?: TlsClient; signType?: 'MD5' | 'HMAC-SHA256'; key?: string; nonce?: boolean } = {},
): Promise<Record<string, string>> {
  const f: Record<string, string> = { ...fields };
  if (opts.nonce !== false && !f.nonce_str) f.nonce_str = randomBytes(8).toString('hex');
  if (opts.signType && opts.signType !== 'MD5') f.sign_type = opts.signType;
  f.sign = signFields(f, opts.key ?? MERCHANT.key, opts.signType ?? 'MD5');
  const res = await rawPost(`${base}${path}`, toXml(f), opts.tls);
  if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${res.text}`);
  return fromXml(res.text);
}

export async function simJson(
  base: string,
  path: string,
  body?: unknown,
  tls: TlsClient = {},
): Promise<{ status: number; json: any }> {
  const res = await rawPost(
    `${base}${path}`,
    body === undefined ? '' : JSON.stringify(body),
    tls,
    { 'content-type': 'application/json' },
    body === undefined ? 'GET' : 'POST',
  );
  return { status: res.status, json: JSON.parse(res.text) };
}

export function readCa(stateDir: string): string {
  return readFileSync(join(stateDir, 'ca.pem'), 'utf8');
}
