import type { Generated } from 'kysely';

// Timestamps are ISO 8601 strings in UTC with milliseconds ("2026-11-21T23:52:06.123Z"),
// which sort correctly as text on both SQLite and PostgreSQL. Money columns are integers
// of minor units; rates and markups are decimal strings.

export interface MerchantTable {
  id: string;
  name: string;
  allowed_domains: string; // JSON array of host names for return/notify URLs
  fx_markup: string; // decimal fraction, e.g. "0.02"
  created_at: string;
  /** 1: webhooks may go to private/loopback/link-local addresses and over http (webhooks/destination.ts). */
  allow_private_webhooks: number;
  /** The most one payment may be, in minor units of max_payment_currency (default NZD 50,000.00). */
  max_payment_minor: number;
  max_payment_currency: string;
  /** When HQ turned the merchant off (no new payments), or null while it is on. */
  disabled_at: string | null;
}

export interface StoreTable {
  id: string;
  merchant_id: string;
  code: string;
  name: string;
  timezone: string;
  max_static_amount_minor: number;
  currency: string;
  created_at: string;
}

export interface UserTable {
  id: string;
  username: string;
  password_hash: string;
  role: 'hq_admin' | 'hq_finance' | 'merchant_admin' | 'store_manager' | 'viewer';
  merchant_id: string | null; // null for HQ users
  created_at: string;
  disabled_at: string | null;
  /** Largest refund this user may send (minor units); null: none of their own. */
  refund_limit_minor: number | null;
  /** The TOTP secret, sealed by the SecretBox; null until set up. */
  totp_secret: string | null;
  totp_enabled: number;
  /** The last TOTP time step accepted, so a code is not taken twice. */
  totp_last_step: number | null;
}

export interface UserStoreTable {
  user_id: string;
  store_id: string;
}

export interface HqInviteTable {
  id: string;
  token_hash: string;
  role: string;
  merchant_id: string | null;
  store_ids: string; // JSON array
  refund_limit_minor: number | null;
  created_by: string;
  created_at: string;
  expires_at: string;
  used_at: string | null;
  used_by: string | null;
}

export interface AuditLogTable {
  id: Generated<number>;
  at: string;
  actor: string;
  actor_id: string | null;
  role: string | null;
  action: string;
  merchant_id: string | null;
  target: string | null;
  ip: string | null;
  details: string; // JSON
}

export interface ApiKeyTable {
  id: string;
  merchant_id: string;
  label: string;
  secret_hash: string; // SHA-256 hex of the secret part: keys are high-entropy, so no slow hash is needed
  created_at: string;
  revoked_at: string | null;
  last_used_at: string | null;
}

export interface TerminalTable {
  id: string;
  merchant_id: string;
  store_id: string;
  name: string;
  secret_hash: string | null;
  created_at: string;
  revoked_at: string | null;
  last_seen_at: string | null;
  /** JSON: the devices of the counter's latest `device.health` ({ kind, state, detail? }[]). */
  device_health: string | null;
  health_at: string | null;
}

export interface PairingCodeTable {
  code_hash: string;
  merchant_id: string;
  store_id: string;
  terminal_name: string;
  created_at: string;
  expires_at: string;
  used_at: string | null;
}

export interface ChannelAccountTable {
  id: string;
  merchant_id: string;
  channel: string;
  config: string; // JSON, not secret: base URLs, appid, mch_id, ...
  secrets: string; // AES-256-GCM sealed JSON (KAURI_SECRET_KEY)
  active: number;
  created_at: string;
  /** When HQ turned the account off (no new payments on it), or null while it is on. */
  disabled_at: string | null;
}

export interface OrderTable {
  id: string;
  merchant_id: string;
  store_id: string | null;
  terminal_id: string | null;
  checkout_id: string | null;
  out_trade_no: string;
  channel: string;
  channel_account_id: string;
  mode: string;
  amount_minor: number;
  currency: string;
  status: string;
  refunded_minor: number;
  description: string | null;
  channel_order_no: string; // the bridge's own number sent to the channel
  channel_trade_no: string | null;
  qr_code: string | null;
  redirect_url: string | null;
  openid: string | null;
  quote_id: string | null;
  cny_quote_minor: number | null;
  cny_charged_minor: number | null;
  rate: string | null;
  rate_time: string | null;
  return_url: string | null;
  request_hash: string;
  flagged: number;
  flag_reason: string | null;
  expires_at: string | null;
  created_at: string;
  updated_at: string;
  paid_at: string | null;
  channel_paid_at: string | null;
  version: number;
  /** JSON: what the payer's wallet needs (e.g. {"jsapi": {...}}), from migration 0006. */
  pay_params?: string | null;
}

