import type { Kysely } from 'kysely';
import type { Store } from '../store/db.js';
import { nowIso } from '../store/db.js';
import type { Database } from '../store/schema.js';
import type { Clock } from '../../protocol/clock.js';
import { systemClock } from '../../protocol/clock.js';
import { KauriError } from '../../protocol/errors.js';
import { isHqRole, type Scope } from './scope.js';

// The audit log: who changed what, when and from where. Rows are only ever inserted; the
// migration puts a trigger on the table (PostgreSQL and SQLite) that refuses UPDATE and DELETE,
// and this module has no method that would try. A caller passes its Kysely transaction so the
// audit row commits (or rolls back) with the change it describes.

/** Who did it: a signed-in user's scope, the bridge itself, or the command line. */
export type AuditActor = Scope | 'system' | 'cli';

export interface AuditEntry {
  actor: AuditActor;
  /** Dotted, noun first: `user.invite`, `refund.create`, `apikey.create`. */
  action: string;
  /** The merchant the change concerns (null: HQ-wide). */
  merchantId?: string | null;
  /** What was changed: an id or key. */
  target?: string | null;
  /** The client address, for changes made over HTTP. */
  ip?: string | null;
  details?: Record<string, unknown>;
}

export interface AuditRow {
  id: string;
  at: string;
  actor: string;
  actorId: string | null;
  role: string | null;
  action: string;
  merchantId: string | null;
  target: string | null;
  ip: string | null;
  details: Record<string, unknown>;
}

export interface AuditFilter {
  actor?: string;
  /** An exact action, or a prefix ending in `.` (`user.` finds every user action). */
  action?: string;
  merchant?: string;
  /** ISO dates or times, inclusive; a bare date `YYYY-MM-DD` covers the whole UTC day. */
  from?: string;
  to?: string;
  cursor?: string;
  limit?: number;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const TIME = /^\d{4}-\d{2}-\d{2}T[\d:.]+Z$/;

function encodeCursor(id: number): string {
  return Buffer.from(`a${id}`).toString('base64url');
}

function decodeCursor(cursor: string): number {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const id = Number(text.slice(1));
  if (!text.startsWith('a') || !Number.isSafeInteger(id) || id < 0)
    throw new KauriError('bad_argument', 'the cursor is not one this list gave');
  return id;
}

function bound(v: string, end: boolean): string {
  if (DATE.test(v)) return end ? `${v}T23:59:59.999Z` : `${v}T00:00:00.000Z`;
  if (TIME.test(v) && !Number.isNaN(Date.parse(v))) return new Date(v).toISOString();
  throw new KauriError('bad_argument', `"${v}" is not a date (YYYY-MM-DD) or UTC time`);
}

/**
 * The insert of one audit entry, on `db`: a transaction of the service making the change, so
 * the change and the record of who made it commit or roll back together (SQLite and
 * PostgreSQL alike). Returned unexecuted so a PostgreSQL writer can also send it as part of
 * one statement (orders/commit.ts).
 */
export function auditInsert(db: Kysely<Database>, entry: AuditEntry, at: Date) {
  const a = entry.actor;
  const person = typeof a === 'string' ? undefined : a;
  return db.insertInto('audit_log').values({
    at: nowIso(at),
    actor: person ? person.username : (a as string),
    actor_id: person?.userId ?? null,
    role: person?.role ?? null,
    action: entry.action,
    merchant_id: entry.merchantId ?? null,
    target: entry.target ?? null,
    ip: entry.ip ?? null,
    details: JSON.stringify(entry.details ?? {}),
  });
}

export class AuditLog {
  private readonly clock: Clock;

  constructor(
    private readonly store: Store,
    options: { clock?: Clock } = {},
  ) {
    this.clock = options.clock ?? systemClock();
  }

  /** Appends one entry; inside `trx` when given, so it commits with the caller's change. */
  async record(entry: AuditEntry, trx?: Kysely<Database>): Promise<void> {
    await auditInsert(trx ?? this.store.db, entry, this.clock.now()).execute();
  }

  /**
   * The entries a scope may read, newest first: HQ roles every entry, a merchant admin their
   * merchant's; nobody else reads the log.
   */
  async list(scope: Scope, filter: AuditFilter = {}): Promise<{ items: AuditRow[]; nextCursor: string | null }> {
    if (!isHqRole(scope.role) && scope.role !== 'merchant_admin')
      throw new KauriError('forbidden', 'only HQ and merchant admins read the audit log');
    const limit = Math.min(Math.max(Math.trunc(filter.limit ?? 50) || 50, 1), 200);
    let q = this.store.db.selectFrom('audit_log').selectAll();
    if (scope.merchantId !== null) q = q.where('merchant_id', '=', scope.merchantId);
    if (filter.merchant) q = q.where('merchant_id', '=', filter.merchant);
    if (filter.actor) q = q.where('actor', '=', filter.actor);
    if (filter.action) {
      const prefix = filter.action.endsWith('.');
      q = prefix
        ? q.where('action', '>=', filter.action).where('action', '<', `${filter.action.slice(0, -1)}/`)
        : q.where('action', '=', filter.action);
    }
    if (filter.from) q = q.where('at', '>=', bound(filter.from, false));
    if (filter.to) q = q.where('at', '<=', bound(filter.to, true));
    if (filter.cursor) q = q.where('id', '<', decodeCursor(filter.cursor));
    const rows = await q
      .orderBy('id', 'desc')
      .limit(limit + 1)
      .execute();
    const page = rows.slice(0, limit);
    return {
      items: page.map((r) => ({
        id: String(r.id),
        at: r.at,
        actor: r.actor,
        actorId: r.actor_id,
        role: r.role,
        action: r.action,
        merchantId: r.merchant_id,
        target: r.target,
        ip: r.ip,
        details: JSON.parse(r.details) as Record<string, unknown>,
      })),
      nextCursor: rows.length > limit ? encodeCursor(Number(page[page.length - 1]!.id)) : null,
    };
  }
}
