import { Decimal } from 'decimal.js';
import { format, money, type Money } from '../../protocol/money.js';
import { inlineScript } from '../server/page-security.js';
import type { Lang } from './user-agent.js';

// The one-code pages, as pure functions from what the customer must see to HTML. The
// amount and the merchant's name are on every page; Chinese or English comes first as
// the customer's browser suggests, and the other language is one tap away.

export const ASSET_PREFIX = '/assets/onecode/';

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
/** JSON safe inside a <script> element. */
const scriptJson = (v: unknown) =>
  JSON.stringify(v)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');

const TEXT = {
  zh: {
    pay: '付款',
    amount: '金额',
    other: 'English',
    to: '收款方',
    chooseTitle: '请选择付款方式',
    wechatHow: '微信支付：打开微信，点右上角“+” → “扫一扫”，扫描此二维码。',
    alipayHow: '支付宝：打开支付宝，点“扫一扫”，扫描此二维码。',
    bankTitle: '网上银行（人民币）',
    bankPay: '用网上银行支付',
    bankRate: '汇率',
    bankRateTime: '汇率时间',
    bankFee: '汇兑服务费',
    bankEstimate: '支付时以银行页面显示的人民币金额为准。',
    notOffered: '此商户暂不支持该钱包，请选择其他方式。',
    jsapiTitle: '微信支付',
    jsapiWaiting: '正在打开微信支付…',
    jsapiConfirming: '正在确认付款结果，请稍候…',
    jsapiRetry: '重新支付',
    jsapiCancelled: '您已取消付款。',
    jsapiFailed: '无法打开微信支付：',
    staticTitle: '输入付款金额',
    staticMax: '最高',
    staticPay: '下一步',
    back: '返回商户',
    payWechatH5: '使用微信支付',
    payAlipayWap: '使用支付宝支付',
    appsHint: '将打开微信或支付宝完成付款，付款后会回到本页面。',
    handoffTitle: '正在打开微信…',
    handoffOpen: '打开微信支付',
    handoffHint: '如果微信没有自动打开，请点击上面的按钮。',
  },
  en: {
    pay: 'Pay',
    amount: 'Amount',
    other: '中文',
    to: 'Pay to',
    chooseTitle: 'Choose how to pay',
    wechatHow: 'WeChat Pay: open WeChat, tap “+” → “Scan”, and scan this code.',
    alipayHow: 'Alipay: open Alipay, tap “Scan”, and scan this code.',
    bankTitle: 'Online banking (CNY)',
    bankPay: 'Pay by online banking',
    bankRate: 'Rate',
    bankRateTime: 'Rate time',
    bankFee: 'exchange fee',
    bankEstimate: "You pay the CNY amount shown on the bank's page.",
    notOffered: 'This merchant does not take that wallet; choose another way.',
    jsapiTitle: 'WeChat Pay',
    jsapiWaiting: 'Opening WeChat Pay…',
    jsapiConfirming: 'Confirming your payment…',
    jsapiRetry: 'Pay again',
    jsapiCancelled: 'You cancelled the payment.',
    jsapiFailed: 'WeChat Pay could not open: ',
    staticTitle: 'Enter the amount to pay',
    staticMax: 'Up to',
    staticPay: 'Next',
    back: 'Back to the merchant',
    payWechatH5: 'Pay with WeChat',
    payAlipayWap: 'Pay with Alipay',
    appsHint: 'Opens WeChat or Alipay to pay; you come back to this page afterwards.',
    handoffTitle: 'Opening WeChat…',
    handoffOpen: 'Open WeChat Pay',
    handoffHint: 'If WeChat does not open by itself, tap the button above.',
  },
} as const;

