import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { sql } from 'kysely';
import type { Store } from '../store/db.js';
import { nowIso } from '../store/db.js';
import type { AccountsRepo, User } from '../store/accounts.js';
import type { Clock } from '../../protocol/clock.js';
import { RunError } from '../reconcile/runs/errors.js';
import { KauriError } from '../../protocol/errors.js';
import type { Scope } from './scope.js';
import type { People } from './people.js';
import type { TotpService } from './totp.js';

// HQ page sessions. The cookie holds 256 random bits; the database keeps only their
// SHA-256, so a copy of the database opens no session. Every change is a same-origin JSON
// request carrying the session's CSRF token in a header (and the cookie is SameSite=Strict).
//
// Logins are throttled per (client address, user name) with growing delays, not locked: a
// lock a stranger could trigger would keep the real user out, while a delay that only the
// guessing client suffers leaves the user logging in from elsewhere untouched. Every attempt
// is counted before the password is checked, in one atomic statement in the database, so a
// burst of parallel attempts (or attempts spread over bridge instances) gets no more guesses.

export const SESSION_COOKIE = 'kauri_hq';
const SESSION_MS = 12 * 3_600_000;
/** Attempts allowed back to back before the delays start. */
export const FREE_ATTEMPTS = 3;
const FIRST_DELAY_MS = 1_000;
const MAX_DELAY_MS = 15 * 60_000;
/** A run of attempts is forgotten after this long without one. */
const QUIET_MS = 15 * 60_000;

export interface Session {
  /** The stored hash of the cookie: names the session in lists without opening it. */
  id: string;
  user: User;
  /** What this user may see and do, from their role, merchant, stores and refund limit. */
  scope: Scope;
  totpEnabled: boolean;
  csrf: string;
  expiresAt: string;
}

function hash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Delay (unscaled ms) before the attempt after the nth: none for the first FREE_ATTEMPTS, then 1 s, 2 s, 4 s… up to 15 min. */
export function loginDelayMs(attempts: number): number {
  if (attempts <= FREE_ATTEMPTS) return 0;
  return Math.min(FIRST_DELAY_MS * 2 ** (attempts - FREE_ATTEMPTS - 1), MAX_DELAY_MS);
}

export class HqSessions {
  constructor(
    private readonly deps: { store: Store; accounts: AccountsRepo; clock: Clock; people: People; totp: TotpService },
  ) {}

  /**
   * Counts an attempt for the key, atomically: answers 0 when it may go ahead, or how many ms
   * to wait. The upsert only updates a row whose wait is over, so of parallel attempts no more
   * get through than the count allows (the row lock on PostgreSQL, the single writer on SQLite).
   */
  private async claim(key: string): Promise<number> {
    const { clock } = this.deps;
    const now = clock.now().getTime();
    const attempts = sql<number>`(case when hq_login_throttle.blocked_until_ms < ${sql.lit(now - clock.duration(QUIET_MS))} then 1 else hq_login_throttle.attempts + 1 end)`;
    const steps: number[] = [];
    for (let n = FREE_ATTEMPTS + 1; loginDelayMs(n) < MAX_DELAY_MS; n++) steps.push(n);
    const delay = sql<number>`(case when ${attempts} <= ${sql.lit(FREE_ATTEMPTS)} then 0 ${sql.join(
      steps.map((n) => sql`when ${attempts} = ${sql.lit(n)} then ${sql.lit(clock.duration(loginDelayMs(n)))}`),
      sql` `,
    )} else ${sql.lit(clock.duration(MAX_DELAY_MS))} end)`;
    const claimed = await this.deps.store.db
      .insertInto('hq_login_throttle')
      .values({ key, attempts: 1, blocked_until_ms: now, updated_at: nowIso(new Date(now)) })
      .onConflict((oc) =>
        oc
          .column('key')
          .doUpdateSet({
            attempts,
            blocked_until_ms: sql<number>`${sql.lit(now)} + ${delay}`,
            updated_at: nowIso(new Date(now)),
          })
          .where('hq_login_throttle.blocked_until_ms', '<=', sql.lit(now)),
      )
      .returning('attempts')
      .executeTakeFirst();
    if (claimed) return 0;
    const row = await this.deps.store.db
      .selectFrom('hq_login_throttle')
      .select('blocked_until_ms')
      .where('key', '=', key)
      .executeTakeFirst();
    return Math.max(1, Number(row?.blocked_until_ms ?? now) - now);
  }

