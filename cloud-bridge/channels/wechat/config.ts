import { z } from 'zod';
import { KauriError } from '../../../protocol/errors.js';
import type { ChannelAccount } from '../channel.js';
import { SIGN_TYPES, type SignType } from './sign.js';

// A merchant's WeChat Pay account, read from its channel account (README.md beside this
// file): production is this configuration, not code.

const httpUrl = z.url({ protocol: /^https?$/ });

export const wechatConfigSchema = z.object({
  /** https://apihk.mch.weixin.qq.com in production; the simulator's URL in tests. */
  apiBaseUrl: httpUrl,
  /** Where the payer's browser is sent for OAuth (open.weixin.qq.com in production). */
  oauthBaseUrl: httpUrl.default('https://open.weixin.qq.com'),
  /** Where the AppSecret trades an OAuth code for an openid (api.weixin.qq.com in production). */
  snsApiBaseUrl: httpUrl.optional(),
  appid: z.string().min(1).max(32),
  mch_id: z.string().min(1).max(32),
  /** Institutional mode: the NZ shop under the institution's mch_id. */
  sub_mch_id: z.string().min(1).max(32).optional(),
  sub_appid: z.string().min(1).max(32).optional(),
  signType: z.enum(SIGN_TYPES).default('MD5'),
  /** The currency the merchant is contracted to price in (WeChat's fee_type). */
  feeType: z
    .string()
    .regex(/^[A-Z]{3}$/)
    .default('NZD'),
  /** PEM of extra CAs to trust (the simulator's); production uses the system CAs. */
  caPem: z.string().optional(),
  /** spbill_create_ip for NATIVE orders (the server's address). */
  serverIp: z.string().max(45).default('127.0.0.1'),
  deviceInfo: z.string().max(32).optional(),
  /**
   * H5 (MWEB): the site name WeChat shows and checks as scene_info's wap_name. The site's URL
   * (wap_url) is the bridge's public URL, whose domain the merchant registers with WeChat.
   */
  h5SiteName: z.string().min(1).max(64).default('Kauri'),
  timeoutMs: z.number().int().min(100).max(120_000).default(10_000),
  micropay: z
    .object({
      pollEveryMs: z.number().int().min(100).max(60_000).default(5_000),
      // WeChat asks for a reverse no sooner than 15 s after the order, and revokes by itself at 45 s.
      giveUpAfterMs: z.number().int().min(15_000).max(44_000).default(40_000),
    })
    .default({ pollEveryMs: 5_000, giveUpAfterMs: 40_000 }),
});

export const wechatSecretsSchema = z.object({
  /** The 32-character APIv2 key from the merchant platform. */
  apiKey: z.string().min(1),
  appSecret: z.string().min(1).optional(),
  /** apiclient_cert.p12, base64; or the PEM pair below. Needed for refund and reverse. */
  clientCertP12Base64: z.string().min(1).optional(),
  /** WeChat's default passphrase is the mch_id. */
  clientCertPassphrase: z.string().optional(),
  clientCertPem: z.string().min(1).optional(),
  clientKeyPem: z.string().min(1).optional(),
});

export interface WechatAccount {
  readonly id: string;
  readonly config: z.infer<typeof wechatConfigSchema>;
  readonly apiKey: string;
  readonly appSecret?: string;
  readonly signType: SignType;
  /** Client certificate for /secapi/*, when the account has one. */
  readonly clientCert?: { pfx: Buffer; passphrase: string } | { cert: string; key: string };
}

const cache = new WeakMap<ChannelAccount, WechatAccount>();

/** Reads and checks the account's settings once; a bad account is a configuration error, named. */
export function wechatAccount(account: ChannelAccount): WechatAccount {
  const hit = cache.get(account);
  if (hit) return hit;
  const config = wechatConfigSchema.safeParse(account.config);
  if (!config.success) {
    throw new KauriError(
      'config_invalid',
      `WeChat Pay account ${account.id}: config ${z.prettifyError(config.error).replace(/\n/g, '; ')}`,
    );
  }
  const secrets = wechatSecretsSchema.safeParse(account.secrets);
  if (!secrets.success) {
    // Only field names and rules are reported, never values.
    throw new KauriError(
      'config_invalid',
      `WeChat Pay account ${account.id}: secrets ${secrets.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  const s = secrets.data;
  let clientCert: WechatAccount['clientCert'];
  if (s.clientCertP12Base64) {
    clientCert = {
      pfx: Buffer.from(s.clientCertP12Base64, 'base64'),
      passphrase: s.clientCertPassphrase ?? config.data.mch_id,
    };
  } else if (s.clientCertPem && s.clientKeyPem) {
    clientCert = { cert: s.clientCertPem, key: s.clientKeyPem };
  }
  const out: WechatAccount = {
    id: account.id,
    config: config.data,
    apiKey: s.apiKey,
    appSecret: s.appSecret,
    signType: config.data.signType,
    clientCert,
  };
  cache.set(account, out);
  return out;
}
