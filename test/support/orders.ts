import type { Order } from '../../cloud-bridge/store/orders-repo.js';

/**
 * An order as the bridge stores one, for tests: a WeChat NATIVE payment of NZD 10.00, just
 * created, with whatever the test says instead.
 */
export function testOrder(over: Partial<Order> & Pick<Order, 'id' | 'merchant_id' | 'channel_account_id'>): Order {
  const at = over.created_at ?? new Date().toISOString();
  return {
    store_id: null,
    terminal_id: null,
    checkout_id: null,
    out_trade_no: `T-${over.id}`,
    channel: 'wechat',
    mode: 'native',
    amount_minor: 1000,
    currency: 'NZD',
    status: 'created',
    refunded_minor: 0,
    description: null,
    channel_order_no: over.id.replace(/^pay_/, 'K'),
    channel_trade_no: null,
    qr_code: null,
    redirect_url: null,
    openid: null,
    quote_id: null,
    cny_quote_minor: null,
    cny_charged_minor: null,
    rate: null,
    rate_time: null,
    return_url: null,
    request_hash: 'h',
    flagged: false,
    flag_reason: null,
    expires_at: null,
    created_at: at,
    updated_at: at,
    paid_at: null,
    channel_paid_at: null,
    version: 0,
    ...over,
  };
}
