import { KauriError } from '../../protocol/errors.js';
import type { ChannelName } from '../../protocol/payments.js';
import type { ChannelAccount } from './channel.js';
import { wechatAccount } from './wechat/config.js';
import { alipayConfig, alipayKeys } from './alipay/config.js';
import { bankAccount } from './bank/config.js';

// Checks a channel account before it is stored, with the very readers the channels use when
// they pay: an account the back office accepts is one the channel can use, and one it cannot
// use is refused now, in words, rather than at the first customer's payment. The readers name
// fields and rules in their messages, never values, so a refusal never echoes a secret.

/** Throws `invalid_request` (naming the field) unless the channel could pay with this account. */
export function checkChannelAccount(
  channel: ChannelName,
  config: Record<string, unknown>,
  secrets: Record<string, string>,
): void {
  const account: ChannelAccount = { id: 'new', merchantId: 'new', channel, config, secrets };
  try {
    if (channel === 'wechat') wechatAccount(account);
    else if (channel === 'alipay') alipayKeys(account, alipayConfig(account));
    else bankAccount(account);
  } catch (err) {
    if (err instanceof KauriError) throw new KauriError('invalid_request', err.message);
    throw err;
  }
}
