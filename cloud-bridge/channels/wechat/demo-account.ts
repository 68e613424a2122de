import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KauriError } from '../../../protocol/errors.js';
import type { DemoChannelAccount } from '../../demo.js';

// The demo merchant's WeChat Pay account, pointing at `kauri sim wechat` and its
// docs/CONTRACTS.md default merchant. With --tls the simulator's state folder holds its CA
// (ca.pem) and the merchant's client certificate (apiclient_cert.p12, passphrase mch_id).

export const SIM_DEFAULT_MERCHANT = {
  appid: 'wx2421b1c4370ec43b',
  mch_id: '10000100',
  apiKey: '192006250b4c09247ec02edce69f6a2d',
  appSecret: 'kauri-demo-appsecret',
} as const;

export function wechatDemoAccount(
  sim: { url: string; stateDir?: string },
  options: { signType?: 'MD5' | 'HMAC-SHA256' } = {},
): DemoChannelAccount {
  const base = sim.url.replace(/\/+$/, '');
  const config: Record<string, unknown> = {
    apiBaseUrl: base,
    oauthBaseUrl: base,
    snsApiBaseUrl: base,
    appid: SIM_DEFAULT_MERCHANT.appid,
    mch_id: SIM_DEFAULT_MERCHANT.mch_id,
    signType: options.signType ?? 'MD5',
    feeType: 'NZD',
  };
  const secrets: Record<string, string> = {
    apiKey: SIM_DEFAULT_MERCHANT.apiKey,
    appSecret: SIM_DEFAULT_MERCHANT.appSecret,
  };
  if (sim.stateDir) {
    const ca = join(sim.stateDir, 'ca.pem');
    const p12 = join(sim.stateDir, 'apiclient_cert.p12');
    if (existsSync(ca)) config.caPem = readFileSync(ca, 'utf8');
    if (existsSync(p12)) {
      secrets.clientCertP12Base64 = readFileSync(p12).toString('base64');
      secrets.clientCertPassphrase = SIM_DEFAULT_MERCHANT.mch_id;
    }
  }
  if (base.startsWith('https:') && !config.caPem) {
    throw new KauriError(
      'config_invalid',
      `The WeChat simulator at ${base} serves HTTPS: give its state folder (--wechat-sim-state DIR) so the bridge can trust its CA and use its client certificate`,
    );
  }
  return { channel: 'wechat', config, secrets };
}