/** Status pages always say it in both languages: the customer may not find the switch. */
const STATUS = {
  paid: {
    zh: '已支付',
    en: 'Paid',
    zhMore: '此订单已付款，无需再次支付。',
    enMore: 'This checkout has been paid. There is nothing more to pay.',
  },
  expired: {
    zh: '已过期',
    en: 'Expired',
    zhMore: '此收款码已过期，请向收银员索取新的二维码。',
    enMore: 'This code has expired. Ask the cashier for a new one.',
  },
  cancelled: {
    zh: '已取消',
    en: 'Cancelled',
    zhMore: '此订单已被商户取消，无需付款。',
    enMore: 'The merchant cancelled this checkout. Nothing was charged.',
  },
  not_found: {
    zh: '未找到',
    en: 'Not found',
    zhMore: '找不到此收款码，请确认二维码是否正确。',
    enMore: 'This payment code does not exist. Check that you scanned the right code.',
  },
  rate_limited: {
    zh: '请求过于频繁',
    en: 'Too many requests',
    zhMore: '请稍等一分钟后再试。',
    enMore: 'Please wait a minute and try again.',
  },
  error: {
    zh: '暂时无法付款',
    en: 'Cannot pay right now',
    zhMore: '请稍后再试，或改用其他付款方式。',
    enMore: 'Please try again shortly, or use another way to pay.',
  },
} as const;
export type StatusKind = keyof typeof STATUS;

export interface PageHead {
  lang: Lang;
  merchantName: string;
  storeName?: string | null;
  amount?: Money;
  /** This page in the other language. */
  otherLangUrl?: string;
}

function shell(
  head: PageHead,
  title: string,
  body: string,
  script = '',
  extraHead: { referrer?: 'origin'; refreshS?: number } = {},
): string {
  const t = TEXT[head.lang];
  const amount = head.amount ? `<p class="amount" data-testid="pay-amount">${esc(format(head.amount))}</p>` : '';
  return `<!doctype html>
<html lang="${head.lang === 'zh' ? 'zh-CN' : 'en'}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="${extraHead.referrer ?? 'no-referrer'}">
${extraHead.refreshS ? `<meta http-equiv="refresh" content="${extraHead.refreshS}">\n` : ''}<title>${esc(title)} · ${esc(head.merchantName)}</title>
<link rel="stylesheet" href="${ASSET_PREFIX}onecode.css">
</head><body>
<header>
${head.otherLangUrl ? `<a class="lang" data-testid="lang-switch" href="${esc(head.otherLangUrl)}">${t.other}</a>` : ''}
<p class="to">${t.to}</p>
<h1 class="merchant" data-testid="merchant-name">${esc(head.merchantName)}</h1>
${head.storeName ? `<p class="store">${esc(head.storeName)}</p>` : ''}
${amount}
</header>
<main>
${body}
</main>
${script ? inlineScript(script) : ''}
</body></html>`;
}

export function statusPage(
  head: PageHead,
  kind: StatusKind,
  extra: { returnUrl?: string | null; detail?: string } = {},
): string {
  const s = STATUS[kind];
  const first = head.lang === 'zh' ? [s.zh, s.zhMore, s.en, s.enMore] : [s.en, s.enMore, s.zh, s.zhMore];
  const t = TEXT[head.lang];
  return shell(
    { ...head, otherLangUrl: undefined },
    first[0]!,
    `
<section class="status status-${kind}" data-testid="checkout-status" data-status="${kind}">
<h2>${esc(first[0]!)} · ${esc(first[2]!)}</h2>
<p>${esc(first[1]!)}</p>
<p>${esc(first[3]!)}</p>
${extra.detail ? `<p class="detail">${esc(extra.detail)}</p>` : ''}
${extra.returnUrl ? `<p><a class="button" data-testid="return-link" href="${esc(extra.returnUrl)}">${t.back}</a></p>` : ''}
</section>`,
  );
}

export interface BankQuoteView {
  cnyMinor: number;
  /** CNY per unit of the checkout's currency (the source's rate). */
  rate: string;
  /** The bridge's markup on it, a fraction ("0.02"). */
  markup?: string;
  rateTime: string;
}

