import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Clock } from '../../protocol/clock.js';
import { money } from '../../protocol/money.js';
import type { AccountsRepo } from '../store/accounts.js';
import type { OrdersRepo } from '../store/orders-repo.js';
import type { ChannelRegistry } from '../channels/channel.js';
import { BankChannel } from '../channels/bank/channel.js';
import {
  expiredPage,
  notFoundPage,
  paymentFormPage,
  returnPage,
  statusPage,
  unavailablePage,
  unknownReturnPage,
  unverifiedReturnPage,
  verifyReturn,
  type Page,
} from '../channels/bank/pages.js';

// The bridge side of the bank channel's browser pages: it reads the order and the account
// from the store and hands them to the channel's pure page functions.
// - GET /pay/bank/<v_oid>: the auto-submitting payment form;
// - GET /return/bank/<account>: the gateway's browser return (shown, never recorded).

export interface BankPagesDeps {
  orders: OrdersRepo;
  accounts: AccountsRepo;
  channels: ChannelRegistry;
  clock: Clock;
  readonly publicBaseUrl: string;
}

const send = (reply: FastifyReply, p: Page) => reply.code(p.status).type('text/html; charset=utf-8').send(p.html);

export function registerBankPages(app: FastifyInstance, deps: BankPagesDeps): void {
  const bank = () => {
    const c = deps.channels.get('bank');
    return c instanceof BankChannel ? c : undefined;
  };

  app.get<{ Params: { oid: string } }>('/pay/bank/:oid', async (req, reply) => {
    const channel = bank();
    const order = channel ? await deps.orders.byChannelOrderNo(req.params.oid) : undefined;
    if (!channel || !order || order.channel !== 'bank') return send(reply, notFoundPage());
    if (order.status !== 'pending' && order.status !== 'created') return send(reply, statusPage(order.status));
    if (order.expires_at && Date.parse(order.expires_at) <= deps.clock.now().getTime())
      return send(reply, expiredPage());
    const account = await deps.accounts.getChannelAccount(order.channel_account_id);
    if (!account || order.cny_quote_minor === null) return send(reply, unavailablePage());
    const pay = money(order.cny_quote_minor, 'CNY');
    const form = channel.paymentForm(account, {
      channelOrderNo: order.channel_order_no,
      pay,
      returnUrl: new URL(`/return/bank/${account.id}`, deps.publicBaseUrl).toString(),
    });
    return send(
      reply,
      paymentFormPage(form, {
        price: money(order.amount_minor, order.currency),
        pay,
        rate: order.rate,
        rateTime: order.rate_time,
      }),
    );
  });

  app.get<{ Params: { account: string } }>('/return/bank/:account', async (req, reply) => {
    const account = await deps.accounts.getChannelAccount(req.params.account);
    if (!account || account.channel !== 'bank') return send(reply, unknownReturnPage());
    const rawUrl = req.raw.url ?? '';
    const r = verifyReturn(account, rawUrl.includes('?') ? rawUrl.slice(rawUrl.indexOf('?') + 1) : '');
    const order = r.vOid ? await deps.orders.byChannelOrderNo(r.vOid) : undefined;
    if (!r.ok || !order || order.channel_account_id !== account.id) {
      req.log.warn({ v_oid: r.vOid, macOk: r.macOk, signOk: r.signOk }, 'bank return does not verify');
      return send(reply, unverifiedReturnPage());
    }
    if (order.return_url) {
      const u = new URL(order.return_url);
      u.searchParams.set('out_trade_no', order.out_trade_no);
      u.searchParams.set('bank_status', r.said.toLowerCase());
      return reply.redirect(u.toString(), 302);
    }
    return send(reply, returnPage(r.said, order.status === 'paid', order.out_trade_no, r.vAmount ?? ''));
  });
}
