import { format, type Money } from '../../../protocol/money.js';
import type { ChannelAccount } from '../channel.js';
import type { PaymentForm } from './channel.js';
import { bankAccount } from './config.js';
import { decodeForm } from './form.js';
import { returnStatus } from './outcomes.js';
import { macMatches, rsaMd5Verify } from './sign.js';
import { inlineScript, inlineStyle } from '../../server/page-security.js';

// The bank channel's two browser pages, as pure functions of what the bridge passes in (the
// bridge reads its store and serves them: cloud-bridge/server/bank-pages.ts):
// - the auto-submitting payment form that carries the customer to the payment host, showing
//   the CNY amount with the rate and its time;
// - the gateway's browser return to v_url. It is verified and shown, but it never marks an
//   order paid: only the signed server notify (or a query) does.

export interface Page {
  status: number;
  html: string;
}

const STYLE =
  'body{font-family:sans-serif;max-width:480px;margin:2em auto;padding:0 1em;overflow-wrap:anywhere}.cny{font-size:1.8em}';

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function page(title: string, body: string, status = 200): Page {
  return {
    status,
    html: `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>${inlineStyle(STYLE)}</head>
<body>${body}</body></html>`,
  };
}

export const notFoundPage = (): Page =>
  page('Payment not found', '<h1>Payment not found</h1><p>No bank payment has this number.</p>', 404);
export const statusPage = (status: string): Page =>
  page(
    'Payment',
    `<h1>This payment is ${esc(status)}</h1><p data-testid="bank-payment-status">${esc(status.toUpperCase())}</p>`,
    status === 'paid' ? 200 : 410,
  );
export const expiredPage = (): Page =>
  page('Payment expired', '<h1>This payment has expired</h1><p data-testid="bank-payment-status">EXPIRED</p>', 410);
export const unavailablePage = (): Page =>
  page('Payment unavailable', '<h1>This payment cannot be paid by bank</h1>', 409);

/** The page that posts the signed form to the payment host (GBK, the gateway's charset). */
export function paymentFormPage(
  form: PaymentForm,
  o: { price: Money; pay: Money; rate: string | null; rateTime: string | null },
): Page {
  const inputs = Object.entries(form.fields)
    .map(([k, v]) => `<input type="hidden" name="${esc(k)}" value="${esc(v)}">`)
    .join('\n');
  return page(
    'Pay by online banking',
    `<h1>Pay by online banking 网上银行支付</h1>
<p>${esc(format(o.price))} =</p>
<p class="cny" data-testid="bank-cny">${esc(format(o.pay))}</p>
<p data-testid="bank-rate">Exchange rate ${esc(o.rate ?? '')} CNY per 1 ${esc(o.price.currency)}, published ${esc(o.rateTime ?? '')}; the amount includes the shop's exchange margin. 汇率 ${esc(o.rate ?? '')}</p>
<form id="payease" method="post" action="${esc(form.action)}" accept-charset="GBK">
${inputs}
<noscript><button type="submit">Continue to your bank 前往银行</button></noscript>
</form>
${inlineScript("document.getElementById('payease').submit();")}`,
  );
}

export interface VerifiedReturn {
  ok: boolean;
  macOk: boolean;
  signOk: boolean;
  said: 'PAID' | 'FAILED' | 'PENDING';
  vOid?: string;
  vAmount?: string;
}

/** Checks the browser return's query string (GBK percent-encoded): v_md5info, v_md5money, and v_sign when present. */
export function verifyReturn(account: ChannelAccount, rawQuery: string): VerifiedReturn {
  const a = bankAccount(account);
  const q = decodeForm(rawQuery);
  const macOk =
    macMatches(a.key, (q.v_oid ?? '') + (q.v_pstatus ?? '') + (q.v_pstring ?? '') + (q.v_pmode ?? ''), q.v_md5info) &&
    macMatches(a.key, (q.v_amount ?? '') + (q.v_moneytype ?? ''), q.v_md5money);
  const signOk =
    !q.v_sign ||
    rsaMd5Verify(
      a.publicKey,
      (q.v_oid ?? '') + (q.v_pstatus ?? '') + (q.v_amount ?? '') + (q.v_moneytype ?? ''),
      q.v_sign,
    );
  return { ok: macOk && signOk, macOk, signOk, said: returnStatus(q.v_pstatus), vOid: q.v_oid, vAmount: q.v_amount };
}

export const unverifiedReturnPage = (): Page =>
  page(
    'Payment return',
    '<h1>We could not verify this payment return</h1><p data-testid="bank-return-status">UNVERIFIED</p>',
    400,
  );
export const unknownReturnPage = (): Page => page('Unknown', '<h1>Unknown payment return</h1>', 404);

/** What the return page tells the customer; customers from China land here, so every sentence is in both languages. */
export function returnPage(
  said: VerifiedReturn['said'],
  orderPaid: boolean,
  outTradeNo: string,
  vAmount: string,
): Page {
  const text =
    said !== 'PAID'
      ? said === 'FAILED'
        ? [
            'The bank did not take the payment. You may try again before the payment expires.',
            '银行未完成扣款。您可以在订单过期前重新支付。',
          ]
        : ['The payment is waiting.', '付款处理中。']
      : orderPaid
        ? ['The shop has received your payment.', '商户已确认收款。']
        : [
            "The bank says the payment went through; the shop confirms it as soon as the bank's notice arrives.",
            '银行已受理付款，商户收到银行通知后即确认收款。',
          ];
  return page(
    'Payment return',
    `<h1>${said === 'PAID' ? 'Thank you 谢谢' : 'Payment not completed 支付未完成'}</h1>
<p data-testid="bank-return-status">${said}</p><p data-testid="bank-return-text">${esc(text[0]!)}<br>${esc(text[1]!)}</p><p>Order 订单 ${esc(outTradeNo)} · ¥ ${esc(vAmount)}</p>`,
  );
}
