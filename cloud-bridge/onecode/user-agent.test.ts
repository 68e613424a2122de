import { describe, it, expect } from 'vitest';
import { isPhoneBrowser, languageFor, offerFor, walletOf } from './user-agent.js';

const WECHAT =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN';
const WECHAT_ANDROID =
  'Mozilla/5.0 (Linux; Android 13; V2148A) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36 XWEB/1160065 MMWEBSDK/20231202 MMWEBID/2585 MicroMessenger/8.0.47.2560(0x28002F35) WeChat/arm64 Weixin NetType/WIFI Language/zh_CN ABI/arm64';
const ALIPAY =
  'Mozilla/5.0 (Linux; U; Android 12; zh-CN; M2012K11AC) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/69.0.3497.100 UWS/3.22.2.58 Mobile Safari/537.36 AlipayChannelId/5136 UCBS/3.22.2.58_230815162516 NebulaSDK/1.8.100112 Nebula AlipayDefined(nt:WIFI,ws:393|0|2.75) AliApp(AP/10.5.26.8000) AlipayClient/10.5.26.8000 Language/zh-Hans useStatusBar/true isConcaveScreen/true Region/CN';
const WXWORK =
  'Mozilla/5.0 (Windows NT 10.0; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/53.0.2785.116 Safari/537.36 QBCore/4.0.1301.400 QQBrowser/9.0.2524.400 Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/53.0.2875.116 Safari/537.36 NetType/WIFI MicroMessenger/7.0.20.1781(0x6700143B) WindowsWechat(0x63010200) wxwork/3.1.0';
const DESKTOP = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36';

describe('walletOf', () => {
  it("tells the wallets' browsers from the rest", () => {
    expect(walletOf(WECHAT)).toBe('wechat');
    expect(walletOf(WECHAT_ANDROID)).toBe('wechat');
    expect(walletOf(ALIPAY)).toBe('alipay');
    expect(walletOf(WXWORK)).toBe('browser');
    expect(walletOf(DESKTOP)).toBe('browser');
    expect(walletOf(undefined)).toBe('browser');
    expect(walletOf('')).toBe('browser');
  });
});

const IPHONE_SAFARI =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1';
const IPHONE_CHROME =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/123.0.6312.52 Mobile/15E148 Safari/604.1';
const ANDROID_CHROME =
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36';
const ANDROID_TABLET =
  'Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';
const IPAD_SAFARI =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15';
const HUAWEI_BROWSER =
  'Mozilla/5.0 (Linux; Android 12; HarmonyOS; NOH-AN00; HMSCore 6.13.0.302) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/99.0.4844.88 HuaweiBrowser/14.0.5.302 Mobile Safari/537.36';
const MAC_SAFARI = IPAD_SAFARI;
const WINDOWS_EDGE =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.0.0';

describe('offerFor: which chooser a browser gets', () => {
  it("offers the wallets' apps to a phone's own browser", () => {
    for (const ua of [IPHONE_SAFARI, IPHONE_CHROME, ANDROID_CHROME, HUAWEI_BROWSER]) {
      expect(isPhoneBrowser(ua)).toBe(true);
      expect(offerFor(ua)).toBe('phone');
    }
  });

  it('keeps the QR chooser on desktops and tablets, and for an empty or missing User-Agent', () => {
    for (const ua of [DESKTOP, MAC_SAFARI, WINDOWS_EDGE, ANDROID_TABLET, '', undefined]) {
      expect(isPhoneBrowser(ua)).toBe(false);
      expect(offerFor(ua)).toBe('desktop');
    }
  });

  it('leaves the wallets\' own browsers to pay in place (a phone UA inside WeChat or Alipay is not "phone")', () => {
    expect(offerFor(WECHAT)).toBe('wechat');
    expect(offerFor(WECHAT_ANDROID)).toBe('wechat');
    expect(offerFor(ALIPAY)).toBe('alipay');
    // WeChat Work cannot pay with WeChat Pay in place; on a desktop it gets the QR code.
    expect(offerFor(WXWORK)).toBe('desktop');
  });
});

describe('languageFor', () => {
  it('puts Chinese first in wallets, follows Accept-Language elsewhere, and lets ?lang= win', () => {
    expect(languageFor({ userAgent: WECHAT, acceptLanguage: 'en-NZ' })).toBe('zh');
    expect(languageFor({ userAgent: ALIPAY })).toBe('zh');
    expect(languageFor({ userAgent: WECHAT, lang: 'en' })).toBe('en');
    expect(languageFor({ userAgent: DESKTOP, acceptLanguage: 'en-NZ,en;q=0.9' })).toBe('en');
    expect(languageFor({ userAgent: DESKTOP, acceptLanguage: 'zh-CN,zh;q=0.9' })).toBe('zh');
    expect(languageFor({ userAgent: DESKTOP, lang: 'zh' })).toBe('zh');
    expect(languageFor({ userAgent: DESKTOP, lang: 'fr' })).toBe('en');
  });
});
