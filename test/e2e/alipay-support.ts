import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, fetch as undiciFetch } from 'undici';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bridge } from '../../cloud-bridge/bridge.js';
import { seedDemo } from '../../cloud-bridge/demo.js';
import { demoChannelAccounts } from '../../cloud-bridge/channels/index.js';
import { closeAlipayAgents } from '../../cloud-bridge/channels/alipay/index.js';
import type { ChannelAccount, ChannelContext } from '../../cloud-bridge/channels/channel.js';
import { spawnKauri, type KauriProcess } from '../support/processes.js';
import { startTestBridge } from '../support/bridges.js';
import { merchantApi, pollApi } from '../support/merchant-api.js';
import type { TestDatabase } from '../support/stores.js';

// Shared by the Alipay end-to-end tests: a real `kauri sim alipay` process, and a bridge
// in this process whose demo merchant's Alipay account points at it.

export const PARTNER = '2088101122136241';
export const MD5_KEY = '760bdzec6y9goq7ctyx96ezkz78287de';

export interface AlipaySimProcess {
  readonly url: string;
  readonly stateDir: string;
  readonly proc: KauriProcess;
  /** fetch against the simulator (trusting its CA with --tls). */
  fetch(path: string, init?: Parameters<typeof undiciFetch>[1]): ReturnType<typeof undiciFetch>;
  control<T = any>(path: string, body?: unknown): Promise<{ status: number; body: T }>;
  get<T = any>(path: string): Promise<T>;
  trade(outTradeNo: string): Promise<any>;
  stop(keepState?: boolean): Promise<void>;
}

export async function startAlipaySimProcess(
  env: NodeJS.ProcessEnv = {},
  stateDir = mkdtempSync(join(tmpdir(), 'kauri-alipay-e2e-')),
  options: { tls?: boolean } = {},
): Promise<AlipaySimProcess> {
  const proc = await spawnKauri(
    ['sim', 'alipay', '--port', '0', '--state', stateDir, ...(options.tls ? ['--tls'] : [])],
    { ready: /alipay simulator listening on (\S+)/, env, timeoutMs: 60_000 },
  );
  const url = proc.ready;
  const dispatcher = options.tls
    ? new Agent({ connect: { ca: readFileSync(join(stateDir, 'ca.pem'), 'utf8') } })
    : undefined;
  const get = (path: string, init: Parameters<typeof undiciFetch>[1] = {}) =>
    undiciFetch(url + path, { ...init, ...(dispatcher ? { dispatcher } : {}) });
  const sim: AlipaySimProcess = {
    url,
    stateDir,
    proc,
    fetch: get,
    async control(path, body) {
      const res = await get(path, {
        method: 'POST',
        body: JSON.stringify(body ?? {}),
        headers: { 'content-type': 'application/json' },
      });
      return { status: res.status, body: (await res.json()) as any };
    },
    async get(path) {
      return (await get(path)).json() as any;
    },
    async trade(outTradeNo) {
      const { orders } = await sim.get<{ orders: any[] }>('/sim/orders');
      return orders.find((o) => o.out_trade_no === outTradeNo);
    },
    async stop(keepState = false) {
      await dispatcher?.close();
      await proc.stop();
      if (!keepState) rmSync(stateDir, { recursive: true, force: true });
    },
  };
  return sim;
}

export interface BridgeUnderTest {
  readonly bridge: Bridge;
  readonly apiKey: string;
  readonly merchantId: string;
  readonly db: TestDatabase;
  api<T = any>(method: string, path: string, body?: unknown, key?: string): Promise<{ status: number; body: T }>;
  waitFor(outTradeNo: string, until: (p: any) => boolean, timeoutMs?: number, key?: string): Promise<any>;
  /** The channel context of the merchant's active Alipay account (for direct channel calls). */
  context(merchantId?: string): Promise<{ ctx: ChannelContext; account: ChannelAccount }>;
  paidTransitions(orderId: string): Promise<number>;
  stop(): Promise<void>;
}

export async function startBridgeForAlipay(
  sim: AlipaySimProcess,
  kind: 'sqlite' | 'postgres',
  options: { timeScale?: number } = {},
): Promise<BridgeUnderTest> {
  const { bridge, db, cleanup } = await startTestBridge({
    kind,
    secretKey: 'e2e-alipay-secret-key-0123456789abcdef',
    timeScale: options.timeScale ?? 200,
  });
  const seed = await seedDemo(bridge.accounts, {
    registry: bridge.channels,
    channelAccounts: await demoChannelAccounts({ alipay: { url: sim.url, stateDir: sim.stateDir } }),
  });
  const api = merchantApi(bridge.url, seed.apiKey);
  return {
    bridge,
    apiKey: seed.apiKey,
    merchantId: seed.merchantId,
    db,
    api,
    waitFor: (outTradeNo, until, timeoutMs, key) =>
      pollApi(api, `payment ${outTradeNo}`, `/api/v1/payments/${outTradeNo}`, until, timeoutMs, key),
    async context(merchantId = seed.merchantId) {
      const account = (await bridge.accounts.activeChannelAccount(merchantId, 'alipay'))!;
      return { account, ctx: bridge.payments.channelContext(account) };
    },
    async paidTransitions(orderId) {
      const rows = await bridge.store.db
        .selectFrom('order_events')
        .select('to_status')
        .where('order_id', '=', orderId)
        .where('to_status', '=', 'paid')
        .execute();
      return rows.length;
    },
    async stop() {
      await bridge.close();
      await closeAlipayAgents();
      await cleanup();
    },
  };
}

export function uniqueNo(prefix: string): string {
  return `${prefix}${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
