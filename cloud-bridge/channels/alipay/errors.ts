import { KauriError, type ErrorCode } from '../../../protocol/errors.js';

/**
 * An Alipay call that went wrong, translated at the channel's boundary: `code` is Kauri's
 * (channel_error, channel_timeout, signature_invalid, config_invalid), `alipayCode` the
 * gateway's own word when there is one (ILLEGAL_SIGN, TRADE_NOT_EXIST, …).
 */
export class AlipayError extends KauriError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly alipayCode?: string,
  ) {
    super(code, message);
    this.name = 'AlipayError';
  }
}
