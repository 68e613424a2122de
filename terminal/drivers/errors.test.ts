import { describe, it, expect } from 'vitest';
import { ERRORS, KauriError } from '../../protocol/errors.js';
import { DEVICE_ERRORS, DeviceError, isDeviceError, type DeviceErrorCode } from './errors.js';

describe('device errors', () => {
  it('are KauriErrors whose code, status and both languages are the catalogue entry', () => {
    for (const code of Object.keys(DEVICE_ERRORS) as DeviceErrorCode[]) {
      expect(DEVICE_ERRORS[code]).toBe(ERRORS[code]);
      const e = new DeviceError(code, 'on /dev/ttyS0');
      expect(e).toBeInstanceOf(KauriError);
      expect(isDeviceError(e, code)).toBe(true);
      expect(e.status).toBe(ERRORS[code].status);
      expect(e.message).toBe(`${ERRORS[code].en}: on /dev/ttyS0`);
      expect(e.messageZh).toBe(ERRORS[code].zh);
    }
    expect(new DeviceError('printer_paper_out').message).toBe('Printer is out of paper');
  });
});
