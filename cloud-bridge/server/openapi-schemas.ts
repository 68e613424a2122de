import { z } from 'zod';

// Response shapes of the merchant API, for the OpenAPI description and for fastify's
// serializer (a response that does not fit its schema is a bug, caught in tests).

export const errorSchema = z.object({
  error: z.object({ code: z.string().describe('stable, lower_snake_case'), message: z.string() }),
});

export const errorResponse = {
  400: errorSchema,
  401: errorSchema,
  404: errorSchema,
  409: errorSchema,
  410: errorSchema,
  422: errorSchema,
  503: errorSchema,
} as const;

export const paymentSchema = z.object({
  id: z.string(),
  out_trade_no: z.string(),
  channel: z.string(),
  mode: z.string(),
  amount_minor: z.number().int(),
  currency: z.string(),
  status: z.string().describe('created | pending | paid | partially_refunded | refunded | closed | reversed | failed'),
  refunded_minor: z.number().int(),
  cny_quote_minor: z.number().int().optional(),
  cny_charged_minor: z.number().int().optional(),
  rate: z.string().optional(),
  rate_time: z.string().optional(),
  channel_trade_no: z.string().optional(),
  qr_code: z.string().optional(),
  redirect_url: z
    .string()
    .optional()
    .describe(
      "web, wap, h5: where the payer's browser goes to pay. h5: WeChat's mweb_url, valid 5 minutes, opened from a page on the domain registered with WeChat; the wallet then returns the payer to the bridge's page /r/<id>",
    ),
  checkout_id: z.string().optional(),
  store_id: z.string().optional(),
  flagged: z.boolean().optional(),
  flag_reason: z.string().optional(),
  created_at: z.string(),
  paid_at: z.string().optional(),
  expires_at: z.string().optional(),
});

export const refundSchema = z.object({
  id: z.string(),
  out_refund_no: z.string(),
  out_trade_no: z.string().optional(),
  amount_minor: z.number().int(),
  currency: z.string(),
  status: z.string().describe('processing | succeeded | failed'),
  reason: z.string().optional(),
  automatic: z.boolean().optional(),
  created_at: z.string(),
});

export const quoteSchema = z.object({
  quote_id: z.string().describe('send as quote_id when creating the payment to charge at this quote'),
  channel: z.enum(['wechat', 'alipay', 'bank']),
  amount_minor: z.number().int(),
  currency: z.string(),
  cny_minor: z.number().int(),
  rate: z.string().describe('CNY per 1 unit of currency, a decimal string'),
  markup: z.string().describe('a fraction as a decimal string: "0.02" is 2%'),
  source: z.string(),
  rate_time: z.string(),
  expires_at: z.string(),
});

const deviceHealthSchema = z.object({ kind: z.string(), state: z.string(), detail: z.string().optional() });

export const terminalSchema = z.object({
  id: z.string(),
  merchantId: z.string(),
  storeId: z.string(),
  name: z.string(),
  createdAt: z.string(),
  revokedAt: z.string().nullable(),
  lastSeenAt: z.string().nullable(),
  health: z.array(deviceHealthSchema).nullable().describe("the devices of the counter's latest health report"),
  healthAt: z.string().nullable(),
});

export const pairingCodeSchema = z.object({ code: z.string(), store_id: z.string(), expires_at: z.string() });