export interface ChooserInput extends PageHead {
  amount: Money;
  offers: { wechat: boolean; alipay: boolean; bank: boolean };
  /** The checkout URL as an SVG QR code, to scan from a phone. */
  qrSvg: string;
  bankQuote?: BankQuoteView & { quoteId?: string };
  bankAction: string;
  /** Shown when the customer's wallet is not offered here. */
  walletNotOffered?: boolean;
  /**
   * A phone's own browser: buttons that open the wallets' apps (posting to these actions)
   * instead of a QR code nobody can scan from the phone showing it.
   */
  phone?: { wechatAction: string; alipayAction: string };
  problem?: string;
}

export function chooserPage(p: ChooserInput): string {
  const t = TEXT[p.lang];
  const parts: string[] = [];
  if (p.walletNotOffered) parts.push(`<p class="notice" data-testid="wallet-not-offered">${t.notOffered}</p>`);
  if (p.problem) parts.push(`<p class="notice" data-testid="pay-problem">${esc(p.problem)}</p>`);
  if (p.phone && (p.offers.wechat || p.offers.alipay)) {
    parts.push(`<section class="apps" data-testid="chooser-apps">
${p.offers.wechat ? `<form method="post" action="${esc(p.phone.wechatAction)}"><button type="submit" class="button wechat" data-testid="pay-wechat-h5">${t.payWechatH5}</button></form>` : ''}
${p.offers.alipay ? `<form method="post" action="${esc(p.phone.alipayAction)}"><button type="submit" class="button alipay" data-testid="pay-alipay-wap">${t.payAlipayWap}</button></form>` : ''}
<p class="hint">${t.appsHint}</p>
</section>`);
  } else if (p.offers.wechat || p.offers.alipay) {
    parts.push(`<section class="scan" data-testid="chooser-scan">
<div class="qr" data-testid="checkout-qr">${p.qrSvg}</div>
${p.offers.wechat ? `<p class="wallet wechat" data-testid="chooser-wechat">${t.wechatHow}</p>` : ''}
${p.offers.alipay ? `<p class="wallet alipay" data-testid="chooser-alipay">${t.alipayHow}</p>` : ''}
</section>`);
  }
  if (p.offers.bank) {
    const q = p.bankQuote;
    parts.push(`<section class="bank" data-testid="chooser-bank">
<h2>${t.bankTitle}</h2>
${
  q
    ? `<p class="cny" data-testid="bank-cny">${esc(format(money(q.cnyMinor, 'CNY')))}</p>
<p class="rate" data-testid="bank-rate">${t.bankRate}: 1 ${esc(p.amount.currency)} = ${esc(q.rate)} CNY${q.markup && Number(q.markup) > 0 ? ` + ${esc(percent(q.markup))} ${t.bankFee}` : ''} · ${t.bankRateTime}: <time datetime="${esc(q.rateTime)}">${esc(formatTime(q.rateTime))}</time></p>`
    : `<p class="rate">${t.bankEstimate}</p>`
}
<form method="post" action="${esc(p.bankAction)}">${q?.quoteId ? `<input type="hidden" name="quote_id" value="${esc(q.quoteId)}">` : ''}<button type="submit" class="button" data-testid="pay-bank">${t.bankPay}</button></form>
</section>`);
  }
  return shell(p, t.chooseTitle, `<h2 class="choose">${t.chooseTitle}</h2>\n${parts.join('\n')}`);
}

export interface JsapiInput extends PageHead {
  params: Record<string, string>;
  statusUrl: string;
}

/**
 * The WeChat JSAPI page: it opens the pay sheet itself as soon as WeChat's bridge is ready,
 * then asks the bridge (never the JS callback) whether the order is paid.
 */
