import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DemoChannelAccount } from '../../demo.js';

// The demo merchant's Alipay account, pointing at `kauri sim alipay` and its docs/CONTRACTS.md
// default partner. MD5 needs nothing more; the simulator's RSA public key (in its state
// folder) is added when there is one, so switching the account to RSA2 is a config edit.

export const SIM_DEFAULT_PARTNER = { partner: '2088101122136241', md5Key: '760bdzec6y9goq7ctyx96ezkz78287de' } as const;

export function alipayDemoAccount(sim: { url: string; stateDir?: string }): DemoChannelAccount {
  const base = sim.url.replace(/\/+$/, '');
  const config: Record<string, unknown> = {
    gatewayUrl: `${base}/gateway.do`,
    partner: SIM_DEFAULT_PARTNER.partner,
    signType: 'MD5',
    charset: 'UTF-8',
    currency: 'NZD',
  };
  if (sim.stateDir) {
    const pub = join(sim.stateDir, 'alipay_public_key.pem');
    if (existsSync(pub)) config.alipayPublicKey = readFileSync(pub, 'utf8');
    const ca = join(sim.stateDir, 'ca.pem');
    if (base.startsWith('https:') && existsSync(ca)) config.caPem = readFileSync(ca, 'utf8');
  }
  return { channel: 'alipay', config, secrets: { md5Key: SIM_DEFAULT_PARTNER.md5Key } };
}
