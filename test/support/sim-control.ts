import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, request } from 'undici';

// A running channel simulator seen from a test: its /sim/ control API (the WeChat one over
// TLS with its own CA, read from its state folder).

export interface Sim {
  readonly name: 'wechat' | 'alipay' | 'bank';
  readonly url: string;
  readonly stateDir: string;
  control<T = any>(path: string, body?: unknown): Promise<{ status: number; body: T }>;
  get<T = any>(path: string): Promise<T>;
  stop(): Promise<void>;
}

export function simControl(name: Sim['name'], url: string, stateDir: string): Sim {
  const ca = join(stateDir, 'ca.pem');
  const agent =
    name === 'wechat' && existsSync(ca) ? new Agent({ connect: { ca: readFileSync(ca, 'utf8') } }) : undefined;
  return {
    name,
    url,
    stateDir,
    async control(path, body) {
      const res = await request(url + path, {
        method: 'POST',
        body: JSON.stringify(body ?? {}),
        headers: { 'content-type': 'application/json' },
        ...(agent ? { dispatcher: agent } : {}),
      });
      const text = await res.body.text();
      return { status: res.statusCode, body: text ? JSON.parse(text) : undefined };
    },
    async get(path) {
      const res = await request(url + path, agent ? { dispatcher: agent } : {});
      return res.body.json() as any;
    },
    async stop() {
      await agent?.close();
    },
  };
}
