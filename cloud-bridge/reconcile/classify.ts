import {
  C_PAID,
  C_REFUND_FAILED,
  C_REFUND_PROCESSING,
  C_REFUND_SUCCEEDED,
  C_REVOKED,
  P_CLOSED,
  P_PAID,
  P_PARTIALLY_REFUNDED,
  P_REFUNDED,
  P_REVERSED,
  R_FAILED,
  R_PROCESSING,
  R_SUCCEEDED,
  type Category,
} from './codes.js';

// The matcher's decisions, as pure functions over small codes (codes.ts). The ledger
// applies them to a million rows; the tests apply them to every combination.

export interface Side {
  status: number;
  amountMinor: number;
  currency: string;
}

/** Does the platform's status agree with what the channel's statement says happened? */
export function statusAgrees(channelStatus: number, platformStatus: number): boolean {
  switch (channelStatus) {
    case C_PAID:
      return platformStatus === P_PAID || platformStatus === P_PARTIALLY_REFUNDED || platformStatus === P_REFUNDED;
    case C_REVOKED:
      return platformStatus === P_REVERSED || platformStatus === P_CLOSED;
    case C_REFUND_SUCCEEDED:
      return platformStatus === R_SUCCEEDED;
    case C_REFUND_PROCESSING:
      return platformStatus === R_PROCESSING;
    case C_REFUND_FAILED:
      return platformStatus === R_FAILED;
    default:
      return false;
  }
}

/**
 * A statement row and the platform row with the same id. One category each, in this
 * order: a different currency makes the amounts incomparable; a different amount is
 * money; a different status is state.
 */
export function classifyPair(
  channel: Side,
  platform: Side,
): Exclude<Category, 'channelOnly' | 'platformOnly' | 'duplicates' | 'suspense'> {
  if (channel.currency !== platform.currency) return 'currencyMismatch';
  if (channel.amountMinor !== platform.amountMinor) return 'amountMismatch';
  if (!statusAgrees(channel.status, platform.status)) return 'statusMismatch';
  return 'matched';
}

/** Platform rows that say money moved at the channel; only these are missed when absent from the statement. */
export function expectedAtChannel(platformStatus: number): boolean {
  return (
    platformStatus === P_PAID ||
    platformStatus === P_PARTIALLY_REFUNDED ||
    platformStatus === P_REFUNDED ||
    platformStatus === R_SUCCEEDED ||
    platformStatus === R_PROCESSING
  );
}

/** Signed effect on the day's net (payments in, refunds out), for the totals. */
export function platformSign(platformStatus: number): number {
  if (platformStatus === P_PAID || platformStatus === P_PARTIALLY_REFUNDED || platformStatus === P_REFUNDED) return 1;
  if (platformStatus === R_SUCCEEDED || platformStatus === R_PROCESSING) return -1;
  return 0;
}

export function channelSign(channelStatus: number): number {
  if (channelStatus === C_PAID) return 1;
  if (channelStatus === C_REFUND_SUCCEEDED || channelStatus === C_REFUND_PROCESSING) return -1;
  return 0; // revoked payments and failed refunds moved no money
}

/**
 * The same id seen again in one statement. A later state of the same transaction (a
 * payment then its reversal, a refund in progress then final) replaces the earlier one;
 * anything else is a repeated row: a duplicate.
 */
export function supersedes(next: number, prev: number): boolean {
  if (next === C_REVOKED && prev === C_PAID) return true;
  if ((next === C_REFUND_SUCCEEDED || next === C_REFUND_FAILED) && prev === C_REFUND_PROCESSING) return true;
  return false;
}

export type Role = 'core' | 'before' | 'after' | 'undated';
export const ROLE_CORE = 1;
export const ROLE_BEFORE = 2;
export const ROLE_AFTER = 3;
export const ROLE_UNDATED = 4;

/**
 * Which platform rows take part in day D's run. A row's channel day is D when its time
 * falls on D (China time). Rows within `windowMs` of either cut-off on the neighbouring
 * days take part only if the statement has them (clocks differ across midnight); rows
 * without a time (never confirmed by the channel) likewise. Returns 0 for rows of other days.
 */
export function platformRole(timeMs: number, dayStartMs: number, windowMs: number): number {
  if (Number.isNaN(timeMs)) return ROLE_UNDATED;
  const dayEnd = dayStartMs + 86_400_000;
  if (timeMs >= dayStartMs && timeMs < dayEnd) return ROLE_CORE;
  if (timeMs < dayStartMs && timeMs >= dayStartMs - windowMs) return ROLE_BEFORE;
  if (timeMs >= dayEnd && timeMs < dayEnd + windowMs) return ROLE_AFTER;
  return 0;
}

/**
 * A platform row of day D that the statement does not have. Paid orders close to the
 * day's end wait in suspense (the channel may have booked them on D+1); other paid ones
 * are missing at the channel; unpaid ones agree with the channel's silence.
 */
export function classifyPlatformOnly(
  platformStatus: number,
  timeMs: number,
  dayStartMs: number,
  windowMs: number,
): 'platformOnly' | 'suspense' | null {
  if (!expectedAtChannel(platformStatus)) return null;
  return timeMs >= dayStartMs + 86_400_000 - windowMs ? 'suspense' : 'platformOnly';
}
