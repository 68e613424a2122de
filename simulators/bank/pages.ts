import { BANKS, type BankOrder } from './gateway.js';

// The gateway's customer pages: the bank chooser with the simulator's pay/fail buttons,
// and a plain error page (the real gateway shows its errors as pages, in Chinese).

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const STYLE = `body{font-family:sans-serif;max-width:460px;margin:2em auto;padding:0 1em}
.amount{font-size:2em;margin:.4em 0}button{font-size:1.1em;padding:.6em 1.6em;margin:.3em;border:0;border-radius:6px}
#pay{background:#c8102e;color:#fff}#fail{background:#ddd}label{display:block;margin:.3em 0}`;

export function paymentPage(o: BankOrder): string {
  const banks = BANKS.map(
    (b, i) =>
      `<label><input type="radio" name="v_pmode" value="${esc(b)}"${i === 0 ? ' checked' : ''}> ${esc(b)}</label>`,
  ).join('\n');
  return `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>首信易支付 网上银行支付 (simulator)</title><style>${STYLE}</style></head>
<body>
<h1>首信易支付 · 网上银行</h1>
<p>商户 Merchant <span data-testid="sim-merchant">${esc(o.v_mid)}</span> · 订单 Order <span data-testid="sim-order">${esc(o.v_oid)}</span></p>
<p class="amount">¥ <span data-testid="sim-amount">${esc(o.v_amount)}</span> CNY</p>
<form method="post" action="/prs/pay_confirm">
<input type="hidden" name="v_oid" value="${esc(o.v_oid)}">
<fieldset><legend>选择银行 Choose your bank</legend>
${banks}
</fieldset>
<button id="pay" type="submit" name="action" value="pay" data-testid="sim-pay">确认支付 Pay</button>
<button id="fail" type="submit" name="action" value="fail" data-testid="sim-fail">支付失败 Payment fails</button>
</form>
</body></html>`;
}

export function errorPage(message: string): string {
  return `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>首信易支付 错误</title><style>${STYLE}</style></head>
<body><h1>支付请求错误</h1><p data-testid="sim-error">${esc(message)}</p></body></html>`;
}
