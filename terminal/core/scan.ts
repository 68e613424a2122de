import { channelOfPaymentCode, type ChannelName } from '../../protocol/payments.js';

// What the scan field accepts. A keyboard-wedge scanner types fast and may fire twice
// on one code; the same code again within a few seconds is the same customer, not a
// second payment.

export type ScanVerdict =
  | { ok: true; code: string; channel: ChannelName }
  | { ok: false; reason: 'not_a_payment_code' | 'duplicate'; message: string; zh: string };

export class ScanFilter {
  private readonly seen = new Map<string, number>();
  constructor(
    private readonly windowMs = 5000,
    private readonly now: () => number = Date.now,
  ) {}

  check(raw: string): ScanVerdict {
    const code = raw.replace(/[\s\r\n]/g, '');
    const channel = channelOfPaymentCode(code);
    if (!channel) {
      return {
        ok: false,
        reason: 'not_a_payment_code',
        message: "Not a WeChat or Alipay payment code: scan the code on the customer's phone",
        zh: '不是微信或支付宝付款码，请扫描顾客手机上的付款码',
      };
    }
    const t = this.now();
    for (const [k, at] of this.seen) if (t - at > this.windowMs) this.seen.delete(k);
    if (this.seen.has(code)) {
      return {
        ok: false,
        reason: 'duplicate',
        message: 'That code was just scanned; ignored',
        zh: '该付款码刚刚已扫描，已忽略',
      };
    }
    return { ok: true, code, channel };
  }

  /**
   * Marks a code as taken: a payment started from it. Only then is it a duplicate when it
   * comes again, so a code refused for something else (no amount keyed yet, a payment
   * already on screen) can be scanned again at once when that is put right.
   */
  took(code: string): void {
    this.seen.set(code, this.now());
  }
}

/** Reconnect delay: exponential with full jitter between half and all of it, capped. */
export function backoffDelay(
  attempt: number,
  random: () => number = Math.random,
  baseMs = 500,
  capMs = 30_000,
): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 20));
  return Math.round(ceiling * (0.5 + random() * 0.5));
}
