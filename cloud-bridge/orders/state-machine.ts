import type { PaymentStatus } from '../../protocol/payments.js';
import { KauriError } from '../../protocol/errors.js';

// The one order state machine (docs/ARCHITECTURE.md). A transition not in this table is an error.
//   created → pending; pending → paid | closed | reversed | failed;
//   closed → paid (a late payment: always followed by an automatic refund);
//   paid → partially_refunded | refunded; partially_refunded → partially_refunded | refunded.
export const TRANSITIONS: Readonly<Record<PaymentStatus, readonly PaymentStatus[]>> = {
  created: ['pending', 'failed'],
  pending: ['paid', 'closed', 'reversed', 'failed'],
  closed: ['paid'],
  paid: ['partially_refunded', 'refunded'],
  partially_refunded: ['partially_refunded', 'refunded'],
  refunded: [],
  reversed: [],
  failed: [],
};

export function canTransition(from: PaymentStatus, to: PaymentStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

export function assertTransition(from: PaymentStatus, to: PaymentStatus): void {
  if (!canTransition(from, to)) {
    throw new KauriError('invalid_transition', `A ${from} payment cannot become ${to}`);
  }
}

/** States from which the channel can still report a payment. */
export function isOpen(status: PaymentStatus): boolean {
  return status === 'created' || status === 'pending';
}

/** Paid at some point (refunds included). */
export function isPaidFamily(status: PaymentStatus): boolean {
  return status === 'paid' || status === 'partially_refunded' || status === 'refunded';
}

/** The status a payment has after its non-failed refunds total `refundedMinor`. */
export function statusAfterRefunds(amountMinor: number, refundedMinor: number): PaymentStatus {
  if (refundedMinor <= 0) return 'paid';
  return refundedMinor >= amountMinor ? 'refunded' : 'partially_refunded';
}

/** The refundable remainder: paid minus every refund that has not failed. */
export function refundableMinor(amountMinor: number, refundedMinor: number): number {
  return Math.max(0, amountMinor - refundedMinor);
}
