import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DemoChannelAccount } from '../../demo.js';

export { BankChannel, bankSettings, fetchBankRates, type BankAccountConfig } from './channel.js';
export { registerBankPages } from './pages.js';

/** The demo merchant's account on the bank simulator (CONTRACTS.md: v_mid 8888, key `test`). */
export async function bankDemoAccount(sim: { url: string; stateDir?: string }): Promise<DemoChannelAccount> {
  let publicKey: string | undefined;
  const pem = sim.stateDir ? join(sim.stateDir, 'bank-public.pem') : undefined;
  if (pem && existsSync(pem)) publicKey = readFileSync(pem, 'utf8');
  if (!publicKey) {
    const res = await fetch(new URL('/sim/keys', sim.url), { signal: AbortSignal.timeout(10_000) });
    if (!res.ok) throw new Error(`the bank simulator at ${sim.url} did not give its public key (HTTP ${res.status})`);
    publicKey = ((await res.json()) as { bank_public_key: string }).bank_public_key;
  }
  return { channel: 'bank', config: { baseUrl: sim.url, v_mid: '8888', publicKey }, secrets: { key: 'test' } };
}
