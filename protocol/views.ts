import { z } from 'zod';

// What the merchant API, the webhooks and the terminal link show of a payment and a
// refund: one shape, written once. The bridge builds these views (cloud-bridge/orders/views.ts),
// the counter reads them off the link; both are typed from the schemas below, and a
// counter parses what arrives rather than trusting it.

export const PaymentViewSchema = z.object({
  id: z.string(),
  out_trade_no: z.string(),
  channel: z.string(),
  mode: z.string(),
  amount_minor: z.number().int(),
  currency: z.string(),
  status: z.string(),
  refunded_minor: z.number().int(),
  cny_quote_minor: z.number().int().optional(),
  cny_charged_minor: z.number().int().optional(),
  rate: z.string().optional(),
  rate_time: z.string().optional(),
  channel_trade_no: z.string().optional(),
  qr_code: z.string().optional(),
  redirect_url: z.string().optional(),
  /** For mode jsapi: the signed parameters for WeixinJSBridge getBrandWCPayRequest. */
  jsapi_params: z.record(z.string(), z.string()).optional(),
  checkout_id: z.string().optional(),
  store_id: z.string().optional(),
  flagged: z.boolean().optional(),
  flag_reason: z.string().optional(),
  created_at: z.string(),
  paid_at: z.string().optional(),
  expires_at: z.string().optional(),
});
export type PaymentView = z.infer<typeof PaymentViewSchema>;

export const RefundViewSchema = z.object({
  id: z.string(),
  out_refund_no: z.string(),
  out_trade_no: z.string().optional(),
  amount_minor: z.number().int(),
  currency: z.string(),
  status: z.string(),
  reason: z.string().optional(),
  automatic: z.boolean().optional(),
  created_at: z.string(),
});
export type RefundView = z.infer<typeof RefundViewSchema>;
