// The console's one way to the bridge: every call to /hq/api goes through here, typed after
// docs/back-office.md. Changes carry the session's CSRF token; an answer that is not 2xx
// becomes an ApiError with the server's code and message, which the pages show as they are.

export interface Money {
  minor: number;
  currency: string;
}

export type Role = 'hq_admin' | 'hq_finance' | 'merchant_admin' | 'store_manager' | 'viewer';

export interface Me {
  username: string;
  role: Role;
  merchantId: string | null;
  storeIds: readonly string[] | null;
  refundLimitMinor: number | null;
  csrf: string;
  totpEnabled: boolean;
  totpRequired: boolean;
}

export interface PaymentRow {
  id: string;
  outTradeNo: string;
  merchantId: string;
  merchantName: string;
  storeId: string | null;
  storeName: string | null;
  /** The store's time zone (IANA), the one the payment's times are shown in. */
  timezone?: string;
  terminalId: string | null;
  channel: string;
  mode: string;
  status: string;
  amount: Money;
  charged: Money | null;
  refunded: Money;
  flagged: boolean;
  createdAt: string;
  paidAt: string | null;
}

export interface PaymentPage {
  items: PaymentRow[];
  nextCursor: string | null;
  totals: Array<{ currency: string; count: number; amount: Money | number }>;
}

export interface RefundInfo {
  id: string;
  amount: Money;
  status: string;
  reason?: string | null;
  actor?: string | null;
  createdAt?: string;
  at?: string;
}

export interface Delivery {
  id: string;
  eventType: string;
  url: string;
  state: string;
  attempts: number;
  lastError: string | null;
  at: string;
}

export interface PaymentDetail extends PaymentRow {
  rate: string | null;
  rateAt: string | null;
  source: 'counter' | 'api' | 'onecode';
  history: Array<{ state: string; at: string; reason: string | null }>;
  refunds: RefundInfo[];
  deliveries: Delivery[];
  messages?: Array<Record<string, unknown>>;
}

export interface ReportRow {
  period: string;
  storeId: string | null;
  storeName: string | null;
  channel: string;
  count: number;
  gross: Money;
  refunds: Money;
  net: Money;
  charged: Money | null;
}

export interface AuditEntry {
  id: string;
  at: string;
  actor: string;
  role: string;
  action: string;
  merchantId: string | null;
  target: string | null;
  ip: string | null;
  details: unknown;
}

export interface UserInfo {
  id: string;
  username: string;
  role: string;
  merchantId?: string | null;
  storeIds?: string[] | null;
  refundLimitMinor?: number | null;
  disabled?: boolean;
  disabledAt?: string | null;
  totpEnabled?: boolean;
  createdAt?: string;
}

export interface SessionInfo {
  id: string;
  createdAt?: string;
  expiresAt?: string;
  ip?: string | null;
  userAgent?: string | null;
  current?: boolean;
  username?: string;
}

export interface ApiKeyInfo {
  id: string;
  label: string | null;
  prefix?: string;
  createdAt?: string;
  lastUsedAt?: string | null;
  revokedAt?: string | null;
  merchantId?: string;
}

export interface StoreInfo {
  id: string;
  code: string;
  name: string;
  merchant: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type Query = Record<string, string | number | boolean | null | undefined>;

/** `?a=1&b=2` of the values that are set, or '' when none is. */
export function queryString(q: Query): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== null && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}

let csrf = '';
let onUnauthorized: () => void = () => undefined;

/** The console tells the client what to do when the session ends (show the login page). */
export function whenLoggedOut(fn: () => void): void {
  onUnauthorized = fn;
}

/** One request to /hq/api (also used by the pages' own API modules, e.g. offices-api.ts). */
export async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (method !== 'GET') {
    headers['content-type'] = 'application/json';
    if (csrf) headers['x-csrf-token'] = csrf;
  }
  let res: Response;
  try {
    res = await fetch(`/hq/api${path}`, {
      method,
      headers,
      body: method === 'GET' ? undefined : JSON.stringify(body ?? {}),
      credentials: 'same-origin',
    });
  } catch (err) {
    throw new ApiError(0, 'network', (err as Error).message);
  }
  const text = await res.text();
  let data: any = {};
  try {
    data = text ? JSON.parse(text) : {};
  } catch {
    data = {};
  }
  if (!res.ok) {
    const e = data?.error ?? {};
    const error = new ApiError(res.status, String(e.code ?? `http_${res.status}`), String(e.message ?? res.statusText));
    // A wrong authenticator code (turning two-factor on or off) is a 401 too, but the session lives on.
    if (res.status === 401 && !error.code.startsWith('totp_') && path !== '/login' && path !== '/me') onUnauthorized();
    throw error;
  }
  return data as T;
}

/**
 * The session's user. Today's bridge answers `{ username, role, merchantId, hq, csrf }`; the
 * contract's answer is `{ user, scope, totpEnabled, totpRequired }`: both read the same here.
 */
export function readMe(raw: any): Me {
  const user = raw?.user ?? raw ?? {};
  const scope = raw?.scope ?? {};
  const role = String(scope.role ?? user.role ?? 'viewer');
  return {
    username: String(user.username ?? scope.username ?? ''),
    role: (role === 'merchant_user' ? 'merchant_admin' : role) as Role,
    merchantId: scope.merchantId ?? user.merchantId ?? null,
    storeIds: scope.storeIds ?? null,
    refundLimitMinor: scope.refundLimitMinor ?? null,
    csrf: String(raw?.csrf ?? user.csrf ?? scope.csrf ?? ''),
    totpEnabled: Boolean(raw?.totpEnabled ?? user.totpEnabled),
    totpRequired: Boolean(raw?.totpRequired ?? user.totpRequired),
  };
}