export interface OrderEventTable {
  id: Generated<number>;
  order_id: string;
  from_status: string | null;
  to_status: string;
  cause: string;
  data: string | null; // JSON: the channel's data that caused it
  created_at: string;
}

export interface RefundTable {
  id: string;
  merchant_id: string;
  order_id: string;
  out_refund_no: string;
  channel_refund_no: string; // the bridge's own refund number sent to the channel
  channel_refund_id: string | null;
  amount_minor: number;
  currency: string;
  status: string;
  reason: string | null;
  automatic: number;
  request_hash: string;
  created_at: string;
  updated_at: string;
  /** While a send may be in flight: no one else sends it before this (migration 0008). */
  sending_until?: string | null;
  last_sent_at?: string | null;
  send_attempts?: number;
  /** The back-office user who asked for it, if one did (migration 0021). */
  requested_by?: string | null;
}

export interface ChannelMessageTable {
  id: Generated<number>;
  channel: string;
  channel_account_id: string | null;
  order_id: string | null;
  direction: 'request' | 'response' | 'notify' | 'reply';
  endpoint: string;
  http_status: number | null;
  body: string; // secrets redacted
  created_at: string;
}

export interface EventTable {
  seq: Generated<number>;
  id: string;
  type: string;
  merchant_id: string | null;
  store_id: string | null;
  payload: string; // JSON
  created_at: string;
}

export interface EventCursorTable {
  reader: string;
  position: number;
  updated_at: string;
}

export interface JobTable {
  name: string;
  next_run_at: string;
  locked_by: string | null;
  locked_until: string | null;
  last_started_at: string | null;
  last_finished_at: string | null;
  last_error: string | null;
  runs: number;
}

export interface TaskTable {
  id: string;
  kind: string;
  dedupe_key: string | null;
  payload: string;
  run_at: string;
  attempts: number;
  max_attempts: number;
  status: 'queued' | 'running' | 'done' | 'dead';
  locked_by: string | null;
  locked_until: string | null;
  last_error: string | null;
  created_at: string;
  updated_at: string;
}

export interface FileTable {
  sha256: string;
  size: number;
  kind: string;
  channel: string | null;
  day: string | null;
  meta: string; // JSON
  created_at: string;
}

export interface CheckoutTable {
  id: string;
  token: string; // >= 128 random bits, base64url: the /c/<token> URL
  merchant_id: string;
  store_id: string | null;
  terminal_id: string | null;
  kind: 'dynamic' | 'static'; // static: started from the store sticker, amount typed by the customer
  amount_minor: number;
  currency: string;
  allowed_channels: string | null; // JSON array of channel names; null = every configured channel
  status: 'open' | 'paid' | 'expired' | 'cancelled';
  paid_order_id: string | null;
  description: string | null;
  return_url: string | null;
  reference: string | null; // the merchant's own reference
  expires_at: string;
  created_at: string;
  updated_at: string;
}

export interface CheckoutPresentationTable {
  order_id: string;
  checkout_id: string;
  data: string; // JSON: what the payer's browser needs (JSAPI pay parameters, a channel page)
  created_at: string;
}

export interface WebhookEndpointTable {
  merchant_id: string;
  url: string;
  secret: string; // sealed with KAURI_SECRET_KEY
  created_at: string;
  updated_at: string;
}

