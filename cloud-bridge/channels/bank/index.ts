import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DemoChannelAccount } from '../../demo.js';

export { BankChannel, bankSettings, fetchBankRates, type BankAccountConfig } from './channel.js';
export { registerBankPages } from './pages.js';

/**
 * The demo merchant's account on the bank simulator (CONTRACTS.md: v_mid 8888, key `test`), with
 * the gateway public key from the simulator's --state folder or its /sim/keys.
 */
export async function bankDemoAccount(sim: { url: string; stateDir?: string }): Promise<DemoChannelAccount> {
  let publicKey: string | undefined;
  const pem = sim.stateDir ? join(sim.stateDir, 'bank-public.pem') : undefined;
  if (pem && existsSync(pem)) publicKey = readFileSync(pem, 'utf8');
  if (!publicKey) {
    try {
      const res = await fetch(new URL('/sim/keys', sim.url), { signal: AbortSignal.timeout(5_000) });
      if (res.ok) publicKey = ((await res.json()) as { bank_public_key?: string }).bank_public_key;
    } catch {
      // The simulator is not running: the account is made anyway and says what is missing when used.
    }
  }
  return { channel: 'bank', config: { baseUrl: sim.url, v_mid: '8888', publicKey: publicKey ?? '' }, secrets: { key: 'test' } };
}
