import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Store } from '../store/db.js';
import { nowIso } from '../store/db.js';
import type { Database, UserTable } from '../store/schema.js';
import { checkUserShape, type AccountsRepo, type User } from '../store/accounts.js';
import { newId } from '../../protocol/ids.js';
import type { Clock } from '../../protocol/clock.js';
import { KauriError } from '../../protocol/errors.js';
import { isHqRole, scopeOfUser, type Role, type Scope } from './scope.js';
import type { AuditLog } from './audit.js';

// The back office's people: who may manage whom, invitations and sessions. An HQ admin manages
// everyone; a merchant admin only their merchant's users and never an HQ role; everyone else
// manages no one. Invitations are links with 256 random bits, of which only the SHA-256 is kept;
// one is good once, for 72 hours. Every change is written to the audit log in the same
// transaction as the change.

export const INVITE_MS = 72 * 3_600_000;

export interface UserView {
  id: string;
  username: string;
  role: Role;
  merchantId: string | null;
  storeIds: string[];
  refundLimitMinor: number | null;
  totpEnabled: boolean;
  createdAt: string;
  disabledAt: string | null;
}

export interface InviteInput {
  role: string;
  merchantId?: string | null;
  storeIds?: readonly string[];
  refundLimitMinor?: number | null;
}

export interface SessionView {
  id: string;
  userId: string;
  username: string;
  createdAt: string;
  expiresAt: string;
  ip: string | null;
  userAgent: string | null;
  current: boolean;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Whether the scope may manage a user of this role and merchant (create, invite, change, disable). */
export function canManage(scope: Scope, target: { role: string; merchantId: string | null }): boolean {
  if (scope.role === 'hq_admin') return true;
  if (scope.role !== 'merchant_admin') return false;
  const role = target.role === 'merchant_user' ? 'merchant_admin' : target.role;
  return !isHqRole(role as Role) && target.merchantId === scope.merchantId;
}

/** Throws `forbidden` unless the scope may manage users at all. */
function requireManager(scope: Scope): void {
  if (scope.role !== 'hq_admin' && scope.role !== 'merchant_admin')
    throw new KauriError('forbidden', 'only HQ admins and merchant admins manage users');
}

export class People {
  constructor(
    private readonly deps: {
      store: Store;
      accounts: AccountsRepo;
      audit: AuditLog;
      clock: Clock;
    },
  ) {}

  private get db() {
    return this.deps.store.db;
  }

  private now(): string {
    return nowIso(this.deps.clock.now());
  }

  /** The scope of a user: role and merchant from the row, stores and refund limit beside it. */
  async scopeOf(
    user: Pick<User, 'id' | 'username' | 'role' | 'merchant_id'> & { refund_limit_minor?: number | null },
  ): Promise<Scope> {
    // Every request builds its scope: a limit the caller already read saves a query.
    const [stores, row] = await Promise.all([
      this.db.selectFrom('user_stores').select('store_id').where('user_id', '=', user.id).orderBy('store_id').execute(),
      user.refund_limit_minor !== undefined
        ? { refund_limit_minor: user.refund_limit_minor }
        : this.db.selectFrom('users').select('refund_limit_minor').where('id', '=', user.id).executeTakeFirst(),
    ]);
    const limit = row?.refund_limit_minor;
    return scopeOfUser(user, {
      storeIds: stores.length > 0 ? stores.map((s) => s.store_id) : null,
      refundLimitMinor: limit === null || limit === undefined ? null : Number(limit),
    });
  }

  /** Users the scope may see: HQ roles everyone, a merchant admin their merchant's. */
  async list(scope: Scope): Promise<UserView[]> {
    if (!isHqRole(scope.role) && scope.role !== 'merchant_admin')
      throw new KauriError('forbidden', 'only HQ and merchant admins see the users');
    let q = this.db.selectFrom('users').selectAll();
    if (scope.merchantId !== null) q = q.where('merchant_id', '=', scope.merchantId);
    const rows = await q.orderBy('created_at').orderBy('id').execute();
    const stores = rows.length
      ? await this.db
          .selectFrom('user_stores')
          .selectAll()
          .where(
            'user_id',
            'in',
            rows.map((r) => r.id),
          )
          .execute()
      : [];
    return rows.map((r) =>
      this.view(
        r,
        stores.filter((s) => s.user_id === r.id).map((s) => s.store_id),
      ),
    );
  }

