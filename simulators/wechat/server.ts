import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { simRuntime, type RuntimeState } from '../common/runtime.js';
import { createSimServer, listen, simLogger } from '../common/server.js';
import { JsonState } from '../common/state.js';
import { ensureClientCertificate, ensureServerTls } from '../common/tls.js';
import { registerWechatApi } from './api.js';
import { registerWechatControl } from './control.js';
import { WechatGateway, type GatewayData } from './gateway.js';
import type { BillLayout } from './bill.js';
import { DEFAULT_MERCHANT, type Merchant } from './merchants.js';
import { parseWechatXml } from './xml.js';

// `kauri sim wechat`: the WeChat Pay overseas v2 API, its OAuth endpoints and the
// /sim/ control API on one port.

/** WeChat's notify retry schedule after the first delivery (docs/protocols/wechat.md): 24 h 4 min in all. */
export const NOTIFY_SCHEDULE_MS = [
  15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600,
].map((s) => s * 1000);

type WechatState = GatewayData & RuntimeState;

export interface WechatSimOptions {
  port: number;
  host?: string;
  /** Where state (and with tls, certificates) live; memory-only state without it. */
  stateDir?: string;
  tls?: boolean;
  /** Extra merchants beside the docs/CONTRACTS.md default. */
  merchants?: Merchant[];
  /** The statement layout of merchants that set none (bill.ts); overseas-en when absent. */
  billLayout?: BillLayout;
  log?: Logger;
}

export interface ClientCertPaths {
  mch_id: string;
  p12: string;
  cert: string;
  key: string;
  passphrase: string;
}

export interface WechatSim {
  url: string;
  app: FastifyInstance;
  gateway: WechatGateway;
  /** CA that signed the server (and client) certificates, with tls. */
  caPem?: string;
  clientCerts: ClientCertPaths[];
  stateDir?: string;
  close(): Promise<void>;
}

/** A reply acknowledges a notify only when it is XML with return_code SUCCESS. */
export function isNotifyAck(status: number, body: string): boolean {
  if (status !== 200) return false;
  try {
    return parseWechatXml(Buffer.from(body)).return_code === 'SUCCESS';
  } catch {
    return false;
  }
}

export async function startWechatSim(opts: WechatSimOptions): Promise<WechatSim> {
  const log = opts.log ?? simLogger('wechat-sim');
  const withLayout = (m: Merchant): Merchant =>
    m.bill_layout || !opts.billLayout ? m : { ...m, bill_layout: opts.billLayout };
  const merchants = new Map<string, Merchant>([[DEFAULT_MERCHANT.mch_id, withLayout(DEFAULT_MERCHANT)]]);
  for (const m of opts.merchants ?? []) merchants.set(m.mch_id, withLayout(m));

  let stateDir = opts.stateDir;
  if (opts.tls && !stateDir) {
    stateDir = mkdtempSync(join(tmpdir(), 'kauri-wechat-sim-'));
    log.warn({ stateDir }, 'no --state given: certificates and state go to a temporary folder');
  }

  const state = new JsonState<WechatState>(
    stateDir,
    'wechat-sim.json',
    () => ({ clockOffsetMs: 0, faults: [], notifies: [], orders: [], paycodes: [], oauthCodes: [], rates: [] }),
    { minIntervalMs: 100 },
  );
  const runtime = simRuntime(state, log, {
    schedule: NOTIFY_SCHEDULE_MS,
    isAck: isNotifyAck,
    tamper: (xml) =>
      xml.replace(/<sign>(?:<!\[CDATA\[)?([0-9A-F]+)/, (all, s: string) =>
        all.replace(s, s.split('').reverse().join('')),
      ),
  });
  const { clock, notifier, save } = runtime;
  const gateway = new WechatGateway(state.data, merchants, clock, notifier, log, save);

  let tlsMaterial: ReturnType<typeof ensureServerTls> | undefined;
  const clientCerts: ClientCertPaths[] = [];
  if (opts.tls) {
    tlsMaterial = ensureServerTls(stateDir!, 'wechat');
    for (const m of merchants.values()) {
      // The default merchant's certificate sits at the top of --state (docs/CONTRACTS.md); others per mch_id.
      const dir = m.mch_id === DEFAULT_MERCHANT.mch_id ? stateDir! : join(stateDir!, 'merchants', m.mch_id);
      const c = ensureClientCertificate(stateDir!, 'wechat', dir, {
        base: 'apiclient',
        commonName: m.mch_id,
        organizationalUnit: 'Kauri simulated WeChat Pay merchant',
        passphrase: m.mch_id,
      });
      clientCerts.push({ mch_id: m.mch_id, p12: c.p12Path, cert: c.certPath, key: c.keyPath, passphrase: m.mch_id });
    }
  }

  const app = createSimServer({
    log,
    bodyLimit: 64 * 1024,
    ...(tlsMaterial
      ? { tls: { key: tlsMaterial.keyPem, cert: tlsMaterial.certPem, ca: tlsMaterial.caPem, requestCert: true } }
      : {}),
  });
  runtime.install(app);
  registerWechatApi(app, gateway, { requireClientCert: Boolean(opts.tls) });
  registerWechatControl(app, {
    gw: gateway,
    notifies: () => state.data.notifies,
    keys: () => ({
      tls: Boolean(opts.tls),
      ca_pem: tlsMaterial?.caPem ?? null,
      merchants: [...merchants.values()].map((m) => ({
        mch_id: m.mch_id,
        appid: m.appid,
        currency: m.currency,
        client_certificate: clientCerts.find((c) => c.mch_id === m.mch_id) ?? null,
      })),
    }),
  });

  const url = await listen(app, opts.port, opts.host ?? '127.0.0.1');
  runtime.start();
  return {
    url,
    app,
    gateway,
    caPem: tlsMaterial?.caPem,
    clientCerts,
    stateDir,
    close: () => runtime.close(app),
  };
}
