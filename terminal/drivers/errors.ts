// Every error the counter devices raise, declared once: a stable code the screen and
// the bridge branch on, and the message the cashier reads (English and Chinese).

export const DEVICE_ERRORS = {
  device_spec_invalid: { en: 'Device setting is not valid', zh: '设备设置无效' },
  printer_profile_unknown: { en: 'Unknown printer profile', zh: '未知的打印机型号' },
  printer_paper_out: { en: 'Printer is out of paper', zh: '打印机缺纸' },
  printer_cover_open: { en: 'Printer cover is open', zh: '打印机盖未关' },
  printer_offline: { en: 'Printer is offline', zh: '打印机离线' },
  printer_error: { en: 'Printer reports an error', zh: '打印机故障' },
  printer_no_answer: { en: 'Printer does not answer', zh: '打印机无响应' },
  printer_disconnected: { en: 'Printer is disconnected', zh: '打印机未连接' },
  usb_unavailable: { en: 'USB printer not found', zh: '未找到USB打印机' },
  display_unavailable: { en: 'Customer display is disconnected', zh: '客显未连接' },
  scan_code_invalid: { en: 'Not a WeChat or Alipay payment code', zh: '不是有效的微信或支付宝付款码' },
} as const;

export type DeviceErrorCode = keyof typeof DEVICE_ERRORS;

export class DeviceError extends Error {
  readonly code: DeviceErrorCode;
  readonly messageZh: string;
  constructor(code: DeviceErrorCode, detail?: string, options?: { cause?: unknown }) {
    const m = DEVICE_ERRORS[code];
    super(detail ? `${m.en}: ${detail}` : m.en, options);
    this.name = 'DeviceError';
    this.code = code;
    this.messageZh = m.zh;
  }
}

export function isDeviceError(err: unknown, code?: DeviceErrorCode): err is DeviceError {
  return err instanceof DeviceError && (code === undefined || err.code === code);
}
