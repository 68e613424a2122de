import { createPublicKey } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { simRuntime, type RuntimeState } from '../common/runtime.js';
import { createSimServer, listen, simLogger } from '../common/server.js';
import { JsonState } from '../common/state.js';
import { ensureServerTls } from '../common/tls.js';
import { registerAlipayApi, serviceOf } from './api.js';
import { registerAlipayControl } from './control.js';
import { AlipayGateway, DEFAULT_RATES, type GatewayData } from './gateway.js';
import type { Merchant } from './model.js';
import { generateRsaKeys } from './sign.js';

// `kauri sim alipay`: the Alipay cross-border MAPI gateway, its cashier pages, daily
// files and the /sim/ control API on one port.

/** docs/CONTRACTS.md "Simulator defaults". */
export const DEFAULT_MERCHANT: Merchant = {
  partner: '2088101122136241',
  md5Key: '760bdzec6y9goq7ctyx96ezkz78287de',
  name: 'Kauri Demo Shop 奇异果小店',
};

/** Alipay retries a notify 8 times within 25 h: 2m, 10m, 10m, 1h, 2h, 6h, 15h after the first (docs/protocols/alipay.md, Notify). */
export const NOTIFY_SCHEDULE_MS = [2 * 60, 10 * 60, 10 * 60, 3600, 2 * 3600, 6 * 3600, 15 * 3600].map((s) => s * 1000);

type AlipayState = GatewayData & RuntimeState;

export interface AlipaySimOptions {
  port: number;
  host?: string;
  stateDir?: string;
  /** Serve HTTPS with a CA and certificate generated into stateDir (ca.pem). */
  tls?: boolean;
  merchants?: Merchant[];
  log?: Logger;
}

export interface AlipaySim {
  url: string;
  app: FastifyInstance;
  gateway: AlipayGateway;
  close(): Promise<void>;
}

/** Alipay reads the acknowledgement `success` (the docs also write SUCCESS: both accepted). */
export function isNotifyAck(status: number, body: string): boolean {
  return status === 200 && body.trim().toLowerCase() === 'success';
}

export function toPublicKeyPem(text: string): string {
  const t = text.trim();
  const key = t.startsWith('-----')
    ? createPublicKey(t)
    : createPublicKey({ key: Buffer.from(t.replace(/\s+/g, ''), 'base64'), format: 'der', type: 'spki' });
  if (key.asymmetricKeyType !== 'rsa') throw new Error('the key is not an RSA key');
  return key.export({ type: 'spki', format: 'pem' }).toString();
}

function loadKeys(stateDir: string | undefined): { privateKey: string; publicKey: string } {
  if (!stateDir) return generateRsaKeys();
  mkdirSync(stateDir, { recursive: true });
  const priv = join(stateDir, 'alipay_private_key.pem');
  const pub = join(stateDir, 'alipay_public_key.pem');
  if (existsSync(priv) && existsSync(pub))
    return { privateKey: readFileSync(priv, 'utf8'), publicKey: readFileSync(pub, 'utf8') };
  const keys = generateRsaKeys();
  writeFileSync(priv, keys.privateKey, { mode: 0o600 });
  writeFileSync(pub, keys.publicKey);
  return keys;
}

export async function startAlipaySim(opts: AlipaySimOptions): Promise<AlipaySim> {
  const log = opts.log ?? simLogger('alipay-sim');
  const merchants = new Map<string, Merchant>([[DEFAULT_MERCHANT.partner, { ...DEFAULT_MERCHANT }]]);
  for (const m of opts.merchants ?? []) merchants.set(m.partner, { ...m });
  const keys = loadKeys(opts.stateDir);

  const state = new JsonState<AlipayState>(
    opts.stateDir,
    'alipay-sim.json',
    () => ({
      clockOffsetMs: 0,
      faults: [],
      notifies: [],
      trades: [],
      paycodes: [],
      notifyIds: {},
      merchantKeys: {},
      rates: { ...DEFAULT_RATES },
      seq: 0,
    }),
    { minIntervalMs: 100 },
  );
  for (const [partner, pem] of Object.entries(state.data.merchantKeys)) {
    const m = merchants.get(partner);
    if (m) m.publicKey = pem;
  }
  const runtime = simRuntime(state, log, {
    schedule: NOTIFY_SCHEDULE_MS,
    isAck: isNotifyAck,
    tamper: (body) =>
      body.replace(/(^|&)sign=([^&]*)/, (_all, p: string, s: string) => `${p}sign=${s.split('').reverse().join('')}`),
  });
  const { clock, notifier, save } = runtime;
  for (const [partner, list] of Object.entries(state.data.transCurrencies ?? {})) {
    const m = merchants.get(partner);
    if (m) m.transCurrencies = list;
  }
  const gateway = new AlipayGateway(
    state.data,
    merchants,
    clock,
    notifier,
    () => state.data.notifies,
    keys,
    log,
    save,
    runtime.faults,
  );

  if (opts.tls && !opts.stateDir)
    throw new Error('--tls needs --state DIR (the CA and certificate are generated there)');
  const tls = opts.tls ? ensureServerTls(opts.stateDir!, 'alipay') : undefined;
  const app = createSimServer({
    log,
    bodyLimit: 64 * 1024,
    ...(tls ? { tls: { key: tls.keyPem, cert: tls.certPem, ca: tls.caPem } } : {}),
  });
  runtime.install(app, { targetOf: (req) => (req.url.startsWith('/gateway.do') ? serviceOf(req) : undefined) });
  registerAlipayApi(app, gateway);
  registerAlipayControl(app, {
    gw: gateway,
    notifies: () => state.data.notifies,
    setTransCurrencies: (partner, list) => {
      merchants.get(partner)!.transCurrencies = list;
      state.data.transCurrencies = { ...(state.data.transCurrencies ?? {}), [partner]: list };
      state.saveNow();
    },
    setMerchantKey: (partner, text) => {
      const pem = toPublicKeyPem(text);
      merchants.get(partner)!.publicKey = pem;
      state.data.merchantKeys[partner] = pem;
      state.saveNow();
    },
  });

  const url = await listen(app, opts.port, opts.host ?? '127.0.0.1');
  runtime.start();
  // Accepted forex_refunds settle (and notify) when their delay has passed, looked at or not.
  const settler = setInterval(() => gateway.settleDueRefunds(), 250);
  settler.unref();
  return {
    url,
    app,
    gateway,
    close: () => {
      clearInterval(settler);
      return runtime.close(app);
    },
  };
}