/** An answer to a login that asks for the authenticator's code rather than refusing. */
export function needsTotp(err: unknown): boolean {
  return err instanceof ApiError && err.code === 'totp_required';
}

function remember(me: Me): Me {
  csrf = me.csrf;
  return me;
}

/** Lists come as `{ items }` in the contract; a few older routes name the list after its things. */
function listOf<T>(data: any, ...names: string[]): T[] {
  if (Array.isArray(data)) return data as T[];
  for (const n of ['items', ...names]) if (Array.isArray(data?.[n])) return data[n] as T[];
  return [];
}

export const api = {
  async me(): Promise<Me> {
    return remember(readMe(await call('GET', '/me')));
  },
  async login(username: string, password: string, totp?: string): Promise<Me> {
    const raw = await call<any>('POST', '/login', { username, password, ...(totp ? { totp } : {}) });
    // A server that answers 200 with a request for the code rather than an error.
    if (raw && (raw.totpNeeded === true || raw.needsTotp === true) && !raw.csrf && !raw.user)
      throw new ApiError(401, 'totp_required', 'enter the code from your authenticator app');
    return remember(readMe(raw));
  },
  async logout(): Promise<void> {
    await call('POST', '/logout');
    csrf = '';
  },

  payments: (filter: Query, cursor?: string) =>
    call<PaymentPage>('GET', `/payments${queryString({ ...filter, cursor })}`).then((p) => ({
      items: p.items ?? [],
      nextCursor: p.nextCursor ?? null,
      totals: p.totals ?? [],
    })),
  payment: (id: string) => call<PaymentDetail>('GET', `/payments/${encodeURIComponent(id)}`),
  refund: (id: string, amountMinor: number, reason: string) =>
    call<RefundInfo>('POST', `/payments/${encodeURIComponent(id)}/refunds`, { amountMinor, reason }),
  close: (id: string) => call<PaymentRow>('POST', `/payments/${encodeURIComponent(id)}/close`),
  resend: (deliveryId: string) => call<unknown>('POST', `/deliveries/${encodeURIComponent(deliveryId)}/resend`),
  /** Where the browser downloads a CSV for this filter (a link, so the file streams to disk). */
  exportUrl: (kind: 'payments' | 'refunds' | 'xero', filter: Query) =>
    `/hq/api/exports/${kind}.csv${queryString(filter)}`,

  reports: (q: Query) => call<any>('GET', `/reports${queryString(q)}`).then((d) => listOf<ReportRow>(d, 'rows')),

  audit: (filter: Query, cursor?: string) =>
    call<any>('GET', `/audit${queryString({ ...filter, cursor })}`).then((d) => ({
      items: listOf<AuditEntry>(d),
      nextCursor: (d?.nextCursor ?? null) as string | null,
    })),

  users: () => call<any>('GET', '/users').then((d) => listOf<UserInfo>(d, 'users')),
  disableUser: (id: string) => call<unknown>('POST', `/users/${encodeURIComponent(id)}/disable`),
  invite: (body: { role: Role; merchantId?: string; storeIds?: string[]; refundLimitMinor?: number }) =>
    call<{ link: string; expiresAt: string }>('POST', '/invites', body),
  acceptInvite: (token: string, username: string, password: string) =>
    call<{ user: UserInfo }>('POST', '/invites/accept', { token, username, password }),
  sessions: () => call<any>('GET', '/sessions').then((d) => listOf<SessionInfo>(d, 'sessions')),
  endSession: (id: string) => call<unknown>('DELETE', `/sessions/${encodeURIComponent(id)}`),
  totpSetup: () => call<{ otpauthUrl: string; qrSvg: string }>('POST', '/totp/setup'),
  totpEnable: (code: string) => call<unknown>('POST', '/totp/enable', { code }),
  totpDisable: (code: string) => call<unknown>('POST', '/totp/disable', { code }),

  // docs/back-office.md, "Developers": HQ names the merchant, a merchant admin's is implied.
  apiKeys: (merchant?: string) =>
    call<any>('GET', `/api-keys${queryString({ merchant })}`).then((d) => listOf<ApiKeyInfo>(d, 'keys')),
  createApiKey: (label: string, merchantId?: string) =>
    call<{ id: string; key: string }>('POST', '/api-keys', { label, ...(merchantId ? { merchantId } : {}) }),
  revokeApiKey: (id: string) => call<unknown>('POST', `/api-keys/${encodeURIComponent(id)}/revoke`),
  webhook: (merchant?: string) =>
    call<{ url: string | null }>('GET', `/webhook${queryString({ merchant })}`).then((d) => ({ url: d?.url ?? null })),
  setWebhook: (url: string, merchantId?: string) =>
    call<{ url: string; secret?: string }>('PUT', '/webhook', { url, ...(merchantId ? { merchantId } : {}) }),
  rotateWebhookSecret: (merchantId?: string) =>
    call<{ secret: string }>('POST', '/webhook/rotate', merchantId ? { merchantId } : {}),

  stores: () => call<{ stores: StoreInfo[] }>('GET', '/stores').then((d) => d.stores ?? []),
};

/** Roles that read every merchant. */
export const isHqRole = (role: Role): boolean => role === 'hq_admin' || role === 'hq_finance';
/** Who may refund and close, as the server decides it (the server still checks every call). */
export const mayRefund = (role: Role): boolean =>
  role === 'hq_admin' || role === 'merchant_admin' || role === 'store_manager';
