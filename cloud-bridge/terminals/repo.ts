import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { sql, type Kysely } from 'kysely';
import { KauriError } from '../../protocol/errors.js';
import { newId } from '../../protocol/ids.js';
import { nowIso, type Store } from '../store/db.js';
import type { Database } from '../store/schema.js';
import { systemClock, type Clock } from '../../protocol/clock.js';
import { assertStrongPin } from './pin-policy.js';
import { auditInsert, type AuditEntry } from '../hq/audit.js';

// Terminals, their pairing codes and credentials, the record of their commands, and the
// stores' manager PINs. A terminal's secret is random (256 bits), so the bridge keeps
// only its SHA-256: ten thousand counters reconnecting cost no password hashing.

const scrypt = promisify(scryptCb) as (password: string, salt: Buffer, keylen: number) => Promise<Buffer>;

interface Tables {
  terminals: {
    id: string;
    merchant_id: string;
    store_id: string;
    name: string;
    secret_hash: string | null;
    created_at: string;
    revoked_at: string | null;
    last_seen_at: string | null;
    device_health: string | null;
    health_at: string | null;
  };
  pairing_codes: {
    code_hash: string;
    merchant_id: string;
    store_id: string;
    terminal_name: string;
    created_at: string;
    expires_at: string;
    used_at: string | null;
  };
  terminal_commands: {
    terminal_id: string;
    idem_key: string;
    name: string;
    status: string;
    result: string | null;
    created_at: string;
    updated_at: string;
  };
  manager_pins: { store_id: string; pin_hash: string; updated_at: string };
  manager_pin_attempts: { store_id: string; attempts: number; window_until: string };
  stores: { id: string; merchant_id: string; code: string; name: string; timezone: string; currency: string };
  merchants: { id: string; name: string };
}

export interface Terminal {
  id: string;
  merchantId: string;
  storeId: string;
  name: string;
  createdAt: string;
  revokedAt: string | null;
  lastSeenAt: string | null;
  /** The devices of the counter's latest health report, or null if it never sent one. */
  health: DeviceHealth[] | null;
  healthAt: string | null;
}

export interface DeviceHealth {
  kind: string;
  state: string;
  detail?: string;
}

/** States that need no one's attention; anything else is a problem worth showing. */
export const HEALTHY_STATES: readonly string[] = ['ready', 'connected', 'keyboard', 'none'];
export const isHealthy = (d: DeviceHealth) => HEALTHY_STATES.includes(d.state);

/** `printer:held(paper out) display:connected scanner:keyboard` (details only for problems). */
export function healthText(health: DeviceHealth[] | null): string {
  if (!health) return 'no health report';
  if (!health.length) return 'no devices';
  return health.map((d) => `${d.kind}:${d.state}${!isHealthy(d) && d.detail ? `(${d.detail})` : ''}`).join(' ');
}

export const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** Pairing codes people type: no 0/O/1/I, grouped for reading aloud. */
const CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
export function newPairingCode(): string {
  const bytes = randomBytes(10);
  const chars = [...bytes].map((b) => CODE_ALPHABET[b % CODE_ALPHABET.length]).join('');
  return `${chars.slice(0, 5)}-${chars.slice(5)}`;
}
const normaliseCode = (code: string) => code.toUpperCase().replace(/[^A-Z0-9]/g, '');
// Rows per statement when a burst of commands is looked up or recorded: well under the
// bound-parameter limits of SQLite (32,766) and PostgreSQL (65,535) at 7 columns a row.
const COMMAND_CHUNK = 500;

export class TerminalsRepo {
  private readonly db: Kysely<Tables>;
  constructor(
    store: Store,
    private readonly clock: Clock = systemClock(),
  ) {
    this.db = store.db as unknown as Kysely<Tables>;
  }

  private now(): string {
    return nowIso(this.clock.now());
  }

