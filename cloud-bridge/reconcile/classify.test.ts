import { describe, expect, it } from 'vitest';
import {
  C_PAID,
  C_REFUND_FAILED,
  C_REFUND_PROCESSING,
  C_REFUND_SUCCEEDED,
  C_REVOKED,
  CHANNEL_STATUSES,
  PAYMENT_STATUSES,
  REFUND_STATUSES,
  platformStatusCode,
  KIND_PAYMENT,
  KIND_REFUND,
} from './codes.js';
import {
  classifyPair,
  classifyPlatformOnly,
  expectedAtChannel,
  platformRole,
  statusAgrees,
  supersedes,
  ROLE_AFTER,
  ROLE_BEFORE,
  ROLE_CORE,
  ROLE_UNDATED,
} from './classify.js';

const P = (s: string): number => platformStatusCode(KIND_PAYMENT, s);
const R = (s: string): number => platformStatusCode(KIND_REFUND, s);

// Which platform statuses agree with each channel status: the whole table, written out.
const AGREES: Record<string, string[]> = {
  paid: ['paid', 'partially_refunded', 'refunded'],
  revoked: ['reversed', 'closed'],
  refund_succeeded: ['succeeded'],
  refund_processing: ['processing'],
  refund_failed: ['failed'],
};

describe('statusAgrees', () => {
  for (const [ci, c] of CHANNEL_STATUSES.entries()) {
    const code = ci + 1;
    const refund = c.startsWith('refund');
    const statuses = refund ? REFUND_STATUSES : PAYMENT_STATUSES;
    for (const p of statuses) {
      const expected = AGREES[c]!.includes(p);
      it(`${c} vs ${p}: ${expected ? 'agrees' : 'status mismatch'}`, () => {
        expect(statusAgrees(code, refund ? R(p) : P(p))).toBe(expected);
      });
    }
  }
});

describe('classifyPair', () => {
  const paid = { status: C_PAID, amountMinor: 1000, currency: 'NZD' };
  it('matched when currency, amount and status agree', () => {
    expect(classifyPair(paid, { status: P('paid'), amountMinor: 1000, currency: 'NZD' })).toBe('matched');
  });
  it('currency before amount before status', () => {
    expect(classifyPair(paid, { status: P('pending'), amountMinor: 999, currency: 'AUD' })).toBe('currencyMismatch');
    expect(classifyPair(paid, { status: P('pending'), amountMinor: 999, currency: 'NZD' })).toBe('amountMismatch');
    expect(classifyPair(paid, { status: P('pending'), amountMinor: 1000, currency: 'NZD' })).toBe('statusMismatch');
  });
  it('a one-cent difference is an amount mismatch', () => {
    expect(
      classifyPair(
        { status: C_REFUND_SUCCEEDED, amountMinor: 1, currency: 'NZD' },
        { status: R('succeeded'), amountMinor: 2, currency: 'NZD' },
      ),
    ).toBe('amountMismatch');
  });
});

describe('platform rows the statement lacks', () => {
  const dayStart = Date.parse('2026-11-20T00:00:00+08:00');
  const win = 15 * 60_000;
  it('only money-moving statuses are missed', () => {
    const expected = ['paid', 'partially_refunded', 'refunded'];
    for (const p of PAYMENT_STATUSES) expect(expectedAtChannel(P(p))).toBe(expected.includes(p));
    for (const r of REFUND_STATUSES) expect(expectedAtChannel(R(r))).toBe(r !== 'failed');
  });
  it('suspense within the window before the cut-off, platform-only before it, nothing for unpaid', () => {
    const end = dayStart + 86_400_000;
    expect(classifyPlatformOnly(P('paid'), end - win, dayStart, win)).toBe('suspense');
    expect(classifyPlatformOnly(P('paid'), end - 1, dayStart, win)).toBe('suspense');
    expect(classifyPlatformOnly(P('paid'), end - win - 1, dayStart, win)).toBe('platformOnly');
    expect(classifyPlatformOnly(R('processing'), end - 60_000, dayStart, win)).toBe('suspense');
    expect(classifyPlatformOnly(P('pending'), end - 60_000, dayStart, win)).toBeNull();
    expect(classifyPlatformOnly(P('closed'), dayStart, dayStart, win)).toBeNull();
  });
  it('roles: the day, the window on either side, undated, other days', () => {
    const end = dayStart + 86_400_000;
    expect(platformRole(dayStart, dayStart, win)).toBe(ROLE_CORE);
    expect(platformRole(end - 1, dayStart, win)).toBe(ROLE_CORE);
    expect(platformRole(dayStart - 1, dayStart, win)).toBe(ROLE_BEFORE);
    expect(platformRole(dayStart - win, dayStart, win)).toBe(ROLE_BEFORE);
    expect(platformRole(dayStart - win - 1, dayStart, win)).toBe(0);
    expect(platformRole(end, dayStart, win)).toBe(ROLE_AFTER);
    expect(platformRole(end + win - 1, dayStart, win)).toBe(ROLE_AFTER);
    expect(platformRole(end + win, dayStart, win)).toBe(0);
    expect(platformRole(NaN, dayStart, win)).toBe(ROLE_UNDATED);
  });
});

describe('supersedes', () => {
  it('a later state replaces an earlier one; a repeat does not', () => {
    expect(supersedes(C_REVOKED, C_PAID)).toBe(true);
    expect(supersedes(C_PAID, C_REVOKED)).toBe(false);
    expect(supersedes(C_REFUND_SUCCEEDED, C_REFUND_PROCESSING)).toBe(true);
    expect(supersedes(C_REFUND_FAILED, C_REFUND_PROCESSING)).toBe(true);
    for (const s of [C_PAID, C_REVOKED, C_REFUND_SUCCEEDED, C_REFUND_PROCESSING, C_REFUND_FAILED])
      expect(supersedes(s, s)).toBe(false);
  });
});
