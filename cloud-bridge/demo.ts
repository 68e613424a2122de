import { randomBytes } from 'node:crypto';
import type { AccountsRepo } from './store/accounts.js';
import type { ChannelRegistry } from './channels/channel.js';
import type { ChannelName } from '../protocol/payments.js';

export const DEMO_MERCHANT_ID = 'mch_demo';
export const DEMO_STORE_CODE = 'demo-queen-st';
export const DEMO_HQ_USER = 'hq';

export interface DemoChannelAccount {
  channel: ChannelName;
  config: Record<string, unknown>;
  secrets: Record<string, string>;
  /** Runs once the account exists (e.g. telling a simulator's back office the bridge's notify URL); returns a problem to report. */
  afterCreate?: (accountId: string, bridgeUrl: string) => Promise<string | undefined>;
}

export interface DemoSeed {
  merchantId: string;
  apiKey: string;
  storeId: string;
  storeCode: string;
  hqUser: string;
  hqPassword?: string;
  channels: ChannelName[];
  /** What the channel accounts' afterCreate steps could not do. */
  problems: string[];
}

/**
 * Seeds (or re-uses) the demo merchant: a store, an API key (new at every run, since only
 * hashes are kept), an HQ user, and channel accounts pointing at the simulators.
 */
export async function seedDemo(
  accounts: AccountsRepo,
  options: {
    channelAccounts: DemoChannelAccount[];
    registry?: ChannelRegistry;
    hqPassword?: string;
    bridgeUrl?: string;
  },
): Promise<DemoSeed> {
  let merchant = await accounts.getMerchant(DEMO_MERCHANT_ID);
  if (!merchant) {
    merchant = await accounts.createMerchant({
      id: DEMO_MERCHANT_ID,
      name: 'Kauri Demo Shop 奇异果小店',
      allowedDomains: ['127.0.0.1', 'localhost'],
      fxMarkup: '0.02',
    });
  }
  // The demo's receivers are on this machine; only the demo merchant gets this (and also when
  // it was made before the setting existed).
  if (merchant.allow_private_webhooks !== 1)
    merchant = await accounts.updateMerchant(merchant.id, { allowPrivateWebhooks: true });
  let store = await accounts.getStoreByCode(DEMO_STORE_CODE);
  if (!store) {
    store = await accounts.createStore({
      merchantId: merchant.id,
      name: 'Queen Street 皇后街店',
      code: DEMO_STORE_CODE,
      maxStaticAmountMinor: 500_000,
    });
  }
  const { key } = await accounts.createApiKey(merchant.id, 'demo');
  let hqPassword: string | undefined;
  if (!(await accounts.authenticateUser(DEMO_HQ_USER, options.hqPassword ?? '\u0000'))) {
    hqPassword = options.hqPassword ?? randomBytes(9).toString('base64url');
    try {
      await accounts.createUser({ username: DEMO_HQ_USER, password: hqPassword, role: 'hq_admin' });
    } catch {
      hqPassword = undefined; // exists with another password: keep it
    }
  } else {
    hqPassword = options.hqPassword;
  }
  const channels: ChannelName[] = [];
  const problems: string[] = [];
  for (const ca of options.channelAccounts) {
    if (options.registry && !options.registry.get(ca.channel)) continue;
    const created = await accounts.createChannelAccount({
      merchantId: merchant.id,
      channel: ca.channel,
      config: ca.config,
      secrets: ca.secrets,
    });
    channels.push(ca.channel);
    const problem =
      ca.afterCreate && options.bridgeUrl ? await ca.afterCreate(created.id, options.bridgeUrl) : undefined;
    if (problem) problems.push(problem);
  }
  return {
    merchantId: merchant.id,
    apiKey: key,
    storeId: store.id,
    storeCode: store.code,
    hqUser: DEMO_HQ_USER,
    hqPassword,
    channels,
    problems,
  };
}