  async storeByIdOrCode(idOrCode: string): Promise<Tables['stores'] | undefined> {
    return this.db
      .selectFrom('stores')
      .select(['id', 'merchant_id', 'code', 'name', 'timezone', 'currency'])
      .where((eb) => eb.or([eb('id', '=', idOrCode), eb('code', '=', idOrCode)]))
      .executeTakeFirst();
  }

  async storeInfo(storeId: string): Promise<{ store: Tables['stores']; merchantName: string } | undefined> {
    const store = await this.storeByIdOrCode(storeId);
    if (!store) return undefined;
    const m = await this.db
      .selectFrom('merchants')
      .select('name')
      .where('id', '=', store.merchant_id)
      .executeTakeFirst();
    return { store, merchantName: m?.name ?? '' };
  }

  /**
   * A one-time code for a new counter at `store`; only its hash is kept. `audit` (its merchant,
   * target and expiry filled in here, where the store is known) commits with the code.
   */
  async createPairingCode(
    input: {
      storeIdOrCode: string;
      merchantId?: string;
      terminalName?: string;
      ttlMs?: number;
    },
    audit?: AuditEntry,
  ): Promise<{ code: string; storeId: string; expiresAt: string }> {
    const store = await this.storeByIdOrCode(input.storeIdOrCode);
    if (!store || (input.merchantId && store.merchant_id !== input.merchantId))
      throw new KauriError('not_found', `No store "${input.storeIdOrCode}"`);
    const code = newPairingCode();
    const now = this.clock.now();
    const expiresAt = nowIso(new Date(now.getTime() + (input.ttlMs ?? 24 * 3600_000)));
    await this.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('pairing_codes')
        .values({
          code_hash: sha256(normaliseCode(code)),
          merchant_id: store.merchant_id,
          store_id: store.id,
          terminal_name: input.terminalName ?? `Counter ${code.slice(0, 5)}`,
          created_at: nowIso(now),
          expires_at: expiresAt,
          used_at: null,
        })
        .execute();
      if (audit)
        await auditInsert(
          trx as unknown as Kysely<Database>,
          {
            ...audit,
            merchantId: store.merchant_id,
            target: store.id,
            details: { ...audit.details, expiresAt },
          },
          this.clock.now(),
        ).execute();
    });
    return { code, storeId: store.id, expiresAt };
  }

  /** Exchanges a pairing code (once) for a terminal and its secret. */
  async pair(code: string, name?: string): Promise<{ terminal: Terminal; secret: string }> {
    const hash = sha256(normaliseCode(code));
    const now = this.now();
    return this.db.transaction().execute(async (trx) => {
      const used = await trx
        .updateTable('pairing_codes')
        .set({ used_at: now })
        .where('code_hash', '=', hash)
        .where('used_at', 'is', null)
        .where('expires_at', '>', now)
        .returning(['merchant_id', 'store_id', 'terminal_name'])
        .executeTakeFirst();
      if (!used) throw new KauriError('pairing_code_invalid');
      const secret = randomBytes(32).toString('base64url');
      const id = newId('term');
      const terminalName = name ?? used.terminal_name;
      await trx
        .insertInto('terminals')
        .values({
          id,
          merchant_id: used.merchant_id,
          store_id: used.store_id,
          name: terminalName,
          secret_hash: sha256(secret),
          created_at: now,
          revoked_at: null,
          last_seen_at: null,
          device_health: null,
          health_at: null,
        })
        .execute();
      return {
        secret,
        terminal: {
          id,
          merchantId: used.merchant_id,
          storeId: used.store_id,
          name: terminalName,
          createdAt: now,
          revokedAt: null,
          lastSeenAt: null,
          health: null,
          healthAt: null,
        },
      };
    });
  }

  /** The terminal these credentials belong to; a revoked terminal is refused with its own code. */
  async authenticate(terminalId: string, secret: string): Promise<Terminal> {
    const row = await this.db.selectFrom('terminals').selectAll().where('id', '=', terminalId).executeTakeFirst();
    const given = Buffer.from(sha256(secret), 'hex');
    const kept = Buffer.from(row?.secret_hash ?? sha256('\u0000no terminal'), 'hex');
    if (!row || !timingSafeEqual(given, kept))
      throw new KauriError('unauthenticated', 'Unknown terminal or wrong secret');
    if (row.revoked_at) throw new KauriError('terminal_revoked');
    return toTerminal(row);
  }

  /** Whether the terminal was revoked (or never existed): its link must run nothing more. */
  async isRevoked(id: string): Promise<boolean> {
    const row = await this.db.selectFrom('terminals').select('revoked_at').where('id', '=', id).executeTakeFirst();
    return !row || row.revoked_at !== null;
  }

  async get(id: string): Promise<Terminal | undefined> {
    const row = await this.db.selectFrom('terminals').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toTerminal(row) : undefined;
  }

  async list(filter: { merchantId?: string; storeId?: string } = {}): Promise<Terminal[]> {
    let q = this.db.selectFrom('terminals').selectAll();
    if (filter.merchantId) q = q.where('merchant_id', '=', filter.merchantId);
    if (filter.storeId) q = q.where('store_id', '=', filter.storeId);
    return (await q.orderBy('created_at').execute()).map(toTerminal);
  }

  /**
   * Marks a terminal revoked inside the caller's transaction (TerminalService's revokeTerminal),
   * so its `terminal.revoked` event and audit row commit with it.
   */
  async markRevoked(id: string, trx: Kysely<Database>): Promise<void> {
    await (trx as unknown as Kysely<Tables>)
      .updateTable('terminals')
      .set({ revoked_at: this.now() })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .execute();
  }

  async touch(id: string): Promise<void> {
    await this.db.updateTable('terminals').set({ last_seen_at: this.now() }).where('id', '=', id).execute();
  }

  /** Marks many connected counters seen in one statement per 500 (the hub's periodic sweep). */
  async touchMany(ids: string[]): Promise<void> {
    const now = this.now();
    for (let i = 0; i < ids.length; i += 500) {
      await this.db
        .updateTable('terminals')
        .set({ last_seen_at: now })
        .where('id', 'in', ids.slice(i, i + 500))
        .execute();
    }
  }

  /** Keeps the counter's latest device health (a report replaces the previous one whole). */
  async recordHealth(id: string, devices: DeviceHealth[]): Promise<void> {
    const now = this.now();
    const kept = devices.map((d) => ({
      kind: d.kind,
      state: d.state,
      ...(d.detail !== undefined ? { detail: d.detail } : {}),
    }));
    await this.db
      .updateTable('terminals')
      .set({ device_health: JSON.stringify(kept), health_at: now, last_seen_at: now })
      .where('id', '=', id)
      .execute();
  }

  // ---- the command record (dedupe on terminal + idempotency key) ----

  /** The stored answer to a command already done, if it was. */
  async claimCommand(
    terminalId: string,
    key: string,
    _name: string,
  ): Promise<{ done: true; result: unknown } | { done: false }> {
    const existing = await this.db
      .selectFrom('terminal_commands')
      .select(['status', 'result'])
      .where('terminal_id', '=', terminalId)
      .where('idem_key', '=', key)
      .executeTakeFirst();
    if (existing?.status === 'done') return { done: true, result: JSON.parse(existing.result ?? 'null') };
    // Not done: (again) do it. A crash between doing and recording is safe because every
    // command is idempotent underneath (out_trade_no, out_refund_no, checkout ids), so
    // doing it twice cannot charge or refund twice.
    return { done: false };
  }

  /** Records a command's answer (one write per command: it is the dedupe record). */
  async finishCommand(terminalId: string, key: string, result: unknown, name = ''): Promise<void> {
    const now = this.now();
    const text = JSON.stringify(result);
    await this.db
      .insertInto('terminal_commands')
      .values({
        terminal_id: terminalId,
        idem_key: key,
        name,
        status: 'done',
        result: text,
        created_at: now,
        updated_at: now,
      })
      .onConflict((oc) =>
        oc.columns(['terminal_id', 'idem_key']).doUpdateSet({ status: 'done', result: text, updated_at: now }),
      )
      .execute();
  }

  /** The stored answers of those of `keys` already done (a burst of commands is looked up in one read). */
  async doneCommands(terminalId: string, keys: string[]): Promise<Map<string, unknown>> {
    const done = new Map<string, unknown>();
    for (let i = 0; i < keys.length; i += COMMAND_CHUNK) {
      const rows = await this.db
        .selectFrom('terminal_commands')
        .select(['idem_key', 'status', 'result'])
        .where('terminal_id', '=', terminalId)
        .where('idem_key', 'in', keys.slice(i, i + COMMAND_CHUNK))
        .execute();
      for (const r of rows) if (r.status === 'done') done.set(r.idem_key, JSON.parse(r.result ?? 'null'));
    }
    return done;
  }

  /** Records the answers of a burst of commands in one transaction (one commit for the lot). */
  async finishCommands(
    terminalId: string,
    answers: Array<{ key: string; name: string; result: unknown }>,
  ): Promise<void> {
    if (!answers.length) return;
    await this.db
      .transaction()
      .execute((trx) => this.recordCommands(trx as unknown as Kysely<Database>, terminalId, answers));
  }

  /**
   * Writes command answers with `trx`, a transaction of the caller's (a checkout's, so the
   * checkout and the record of the command that made it are one commit).
   */
  async recordCommands(
    trx: Kysely<Database>,
    terminalId: string,
    answers: Array<{ key: string; name: string; result: unknown }>,
  ): Promise<void> {
    const db = trx as unknown as Kysely<Tables>;
    const now = this.now();
    {
      for (let i = 0; i < answers.length; i += COMMAND_CHUNK) {
        await db
          .insertInto('terminal_commands')
          .values(
            answers.slice(i, i + COMMAND_CHUNK).map((a) => ({
              terminal_id: terminalId,
              idem_key: a.key,
              name: a.name,
              status: 'done',
              result: JSON.stringify(a.result),
              created_at: now,
              updated_at: now,
            })),
          )
          .onConflict((oc) =>
            oc.columns(['terminal_id', 'idem_key']).doUpdateSet((eb) => ({
              status: 'done',
              result: eb.ref('excluded.result'),
              updated_at: now,
            })),
          )
          .execute();
      }
    }
  }

  /**
   * Writes the answer of a command whose change commits with it (checkout.create), unless the
   * command is recorded already: false then, and the caller rolls its change back. The same
   * command run twice at once (a counter that reconnected and sent it again while the first
   * run was still going, on this bridge or another) makes one checkout, not two.
   */
  async recordCommandOnce(
    trx: Kysely<Database>,
    terminalId: string,
    answer: { key: string; name: string; result: unknown },
  ): Promise<boolean> {
    const now = this.now();
    const r = await (trx as unknown as Kysely<Tables>)
      .insertInto('terminal_commands')
      .values({
        terminal_id: terminalId,
        idem_key: answer.key,
        name: answer.name,
        status: 'done',
        result: JSON.stringify(answer.result),
        created_at: now,
        updated_at: now,
      })
      .onConflict((oc) => oc.columns(['terminal_id', 'idem_key']).doNothing())
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  async countCommands(terminalId: string): Promise<number> {
    const r = await this.db
      .selectFrom('terminal_commands')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('terminal_id', '=', terminalId)
      .executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  // ---- manager PINs ----

  /** Sets a store's manager PIN (only its scrypt hash is kept); `audit` commits with it. */
  async setManagerPin(storeId: string, pin: string, audit?: AuditEntry): Promise<void> {
    assertStrongPin(pin);
    const salt = randomBytes(16);
    const hash = `scrypt$${salt.toString('base64')}$${(await scrypt(pin, salt, 32)).toString('base64')}`;
    const now = this.now();
    await this.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('manager_pins')
        .values({ store_id: storeId, pin_hash: hash, updated_at: now })
        .onConflict((oc) => oc.column('store_id').doUpdateSet({ pin_hash: hash, updated_at: now }))
        .execute();
      if (audit) await auditInsert(trx as unknown as Kysely<Database>, audit, this.clock.now()).execute();
    });
  }

  /** When each of these stores' manager PIN was last set (stores without one are absent). */
  async managerPinsSetAt(storeIds: readonly string[]): Promise<Map<string, string>> {
    if (storeIds.length === 0) return new Map();
    const rows = await this.db
      .selectFrom('manager_pins')
      .select(['store_id', 'updated_at'])
      .where('store_id', 'in', [...storeIds])
      .execute();
    return new Map(rows.map((r) => [r.store_id, r.updated_at]));
  }

  /** The store's manager PIN as kept (its scrypt hash), or undefined when it has none. */
  async managerPinHash(storeId: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('manager_pins')
      .select('pin_hash')
      .where('store_id', '=', storeId)
      .executeTakeFirst();
    return row?.pin_hash;
  }

  async checkManagerPin(storeId: string, pin: string, kept?: string): Promise<boolean> {
    const hash = kept ?? (await this.managerPinHash(storeId));
    if (!hash) return false;
    const [, salt, want] = hash.split('$');
    const got = await scrypt(pin, Buffer.from(salt!, 'base64'), 32);
    return timingSafeEqual(got, Buffer.from(want!, 'base64'));
  }

  // The attempts at a store's PIN live here, not in a bridge's memory: every counter and
  // every bridge instance draws on one allowance per store, and a restart resets nothing.

  /** True while the store is locked out (`tries` attempts already counted in the window). */
  async pinLocked(storeId: string, tries: number, now = this.now()): Promise<boolean> {
    const row = await this.db
      .selectFrom('manager_pin_attempts')
      .select(['attempts', 'window_until'])
      .where('store_id', '=', storeId)
      .executeTakeFirst();
    return !!row && row.attempts >= tries && row.window_until > now;
  }

  /**
   * Counts one attempt before the PIN is checked, in one statement, and answers the count.
   * Counting first (not after a wrong answer) is what makes it hold under parallel
   * attempts: twenty at once get counts 1…20 from the database's row lock, so only the
   * first `tries` reach the hash. The window restarts once it has passed, and stops
   * growing at the lock so that a locked store unlocks `windowMs` after its last counted try.
   */
  async countPinAttempt(storeId: string, tries: number, windowMs: number, now = this.clock.now()): Promise<number> {
    const at = nowIso(now);
    const until = nowIso(new Date(now.getTime() + windowMs));
    const row = await this.db
      .insertInto('manager_pin_attempts')
      .values({ store_id: storeId, attempts: 1, window_until: until })
      .onConflict((oc) =>
        oc.column('store_id').doUpdateSet({
          attempts: sql<number>`case when manager_pin_attempts.window_until <= ${at} then 1 else manager_pin_attempts.attempts + 1 end`,
          window_until: sql<string>`case when manager_pin_attempts.window_until <= ${at} or manager_pin_attempts.attempts < ${tries} then ${until} else manager_pin_attempts.window_until end`,
        }),
      )
      .returning('attempts')
      .executeTakeFirstOrThrow();
    return Number(row.attempts);
  }

  /** A right PIN: the store's count starts again. */
  async clearPinAttempts(storeId: string): Promise<void> {
    await this.db.deleteFrom('manager_pin_attempts').where('store_id', '=', storeId).execute();
  }
}

function toTerminal(row: Tables['terminals']): Terminal {
  return {
    id: row.id,
    merchantId: row.merchant_id,
    storeId: row.store_id,
    name: row.name,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
    lastSeenAt: row.last_seen_at,
    health: parseHealth(row.device_health),
    healthAt: row.health_at,
  };
}

function parseHealth(text: string | null): DeviceHealth[] | null {
  if (!text) return null;
  try {
    const v = JSON.parse(text) as unknown;
    return Array.isArray(v) ? (v as DeviceHealth[]) : null;
  } catch {
    return null;
  }
}
