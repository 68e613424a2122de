// Which wallet's in-app browser opened a one-code page. WeChat's browser says
// "MicroMessenger/<version>" and Alipay's "AlipayClient/<version>" in the User-Agent;
// WeChat Work ("wxwork") cannot pay with WeChat Pay JSAPI, so it gets the chooser.

export type Wallet = 'wechat' | 'alipay' | 'browser';
export type Lang = 'zh' | 'en';

export function walletOf(userAgent: string | undefined): Wallet {
  const ua = userAgent ?? '';
  if (/\bAlipayClient\b/i.test(ua)) return 'alipay';
  if (/\bMicroMessenger\b/i.test(ua) && !/\bwxwork\b/i.test(ua)) return 'wechat';
  return 'browser';
}

/**
 * Chinese first in the wallets' browsers (their users read Chinese), otherwise by the
 * browser's Accept-Language; `?lang=` (the one-tap switch) wins over both.
 */
export function languageFor(input: { userAgent?: string; acceptLanguage?: string; lang?: string }): Lang {
  if (input.lang === 'zh' || input.lang === 'en') return input.lang;
  if (walletOf(input.userAgent) !== 'browser') return 'zh';
  const first = (input.acceptLanguage ?? '').split(',')[0]?.trim().toLowerCase() ?? '';
  return first.startsWith('zh') ? 'zh' : 'en';
}
