import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import type { Bridge } from '../../cloud-bridge/bridge.js';
import { seedDemo } from '../../cloud-bridge/demo.js';
import { demoChannelAccounts } from '../../cloud-bridge/channels/index.js';
import { closeWechatAgents } from '../../cloud-bridge/channels/wechat/index.js';
import { spawnKauri, type KauriProcess } from '../support/processes.js';
import { startTestBridge } from '../support/bridges.js';
import { merchantApi, pollApi } from '../support/merchant-api.js';
import type { TestDatabase } from '../support/stores.js';

// Shared by the WeChat end-to-end tests: a real `kauri sim wechat --tls` process, and a
// bridge in this process whose demo merchant's WeChat account points at it.

export interface WechatSimProcess {
  readonly url: string;
  readonly stateDir: string;
  readonly ca: string;
  /** POST a /sim/ control call (JSON) over the simulator's HTTPS. */
  control<T = any>(path: string, body?: unknown): Promise<{ status: number; body: T }>;
  get<T = any>(path: string): Promise<T>;
  stop(): Promise<void>;
}

export async function startWechatSimProcess(
  env: NodeJS.ProcessEnv = {},
  args: string[] = [],
): Promise<WechatSimProcess> {
  const stateDir = mkdtempSync(join(tmpdir(), 'kauri-wechat-e2e-'));
  const proc: KauriProcess = await spawnKauri(['sim', 'wechat', '--port', '0', '--state', stateDir, '--tls', ...args], {
    ready: /listening on (\S+)/,
    env,
    timeoutMs: 60_000,
  });
  const ca = readFileSync(join(stateDir, 'ca.pem'), 'utf8');
  const agent = new Agent({ connect: { ca } });
  const url = proc.ready;
  return {
    url,
    stateDir,
    ca,
    async control(path, body) {
      const res = await request(url + path, {
        method: 'POST',
        body: JSON.stringify(body ?? {}),
        headers: { 'content-type': 'application/json' },
        dispatcher: agent,
      });
      return { status: res.statusCode, body: (await res.body.json()) as any };
    },
    async get(path) {
      const res = await request(url + path, { dispatcher: agent });
      return res.body.json() as any;
    },
    async stop() {
      await agent.close();
      await proc.stop();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

export interface BridgeUnderTest {
  readonly bridge: Bridge;
  readonly apiKey: string;
  readonly merchantId: string;
  readonly db: TestDatabase;
  api<T = any>(method: string, path: string, body?: unknown, key?: string): Promise<{ status: number; body: T }>;
  /** Polls GET /api/v1/payments/{no} until `until` holds (or fails after timeoutMs). */
  waitFor(outTradeNo: string, until: (p: any) => boolean, timeoutMs?: number, key?: string): Promise<any>;
  stop(): Promise<void>;
}

/** /metrics answers only with a bearer token (or on a separate listener): the tests use this one. */
export const METRICS_TOKEN = 'e2e-metrics-token';

export async function startBridgeForSim(
  sim: WechatSimProcess,
  kind: 'sqlite' | 'postgres',
  options: { timeScale?: number } = {},
): Promise<BridgeUnderTest> {
  const { bridge, db, cleanup } = await startTestBridge({
    kind,
    secretKey: 'e2e-wechat-secret-key-0123456789abcdef',
    timeScale: options.timeScale ?? 20,
    bridge: { metrics: { token: METRICS_TOKEN } },
  });
  const channelAccounts = (await demoChannelAccounts({ wechat: { url: sim.url, stateDir: sim.stateDir } })).filter(
    (a) => a.channel === 'wechat',
  );
  // Poll a scanned code every 2 s of protocol time (100 ms at 20×) rather than 5 s, so a
  // busy machine still fits several queries before the 40 s (2 s) deadline.
  for (const a of channelAccounts) a.config = { ...a.config, micropay: { pollEveryMs: 2_000, giveUpAfterMs: 40_000 } };
  const seed = await seedDemo(bridge.accounts, { registry: bridge.channels, channelAccounts });
  const api = merchantApi(bridge.url, seed.apiKey);
  return {
    bridge,
    apiKey: seed.apiKey,
    merchantId: seed.merchantId,
    db,
    api,
    waitFor: (outTradeNo, until, timeoutMs, key) =>
      pollApi(api, `payment ${outTradeNo}`, `/api/v1/payments/${outTradeNo}`, until, timeoutMs, key),
    async stop() {
      await bridge.close();
      await closeWechatAgents();
      await cleanup();
    },
  };
}

export function uniqueNo(prefix: string): string {
  return `${prefix}${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
}
