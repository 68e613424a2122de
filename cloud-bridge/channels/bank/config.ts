import type { KeyObject } from 'node:crypto';
import { z } from 'zod';
import { KauriError } from '../../../protocol/errors.js';
import type { ChannelAccount } from '../channel.js';
import { parseGatewayPublicKey } from './sign.js';

// A merchant's PayEase account, read from its channel account (README.md beside this file):
// production is this configuration, not code. PayEase serves the customer's payment form
// and the merchant APIs (query, refund) from different hosts, so they are two settings.

const httpUrl = z.url({ protocol: /^https?$/ });

export const bankConfigSchema = z.object({
  /** Where the customer's browser posts the payment form: https://pay.yizhifubj.com in production. */
  payBaseUrl: httpUrl,
  /** Where the query and refund APIs live: https://api.yizhifubj.com in production. */
  apiBaseUrl: httpUrl,
  /** The merchant number PayEase assigned (digits). */
  v_mid: z.string().regex(/^\d{1,20}$/, 'digits'),
  /** The gateway's RSA public key: PEM or PayEase's key file text `m=<hex>;e=<hex>;`. */
  publicKey: z.string().min(1),
  /** Kauri's rate adaptor (rates.ts): PayEase publishes no rate service. */
  rateUrl: httpUrl.optional(),
  /** Kauri's statement adaptor (statement.ts): PayEase publishes no statement download. */
  statementUrl: httpUrl.optional(),
  timeoutMs: z.number().int().min(100).max(120_000).default(15_000),
});

export const bankSecretsSchema = z.object({
  /** The HMAC-MD5 key set in the PayEase merchant back office. */
  key: z.string().min(1),
});

export interface BankAccount {
  readonly id: string;
  readonly payBaseUrl: string;
  readonly apiBaseUrl: string;
  readonly vMid: string;
  readonly key: string;
  readonly publicKey: KeyObject;
  readonly rateUrl?: string;
  readonly statementUrl?: string;
  readonly timeoutMs: number;
}

const trim = (u: string) => u.replace(/\/+$/, '');
const cache = new WeakMap<ChannelAccount, BankAccount>();
const keyCache = new Map<string, KeyObject>();

/** Reads and checks the account's settings once; a bad account is a configuration error, named. */
export function bankAccount(account: ChannelAccount): BankAccount {
  const hit = cache.get(account);
  if (hit) return hit;
  const raw = account.config as Record<string, unknown>;
  if ('baseUrl' in raw && !('payBaseUrl' in raw)) {
    throw new KauriError(
      'config_invalid',
      `Bank account ${account.id}: "baseUrl" was split in two: set payBaseUrl (the payment form host, https://pay.yizhifubj.com) and apiBaseUrl (query and refund, https://api.yizhifubj.com)`,
    );
  }
  const config = bankConfigSchema.safeParse(raw);
  if (!config.success) {
    throw new KauriError(
      'config_invalid',
      `Bank account ${account.id}: config ${z.prettifyError(config.error).replace(/\n/g, '; ')} (needs payBaseUrl, apiBaseUrl, v_mid, publicKey: for the simulator, its --state/bank-public.pem or GET /sim/keys)`,
    );
  }
  const secrets = bankSecretsSchema.safeParse(account.secrets);
  // Only field names are reported, never values.
  if (!secrets.success)
    throw new KauriError(
      'config_invalid',
      `Bank account ${account.id}: secrets need "key" (the HMAC-MD5 merchant key)`,
    );
  const c = config.data;
  let publicKey = keyCache.get(c.publicKey);
  if (!publicKey) {
    try {
      publicKey = parseGatewayPublicKey(c.publicKey);
    } catch (err) {
      throw new KauriError('config_invalid', `Bank account ${account.id}: publicKey: ${(err as Error).message}`);
    }
    keyCache.set(c.publicKey, publicKey);
  }
  const out: BankAccount = {
    id: account.id,
    payBaseUrl: trim(c.payBaseUrl),
    apiBaseUrl: trim(c.apiBaseUrl),
    vMid: c.v_mid,
    key: secrets.data.key,
    publicKey,
    rateUrl: c.rateUrl,
    statementUrl: c.statementUrl,
    timeoutMs: c.timeoutMs,
  };
  cache.set(account, out);
  return out;
}
