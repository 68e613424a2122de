import { describe, it, expect } from 'vitest';
import { PAYMENT_STATUSES, type PaymentStatus } from '../../protocol/payments.js';
import {
  assertTransition,
  canTransition,
  isOpen,
  isPaidFamily,
  refundableMinor,
  statusAfterRefunds,
} from './state-machine.js';

const allowed = new Set([
  'created>pending',
  'created>failed',
  'pending>paid',
  'pending>closed',
  'pending>reversed',
  'pending>failed',
  'closed>paid',
  'paid>partially_refunded',
  'paid>refunded',
  'partially_refunded>partially_refunded',
  'partially_refunded>refunded',
]);

describe('order state machine', () => {
  for (const from of PAYMENT_STATUSES) {
    for (const to of PAYMENT_STATUSES) {
      const ok = allowed.has(`${from}>${to}`);
      it(`${from} → ${to} is ${ok ? 'allowed' : 'refused'}`, () => {
        expect(canTransition(from as PaymentStatus, to as PaymentStatus)).toBe(ok);
        if (ok) expect(() => assertTransition(from, to)).not.toThrow();
        else expect(() => assertTransition(from, to)).toThrow(expect.objectContaining({ code: 'invalid_transition' }));
      });
    }
  }

  it('derives the refund status and remainder', () => {
    expect(statusAfterRefunds(1000, 0)).toBe('paid');
    expect(statusAfterRefunds(1000, 1)).toBe('partially_refunded');
    expect(statusAfterRefunds(1000, 999)).toBe('partially_refunded');
    expect(statusAfterRefunds(1000, 1000)).toBe('refunded');
    expect(refundableMinor(1000, 400)).toBe(600);
    expect(refundableMinor(1000, 1000)).toBe(0);
  });

  it('says in words which change was refused', () => {
    expect(() => assertTransition('refunded', 'paid')).toThrow('A refunded payment cannot become paid');
  });

  it('knows which states the channel can still report on, and which were paid', () => {
    const open = PAYMENT_STATUSES.filter((s) => isOpen(s));
    const paidFamily = PAYMENT_STATUSES.filter((s) => isPaidFamily(s));
    expect(open.sort()).toEqual(['created', 'pending']);
    expect(paidFamily.sort()).toEqual(['paid', 'partially_refunded', 'refunded']);
  });

  it('treats refunds past the amount as fully refunded with nothing left', () => {
    expect(statusAfterRefunds(1000, 1001)).toBe('refunded');
    expect(statusAfterRefunds(1000, -1)).toBe('paid');
    expect(refundableMinor(1000, 1001)).toBe(0);
    expect(refundableMinor(1000, 0)).toBe(1000);
  });
});
