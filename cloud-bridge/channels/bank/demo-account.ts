import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DemoChannelAccount } from '../../demo.js';

// The demo merchant's account on `kauri sim bank` (its default merchant: v_mid 8888, key
// `test`), with the gateway public key from the simulator's --state folder or its /sim/keys.
// The simulator serves the payment host, the API host and Kauri's two adaptors (rate,
// statement) on one port; in production they are four settings (README.md beside this file).

export const SIM_DEFAULT_MERCHANT = { v_mid: '8888', key: 'test' } as const;

export async function bankDemoAccount(sim: { url: string; stateDir?: string }): Promise<DemoChannelAccount> {
  const base = sim.url.replace(/\/+$/, '');
  let publicKey: string | undefined;
  const pem = sim.stateDir ? join(sim.stateDir, 'bank-public.pem') : undefined;
  if (pem && existsSync(pem)) publicKey = readFileSync(pem, 'utf8');
  if (!publicKey) {
    try {
      const res = await fetch(`${base}/sim/keys`, { signal: AbortSignal.timeout(5_000) });
      if (res.ok) publicKey = ((await res.json()) as { bank_public_key?: string }).bank_public_key;
    } catch {
      // The simulator is not running: the account is made anyway and says what is missing when used.
    }
  }
  return {
    channel: 'bank',
    config: {
      payBaseUrl: base,
      apiBaseUrl: base,
      rateUrl: `${base}/rate`,
      statementUrl: `${base}/merchant/statement/day`,
      v_mid: SIM_DEFAULT_MERCHANT.v_mid,
      publicKey: publicKey ?? '',
    },
    secrets: { key: SIM_DEFAULT_MERCHANT.key },
    // What a merchant does once in PayEase's back office: name the bridge's notify URL for this account.
    afterCreate: (accountId, bridgeUrl) =>
      setSimNotifyUrl(base, SIM_DEFAULT_MERCHANT.v_mid, new URL(`/notify/bank/${accountId}`, bridgeUrl).toString()),
  };
}

/** Sets a merchant's back-office notify URL on the simulator; says what went wrong instead of throwing. */
export async function setSimNotifyUrl(simUrl: string, vMid: string, notifyUrl: string): Promise<string | undefined> {
  try {
    const res = await fetch(`${simUrl.replace(/\/+$/, '')}/sim/merchants`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ v_mid: vMid, notify_url: notifyUrl }),
      signal: AbortSignal.timeout(5_000),
    });
    if (!res.ok)
      return `the bank simulator refused the notify URL (HTTP ${res.status}): bank notifies will not arrive, payments settle by query`;
    return undefined;
  } catch (err) {
    return `the bank simulator at ${simUrl} could not be told the notify URL (${(err as Error).message}): bank notifies will not arrive, payments settle by query`;
  }
}
