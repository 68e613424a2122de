import type { Trade } from './model.js';
import { formatMajor, toCny } from './money.js';

// The customer's side: the cashier a create_forex_trade redirect lands on and the page a
// qr_code URL opens inside Alipay. `sim-pay` stands for the customer confirming; on the
// mobile cashier (create_forex_trade_wap), `sim-cancel` for backing out to the merchant, which
// goes to return_url without Alipay's signed result (there is none).

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function shell(title: string, inner: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>body{font-family:sans-serif;max-width:440px;margin:2em auto;padding:0 1em;text-align:center}
h1{color:#1677ff}.amount{font-size:2em;margin:.3em 0}.cny{color:#666}
button{background:#1677ff;color:#fff;border:0;border-radius:6px;font-size:1.2em;padding:.7em 2em}</style></head>
<body>${inner}</body></html>`;
}

export function messagePage(title: string, message: string): string {
  return shell(
    `Alipay (simulator): ${title}`,
    `<h1>支付宝 Alipay</h1><h2 data-testid="sim-error">${escapeHtml(title)}</h2><p>${escapeHtml(message)}</p>`,
  );
}

export function cashierPage(t: Trade, merchantName: string, rate: string): string {
  const payable = t.status === 'WAIT_BUYER_PAY';
  const amount = `${formatMajor(t.amount_minor, t.trans_currency)} ${t.trans_currency}`;
  const ref = { token: t.token };
  return shell(
    'Alipay (simulator)',
    `
<h1>支付宝 Alipay</h1>
<p data-testid="sim-merchant">${escapeHtml(merchantName)}</p>
<p data-testid="sim-order-body">${escapeHtml(t.subject)}</p>
<p class="amount" data-testid="sim-amount">${escapeHtml(amount)}</p>
<p class="cny" data-testid="sim-amount-cny">≈ ¥${escapeHtml(formatMajor(t.cny_minor ?? toCny(t.amount_minor, t.trans_currency, rate), 'CNY'))} CNY</p>
<p data-testid="sim-state">${escapeHtml(t.status)}</p>
${payable ? '<button data-testid="sim-pay" id="pay">Confirm payment 确认付款</button>' : ''}
${t.wap && t.return_url && payable ? `<p><a data-testid="sim-cancel" href="${escapeHtml(t.return_url)}">取消付款，返回商家 Cancel and return to the merchant</a></p>` : ''}
<script>
const ref = ${JSON.stringify(ref)};
const btn = document.getElementById('pay');
if (btn) btn.addEventListener('click', async () => {
  btn.disabled = true;
  const res = await fetch('/sim/pay', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ref) });
  const out = await res.json();
  document.querySelector('[data-testid=sim-state]').textContent = res.ok ? 'TRADE_SUCCESS' : out.error.message;
  if (res.ok) btn.remove(); else btn.disabled = false;
  if (res.ok && out.return_url) location.href = out.return_url;
});
</script>`,
  );
}
