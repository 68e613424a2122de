// The merchants a simulator accepts: the docs/CONTRACTS.md default, plus any given with
// `--merchant mch_id=…,appid=…,key=…[,appsecret=…][,currency=…][,bill_layout=…][,h5_domains=a.example|b.example]`
// (repeatable).

import { BILL_LAYOUTS, isBillLayout, type BillLayout } from './bill.js';

export interface Merchant {
  mch_id: string;
  appid: string;
  /** APIv2 key (32 bytes), for MD5 and HMAC-SHA256. */
  key: string;
  /** The AppID's AppSecret, for /sns/oauth2/access_token. */
  appsecret: string;
  /** The currency orders are priced in (`fee_type`); an overseas merchant has one. */
  currency: string;
  /** The statement layout downloadbill sends this merchant (bill.ts); overseas-en by default. */
  bill_layout?: BillLayout;
  /**
   * The domains registered for H5 payment (商户平台 → H5支付域名): a page opening mweb_url
   * must come from one of them (or a subdomain), as its Referer shows.
   */
  h5_domains: string[];
}

export const DEFAULT_MERCHANT: Merchant = {
  mch_id: '10000100',
  appid: 'wx2421b1c4370ec43b',
  key: '192006250b4c09247ec02edce69f6a2d',
  appsecret: 'kauri-demo-appsecret',
  currency: 'NZD',
  // The demo bridge runs on this machine; a real merchant registers its public domain.
  h5_domains: ['127.0.0.1', 'localhost'],
};

export class MerchantSpecError extends Error {
  readonly code = 'invalid_merchant_spec';
}

export function parseMerchantSpec(spec: string): Merchant {
  const fields: Record<string, string> = {};
  for (const part of spec.split(',')) {
    const i = part.indexOf('=');
    if (i <= 0) throw new MerchantSpecError(`--merchant "${spec}": expected key=value pairs separated by commas`);
    const k = part.slice(0, i).trim();
    if (!['mch_id', 'appid', 'key', 'appsecret', 'currency', 'bill_layout', 'h5_domains'].includes(k)) {
      throw new MerchantSpecError(
        `--merchant: unknown field "${k}" (mch_id, appid, key, appsecret, currency, bill_layout, h5_domains)`,
      );
    }
    fields[k] = part.slice(i + 1).trim();
  }
  const m: Merchant = {
    mch_id: fields.mch_id ?? '',
    appid: fields.appid ?? '',
    key: fields.key ?? '',
    appsecret: fields.appsecret ?? 'kauri-demo-appsecret',
    currency: (fields.currency ?? 'NZD').toUpperCase(),
    h5_domains: (fields.h5_domains ?? '127.0.0.1|localhost')
      .split('|')
      .map((d) => d.trim().toLowerCase())
      .filter(Boolean),
  };
  if (fields.bill_layout !== undefined) {
    if (!isBillLayout(fields.bill_layout))
      throw new MerchantSpecError(`--merchant: bill_layout must be one of ${BILL_LAYOUTS.join(', ')}`);
    m.bill_layout = fields.bill_layout;
  }
  if (!/^\d{1,32}$/.test(m.mch_id)) throw new MerchantSpecError('--merchant: mch_id must be digits');
  if (!/^wx[0-9a-zA-Z]{1,30}$/.test(m.appid)) throw new MerchantSpecError('--merchant: appid must look like wx…');
  if (!/^[0-9A-Za-z]{32}$/.test(m.key)) throw new MerchantSpecError('--merchant: key must be 32 letters or digits');
  if (!/^[A-Z]{3}$/.test(m.currency)) throw new MerchantSpecError('--merchant: currency must be an ISO 4217 code');
  return m;
}
