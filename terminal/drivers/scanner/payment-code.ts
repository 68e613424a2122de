import { channelOfPaymentCode } from '../../../protocol/payments.js';
import { DeviceError } from '../errors.js';

// Checks a scanned code before it goes anywhere near the bridge: WeChat codes are 18
// digits starting 10–15, Alipay codes 16–24 digits starting 25–30 (protocol's rule).
// Anything else is refused here with a message the cashier can act on (and a beep).

export type ScanResult =
  | { ok: true; channel: 'wechat' | 'alipay'; code: string }
  | { ok: false; error: DeviceError; /** What arrived, printable and short, for the screen. */ shown: string };

export function checkScannedCode(raw: string): ScanResult {
  const code = raw.replace(/^[\s\x00]+|[\s\x00]+$/g, '');
  const channel = channelOfPaymentCode(code);
  if (channel === 'wechat' || channel === 'alipay') return { ok: true, channel, code };
  const shown = code.replace(/[^\x20-\x7e]/g, '?').slice(0, 32);
  let why = 'not a payment code';
  if (code === '') why = 'empty scan';
  else if (!/^\d+$/.test(code)) why = 'not digits only';
  else {
    const prefix = Number(code.slice(0, 2));
    if (prefix >= 10 && prefix <= 15) why = `WeChat codes have 18 digits, this has ${code.length}`;
    else if (prefix >= 25 && prefix <= 30) why = `Alipay codes have 16-24 digits, this has ${code.length}`;
    else why = `prefix ${code.slice(0, 2)} is neither WeChat (10-15) nor Alipay (25-30)`;
  }
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