  /**
   * Checks the password and, for a user with two-factor sign-in on, the TOTP code; returns the
   * new session's token (for the cookie) and CSRF token. A missing or wrong code counts as a
   * failed attempt like a wrong password: the throttle is cleared only by a complete login.
   */
  async login(
    username: string,
    password: string,
    client: string,
    options: { totp?: string; userAgent?: string } = {},
  ): Promise<{ token: string; session: Session }> {
    const key = `${client}\n${username.toLowerCase()}`;
    const wait = await this.claim(key);
    if (wait > 0) {
      const s = Math.ceil(wait / 1000);
      throw new KauriError(
        'too_many_logins',
        `too many failed logins for this user from this address: try again in ${s} second(s)`,
        { retryAfterS: s },
      );
    }
    const user = await this.deps.accounts.authenticateUser(username, password);
    if (!user) throw new RunError('unauthorized', 'wrong user name or password');
    if (user.totp_enabled === 1) {
      if (!options.totp) throw new KauriError('totp_required');
      if (!(await this.deps.totp.verify(user.id, options.totp))) throw new KauriError('totp_invalid');
    }
    await this.deps.store.db.deleteFrom('hq_login_throttle').where('key', '=', key).execute();
    const token = randomBytes(32).toString('base64url');
    const csrf = randomBytes(24).toString('base64url');
    const created = this.deps.clock.now();
    const expiresAt = nowIso(new Date(created.getTime() + SESSION_MS));
    await this.deps.store.db.deleteFrom('hq_sessions').where('expires_at', '<=', nowIso(created)).execute();
    await this.deps.store.db
      .insertInto('hq_sessions')
      .values({
        id_hash: hash(token),
        user_id: user.id,
        csrf,
        created_at: nowIso(created),
        expires_at: expiresAt,
        ip: client.slice(0, 100),
        user_agent: options.userAgent?.slice(0, 300) ?? null,
      })
      .execute();
    const scope = await this.deps.people.scopeOf(user);
    return {
      token,
      session: { id: hash(token), user, scope, totpEnabled: user.totp_enabled === 1, csrf, expiresAt },
    };
  }

  async get(token: string | undefined): Promise<Session | undefined> {
    if (!token || token.length > 100) return undefined;
    const row = await this.deps.store.db
      .selectFrom('hq_sessions')
      .innerJoin('users', 'users.id', 'hq_sessions.user_id')
      .select([
        'hq_sessions.csrf as csrf',
        'hq_sessions.expires_at as expires_at',
        'users.id as id',
        'users.username as username',
        'users.role as role',
        'users.merchant_id as merchant_id',
        'users.created_at as created_at',
        'users.disabled_at as disabled_at',
        'users.refund_limit_minor as refund_limit_minor',
        'users.totp_enabled as totp_enabled',
      ])
      .where('hq_sessions.id_hash', '=', hash(token))
      .executeTakeFirst();
    if (!row || row.disabled_at || row.expires_at <= nowIso(this.deps.clock.now())) return undefined;
    const user: User = {
      id: row.id,
      username: row.username,
      role: row.role,
      merchant_id: row.merchant_id,
      created_at: row.created_at,
      disabled_at: row.disabled_at,
      refund_limit_minor: row.refund_limit_minor,
      totp_enabled: row.totp_enabled,
    };
    return {
      id: hash(token),
      user,
      scope: await this.deps.people.scopeOf(user),
      totpEnabled: row.totp_enabled === 1,
      csrf: row.csrf,
      expiresAt: row.expires_at,
    };
  }

  async logout(token: string | undefined): Promise<void> {
    if (!token) return;
    await this.deps.store.db.deleteFrom('hq_sessions').where('id_hash', '=', hash(token)).execute();
  }

  static csrfMatches(session: Session, given: unknown): boolean {
    if (typeof given !== 'string') return false;
    const a = Buffer.from(session.csrf);
    const b = Buffer.from(given);
    return a.length === b.length && timingSafeEqual(a, b);
  }
}

export function isHq(user: User): boolean {
  return user.role === 'hq_admin' || user.role === 'hq_finance';
}