export interface WebhookDeliveryTable {
  id: string;
  merchant_id: string;
  event_id: string;
  event_seq: number;
  event_type: string;
  url: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  next_attempt_at: string | null;
  delivered_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface WebhookAttemptTable {
  id: Generated<number>;
  delivery_id: string;
  attempt: number;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
  manual: number;
  created_at: string;
}

export interface FxRateTable {
  id: string;
  channel: string; // wechat | alipay | bank
  source: string; // e.g. wechat.queryexchagerate, alipay.forex_rate_file, bank.rate
  currency: string; // the foreign currency, e.g. NZD
  cny_per_unit: string; // decimal string
  published_at: string;
  fetched_at: string;
}

export interface FxQuoteTable {
  id: string;
  merchant_id: string;
  channel: string;
  amount_minor: number;
  currency: string;
  cny_minor: number;
  rate: string; // CNY per unit, decimal string
  markup: string; // fraction, decimal string
  exact_cny: string; // amount × rate × (1 + markup) in yuan, before rounding
  rounding: string; // "up" (bank: payable) or "half_up" (wallet display estimate)
  source: string;
  rate_id: string;
  rate_time: string; // the rate's published time
  created_at: string;
  expires_at: string;
}

// Reconciliation (cloud-bridge/reconcile/runs) and the HQ page's sessions.
export interface ReconDownloadTable {
  channel: string;
  day: string; // the channel's day, UTC+8
  merchant_id: string;
  account_id: string;
  state: 'ready' | 'not_ready' | 'empty' | 'failed';
  file_sha256: string | null;
  attempts: number;
  last_error: string | null;
  created_at: string;
  updated_at: string;
}

export interface ReconRunTable {
  id: string;
  channel: string;
  day: string;
  merchant_id: string;
  state: 'done' | 'failed' | 'no_statement';
  file_sha256: string | null;
  layout: string | null;
  summary: string | null; // JSON: the ReconcileSummary
  error: string | null;
  actor: string;
  started_at: string;
  finished_at: string | null;
}

export interface ReconDifferenceTable {
  seq: Generated<number>;
  diff_key: string;
  version: number;
  channel: string;
  day: string;
  merchant_id: string;
  category: string;
  kind: string;
  ref_id: string;
  state: 'open' | 'resolved' | 'cleared';
  /** HQ's resolution, or 'carried': suspense handed over to the next day's run. */
  action: 'accept' | 'adjust' | 'refund' | 'link' | 'carried' | null;
  note: string | null;
  linked_order: string | null;
  adjust_minor: number | null;
  actor: string;
  data: string; // JSON: the Difference
  created_at: string;
}

export interface ReconSignoffTable {
  channel: string;
  day: string;
  signed_by: string;
  note: string | null;
  signed_at: string;
}

export interface ReconSettlementTable {
  channel: string;
  day: string;
  merchant_id: string;
  currency: string;
  payments: number;
  gross_minor: number;
  refunds: number;
  refunds_minor: number;
  fees_minor: number;
  cny_charged_minor: number;
  run_id: string;
  updated_at: string;
}

export interface ReconAdjustmentTable {
  id: string;
  channel: string;
  day: string;
  merchant_id: string;
  currency: string;
  amount_minor: number;
  note: string;
  refers_to: string | null;
  actor: string;
  created_at: string;
}

export interface HqSessionTable {
  id_hash: string;
  user_id: string;
  csrf: string;
  created_at: string;
  expires_at: string;
  ip: string | null;
  user_agent: string | null;
}

export interface HqLoginThrottleTable {
  key: string;
  attempts: number;
  blocked_until_ms: number;
  updated_at: string;
}

export interface Database {
  merchants: MerchantTable;
  stores: StoreTable;
  users: UserTable;
  api_keys: ApiKeyTable;
  terminals: TerminalTable;
  pairing_codes: PairingCodeTable;
  channel_accounts: ChannelAccountTable;
  orders: OrderTable;
  order_events: OrderEventTable;
  refunds: RefundTable;
  channel_messages: ChannelMessageTable;
  events: EventTable;
  event_cursors: EventCursorTable;
  jobs: JobTable;
  tasks: TaskTable;
  files: FileTable;
  checkouts: CheckoutTable;
  checkout_presentations: CheckoutPresentationTable;
  webhook_endpoints: WebhookEndpointTable;
  webhook_deliveries: WebhookDeliveryTable;
  webhook_attempts: WebhookAttemptTable;
  fx_rates: FxRateTable;
  fx_quotes: FxQuoteTable;
  recon_downloads: ReconDownloadTable;
  recon_runs: ReconRunTable;
  recon_differences: ReconDifferenceTable;
  recon_signoffs: ReconSignoffTable;
  recon_settlements: ReconSettlementTable;
  recon_adjustments: ReconAdjustmentTable;
  hq_sessions: HqSessionTable;
  hq_login_throttle: HqLoginThrottleTable;
  user_stores: UserStoreTable;
  hq_invites: HqInviteTable;
  audit_log: AuditLogTable;
}