export function jsapiPage(p: JsapiInput): string {
  const t = TEXT[p.lang];
  const script = `
var params = ${scriptJson(p.params)};
var statusUrl = ${scriptJson(p.statusUrl)};
var msg = document.getElementById('msg');
var retry = document.getElementById('retry');
function say(text) { msg.textContent = text; }
function pay() {
  retry.hidden = true;
  say(${scriptJson(t.jsapiWaiting)});
  WeixinJSBridge.invoke('getBrandWCPayRequest', params, function (res) {
    var m = (res && res.err_msg) || '';
    // "ok" only means the pay sheet closed after paying; the bridge's order status decides.
    if (/:ok$/.test(m)) { say(${scriptJson(t.jsapiConfirming)}); poll(true); }
    else if (/:cancel$/.test(m)) { say(${scriptJson(t.jsapiCancelled)}); retry.hidden = false; }
    else { say(${scriptJson(t.jsapiFailed)} + (res && (res.err_desc || m) || '')); retry.hidden = false; }
  });
}
var polling = false;
function poll(fast) {
  if (polling) return; polling = true;
  var delay = fast ? 1000 : 2000;
  (function tick() {
    fetch(statusUrl, { headers: { accept: 'application/json' }, cache: 'no-store' })
      .then(function (r) { return r.json(); })
      .then(function (s) { if (s.status !== 'open') { location.reload(); return; } setTimeout(tick, delay); })
      .catch(function () { setTimeout(tick, delay * 2); });
  })();
}
retry.addEventListener('click', pay);
if (typeof WeixinJSBridge === 'undefined') {
  document.addEventListener('WeixinJSBridgeReady', pay, false);
} else {
  pay();
}
poll(false);
`;
  return shell(
    p,
    t.jsapiTitle,
    `<section class="jsapi" data-testid="jsapi-page">
<h2>${t.jsapiTitle}</h2>
<p id="msg" data-testid="jsapi-message">${t.jsapiWaiting}</p>
<button type="button" id="retry" class="button" data-testid="jsapi-retry" hidden>${t.jsapiRetry}</button>
</section>`,
    script,
  );
}

export interface HandoffInput extends PageHead {
  /** WeChat's mweb_url with our redirect_url. */
  walletUrl: string;
}

/**
 * The step from the bridge to WeChat H5: WeChat opens its app only when the request for
 * mweb_url carries a Referer on the domain the merchant registered, so this page sends its
 * origin (never the path, which holds the checkout's token) and goes on by itself, with a
 * button for a browser that does not.
 */
export function wechatHandoffPage(p: HandoffInput): string {
  const t = TEXT[p.lang];
  return shell(
    p,
    t.handoffTitle,
    `<section class="handoff" data-testid="h5-handoff">
<h2>${t.handoffTitle}</h2>
<p><a class="button wechat" id="open" data-testid="h5-open" href="${esc(p.walletUrl)}">${t.handoffOpen}</a></p>
<p class="hint">${t.handoffHint}</p>
</section>`,
    `location.replace(document.getElementById('open').href);`,
    { referrer: 'origin' },
  );
}

export type ReturnState = 'paid' | 'not_paid' | 'checking' | 'refunding';

const RETURN_TEXT: Record<ReturnState, { word: string; zh: string; en: string; zhMore: string; enMore: string }> = {
  paid: {
    word: 'PAID',
    zh: '已支付',
    en: 'Paid',
    zhMore: '付款成功，谢谢！',
    enMore: 'Your payment went through. Thank you!',
  },
  not_paid: {
    word: 'NOT PAID',
    zh: '未支付',
    en: 'Not paid',
    zhMore: '此次没有付款。您可以再试一次。',
    enMore: 'Nothing was paid this time. You can try again.',
  },
  refunding: {
    word: 'REFUNDING',
    zh: '将退款',
    en: 'Being refunded',
    zhMore: '商户未能收取这笔付款：订单已关闭，或已用其他方式支付。款项将自动原路退回。如仍需购买，请重新支付。',
    enMore:
      'The shop could not take this payment: the order had already closed, or was paid another way. It is being refunded to you automatically. Pay again if you still want to buy.',
  },
  checking: {
    word: 'CHECKING',
    zh: '正在确认…',
    en: 'Checking…',
    zhMore: '正在向钱包确认付款结果，本页会自动刷新。',
    enMore: 'We are asking the wallet whether you paid; this page refreshes by itself.',
  },
};

