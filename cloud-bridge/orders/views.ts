import type { PaymentView, RefundView } from '../../protocol/views.js';
import type { Order, Refund } from '../store/orders-repo.js';

// What the merchant API (and webhooks, and terminals) see of a payment (docs/CONTRACTS.md): the shapes are
// protocol's, so the counter reads exactly what is built here.
export type { PaymentView, RefundView };

export function paymentView(o: Order, options: { publicBaseUrl?: string } = {}): PaymentView {
  const v: PaymentView = {
    id: o.id,
    out_trade_no: o.out_trade_no,
    channel: o.channel,
    mode: o.mode,
    amount_minor: o.amount_minor,
    currency: o.currency,
    status: o.status,
    refunded_minor: o.refunded_minor,
    created_at: o.created_at,
  };
  if (o.cny_quote_minor !== null) v.cny_quote_minor = o.cny_quote_minor;
  if (o.cny_charged_minor !== null) v.cny_charged_minor = o.cny_charged_minor;
  if (o.rate !== null) v.rate = o.rate;
  if (o.rate_time !== null) v.rate_time = o.rate_time;
  if (o.channel_trade_no !== null) v.channel_trade_no = o.channel_trade_no;
  if (o.status === 'pending' || o.status === 'created') {
    if (o.qr_code !== null) v.qr_code = o.qr_code;
    if (o.redirect_url !== null) v.redirect_url = absolute(o.redirect_url, options.publicBaseUrl);
    if (o.pay_params) {
      const params = JSON.parse(o.pay_params) as { jsapi?: Record<string, string> };
      if (params.jsapi) v.jsapi_params = params.jsapi;
    }
  }
  if (o.checkout_id !== null) v.checkout_id = o.checkout_id;
  if (o.store_id !== null) v.store_id = o.store_id;
  if (o.flagged) {
    v.flagged = true;
    if (o.flag_reason) v.flag_reason = o.flag_reason;
  }
  if (o.paid_at !== null) v.paid_at = o.paid_at;
  if (o.expires_at !== null) v.expires_at = o.expires_at;
  return v;
}

function absolute(url: string, base?: string): string {
  if (/^https?:\/\//.test(url) || !base) return url;
  return new URL(url, base).toString();
}

export function refundView(r: Refund, order?: Order): RefundView {
  const v: RefundView = {
    id: r.id,
    out_refund_no: r.out_refund_no,
    amount_minor: r.amount_minor,
    currency: r.currency,
    status: r.status,
    created_at: r.created_at,
  };
  if (order) v.out_trade_no = order.out_trade_no;
  if (r.reason) v.reason = r.reason;
  if (r.automatic) v.automatic = true;
  return v;
}
