import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Store } from '../store/db.js';
import { nowIso } from '../store/db.js';
import type { AccountsRepo, User } from '../store/accounts.js';
import type { Clock } from '../../protocol/clock.js';
import { RunError } from '../reconcile/runs/errors.js';

// HQ page sessions. The cookie holds 256 random bits; the database keeps only their
// SHA-256, so a copy of the database opens no session. Every change is a same-origin JSON
// request carrying the session's CSRF token in a header (and the cookie is SameSite=Strict).
// Logins are rate-limited per client address and per user name.

export const SESSION_COOKIE = 'kauri_hq';
const SESSION_MS = 12 * 3_600_000;
const FAILURES_ALLOWED = 5;
const FAILURE_WINDOW_MS = 15 * 60_000;

export interface Session {
  user: User;
  csrf: string;
  expiresAt: string;
}

function hash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export class HqSessions {
  /** key → failure times (ms), pruned as they age out. */
  private readonly failures = new Map<string, number[]>();

  constructor(private readonly deps: { store: Store; accounts: AccountsRepo; clock: Clock; failuresAllowed?: number }) {}

  private limited(keys: string[], now: number): number {
    let retryAfter = 0;
    for (const k of keys) {
      const recent = (this.failures.get(k) ?? []).filter((t) => now - t < FAILURE_WINDOW_MS);
      if (recent.length === 0) this.failures.delete(k);
      else this.failures.set(k, recent);
      if (recent.length >= (this.deps.failuresAllowed ?? FAILURES_ALLOWED)) retryAfter = Math.max(retryAfter, recent[0]! + FAILURE_WINDOW_MS - now);
    }
    return retryAfter;
  }

  /** Checks the password; returns the new session's token (for the cookie) and CSRF token. */
  async login(username: string, password: string, client: string): Promise<{ token: string; session: Session }> {
    const now = Date.now();
    const keys = [`ip:${client}`, `user:${username.toLowerCase()}`];
    const wait = this.limited(keys, now);
    if (wait > 0) throw Object.assign(new RunError('forbidden', `too many failed logins: try again in ${Math.ceil(wait / 60_000)} minute(s)`), { status: 429, retryAfterS: Math.ceil(wait / 1000) });
    const user = username && password ? await this.deps.accounts.authenticateUser(username, password) : undefined;
    if (!user) {
      for (const k of keys) this.failures.set(k, [...(this.failures.get(k) ?? []), now]);
      throw new RunError('unauthorized', 'wrong user name or password');
    }
    for (const k of keys) this.failures.delete(k);
    const token = randomBytes(32).toString('base64url');
    const csrf = randomBytes(24).toString('base64url');
    const created = this.deps.clock.now();
    const expiresAt = nowIso(new Date(created.getTime() + SESSION_MS));
    await this.deps.store.db.deleteFrom('hq_sessions').where('expires_at', '<=', nowIso(created)).execute();
    await this.deps.store.db.insertInto('hq_sessions').values({ id_hash: hash(token), user_id: user.id, csrf, created_at: nowIso(created), expires_at: expiresAt }).execute();
    return { token, session: { user, csrf, expiresAt } };
  }

  async get(token: string | undefined): Promise<Session | undefined> {
    if (!token || token.length > 100) return undefined;
    const row = await this.deps.store.db
      .selectFrom('hq_sessions').innerJoin('users', 'users.id', 'hq_sessions.user_id')
      .select(['hq_sessions.csrf as csrf', 'hq_sessions.expires_at as expires_at', 'users.id as id', 'users.username as username', 'users.role as role',
        'users.merchant_id as merchant_id', 'users.created_at as created_at', 'users.disabled_at as disabled_at'])
      .where('hq_sessions.id_hash', '=', hash(token))
      .executeTakeFirst();
    if (!row || row.disabled_at || row.expires_at <= nowIso(this.deps.clock.now())) return undefined;
    return {
      user: { id: row.id, username: row.username, role: row.role, merchant_id: row.merchant_id, created_at: row.created_at, disabled_at: row.disabled_at },
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
