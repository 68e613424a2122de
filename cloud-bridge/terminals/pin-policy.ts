import { randomInt } from 'node:crypto';
import { KauriError } from '../../protocol/errors.js';

// What a store's manager PIN may be. A PIN approves refunds, so it guards money: six digits
// at least (a million choices, with the lockout counted per store in the database: repo.ts), and none of
// the handful of PINs a thief tries first. Lists of the most used PINs are dominated by
// one digit repeated, runs (123456, 654321) and short patterns repeated (121212, 123123).

export const PIN_MIN_DIGITS = 6;
export const PIN_MAX_DIGITS = 12;

const ADVICE =
  `choose ${PIN_MIN_DIGITS}–${PIN_MAX_DIGITS} digits that are not one digit repeated (111111), ` +
  'not a run up or down (123456, 987654), not a short pattern repeated (121212, 123123) and not a keypad line (147258, 159753)';

/** Well-known PINs that no rule above catches (keypad lines, mirrored runs). */
const COMMON = new Set([
  '112233',
  '147258',
  '159753',
  '258369',
  '123321',
  '147852',
  '963852',
  '789456',
  '456123',
  '102030',
  '101010',
  '100200',
]);

/** Why `pin` may not be a manager PIN, or undefined if it may. */
export function weakPinReason(pin: string): string | undefined {
  if (!/^\d+$/.test(pin)) return `A manager PIN is digits only: ${ADVICE}`;
  if (pin.length < PIN_MIN_DIGITS || pin.length > PIN_MAX_DIGITS) {
    return `A manager PIN is ${PIN_MIN_DIGITS}–${PIN_MAX_DIGITS} digits (this one has ${pin.length}): ${ADVICE}`;
  }
  const d = [...pin].map(Number);
  const step = (d[1]! - d[0]! + 10) % 10;
  // A run: every digit one more (or one less) than the one before, wrapping 9→0 (890123).
  if ((step === 1 || step === 9) && d.every((x, i) => i === 0 || (x - d[i - 1]! + 10) % 10 === step)) {
    return `A manager PIN may not be a run of digits: ${ADVICE}`;
  }
  for (let period = 1; period <= pin.length / 2; period++) {
    if (pin.length % period === 0 && pin === pin.slice(0, period).repeat(pin.length / period)) {
      return period === 1
        ? `A manager PIN may not be one digit repeated: ${ADVICE}`
        : `A manager PIN may not be a short pattern repeated: ${ADVICE}`;
    }
  }
  if (COMMON.has(pin)) return `That manager PIN is among the first a thief would try: ${ADVICE}`;
  return undefined;
}

/** Throws `manager_pin_weak` (saying what to choose) unless `pin` may be a manager PIN. */
export function assertStrongPin(pin: string): void {
  const reason = weakPinReason(pin);
  if (reason) throw new KauriError('manager_pin_weak', reason);
}

/** A random six-digit PIN that passes the rules (generated for the demo and by the admin CLI). */
export function newManagerPin(): string {
  for (;;) {
    const pin = String(randomInt(100000, 1000000));
    if (!weakPinReason(pin)) return pin;
  }
}
