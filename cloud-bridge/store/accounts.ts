import { randomBytes } from 'node:crypto';
import type { Store } from './db.js';
import { nowIso } from './db.js';
import { SecretBox, hashPassword, sha256Hex, safeEqualHex, unmatchableHash, verifyPassword } from './secret-box.js';
import { newId } from '../../protocol/ids.js';
import { KauriError } from '../../protocol/errors.js';
import { CHANNELS, type ChannelName } from '../../protocol/payments.js';
import type { ChannelAccount } from '../channels/channel.js';
import { sql, type Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { ApiKeyTable, Database as Schema, MerchantTable, StoreTable, UserTable } from './schema.js';
import { ACCOUNTS_CACHE_TTL_MS, TtlCache } from './ttl-cache.js';
import { ACCOUNTS_CHANNEL, MerchantCache } from './merchant-cache.js';
import type { Money } from '../../protocol/money.js';
import { DEFAULT_MAX_PAYMENT } from '../orders/limits.js';
import { systemClock, type Clock } from '../../protocol/clock.js';

export type Merchant = Omit<MerchantTable, 'allowed_domains'> & { allowed_domains: string[] };
export type ShopStore = StoreTable;
export type User = Omit<UserTable, 'password_hash' | 'totp_secret' | 'totp_last_step'>;

/** A user row without its secrets (password hash, TOTP secret). */
export function publicUser(row: UserTable): User {
  const { password_hash: _p, totp_secret: _t, totp_last_step: _s, ...user } = row;
  return user;
}

export const USER_ROLES = ['hq_admin', 'hq_finance', 'merchant_admin', 'store_manager', 'viewer'] as const;
/** `merchant_user` is the old name of `merchant_admin`, still accepted where a role is typed. */
export type UserRoleInput = UserTable['role'] | 'merchant_user';
export const MIN_PASSWORD_LENGTH = 8;

/** Checks a new user's role, merchant, stores and refund limit; answers the role as stored. */
export function checkUserShape(input: {
  role: string;
  merchantId?: string | null;
  storeIds?: readonly string[];
  refundLimitMinor?: number | null;
}): UserTable['role'] {
  const role = (input.role === 'merchant_user' ? 'merchant_admin' : input.role) as UserTable['role'];
  if (!USER_ROLES.includes(role)) throw new KauriError('invalid_request', `Unknown role "${input.role}"`);
  const isHq = role.startsWith('hq_');
  if (isHq && input.merchantId) throw new KauriError('invalid_request', 'HQ users belong to no merchant');
  if (!isHq && !input.merchantId) throw new KauriError('invalid_request', 'A merchant user needs a merchant');
  const stores = input.storeIds ?? [];
  if (stores.length > 0 && role !== 'store_manager' && role !== 'viewer')
    throw new KauriError('invalid_request', 'Only store managers and viewers are tied to stores');
  if (role === 'store_manager' && stores.length === 0)
    throw new KauriError('invalid_request', 'A store manager needs at least one store');
  const limit = input.refundLimitMinor;
  if (limit !== undefined && limit !== null && (!Number.isSafeInteger(limit) || limit < 0))
    throw new KauriError('invalid_request', 'A refund limit is a whole number of minor units, zero or more');
  return role;
}

const API_KEY_PREFIX = 'kauri_sk';
/** How often a key's last_used_at is written at most, per key and bridge instance. */
export const API_KEY_TOUCH_MS = 60_000;

/** An API key as the back office shows it: never the secret or its hash. */
export interface ApiKeyInfo {
  id: string;
  merchantId: string;
  label: string;
  /** The key's public part, `kauri_sk.<id>`, to tell keys apart. */
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

function apiKeyInfo(row: ApiKeyTable): ApiKeyInfo {
  return {
    id: row.id,
    merchantId: row.merchant_id,
    label: row.label,
    prefix: `${API_KEY_PREFIX}.${row.id}`,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
  };
}

/** What an unknown user name is checked against: as slow as a real hash, matched by nothing. */
const DUMMY_HASH = unmatchableHash();

/** Merchants, stores, people, API keys and channel accounts. */
export class AccountsRepo {
  // Every API request reads its key and every payment its channel account (decrypting
  // the secrets): both are cached. Channel account rows never change once written (a new
  // account replaces the old), so by id they could be kept for ever; which one is active
  // and whether a key is revoked can change from another instance, hence the expiry.
  private readonly apiKeys: TtlCache<{ merchantId: string; secretHash: string }>;
  /** When this instance last wrote each key's last_used_at (epoch ms). */
  private readonly keysTouchedAt = new Map<string, number>();
  private readonly accountsById: TtlCache<ChannelAccount>;
  private readonly activeAccounts: TtlCache<ChannelAccount | undefined>;
  private readonly clock: Clock;
  /** Merchants, on PostgreSQL once startCaches() has its listener; read each time otherwise. */
  private merchants: MerchantCache<Merchant>;

  constructor(
    private readonly store: Store,
    private readonly box: SecretBox,
    options: { cacheTtlMs?: number; clock?: Clock } = {},
  ) {
    this.clock = options.clock ?? systemClock();
    const ttl = options.cacheTtlMs ?? ACCOUNTS_CACHE_TTL_MS;
    this.apiKeys = new TtlCache(ttl);
    this.accountsById = new TtlCache(ttl * 60);
    this.activeAccounts = new TtlCache(ttl);
    this.merchants = new MerchantCache<Merchant>(store);
  }

  private get db() {
    return this.store.db;
  }

  private now(): string {
    return nowIso(this.clock.now());
  }

  async createMerchant(input: {
    name: string;
    allowedDomains?: string[];
    fxMarkup?: string;
    id?: string;
    allowPrivateWebhooks?: boolean;
    maxPayment?: Money;
  }): Promise<Merchant> {
    const max = input.maxPayment ?? DEFAULT_MAX_PAYMENT;
    const row: MerchantTable = {
      id: input.id ?? newId('mch'),
      name: input.name,
      allowed_domains: JSON.stringify(input.allowedDomains ?? []),
      fx_markup: input.fxMarkup ?? '0.02',
      created_at: this.now(),
      allow_private_webhooks: input.allowPrivateWebhooks ? 1 : 0,
      max_payment_minor: max.minor,
      max_payment_currency: max.currency,
    };
    await this.db.insertInto('merchants').values(row).execute();
    return { ...row, allowed_domains: input.allowedDomains ?? [] };
  }

  async getMerchant(id: string): Promise<Merchant | undefined> {
    const m = await this.merchants.get(id, async () => {
      const row = await this.db.selectFrom('merchants').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? { ...row, allowed_domains: JSON.parse(row.allowed_domains) as string[] } : undefined;
    });
    // A copy: the cached one is shared by every request.
    return m && { ...m, allowed_domains: [...m.allowed_domains] };
  }

  /**
   * Writes a change to a merchant's row and announces it (PostgreSQL: NOTIFY in the same
   * transaction, heard by every bridge's merchant cache when it commits).
   */
  private async changeMerchant(id: string, set: Partial<MerchantTable>): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.updateTable('merchants').set(set).where('id', '=', id).execute();
      if (this.store.dialect === 'postgres') await sql`select pg_notify(${ACCOUNTS_CHANNEL}, ${id})`.execute(trx);
    });
    this.merchants.forget(id);
  }

  /** Starts the merchant cache's listener (PostgreSQL); without it merchants are read each time. */
  startCaches(log?: Logger): Promise<void> {
    this.merchants = new MerchantCache<Merchant>(this.store, log);
    return this.merchants.start();
  }

  async closeCaches(): Promise<void> {
    await this.merchants.close();
  }

  /** Changes a merchant's settings; answers the merchant as it now is. */
  async updateMerchant(id: string, change: { allowPrivateWebhooks?: boolean }): Promise<Merchant> {
    await this.requireMerchant(id);
    if (change.allowPrivateWebhooks !== undefined) {
      await this.changeMerchant(id, { allow_private_webhooks: change.allowPrivateWebhooks ? 1 : 0 });
    }
    return (await this.getMerchant(id))!;
  }

  async listMerchants(): Promise<Merchant[]> {
    const rows = await this.db.selectFrom('merchants').selectAll().orderBy('created_at').execute();
    return rows.map((row) => ({ ...row, allowed_domains: JSON.parse(row.allowed_domains) as string[] }));
  }

  /** HQ's maximum for one payment of this merchant (in force at once, on every bridge). */
  async setMaxPayment(merchantId: string, max: Money): Promise<Merchant> {
    if (max.minor <= 0) throw new KauriError('invalid_request', 'The maximum per payment must be above zero');
    await this.requireMerchant(merchantId);
    await this.changeMerchant(merchantId, { max_payment_minor: max.minor, max_payment_currency: max.currency });
    return (await this.getMerchant(merchantId))!;
  }

  async createStore(input: {
    merchantId: string;
    name: string;
    code?: string;
    timezone?: string;
    maxStaticAmountMinor?: number;
  }): Promise<ShopStore> {
    await this.requireMerchant(input.merchantId);
    const row: StoreTable = {
      id: newId('sto'),
      merchant_id: input.merchantId,
      code: input.code ?? randomBytes(6).toString('base64url'),
      name: input.name,
      timezone: input.timezone ?? 'Pacific/Auckland',
      max_static_amount_minor: input.maxStaticAmountMinor ?? 500_000,
      currency: 'NZD',
      created_at: this.now(),
    };
    await this.db.insertInto('stores').values(row).execute();
    return row;
  }

  async getStore(id: string): Promise<ShopStore | undefined> {
    return this.db.selectFrom('stores').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async getStoreByCode(code: string): Promise<ShopStore | undefined> {
    return this.db.selectFrom('stores').selectAll().where('code', '=', code).executeTakeFirst();
  }

  async listStores(merchantId: string): Promise<ShopStore[]> {
    return this.db
      .selectFrom('stores')
      .selectAll()
      .where('merchant_id', '=', merchantId)
      .orderBy('created_at')
      .execute();
  }

  /**
   * Creates a user. Store managers and viewers may be tied to stores of their merchant; the
   * refund limit is in the minor units of the payment refunded. `db` lets a caller create the
   * user inside its own transaction (accepting an invitation, with its audit row).
   */
  async createUser(
    input: {
      username: string;
      password: string;
      role: UserRoleInput;
      merchantId?: string | null;
      storeIds?: readonly string[];
      refundLimitMinor?: number | null;
    },
    db: Kysely<Schema> = this.db,
  ): Promise<User> {
    const role = checkUserShape(input);
    if (input.merchantId) await this.requireMerchant(input.merchantId, db);
    if (input.password.length < MIN_PASSWORD_LENGTH)
      throw new KauriError('invalid_request', `Passwords need at least ${MIN_PASSWORD_LENGTH} characters`);
    if (!/^[^\p{Cc}\s][^\p{Cc}]{0,99}$/u.test(input.username))
      throw new KauriError('invalid_request', 'A user name is 1–100 characters, without control characters');
    const storeIds = [...new Set(input.storeIds ?? [])];
    if (storeIds.length > 0) {
      const found = await db
        .selectFrom('stores')
        .select('id')
        .where('id', 'in', storeIds)
        .where('merchant_id', '=', input.merchantId!)
        .execute();
      if (found.length !== storeIds.length)
        throw new KauriError('invalid_request', "Every store must be one of the user's merchant's stores");
    }
    const taken = await db.selectFrom('users').select('id').where('username', '=', input.username).executeTakeFirst();
    if (taken) throw new KauriError('conflict', `The user name "${input.username}" is taken`);
    const row: UserTable = {
      id: newId('usr'),
      username: input.username,
      password_hash: hashPassword(input.password),
      role,
      merchant_id: input.merchantId ?? null,
      created_at: this.now(),
      disabled_at: null,
      refund_limit_minor: input.refundLimitMinor ?? null,
      totp_secret: null,
      totp_enabled: 0,
      totp_last_step: null,
    };
    await db.insertInto('users').values(row).execute();
    if (storeIds.length > 0)
      await db
        .insertInto('user_stores')
        .values(storeIds.map((store_id) => ({ user_id: row.id, store_id })))
        .execute();
    return publicUser(row);
  }

  async authenticateUser(username: string, password: string): Promise<User | undefined> {
    const row = await this.db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst();
    // The hash runs whether or not the user exists (or is disabled): the answer's time must not
    // tell which user names exist.
    const ok = verifyPassword(password, row?.password_hash ?? DUMMY_HASH);
    if (!row || row.disabled_at || !ok) return undefined;
    return publicUser(row);
  }

  /** Creates an API key; the full key is returned once and only its hash is kept. Inside `trx` when given. */
  async createApiKey(
    merchantId: string,
    label = 'default',
    trx?: Kysely<Schema>,
  ): Promise<{ id: string; key: string; createdAt: string }> {
    const db = trx ?? this.db;
    await this.requireMerchant(merchantId, db);
    const id = newId('key');
    const secret = randomBytes(24).toString('base64url');
    const createdAt = this.now();
    await db
      .insertInto('api_keys')
      .values({
        id,
        merchant_id: merchantId,
        label,
        secret_hash: sha256Hex(secret),
        created_at: createdAt,
        revoked_at: null,
        last_used_at: null,
      })
      .execute();
    return { id, key: `${API_KEY_PREFIX}.${id}.${secret}`, createdAt };
  }

  async revokeApiKey(id: string, trx?: Kysely<Schema>): Promise<void> {
    await (trx ?? this.db).updateTable('api_keys').set({ revoked_at: this.now() }).where('id', '=', id).execute();
    this.apiKeys.delete((k) => k === id);
  }

  /** One key as the back office lists it (never its hash), or undefined. */
  async getApiKey(id: string): Promise<ApiKeyInfo | undefined> {
    const row = await this.db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? apiKeyInfo(row) : undefined;
  }

  /** A merchant's keys, newest first, revoked ones included. */
  async listApiKeys(merchantId: string): Promise<ApiKeyInfo[]> {
    const rows = await this.db
      .selectFrom('api_keys')
      .selectAll()
      .where('merchant_id', '=', merchantId)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .execute();
    return rows.map(apiKeyInfo);
  }

  /** The merchant an API key belongs to, or undefined for an unknown, malformed or revoked key. */
  async merchantForApiKey(key: string): Promise<string | undefined> {
    const parts = key.split('.');
    if (parts.length !== 3 || parts[0] !== API_KEY_PREFIX) return undefined;
    const [, id, secret] = parts as [string, string, string];
    let known = this.apiKeys.get(id);
    if (!known) {
      const row = await this.db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
      // Unknown and revoked keys are not cached: a revoked key is refused from the database.
      if (!row || row.revoked_at) return undefined;
      known = { merchantId: row.merchant_id, secretHash: row.secret_hash };
      this.apiKeys.set(id, known);
    }
    if (!safeEqualHex(known.secretHash, sha256Hex(secret))) return undefined;
    this.touchApiKey(id);
    return known.merchantId;
  }

  /**
   * Notes that a key was used, at most once a minute per key and instance, and without the
   * request waiting for it: "last used" is for a person deciding whether a key can go, and
   * minute precision is plenty, whereas a write per API request would not be.
   */
  private touchApiKey(id: string): void {
    const now = this.clock.now().getTime();
    const last = this.keysTouchedAt.get(id);
    if (last !== undefined && now - last < API_KEY_TOUCH_MS) return;
    this.keysTouchedAt.set(id, now);
    void this.db
      .updateTable('api_keys')
      .set({ last_used_at: nowIso(new Date(now)) })
      .where('id', '=', id)
      .execute()
      // Losing one "last used" note must never fail a payment; the next minute writes it again.
      .catch(() => this.keysTouchedAt.delete(id));
  }

  async createChannelAccount(input: {
    merchantId: string;
    channel: ChannelName;
    config: Record<string, unknown>;
    secrets: Record<string, string>;
  }): Promise<ChannelAccount> {
    await this.requireMerchant(input.merchantId);
    if (!CHANNELS.includes(input.channel))
      throw new KauriError('invalid_request', `Unknown channel "${input.channel}"`);
    const id = newId('cha');
    // One active account per merchant and channel: a new one replaces the old.
    await this.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('channel_accounts')
        .set({ active: 0 })
        .where('merchant_id', '=', input.merchantId)
        .where('channel', '=', input.channel)
        .execute();
      await trx
        .insertInto('channel_accounts')
        .values({
          id,
          merchant_id: input.merchantId,
          channel: input.channel,
          config: JSON.stringify(input.config),
          secrets: this.box.seal(JSON.stringify(input.secrets)),
          active: 1,
          created_at: this.now(),
        })
        .execute();
    });
    this.activeAccounts.delete((k) => k === `${input.merchantId}\0${input.channel}`);
    return { id, merchantId: input.merchantId, channel: input.channel, config: input.config, secrets: input.secrets };
  }

  async activeChannelAccount(merchantId: string, channel: ChannelName): Promise<ChannelAccount | undefined> {
    const key = `${merchantId}\0${channel}`;
    const cached = this.activeAccounts.get(key);
    if (cached) return cached;
    const row = await this.db
      .selectFrom('channel_accounts')
      .selectAll()
      .where('merchant_id', '=', merchantId)
      .where('channel', '=', channel)
      .where('active', '=', 1)
      .executeTakeFirst();
    if (!row) return undefined;
    const account = this.accountsById.get(row.id) ?? this.toAccount(row);
    this.accountsById.set(row.id, account);
    this.activeAccounts.set(key, account);
    return account;
  }

  async getChannelAccount(id: string): Promise<ChannelAccount | undefined> {
    const cached = this.accountsById.get(id);
    if (cached) return cached;
    const row = await this.db.selectFrom('channel_accounts').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) return undefined;
    const account = this.toAccount(row);
    this.accountsById.set(id, account);
    return account;
  }

  async listChannelAccounts(
    merchantId?: string,
  ): Promise<Array<Omit<ChannelAccount, 'secrets'> & { active: boolean }>> {
    let q = this.db.selectFrom('channel_accounts').selectAll();
    if (merchantId) q = q.where('merchant_id', '=', merchantId);
    const rows = await q.orderBy('created_at').execute();
    return rows.map((r) => ({
      id: r.id,
      merchantId: r.merchant_id,
      channel: r.channel as ChannelName,
      config: JSON.parse(r.config),
      active: r.active === 1,
    }));
  }

  private toAccount(row: {
    id: string;
    merchant_id: string;
    channel: string;
    config: string;
    secrets: string;
  }): ChannelAccount {
    return {
      id: row.id,
      merchantId: row.merchant_id,
      channel: row.channel as ChannelName,
      config: JSON.parse(row.config) as Record<string, unknown>,
      secrets: JSON.parse(this.box.open(row.secrets)) as Record<string, string>,
    };
  }

  private async requireMerchant(id: string, db: Kysely<Schema> = this.db): Promise<void> {
    const m = await db.selectFrom('merchants').select('id').where('id', '=', id).executeTakeFirst();
    if (!m) throw new KauriError('not_found', `No merchant "${id}"`);
  }
}
