import { describe, it, expect } from 'vitest';
import { money } from '../../protocol/money.js';
import {
  chooserPage,
  jsapiPage,
  returnPage,
  staticAmountPage,
  statusPage,
  wechatHandoffPage,
  type StatusKind,
} from './pages.js';

const head = {
  lang: 'zh' as const,
  merchantName: 'Kauri Demo Shop 奇异果小店',
  storeName: 'Queen St',
  amount: money(1250, 'NZD'),
  otherLangUrl: '/c/t?lang=en',
};

describe('one-code pages', () => {
  it('say every end state in Chinese and English, with the amount and the merchant', () => {
    const words: Record<StatusKind, [string, string]> = {
      paid: ['已支付', 'Paid'],
      expired: ['已过期', 'Expired'],
      cancelled: ['已取消', 'Cancelled'],
      not_found: ['未找到', 'Not found'],
      rate_limited: ['请求过于频繁', 'Too many requests'],
      error: ['暂时无法付款', 'Cannot pay right now'],
    };
    for (const [kind, [zh, en]] of Object.entries(words) as Array<[StatusKind, [string, string]]>) {
      for (const lang of ['zh', 'en'] as const) {
        const html = statusPage({ ...head, lang }, kind);
        expect(html, kind).toContain(zh);
        expect(html, kind).toContain(en);
        expect(html).toContain(`data-status="${kind}"`);
        expect(html).toContain('NZD 12.50');
        expect(html).toContain('Kauri Demo Shop 奇异果小店');
      }
    }
    expect(statusPage({ ...head, lang: 'zh' }, 'paid').indexOf('已支付')).toBeLessThan(
      statusPage({ ...head, lang: 'zh' }, 'paid').indexOf('Paid'),
    );
    expect(statusPage({ ...head, lang: 'en' }, 'paid').indexOf('Paid')).toBeLessThan(
      statusPage({ ...head, lang: 'en' }, 'paid').indexOf('已支付'),
    );
  });

  it('escape what merchants and channels supply, in HTML and in the page script', () => {
    const evil = '</script><script>alert(1)</script>';
    const page = jsapiPage({
      ...head,
      merchantName: '<b>x</b>',
      params: { appId: 'wx1', package: `prepay_id=${evil}`, paySign: 'S' },
      statusUrl: '/c/t/status',
    });
    expect(page).not.toContain('<b>x</b>');
    expect(page).not.toContain(evil);
    expect(page).toContain('\\u003c/script>');
    // The page opens the pay sheet by itself, waiting for WeixinJSBridgeReady when needed, and trusts only the bridge.
    expect(page).toContain("WeixinJSBridge.invoke('getBrandWCPayRequest'");
    expect(page).toContain("addEventListener('WeixinJSBridgeReady'");
    expect(page).toContain('/c/t/status');
    const ret = statusPage(head, 'paid', { returnUrl: 'https://shop.example/?a=1&b="2"' });
    expect(ret).toContain('href="https://shop.example/?a=1&#38;b=&#34;2&#34;"');
  });

  it('hide the wallets and the bank a checkout does not offer', () => {
    const page = (offers: { wechat: boolean; alipay: boolean; bank: boolean }) =>
      chooserPage({ ...head, offers, qrSvg: '<svg/>', bankAction: '/c/t/bank' });
    expect(page({ wechat: true, alipay: false, bank: false })).toContain('chooser-wechat');
    expect(page({ wechat: true, alipay: false, bank: false })).not.toContain('chooser-alipay');
    expect(page({ wechat: false, alipay: false, bank: true })).not.toContain('checkout-qr');
    const bank = chooserPage({
      ...head,
      lang: 'en',
      offers: { wechat: false, alipay: false, bank: true },
      qrSvg: '',
      bankAction: '/c/t/bank',
      bankQuote: {
        cnyMinor: 5333,
        rate: '4.235',
        markup: '0.02',
        rateTime: '2026-11-21T22:00:00.000Z',
        quoteId: 'q_1',
      },
    });
    expect(bank).toContain('CNY 53.33');
    expect(bank).toContain('1 NZD = 4.235 CNY + 2% exchange fee');
    expect(bank).toContain('2026-11-22 06:00 (UTC+8)');
    expect(bank).toContain('name="quote_id" value="q_1"');
  });

  it('give the sticker page its stable test ids and the store limit', () => {
    const html = staticAmountPage({ ...head, lang: 'en', max: money(500_000, 'NZD'), action: '/s/queen' });
    expect(html).toContain('data-testid="pay-amount-input"');
    expect(html).toContain('data-testid="pay-button"');
    expect(html).toContain('Up to NZD 5,000.00');
    expect(html).not.toContain('data-testid="pay-amount"');
  });

  it("offer a phone's own browser buttons for the wallets' apps instead of the QR code", () => {
    const base = {
      ...head,
      amount: money(1250, 'NZD'),
      offers: { wechat: true, alipay: true, bank: true },
      qrSvg: '<svg data-qr></svg>',
      bankAction: '/c/t/bank',
    };
    const phone = chooserPage({ ...base, phone: { wechatAction: '/c/t/wechat-h5', alipayAction: '/c/t/alipay-wap' } });
    expect(phone).toContain('data-testid="pay-wechat-h5"');
    expect(phone).toContain('data-testid="pay-alipay-wap"');
    expect(phone).toContain('action="/c/t/wechat-h5"');
    expect(phone).not.toContain('data-qr');
    const desktop = chooserPage(base);
    expect(desktop).toContain('data-qr');
    expect(desktop).not.toContain('pay-wechat-h5');
    const onlyAlipay = chooserPage({
      ...base,
      offers: { wechat: false, alipay: true, bank: false },
      phone: { wechatAction: '/w', alipayAction: '/a' },
    });
    expect(onlyAlipay).not.toContain('pay-wechat-h5');
    expect(onlyAlipay).toContain('pay-alipay-wap');
  });

  it('the return page says PAID, NOT PAID, CHECKING or REFUNDING in both languages, and only checking refreshes itself', () => {
    const words = { paid: 'PAID ·', not_paid: 'NOT PAID', checking: 'CHECKING', refunding: 'REFUNDING' } as const;
    for (const state of ['paid', 'not_paid', 'checking', 'refunding'] as const) {
      const html = returnPage({
        ...head,
        state,
        checkUrl: '/r/pay_1',
        retryUrl: '/c/t',
        merchantUrl: 'https://shop.example/ok',
      });
      expect(html).toContain(`data-status="${state}"`);
      expect(html).toContain(words[state]);
      expect(html.includes('http-equiv="refresh"')).toBe(state === 'checking');
      expect(html.includes('data-testid="return-check"')).toBe(state === 'not_paid' || state === 'checking');
      expect(html.includes('data-testid="return-retry"')).toBe(state !== 'paid');
      expect(html.includes('https://shop.example/ok')).toBe(state === 'paid');
      expect(html).toContain('<meta name="referrer" content="no-referrer">');
    }
    expect(returnPage({ ...head, state: 'paid', checkUrl: '/r/x' })).toContain('已支付');
    expect(returnPage({ ...head, state: 'not_paid', checkUrl: '/r/x' })).toContain('Not paid');
    expect(returnPage({ ...head, state: 'refunding', checkUrl: '/r/x' })).toContain('将自动原路退回');
  });

  it("the H5 step page sends only its origin as Referer and escapes WeChat's link", () => {
    const html = wechatHandoffPage({ ...head, walletUrl: 'https://wx.example/checkmweb?a=1&redirect_url=x"><b>' });
    expect(html).toContain('<meta name="referrer" content="origin">');
    expect(html).toContain('href="https://wx.example/checkmweb?a=1&#38;redirect_url=x&#34;&#62;&#60;b&#62;"');
    expect(html).not.toContain('"><b>');
  });
});
