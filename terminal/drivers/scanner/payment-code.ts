import { checkPaymentCode } from '../../../protocol/payments.js';
import { DeviceError } from '../errors.js';

// Checks a scanned code before it goes anywhere near the bridge, by protocol's one rule
// (checkPaymentCode: WeChat 18 digits starting 10–15, Alipay 16–24 digits starting 25–30).
// Anything else is refused here with a message the cashier can act on (and a beep).

export type ScanResult =
  | { ok: true; channel: 'wechat' | 'alipay'; code: string }
  | { ok: false; error: DeviceError; /** What arrived, printable and short, for the screen. */ shown: string };

export function checkScannedCode(raw: string): ScanResult {
  const code = raw.replace(/^[\s\x00]+|[\s\x00]+$/g, '');
  const check = checkPaymentCode(code);
  if (check.ok && (check.channel === 'wechat' || check.channel === 'alipay'))
    return { ok: true, channel: check.channel, code };
  const shown = code.replace(/[^\x20-\x7e]/g, '?').slice(0, 32);
  const why = check.ok ? 'not a payment code' : check.why;
  return { ok: false, error: new DeviceError('scan_code_invalid', why), shown };
}

/**
 * A keyboard-wedge scanner types a whole code in a burst (a few ms per key) and ends
 * with Enter; a person types far slower. Given the key times of one entry, tells
 * whether it came from a scanner (the screen may then submit it by itself).
 */
export function looksScanned(keyTimesMs: readonly number[], maxGapMs = 35): boolean {
  if (keyTimesMs.length < 8) return false;
  for (let i = 1; i < keyTimesMs.length; i++) if (keyTimesMs[i]! - keyTimesMs[i - 1]! > maxGapMs) return false;
  return true;
}