  private view(r: UserTable, storeIds: string[]): UserView {
    return {
      id: r.id,
      username: r.username,
      role: r.role,
      merchantId: r.merchant_id,
      storeIds: storeIds.sort(),
      refundLimitMinor: r.refund_limit_minor === null ? null : Number(r.refund_limit_minor),
      totpEnabled: r.totp_enabled === 1,
      createdAt: r.created_at,
      disabledAt: r.disabled_at,
    };
  }

  private async get(id: string, db: Kysely<Database> = this.db): Promise<UserView | undefined> {
    const row = await db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) return undefined;
    const stores = await db.selectFrom('user_stores').select('store_id').where('user_id', '=', id).execute();
    return this.view(
      row,
      stores.map((s) => s.store_id),
    );
  }

  /** A merchant admin's users are of their merchant, whatever the request says. */
  private merchantFor(scope: Scope, asked: string | null | undefined): string | null {
    if (scope.role === 'hq_admin') return asked ?? null;
    if (asked && asked !== scope.merchantId)
      throw new KauriError('forbidden', "a merchant admin manages only their own merchant's users");
    return scope.merchantId;
  }

  async create(
    scope: Scope,
    input: InviteInput & { username: string; password: string },
    ip?: string,
  ): Promise<UserView> {
    requireManager(scope);
    const merchantId = this.merchantFor(scope, input.merchantId);
    if (!canManage(scope, { role: input.role, merchantId }))
      throw new KauriError('forbidden', 'a merchant admin cannot create HQ users');
    return this.db.transaction().execute(async (trx) => {
      const u = await this.deps.accounts.createUser(
        { ...input, role: checkUserShape({ ...input, merchantId }), merchantId },
        trx,
      );
      await this.deps.audit.record(
        {
          actor: scope,
          action: 'user.create',
          merchantId,
          target: u.id,
          ip,
          details: { username: u.username, role: u.role, storeIds: input.storeIds ?? [] },
        },
        trx,
      );
      return (await this.get(u.id, trx))!;
    });
  }

  /** Changes a user's stores or refund limit. */
  async update(
    scope: Scope,
    id: string,
    change: { storeIds?: readonly string[]; refundLimitMinor?: number | null },
    ip?: string,
  ): Promise<UserView> {
    requireManager(scope);
    const target = await this.get(id);
    if (!target || !canManage(scope, target)) throw new KauriError('not_found', 'no such user');
    checkUserShape({
      role: target.role,
      merchantId: target.merchantId,
      storeIds: change.storeIds ?? target.storeIds,
      refundLimitMinor: change.refundLimitMinor,
    });
    return this.db.transaction().execute(async (trx) => {
      if (change.storeIds !== undefined) {
        const ids = [...new Set(change.storeIds)];
        if (ids.length > 0) {
          const found = await trx
            .selectFrom('stores')
            .select('id')
            .where('id', 'in', ids)
            .where('merchant_id', '=', target.merchantId ?? '')
            .execute();
          if (found.length !== ids.length)
            throw new KauriError('invalid_request', "Every store must be one of the user's merchant's stores");
        }
        await trx.deleteFrom('user_stores').where('user_id', '=', id).execute();
        if (ids.length > 0)
          await trx
            .insertInto('user_stores')
            .values(ids.map((store_id) => ({ user_id: id, store_id })))
            .execute();
      }
      if (change.refundLimitMinor !== undefined)
        await trx
          .updateTable('users')
          .set({ refund_limit_minor: change.refundLimitMinor })
          .where('id', '=', id)
          .execute();
      await this.deps.audit.record(
        {
          actor: scope,
          action: 'user.update',
          merchantId: target.merchantId,
          target: id,
          ip,
          details: {
            ...(change.storeIds !== undefined
              ? { storeIds: change.storeIds, before: { storeIds: target.storeIds } }
              : {}),
            ...(change.refundLimitMinor !== undefined
              ? { refundLimitMinor: change.refundLimitMinor, refundLimitBefore: target.refundLimitMinor }
              : {}),
          },
        },
        trx,
      );
      return (await this.get(id, trx))!;
    });
  }

