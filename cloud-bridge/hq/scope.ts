import { KauriError } from '../../protocol/errors.js';

// What a back-office user may see and do, decided once per request on the server. Every
// back-office route turns its session into a Scope and passes it down; repositories filter by
// it, so a page cannot show what the role may not read even when the URL is typed by hand.

export const ROLES = ['hq_admin', 'hq_finance', 'merchant_admin', 'store_manager', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

export interface Scope {
  userId: string;
  username: string;
  role: Role;
  /** null: every merchant (HQ roles). */
  merchantId: string | null;
  /** null: every store the merchant scope allows; otherwise only these stores. */
  storeIds: readonly string[] | null;
  /** Largest refund this user may send, in the payment's minor units; null: no limit of their own. */
  refundLimitMinor: number | null;
}

/** Roles that read every merchant. */
export function isHqRole(role: Role): boolean {
  return role === 'hq_admin' || role === 'hq_finance';
}

/** Whether the scope may read this merchant's (and store's) data. */
export function canRead(scope: Scope, merchantId: string, storeId?: string | null): boolean {
  if (scope.merchantId !== null && scope.merchantId !== merchantId) return false;
  if (scope.storeIds !== null && (!storeId || !scope.storeIds.includes(storeId))) return false;
  return true;
}

/** Refunds and closing payments: HQ admins, merchant admins and store managers (within their stores). */
export function canRefund(scope: Scope): boolean {
  return scope.role === 'hq_admin' || scope.role === 'merchant_admin' || scope.role === 'store_manager';
}

/** Exports: everyone but a viewer. */
export function canExport(scope: Scope): boolean {
  return scope.role !== 'viewer';
}

/** Throws `forbidden` unless the scope may read this merchant's (and store's) data. */
export function requireRead(scope: Scope, merchantId: string, storeId?: string | null): void {
  if (!canRead(scope, merchantId, storeId))
    throw new KauriError('forbidden', 'this belongs to another merchant or store');
}

/**
 * The scope of a user row. `merchant_user`, the old name of a merchant's own user, reads as
 * `merchant_admin`. Store assignments and refund limits come from the caller (the users
 * repository), since they live beside the user, not in it.
 */
export function scopeOfUser(
  user: { id: string; username: string; role: string; merchant_id: string | null },
  extra: { storeIds?: readonly string[] | null; refundLimitMinor?: number | null } = {},
): Scope {
  const role: Role = user.role === 'merchant_user' ? 'merchant_admin' : (user.role as Role);
  if (!ROLES.includes(role)) throw new KauriError('forbidden', `unknown role ${user.role}`);
  // A merchant's user without a merchant must not fall through to "every merchant".
  if (!isHqRole(role) && !user.merchant_id) throw new KauriError('forbidden', 'this user belongs to no merchant');
  return {
    userId: user.id,
    username: user.username,
    role,
    merchantId: isHqRole(role) ? null : user.merchant_id,
    storeIds: role === 'store_manager' ? (extra.storeIds ?? []) : (extra.storeIds ?? null),
    refundLimitMinor: extra.refundLimitMinor ?? null,
  };
}
