import { ERRORS, KauriError } from '../../protocol/errors.js';

// The errors the counter devices raise: codes of the one catalogue (protocol/errors.ts), which
// holds the message the cashier reads in English and Chinese; this is the devices' view of it.

const DEVICE_CODES = [
  'device_spec_invalid',
  'printer_profile_unknown',
  'printer_paper_out',
  'printer_cover_open',
  'printer_offline',
  'printer_error',
  'printer_no_answer',
  'printer_disconnected',
  'usb_unavailable',
  'display_unavailable',
  'scan_code_invalid',
] as const;

export type DeviceErrorCode = (typeof DEVICE_CODES)[number];

export const DEVICE_ERRORS: { readonly [C in DeviceErrorCode]: (typeof ERRORS)[C] } = Object.fromEntries(
  DEVICE_CODES.map((c) => [c, ERRORS[c]]),
) as { readonly [C in DeviceErrorCode]: (typeof ERRORS)[C] };

export class DeviceError extends KauriError {
  declare readonly code: DeviceErrorCode;
  readonly messageZh: string;
  constructor(code: DeviceErrorCode, detail?: string, options?: { cause?: unknown }) {
    const m = ERRORS[code];
    super(code, detail ? `${m.en}: ${detail}` : m.en, options);
    this.name = 'DeviceError';
    this.messageZh = m.zh;
  }
}

export function isDeviceError(err: unknown, code?: DeviceErrorCode): err is DeviceError {
  return err instanceof DeviceError && (code === undefined || err.code === code);
}
