import type { KeyObject } from 'node:crypto';
import type { ChannelAccount } from '../channel.js';
import { AlipayError } from './errors.js';
import { privateKeyFrom, publicKeyFrom, SIGN_TYPES, type Charset, type SignType } from './sign.js';
import { charsetOf } from './form.js';

// An Alipay channel account: `config` (not secret) and `secrets` (encrypted at rest).
// README.md beside this file describes every field.

export interface AlipayConfig {
  /** Online gateway (create_forex_trade, single_trade_query, forex_refund, notify_verify, files). */
  gatewayUrl: string;
  /** In-store gateway (precreate, spot pay, queries, cancel, spot refund); defaults to gatewayUrl. */
  inStoreGatewayUrl: string;
  partner: string;
  signType: SignType;
  charset: Charset;
  /** Settlement currency of the contract (`currency`), e.g. NZD. */
  currency: string;
  /** Mode `web` opens the mobile cashier (create_forex_trade_wap) by default; mode `wap` always does. */
  wap: boolean;
  /** Folder (HTTP) holding `<partner>_transaction_<yyyyMMdd>.txt` and `…_settlement_…`. */
  statementBaseUrl: string;
  /** Ask notify_verify whether a notify came from Alipay (default true). */
  notifyVerify: boolean;
  timeoutMs: number;
  /** A CA to trust instead of the system's (the simulator's, with --tls); unset in production. */
  caPem?: string;
  /**
   * Pricing currencies Alipay enabled for this merchant's spot payments (`trans_currency`;
   * the documentation lists MOP, TWD and CNY, others "contact your BD"). Empty: price in `currency`.
   */
  transCurrencies: string[];
  /** extend_params for in-store orders (secondary merchant, store). */
  extendParams?: Record<string, string>;
}

export interface AlipayKeys {
  md5Key?: string;
  privateKey?: KeyObject;
  alipayPublicKey?: KeyObject;
  statementPassword?: string;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function bad(message: string): never {
  throw new AlipayError('config_invalid', `Alipay account: ${message}`);
}

export function alipayConfig(account: ChannelAccount): AlipayConfig {
  const c = account.config;
  const gatewayUrl =
    str(c.gatewayUrl) ?? bad('config.gatewayUrl is required (https://intlmapi.alipay.com/gateway.do in production)');
  let gw: URL;
  try {
    gw = new URL(gatewayUrl);
  } catch {
    bad(`config.gatewayUrl "${gatewayUrl}" is not a URL`);
  }
  const partner = str(c.partner) ?? bad('config.partner is required');
  if (!/^2088\d{12}$/.test(partner)) bad('config.partner must be 16 digits starting 2088');
  const signType = (str(c.signType) ?? 'MD5').toUpperCase() as SignType;
  if (!SIGN_TYPES.includes(signType)) bad('config.signType must be MD5, RSA or RSA2');
  const charset = charsetOf(str(c.charset) ?? 'UTF-8') ?? bad('config.charset must be UTF-8 or GBK');
  const currency = str(c.currency) ?? 'NZD';
  if (!/^[A-Z]{3}$/.test(currency)) bad('config.currency must be an ISO 4217 code');
  const extend = c.extendParams;
  const trans = c.transCurrencies ?? [];
  if (!Array.isArray(trans) || !trans.every((x) => typeof x === 'string' && /^[A-Z]{3}$/.test(x))) {
    bad('config.transCurrencies must be a list of ISO 4217 codes Alipay enabled for this account, e.g. ["CNY"]');
  }
  return {
    gatewayUrl,
    inStoreGatewayUrl: str(c.inStoreGatewayUrl) ?? gatewayUrl,
    partner,
    signType,
    charset,
    currency,
    wap: c.wap === true,
    statementBaseUrl: (str(c.statementBaseUrl) ?? `${gw.origin}/files/${partner}`).replace(/\/+$/, ''),
    notifyVerify: c.notifyVerify !== false,
    timeoutMs: typeof c.timeoutMs === 'number' && c.timeoutMs > 0 ? c.timeoutMs : 15_000,
    transCurrencies: trans as string[],
    extendParams: typeof extend === 'object' && extend !== null ? (extend as Record<string, string>) : undefined,
    caPem: str(c.caPem),
  };
}

export function alipayKeys(account: ChannelAccount, cfg: AlipayConfig): AlipayKeys {
  const s = account.secrets;
  const keys: AlipayKeys = { md5Key: str(s.md5Key), statementPassword: str(s.statementPassword) };
  try {
    if (str(s.privateKey)) keys.privateKey = privateKeyFrom(s.privateKey!);
  } catch (err) {
    bad(`secrets.privateKey is not a PKCS#8 RSA private key (${(err as Error).message})`);
  }
  try {
    const pub = str(account.config.alipayPublicKey) ?? str(s.alipayPublicKey);
    if (pub) keys.alipayPublicKey = publicKeyFrom(pub);
  } catch (err) {
    bad(`alipayPublicKey is not an X.509 RSA public key (${(err as Error).message})`);
  }
  if (cfg.signType === 'MD5' && !keys.md5Key) bad('secrets.md5Key is required for signType MD5');
  if (cfg.signType !== 'MD5' && (!keys.privateKey || !keys.alipayPublicKey)) {
    bad(`signType ${cfg.signType} needs secrets.privateKey (yours) and config.alipayPublicKey (Alipay's)`);
  }
  return keys;
}