export interface ReturnInput extends PageHead {
  state: ReturnState;
  /** This page, to ask again (a plain link: no JavaScript needed). */
  checkUrl: string;
  /** Where to try again (the checkout's chooser), when not paid. */
  retryUrl?: string | null;
  /** The merchant's page, once paid. */
  merchantUrl?: string | null;
}

/**
 * Where a wallet sends the phone's browser back. The wallet returns whether or not the
 * customer paid, so the state shown is what the channel says now, in both languages.
 */
export function returnPage(p: ReturnInput): string {
  const r = RETURN_TEXT[p.state];
  const [first, firstMore, second, secondMore] =
    p.lang === 'zh' ? [r.zh, r.zhMore, r.en, r.enMore] : [r.en, r.enMore, r.zh, r.zhMore];
  const again = p.lang === 'zh' ? '重新检查 · Check again' : 'Check again · 重新检查';
  const retry = p.lang === 'zh' ? '重新支付 · Try again' : 'Try again · 重新支付';
  const back = p.lang === 'zh' ? '返回商户 · Back to the merchant' : 'Back to the merchant · 返回商户';
  return shell(
    { ...p, otherLangUrl: undefined },
    first,
    `<section class="status return return-${p.state}" data-testid="return-page" data-status="${p.state}">
<h2 data-testid="return-status">${esc(r.word)} · ${esc(first)} · ${esc(second)}</h2>
<p>${esc(firstMore)}</p>
<p>${esc(secondMore)}</p>
${p.state !== 'paid' && p.retryUrl ? `<p><a class="button" data-testid="return-retry" href="${esc(p.retryUrl)}">${retry}</a></p>` : ''}
${p.state !== 'paid' && p.state !== 'refunding' ? `<p><a class="button secondary" data-testid="return-check" href="${esc(p.checkUrl)}">${again}</a></p>` : ''}
${p.state === 'paid' && p.merchantUrl ? `<p><a class="button" data-testid="return-link" href="${esc(p.merchantUrl)}">${back}</a></p>` : ''}
</section>`,
    '',
    { refreshS: p.state === 'checking' ? 3 : undefined },
  );
}

export interface StaticAmountInput extends PageHead {
  max: Money;
  action: string;
  error?: string;
  value?: string;
}

export function staticAmountPage(p: StaticAmountInput): string {
  const t = TEXT[p.lang];
  return shell(
    { ...p, amount: undefined },
    t.staticTitle,
    `<form method="post" action="${esc(p.action)}" class="static" data-testid="static-form">
<label for="amount">${t.staticTitle} (${esc(p.max.currency)})</label>
<input id="amount" name="amount" data-testid="pay-amount-input" inputmode="decimal" autocomplete="off" required
 pattern="[0-9]+([.][0-9]{1,2})?" placeholder="0.00" value="${esc(p.value ?? '')}">
<p class="hint">${t.staticMax} ${esc(format(p.max))}</p>
${p.error ? `<p class="notice" data-testid="pay-amount-error">${esc(p.error)}</p>` : ''}
<button type="submit" class="button" data-testid="pay-button">${t.staticPay}</button>
</form>`,
  );
}

/** "0.02" → "2%", exactly (decimal strings, no floating point). */
function percent(fraction: string): string {
  return `${new Decimal(fraction).times(100).toString()}%`;
}

function formatTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  // Shown in China time: the customer pays from a Chinese bank.
  return `${new Intl.DateTimeFormat('sv-SE', { timeZone: 'Asia/Shanghai', dateStyle: 'short', timeStyle: 'short' }).format(d)} (UTC+8)`;
}
