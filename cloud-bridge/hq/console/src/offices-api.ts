import { call, queryString, type Money } from './api.js';

// The Merchants and Stores pages' calls to /hq/api (docs/back-office.md, "Merchants" and
// "Stores and counters"). Channel secrets are sent and never come back: no type here has them.

export type ChannelName = 'wechat' | 'alipay' | 'bank';

export interface MerchantInfo {
  id: string;
  name: string;
  allowedDomains: string[];
  fxMarkup: string;
  maxPayment: Money;
  allowPrivateWebhooks: boolean;
  disabledAt: string | null;
  createdAt: string;
}

export interface ChannelAccountInfo {
  id: string;
  merchantId: string;
  channel: ChannelName;
  config: Record<string, unknown>;
  active: boolean;
  createdAt: string;
  disabledAt: string | null;
}

export interface StoreRow {
  id: string;
  code: string;
  name: string;
  merchant: string;
  merchantId: string;
  timezone: string;
  maxStaticAmount: Money;
  createdAt: string;
  managerPinSetAt: string | null;
}

export interface DeviceHealth {
  kind: string;
  state: string;
  detail?: string;
}

export interface CounterInfo {
  id: string;
  name: string;
  createdAt: string;
  revokedAt: string | null;
  connected: boolean;
  lastSeenAt: string | null;
  health: DeviceHealth[] | null;
  healthAt: string | null;
}

export interface MerchantInput {
  name?: string;
  allowedDomains?: string[];
  fxMarkup?: string;
  maxPayment?: Money;
}

export interface StoreInput {
  merchantId?: string;
  name?: string;
  code?: string;
  timezone?: string;
  maxStaticAmountMinor?: number;
}

const id = encodeURIComponent;

export const offices = {
  merchants: () => call<{ merchants: MerchantInfo[] }>('GET', '/merchants').then((d) => d.merchants ?? []),
  merchant: (m: string) =>
    call<{
      merchant: MerchantInfo;
      channelAccounts: ChannelAccountInfo[];
      stores: Array<Pick<StoreRow, 'id' | 'code' | 'name'>>;
    }>('GET', `/merchants/${id(m)}`),
  createMerchant: (body: MerchantInput) =>
    call<{ merchant: MerchantInfo }>('POST', '/merchants', body).then((d) => d.merchant),
  updateMerchant: (m: string, body: MerchantInput) =>
    call<{ merchant: MerchantInfo }>('PATCH', `/merchants/${id(m)}`, body).then((d) => d.merchant),
  setMerchantOn: (m: string, on: boolean) =>
    call<{ merchant: MerchantInfo }>('POST', `/merchants/${id(m)}/${on ? 'enable' : 'disable'}`),
  setChannelAccount: (
    m: string,
    body: { channel: ChannelName; config: Record<string, unknown>; secrets: Record<string, string> },
  ) => call<{ account: ChannelAccountInfo }>('POST', `/merchants/${id(m)}/channel-accounts`, body),
  setChannelAccountOn: (accountId: string, on: boolean) =>
    call<{ account: ChannelAccountInfo }>('POST', `/channel-accounts/${id(accountId)}/${on ? 'enable' : 'disable'}`),

  stores: (merchant?: string) =>
    call<{ stores: StoreRow[] }>('GET', `/stores${queryString({ merchant })}`).then((d) => d.stores ?? []),
  store: (s: string) => call<{ store: StoreRow; counters: CounterInfo[] }>('GET', `/stores/${id(s)}`),
  createStore: (body: StoreInput) => call<{ store: StoreRow }>('POST', '/stores', body).then((d) => d.store),
  updateStore: (s: string, body: StoreInput) =>
    call<{ store: StoreRow }>('PATCH', `/stores/${id(s)}`, body).then((d) => d.store),
  /** Where the browser downloads the store's sticker (a link, so it saves as a file). */
  stickerUrl: (s: string) => `/hq/api/stores/${id(s)}/sticker.pdf`,
  resetPin: (s: string) => call<{ pin: string }>('POST', `/stores/${id(s)}/manager-pin`),
  pairingCode: (store: string, terminalName?: string) =>
    call<{ code: string; storeId: string; expiresAt: string }>('POST', '/pairing-codes', {
      store,
      ...(terminalName ? { terminalName } : {}),
    }),
  revokeCounter: (t: string) => call<unknown>('POST', `/terminals/${id(t)}/revoke`),
};
