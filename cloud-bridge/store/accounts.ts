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

/** A store code, as printed on its sticker and typed in URLs (/s/<code>). */
export const STORE_CODE = /^[A-Za-z0-9_-]{3,40}$/;

/** Checks an FX markup ("0.02": a fraction below 1, up to six decimals, as the CLI takes it). */
export function checkFxMarkup(v: string): string {
  if (!/^0(\.\d{1,6})?$/.test(v))
    throw new KauriError('invalid_request', 'The FX markup is a fraction below 1, e.g. 0.02');
  return v;
}

/** Checks an IANA time zone name (the runtime knows it). */
export function checkTimezone(tz: string): string {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
  } catch {
    throw new KauriError('invalid_request', `"${tz}" is not an IANA time zone such as Pacific/Auckland`);
  }
  return tz;
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
  // account replaces the old) but for being turned off; which one is active and whether a
  // key is revoked can change from another instance. On PostgreSQL such a change is
  // announced in its transaction (NOTIFY on the accounts channel) and every bridge
  // forgets the entry when it commits, so a revoked key or a turned-off account is refused
  // everywhere at once; the expiry is what is left when no announcement can come (SQLite,
  // where another process such as `kauri admin` has no NOTIFY, or a listener reconnecting).
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

  /** Creates a merchant (inside `db` when given: the back office writes its audit row with it). */
  async createMerchant(
    input: {
      name: string;
      allowedDomains?: string[];
      fxMarkup?: string;
      id?: string;
      allowPrivateWebhooks?: boolean;
      maxPayment?: Money;
    },
    db: Kysely<Schema> = this.db,
  ): Promise<Merchant> {
    const max = input.maxPayment ?? DEFAULT_MAX_PAYMENT;
    if (max.minor <= 0) throw new KauriError('invalid_request', 'The maximum per payment must be above zero');
    if (input.fxMarkup !== undefined) checkFxMarkup(input.fxMarkup);
    const row: MerchantTable = {
      id: input.id ?? newId('mch'),
      name: input.name,
      allowed_domains: JSON.stringify(input.allowedDomains ?? []),
      fx_markup: input.fxMarkup ?? '0.02',
      created_at: this.now(),
      allow_private_webhooks: input.allowPrivateWebhooks ? 1 : 0,
      max_payment_minor: max.minor,
      max_payment_currency: max.currency,
      disabled_at: null,
    };
    await db.insertInto('merchants').values(row).execute();
    return { ...row, allowed_domains: input.allowedDomains ?? [] };
  }

  /**
   * The merchant as it is. Outside a transaction through the merchant cache (PostgreSQL);
   * inside one (`db` given) read in it, so a change made in it is seen and nothing is cached.
   */
  async getMerchant(id: string, db?: Kysely<Schema>): Promise<Merchant | undefined> {
    const read = async (q: Kysely<Schema>) => {
      const row = await q.selectFrom('merchants').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? { ...row, allowed_domains: JSON.parse(row.allowed_domains) as string[] } : undefined;
    };
    if (db) return read(db);
    const m = await this.merchants.get(id, () => read(this.db));
    // A copy: the cached one is shared by every request.
    return m && { ...m, allowed_domains: [...m.allowed_domains] };
  }

  /** Starts the merchant cache's listener (PostgreSQL); without it merchants are read each time. */
  startCaches(log?: Logger): Promise<void> {
    this.merchants = new MerchantCache<Merchant>(this.store, log);
    this.merchants.onNotice((payload) => this.forgetAnnounced(payload));
    return this.merchants.start();
  }

  /** What an announcement on the accounts channel names, forgotten from the caches here. */
  private forgetAnnounced(payload: string): void {
    if (payload.startsWith('key:')) {
      const id = payload.slice('key:'.length);
      this.apiKeys.delete((k) => k === id);
    } else if (payload.startsWith('account:')) {
      const id = payload.slice('account:'.length);
      this.accountsById.delete((k) => k === id);
    } else {
      this.activeAccounts.delete((k) => k.startsWith(`${payload}\0`));
    }
  }

  /** Announces a change to every bridge's caches, in the transaction making it (PostgreSQL). */
  private async announce(db: Kysely<Schema>, payload: string): Promise<void> {
    if (this.store.dialect === 'postgres') await sql`select pg_notify(${ACCOUNTS_CHANNEL}, ${payload})`.execute(db);
  }

  async closeCaches(): Promise<void> {
    await this.merchants.close();
  }

  /**
   * Changes a merchant's settings (only those named); answers the merchant as it now is.
   * `disabled` turns the merchant off (no new payments: merchant_disabled) or on again.
   * Inside `db` when given, so the back office's audit row commits with the change. The
   * change is announced in its transaction (PostgreSQL: NOTIFY, heard by every bridge's
   * merchant cache when it commits); this bridge forgets the merchant at once as well.
   */
  async updateMerchant(
    id: string,
    change: {
      name?: string;
      allowedDomains?: string[];
      fxMarkup?: string;
      allowPrivateWebhooks?: boolean;
      maxPayment?: Money;
      disabled?: boolean;
    },
    db?: Kysely<Schema>,
  ): Promise<Merchant> {
    const apply = async (trx: Kysely<Schema>): Promise<Merchant> => {
      const current = await this.getMerchant(id, trx);
      if (!current) throw new KauriError('not_found', `No merchant "${id}"`);
      const set: Partial<MerchantTable> = {};
      if (change.name !== undefined) {
        if (!change.name.trim()) throw new KauriError('invalid_request', 'A merchant needs a name');
        set.name = change.name.trim();
      }
      if (change.allowedDomains !== undefined) set.allowed_domains = JSON.stringify(change.allowedDomains);
      if (change.fxMarkup !== undefined) set.fx_markup = checkFxMarkup(change.fxMarkup);
      if (change.allowPrivateWebhooks !== undefined) set.allow_private_webhooks = change.allowPrivateWebhooks ? 1 : 0;
      if (change.maxPayment !== undefined) {
        if (change.maxPayment.minor <= 0)
          throw new KauriError('invalid_request', 'The maximum per payment must be above zero');
        set.max_payment_minor = change.maxPayment.minor;
        set.max_payment_currency = change.maxPayment.currency;
      }
      // Turning off twice keeps the first time: "off since" stays true.
      if (change.disabled !== undefined) set.disabled_at = change.disabled ? (current.disabled_at ?? this.now()) : null;
      if (Object.keys(set).length > 0) {
        await trx.updateTable('merchants').set(set).where('id', '=', id).execute();
        await this.announce(trx, id);
      }
      return (await this.getMerchant(id, trx))!;
    };
    const after = db ? await apply(db) : await this.db.transaction().execute(apply);
    this.merchants.forget(id);
    return after;
  }

  async listMerchants(): Promise<Merchant[]> {
    const rows = await this.db.selectFrom('merchants').selectAll().orderBy('created_at').execute();
    return rows.map((row) => ({ ...row, allowed_domains: JSON.parse(row.allowed_domains) as string[] }));
  }

  /** HQ's maximum for one payment of this merchant (in force at once, on every bridge). */
  async setMaxPayment(merchantId: string, max: Money): Promise<Merchant> {
    return this.updateMerchant(merchantId, { maxPayment: max });
  }

  /** Creates a store (inside `db` when given). */
  async createStore(
    input: {
      merchantId: string;
      name: string;
      code?: string;
      timezone?: string;
      maxStaticAmountMinor?: number;
    },
    db: Kysely<Schema> = this.db,
  ): Promise<ShopStore> {
    await this.requireMerchant(input.merchantId, db);
    if (input.code !== undefined && !STORE_CODE.test(input.code))
      throw new KauriError('invalid_request', 'A store code is 3–40 of A-Z a-z 0-9 _ -');
    // Codes and ids are looked up in one place (a pairing code "for store X"): a code shaped
    // like a store id could stand for another merchant's store.
    if (input.code !== undefined && /^sto_/i.test(input.code))
      throw new KauriError('invalid_request', 'A store code may not begin with "sto_", which store ids begin with');
    if (input.timezone !== undefined) checkTimezone(input.timezone);
    if (input.code !== undefined) {
      const taken = await db.selectFrom('stores').select('id').where('code', '=', input.code).executeTakeFirst();
      if (taken) throw new KauriError('conflict', `The store code "${input.code}" is taken`);
    }
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
    await db.insertInto('stores').values(row).execute();
    return row;
  }

  /**
   * Changes a store's name, time zone or the most a customer may type on its code. Its code
   * stays: it is printed on the sticker in the shop window. Inside `db` when given.
   */
  async updateStore(
    id: string,
    change: { name?: string; timezone?: string; maxStaticAmountMinor?: number },
    db: Kysely<Schema> = this.db,
  ): Promise<ShopStore> {
    const set: Partial<StoreTable> = {};
    if (change.name !== undefined) {
      if (!change.name.trim()) throw new KauriError('invalid_request', 'A store needs a name');
      set.name = change.name.trim();
    }
    if (change.timezone !== undefined) set.timezone = checkTimezone(change.timezone);
    if (change.maxStaticAmountMinor !== undefined) {
      if (!Number.isSafeInteger(change.maxStaticAmountMinor) || change.maxStaticAmountMinor <= 0)
        throw new KauriError('invalid_request', 'The most a customer may type is a whole number of cents above zero');
      set.max_static_amount_minor = change.maxStaticAmountMinor;
    }
    if (Object.keys(set).length > 0) await db.updateTable('stores').set(set).where('id', '=', id).execute();
    const row = await db.selectFrom('stores').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new KauriError('not_found', `No store "${id}"`);
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

  /** Revokes a key (inside `trx` when given); every bridge refuses it once this commits. */
  async revokeApiKey(id: string, trx?: Kysely<Schema>): Promise<void> {
    const revoke = async (db: Kysely<Schema>) => {
      await db.updateTable('api_keys').set({ revoked_at: this.now() }).where('id', '=', id).execute();
      await this.announce(db, `key:${id}`);
    };
    if (trx) await revoke(trx);
    else await this.db.transaction().execute(revoke);
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

  /**
   * Sets the merchant's account on a channel, its secrets sealed by the SecretBox. Inside `db`
   * when given (the back office's audit row commits with it), else in a transaction of its own.
   */
  async createChannelAccount(
    input: {
      merchantId: string;
      channel: ChannelName;
      config: Record<string, unknown>;
      secrets: Record<string, string>;
    },
    db?: Kysely<Schema>,
  ): Promise<ChannelAccount> {
    await this.requireMerchant(input.merchantId, db);
    if (!CHANNELS.includes(input.channel))
      throw new KauriError('invalid_request', `Unknown channel "${input.channel}"`);
    const id = newId('cha');
    // One active account per merchant and channel: a new one replaces the old.
    const write = async (trx: Kysely<Schema>) => {
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
          disabled_at: null,
        })
        .execute();
      await this.announce(trx, input.merchantId);
    };
    if (db) await write(db);
    else await this.db.transaction().execute(write);
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
    // The secrets never change, but whether the account is off does: a cached copy is reused
    // (the channels cache what they parse by its identity) only while that still agrees.
    const known = this.accountsById.get(row.id);
    const account = known && (known.disabledAt ?? null) === row.disabled_at ? known : this.toAccount(row);
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

  /** Channel accounts without their secrets (which are never read back out but to pay). */
  async listChannelAccounts(
    merchantId?: string,
  ): Promise<
    Array<Omit<ChannelAccount, 'secrets'> & { active: boolean; createdAt: string; disabledAt: string | null }>
  > {
    let q = this.db
      .selectFrom('channel_accounts')
      .select(['id', 'merchant_id', 'channel', 'config', 'active', 'created_at', 'disabled_at']);
    if (merchantId) q = q.where('merchant_id', '=', merchantId);
    const rows = await q.orderBy('created_at').orderBy('id').execute();
    return rows.map((r) => ({
      id: r.id,
      merchantId: r.merchant_id,
      channel: r.channel as ChannelName,
      config: JSON.parse(r.config),
      active: r.active === 1,
      createdAt: r.created_at,
      disabledAt: r.disabled_at,
    }));
  }

  /**
   * Turns a channel account off (no new payment starts on it: channel_account_disabled) or on
   * again; answers its merchant and channel, or undefined when there is no such account.
   * Inside `db` when given. This instance forgets its cached copy at once; on PostgreSQL every
   * other bridge does when the change commits (SQLite: within the cache's few seconds).
   */
  async setChannelAccountDisabled(
    id: string,
    disabled: boolean,
    db?: Kysely<Schema>,
  ): Promise<{ merchantId: string; channel: ChannelName; disabledAt: string | null } | undefined> {
    const change = async (trx: Kysely<Schema>) => {
      const found = await trx
        .selectFrom('channel_accounts')
        .select(['merchant_id', 'channel', 'disabled_at'])
        .where('id', '=', id)
        .executeTakeFirst();
      if (!found) return undefined;
      const at = disabled ? (found.disabled_at ?? this.now()) : null;
      await trx.updateTable('channel_accounts').set({ disabled_at: at }).where('id', '=', id).execute();
      await this.announce(trx, `account:${id}`);
      await this.announce(trx, found.merchant_id);
      return { row: found, disabledAt: at };
    };
    const done = db ? await change(db) : await this.db.transaction().execute(change);
    if (!done) return undefined;
    const { row, disabledAt } = done;
    this.accountsById.delete((k) => k === id);
    this.activeAccounts.delete((k) => k === `${row.merchant_id}\0${row.channel}`);
    return { merchantId: row.merchant_id, channel: row.channel as ChannelName, disabledAt };
  }

  private toAccount(row: {
    id: string;
    merchant_id: string;
    channel: string;
    config: string;
    secrets: string;
    disabled_at: string | null;
  }): ChannelAccount {
    return {
      id: row.id,
      merchantId: row.merchant_id,
      channel: row.channel as ChannelName,
      config: JSON.parse(row.config) as Record<string, unknown>,
      secrets: JSON.parse(this.box.open(row.secrets)) as Record<string, string>,
      disabledAt: row.disabled_at,
    };
  }

  private async requireMerchant(id: string, db: Kysely<Schema> = this.db): Promise<void> {
    const m = await db.selectFrom('merchants').select('id').where('id', '=', id).executeTakeFirst();
    if (!m) throw new KauriError('not_found', `No merchant "${id}"`);
  }
}