  /** Disables a user and ends their sessions. Nobody disables themself (an admin locking the door from inside). */
  async disable(scope: Scope, id: string, ip?: string): Promise<UserView> {
    requireManager(scope);
    const target = await this.get(id);
    if (!target || !canManage(scope, target)) throw new KauriError('not_found', 'no such user');
    if (id === scope.userId) throw new KauriError('conflict', 'you cannot disable yourself');
    return this.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('users')
        .set({ disabled_at: this.now() })
        .where('id', '=', id)
        .where('disabled_at', 'is', null)
        .execute();
      await trx.deleteFrom('hq_sessions').where('user_id', '=', id).execute();
      await this.deps.audit.record(
        { actor: scope, action: 'user.disable', merchantId: target.merchantId, target: id, ip, details: {} },
        trx,
      );
      return (await this.get(id, trx))!;
    });
  }

  /**
   * An invitation: the link's token is returned once; only its hash is kept. From the CLI the
   * actor is 'cli' and any role may be invited.
   */
  async invite(
    actor: Scope | 'cli',
    input: InviteInput,
    baseUrl: string,
    ip?: string,
  ): Promise<{ id: string; link: string; token: string; expiresAt: string }> {
    let merchantId = input.merchantId ?? null;
    if (actor !== 'cli') {
      requireManager(actor);
      merchantId = this.merchantFor(actor, merchantId);
      if (!canManage(actor, { role: input.role, merchantId }))
        throw new KauriError('forbidden', 'a merchant admin cannot invite HQ users');
    }
    const role = checkUserShape({ ...input, merchantId });
    const storeIds = [...new Set(input.storeIds ?? [])];
    if (merchantId) {
      const m = await this.db.selectFrom('merchants').select('id').where('id', '=', merchantId).executeTakeFirst();
      if (!m) throw new KauriError('not_found', `No merchant "${merchantId}"`);
    }
    if (storeIds.length > 0) {
      const found = await this.db
        .selectFrom('stores')
        .select('id')
        .where('id', 'in', storeIds)
        .where('merchant_id', '=', merchantId!)
        .execute();
      if (found.length !== storeIds.length)
        throw new KauriError('invalid_request', "Every store must be one of the user's merchant's stores");
    }
    const token = randomBytes(32).toString('base64url');
    const id = newId('inv');
    const created = this.deps.clock.now();
    const expiresAt = nowIso(new Date(created.getTime() + INVITE_MS));
    await this.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('hq_invites')
        .values({
          id,
          token_hash: sha256(token),
          role,
          merchant_id: merchantId,
          store_ids: JSON.stringify(storeIds),
          refund_limit_minor: input.refundLimitMinor ?? null,
          created_by: actor === 'cli' ? 'cli' : actor.userId,
          created_at: nowIso(created),
          expires_at: expiresAt,
          used_at: null,
          used_by: null,
        })
        .execute();
      await this.deps.audit.record(
        {
          actor,
          action: 'user.invite',
          merchantId,
          target: id,
          ip,
          details: { role, storeIds, refundLimitMinor: input.refundLimitMinor ?? null, expiresAt },
        },
        trx,
      );
    });
    return { id, token, link: `${baseUrl.replace(/\/+$/, '')}/hq#/invite/${token}`, expiresAt };
  }

  /** Accepts an invitation: the new user chooses their name and password. Good once, for 72 hours. */
  async accept(input: { token: string; username: string; password: string }, ip?: string): Promise<User> {
    if (typeof input.token !== 'string' || input.token.length < 20 || input.token.length > 100)
      throw new KauriError('invite_expired');
    const hash = sha256(input.token);
    const now = this.now();
    return this.db.transaction().execute(async (trx) => {
      const inv = await trx.selectFrom('hq_invites').selectAll().where('token_hash', '=', hash).executeTakeFirst();
      if (!inv || inv.used_at || inv.expires_at <= now) throw new KauriError('invite_expired');
      // Claimed by a conditional update: of two parallel accepts only one sees a row change.
      const claimed = await trx
        .updateTable('hq_invites')
        .set({ used_at: now })
        .where('id', '=', inv.id)
        .where('used_at', 'is', null)
        .executeTakeFirst();
      if (Number(claimed.numUpdatedRows) !== 1) throw new KauriError('invite_expired');
      const user = await this.deps.accounts.createUser(
        {
          username: input.username,
          password: input.password,
          role: inv.role as UserTable['role'],
          merchantId: inv.merchant_id,
          storeIds: JSON.parse(inv.store_ids) as string[],
          refundLimitMinor: inv.refund_limit_minor === null ? null : Number(inv.refund_limit_minor),
        },
        trx,
      );
      await trx.updateTable('hq_invites').set({ used_by: user.id }).where('id', '=', inv.id).execute();
      await this.deps.audit.record(
        {
          actor: {
            userId: user.id,
            username: user.username,
            role: user.role,
            merchantId: user.merchant_id,
            storeIds: null,
            refundLimitMinor: null,
          },
          action: 'user.accept_invite',
          merchantId: user.merchant_id,
          target: user.id,
          ip,
          details: { invite: inv.id, role: user.role },
        },
        trx,
      );
      return user;
    });
  }

  /**
   * Sessions the scope may see: its own, or (for an admin of the scope) another user's they
   * manage. The id is the stored hash of the cookie, which opens nothing by itself.
   */
  async sessions(scope: Scope, currentId: string, userId?: string): Promise<SessionView[]> {
    const whose = userId ?? scope.userId;
    if (whose !== scope.userId) {
      const target = await this.get(whose);
      if (!target || !canManage(scope, target)) throw new KauriError('not_found', 'no such user');
    }
    const rows = await this.db
      .selectFrom('hq_sessions')
      .innerJoin('users', 'users.id', 'hq_sessions.user_id')
      .select([
        'hq_sessions.id_hash as id',
        'hq_sessions.user_id as userId',
        'users.username as username',
        'hq_sessions.created_at as createdAt',
        'hq_sessions.expires_at as expiresAt',
        'hq_sessions.ip as ip',
        'hq_sessions.user_agent as userAgent',
      ])
      .where('hq_sessions.user_id', '=', whose)
      .where('hq_sessions.expires_at', '>', this.now())
      .orderBy('hq_sessions.created_at', 'desc')
      .execute();
    return rows.map((r) => ({ ...r, current: r.id === currentId }));
  }

  /** Ends a session: one's own, or one of a user the scope manages. Another's unknown session is not found. */
  async endSession(scope: Scope, id: string, ip?: string): Promise<void> {
    const row = await this.db
      .selectFrom('hq_sessions')
      .select(['id_hash', 'user_id'])
      .where('id_hash', '=', id)
      .executeTakeFirst();
    if (!row) throw new KauriError('not_found', 'no such session');
    let merchantId: string | null = scope.merchantId;
    if (row.user_id !== scope.userId) {
      const target = await this.get(row.user_id);
      if (!target || !canManage(scope, target)) throw new KauriError('not_found', 'no such session');
      merchantId = target.merchantId;
    }
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('hq_sessions').where('id_hash', '=', id).execute();
      await this.deps.audit.record(
        { actor: scope, action: 'session.end', merchantId, target: row.user_id, ip, details: {} },
        trx,
      );
    });
  }
}
