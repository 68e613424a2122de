import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import type { Bridge, BridgeOptions } from '../../cloud-bridge/bridge.js';
import { seedDemo, type DemoSeed } from '../../cloud-bridge/demo.js';
import { demoChannelAccounts } from '../../cloud-bridge/channels/index.js';
import { closeWechatAgents } from '../../cloud-bridge/channels/wechat/index.js';
import { spawnKauri, type KauriProcess } from '../support/processes.js';
import { simControl, type Sim } from '../support/sim-control.js';
import { startTestBridge } from '../support/bridges.js';
import { merchantApi, pollApi } from '../support/merchant-api.js';
import type { TestDatabase } from '../support/stores.js';

// The one-code end-to-end tests' world: the three channel simulators as real processes,
// a bridge in this process whose demo merchant uses all three, and a customer's phone
// played by Chromium with a wallet's User-Agent.

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export const UA = {
  wechat:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN',
  alipay:
    'Mozilla/5.0 (Linux; U; Android 12; zh-CN; M2012K11AC) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/69.0.3497.100 Mobile Safari/537.36 AliApp(AP/10.5.26.8000) AlipayClient/10.5.26.8000 Language/zh-Hans',
  desktop: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36',
} as const;

export type { Sim };

export async function startSim(name: Sim['name'], env: NodeJS.ProcessEnv = {}): Promise<Sim> {
  const stateDir = mkdtempSync(join(tmpdir(), `kauri-onecode-${name}-`));
  const args = ['sim', name, '--port', '0', '--state', stateDir, ...(name === 'wechat' ? ['--tls'] : [])];
  const proc: KauriProcess = await spawnKauri(args, { ready: /listening on (\S+)/, env, timeoutMs: 60_000 });
  const sim = simControl(name, proc.ready, stateDir);
  return {
    ...sim,
    async stop() {
      await sim.stop();
      await proc.stop();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

export interface World {
  readonly bridge: Bridge;
  readonly seed: DemoSeed;
  readonly db: TestDatabase;
  api<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  /** Polls the checkout (merchant API) until `until` holds. */
  waitForCheckout(token: string, until: (c: any) => boolean, timeoutMs?: number): Promise<any>;
  stop(): Promise<void>;
}

export async function startWorld(
  sims: Partial<Record<Sim['name'], Sim>>,
  options: { timeScale?: number; bridge?: Partial<BridgeOptions> } = {},
): Promise<World> {
  const { bridge, db, cleanup } = await startTestBridge({
    kind: 'sqlite',
    secretKey: 'e2e-onecode-secret-key-0123456789abcdef',
    timeScale: options.timeScale ?? 20,
    bridge: options.bridge,
  });
  const seed = await seedDemo(bridge.accounts, {
    registry: bridge.channels,
    bridgeUrl: bridge.url,
    channelAccounts: await demoChannelAccounts(
      Object.fromEntries(Object.entries(sims).map(([k, s]) => [k, { url: s!.url, stateDir: s!.stateDir }])),
    ),
  });
  const api = merchantApi(bridge.url, seed.apiKey);
  return {
    bridge,
    seed,
    db,
    api,
    waitForCheckout: (token, until, timeoutMs) =>
      pollApi(api, `checkout ${token}`, `/api/v1/checkouts/${token}`, until, timeoutMs),
    async stop() {
      await bridge.close();
      await closeWechatAgents();
      await cleanup();
    },
  };
}

/**
 * Plays WeChat's in-app browser: a test-only `WeixinJSBridge` (never served by the
 * product) that appears after the page loaded, as WeChat's does, announces itself with
 * WeixinJSBridgeReady, and on getBrandWCPayRequest has the simulator check the signed
 * parameters and confirm the payment, as the customer would in WeChat's pay sheet.
 */
export async function actAsWechat(
  context: BrowserContext,
  wechat: Sim,
  options: { confirm?: boolean } = {},
): Promise<Array<Record<string, string>>> {
  const invoked: Array<Record<string, string>> = [];
  await context.exposeBinding('kauriWechatPaySheet', async (_source, params: Record<string, string>) => {
    invoked.push(params);
    const check = await wechat.control<{ ok: boolean; reason?: string }>('/sim/jsapi/check', params);
    if (!check.body.ok) return { err_msg: 'get_brand_wcpay_request:fail', err_desc: check.body.reason };
    if (options.confirm === false) return { err_msg: 'get_brand_wcpay_request:cancel' };
    const prepayId = String(params.package).replace(/^prepay_id=/, '');
    const paid = await wechat.control('/sim/pay', { prepay_id: prepayId });
    return paid.status === 200
      ? { err_msg: 'get_brand_wcpay_request:ok' }
      : { err_msg: 'get_brand_wcpay_request:fail', err_desc: JSON.stringify(paid.body) };
  });
  await context.addInitScript(() => {
    document.addEventListener('DOMContentLoaded', () => {
      setTimeout(() => {
        const w = window as unknown as {
          WeixinJSBridge?: unknown;
          kauriWechatPaySheet: (p: unknown) => Promise<unknown>;
        };
        w.WeixinJSBridge = {
          invoke(name: string, params: unknown, cb: (r: unknown) => void) {
            if (name !== 'getBrandWCPayRequest') {
              cb({ err_msg: `${name}:fail` });
              return;
            }
            void w.kauriWechatPaySheet(params).then(cb);
          },
        };
        document.dispatchEvent(new Event('WeixinJSBridgeReady'));
      }, 30);
    });
  });
  return invoked;
}
