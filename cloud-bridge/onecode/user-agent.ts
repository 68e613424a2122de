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
 * A phone's (or small tablet's) own browser: iPhone/iPod, Android with "Mobile", and the
 * other mobile markers browsers send. iPadOS Safari says "Macintosh" and is treated as a
 * desktop, which is what it shows (the QR chooser can be scanned from another phone).
 */
export function isPhoneBrowser(userAgent: string | undefined): boolean {
  const ua = userAgent ?? '';
  if (/\b(iPhone|iPod)\b/.test(ua)) return true;
  if (/\bAndroid\b/.test(ua)) return /\bMobile\b/.test(ua);
  return /\b(Mobile Safari|Windows Phone|HarmonyOS|Opera Mini|IEMobile)\b/.test(ua) || /\bMobile\/\w+/.test(ua);
}

/**
 * How a one-code page offers payment to this browser: inside a wallet, that wallet pays
 * in place; a phone's own browser gets buttons that open the wallets' apps (WeChat H5,
 * Alipay's mobile cashier); a desktop gets the QR code to scan from a phone.
 */
export type Offer = 'wechat' | 'alipay' | 'phone' | 'desktop';

export function offerFor(userAgent: string | undefined): Offer {
  const wallet = walletOf(userAgent);
  if (wallet !== 'browser') return wallet;
  return isPhoneBrowser(userAgent) ? 'phone' : 'desktop';
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
