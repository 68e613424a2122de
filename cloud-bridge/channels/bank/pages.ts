import type { FastifyInstance } from 'fastify';
import type { Clock } from '../../../protocol/clock.js';
import { format, money } from '../../../protocol/money.js';
import type { AccountsRepo } from '../../store/accounts.js';
import type { OrdersRepo } from '../../store/orders-repo.js';
import type { ChannelRegistry } from '../channel.js';
import { BankChannel, bankSettings } from './channel.js';
import { decodeForm } from './form.js';
import { macMatches, rsaMd5Verify } from './sign.js';

// The bank channel's two browser pages on the bridge:
// - GET /pay/bank/<v_oid>: the auto-submitting payment form (B2) that carries the customer
//   to the gateway, showing the CNY amount with the rate and its time;
// - GET /return/bank/<account>: the gateway's browser return (B4). It is verified and
//   shown, but it never marks an order paid: only the signed server notify (or a query) does.

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title: string, body: string, status = 200): { status: number; html: string } {
  return {
    status,
    html: `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title><style>body{font-family:sans-serif;max-width:480px;margin:2em auto;padding:0 1em;overflow-wrap:anywhere}.cny{font-size:1.8em}</style></head>
<body>${body}</body></html>`,
  };
}

export interface BankPagesDeps {
  orders: OrdersRepo;
  accounts: AccountsRepo;
  channels: ChannelRegistry;
  clock: Clock;
  readonly publicBaseUrl: string;
}

export function registerBankPages(app: FastifyInstance, deps: BankPagesDeps): void {
  const bank = () => {
    const c = deps.channels.get('bank');
    return c instanceof BankChannel ? c : undefined;
  };

  app.get<{ Params: { oid: string } }>('/pay/bank/:oid', async (req, reply) => {
    const send = (p: { status: number; html: string }) => reply.code(p.status).type('text/html; charset=utf-8').send(p.html);
    const channel = bank();
    const order = channel ? await deps.orders.byChannelOrderNo(req.params.oid) : undefined;
    if (!channel || !order || order.channel !== 'bank') return send(page('Payment not found', '<h1>Payment not found</h1><p>No bank payment has this number.</p>', 404));
    if (order.status !== 'pending' && order.status !== 'created') {
      return send(page('Payment', `<h1>This payment is ${esc(order.status)}</h1><p data-testid="bank-payment-status">${esc(order.status.toUpperCase())}</p>`, order.status === 'paid' ? 200 : 410));
    }
    if (order.expires_at && Date.parse(order.expires_at) <= deps.clock.now().getTime()) {
      return send(page('Payment expired', '<h1>This payment has expired</h1><p data-testid="bank-payment-status">EXPIRED</p>', 410));
    }
    const account = await deps.accounts.getChannelAccount(order.channel_account_id);
    if (!account || order.cny_quote_minor === null) return send(page('Payment unavailable', '<h1>This payment cannot be paid by bank</h1>', 409));
    const pay = money(order.cny_quote_minor, 'CNY');
    const form = channel.paymentForm(account, {
      channelOrderNo: order.channel_order_no,
      pay,
      notifyUrl: new URL(`/notify/bank/${account.id}`, deps.publicBaseUrl).toString(),
      returnUrl: new URL(`/return/bank/${account.id}`, deps.publicBaseUrl).toString(),
    });
    const inputs = Object.entries(form.fields).map(([k, v]) => `<input type="hidden" name="${esc(k)}" value="${esc(v)}">`).join('\n');
    return send(page('Pay by online banking', `<h1>Pay by online banking 网上银行支付</h1>
<p>${esc(format(money(order.amount_minor, order.currency)))} =</p>
<p class="cny" data-testid="bank-cny">${esc(format(pay))}</p>
<p data-testid="bank-rate">Exchange rate ${esc(order.rate ?? '')} CNY per 1 ${esc(order.currency)}, published ${esc(order.rate_time ?? '')}; the amount includes the shop's exchange margin. 汇率 ${esc(order.rate ?? '')}</p>
<form id="payease" method="post" action="${esc(form.action)}" accept-charset="GBK">
${inputs}
<noscript><button type="submit">Continue to your bank 前往银行</button></noscript>
</form>
<script>document.getElementById('payease').submit();</script>`));
  });

  app.get<{ Params: { account: string } }>('/return/bank/:account', async (req, reply) => {
    const send = (p: { status: number; html: string }) => reply.code(p.status).type('text/html; charset=utf-8').send(p.html);
    const account = await deps.accounts.getChannelAccount(req.params.account);
    const rawUrl = req.raw.url ?? '';
    const q = decodeForm(rawUrl.includes('?') ? rawUrl.slice(rawUrl.indexOf('?') + 1) : '');
    if (!account || account.channel !== 'bank') return send(page('Unknown', '<h1>Unknown payment return</h1>', 404));
    const s = bankSettings(account);
    const macOk = macMatches(s.key, (q.v_oid ?? '') + (q.v_pstatus ?? '') + (q.v_pstring ?? '') + (q.v_pmode ?? ''), q.v_md5info)
      && macMatches(s.key, (q.v_amount ?? '') + (q.v_moneytype ?? ''), q.v_md5money);
    const signOk = !q.v_sign || rsaMd5Verify(s.publicKey, (q.v_oid ?? '') + (q.v_pstatus ?? '') + (q.v_amount ?? '') + (q.v_moneytype ?? ''), q.v_sign);
    const order = q.v_oid ? await deps.orders.byChannelOrderNo(q.v_oid) : undefined;
    if (!macOk || !signOk || !order || order.channel_account_id !== account.id) {
      req.log.warn({ v_oid: q.v_oid, macOk, signOk }, 'bank return does not verify');
      return send(page('Payment return', '<h1>We could not verify this payment return</h1><p data-testid="bank-return-status">UNVERIFIED</p>', 400));
    }
    const said = q.v_pstatus === '20' ? 'PAID' : q.v_pstatus === '30' ? 'FAILED' : 'PENDING';
    if (order.return_url) {
      const u = new URL(order.return_url);
      u.searchParams.set('out_trade_no', order.out_trade_no);
      u.searchParams.set('bank_status', said.toLowerCase());
      return reply.redirect(u.toString(), 302);
    }
    // Customers from China land here: every sentence in both languages.
    const text = said !== 'PAID'
      ? said === 'FAILED'
        ? ['The bank did not take the payment. You may try again before the payment expires.', '银行未完成扣款。您可以在订单过期前重新支付。']
        : ['The payment is waiting.', '付款处理中。']
      : order.status === 'paid'
        ? ['The shop has received your payment.', '商户已确认收款。']
        : ['The bank says the payment went through; the shop confirms it as soon as the bank\'s notice arrives.', '银行已受理付款，商户收到银行通知后即确认收款。'];
    return send(page('Payment return', `<h1>${said === 'PAID' ? 'Thank you 谢谢' : 'Payment not completed 支付未完成'}</h1>
<p data-testid="bank-return-status">${said}</p><p data-testid="bank-return-text">${esc(text[0]!)}<br>${esc(text[1]!)}</p><p>Order 订单 ${esc(order.out_trade_no)} · ¥ ${esc(q.v_amount ?? '')}</p>`));
  });
}
