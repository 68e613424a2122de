import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { KauriError } from '../../protocol/errors.js';
import { isCurrency } from '../../protocol/money.js';
import { CHANNELS, PAYMENT_MODES } from '../../protocol/payments.js';
import type { AccountsRepo } from '../store/accounts.js';
import type { PaymentService } from '../orders/payments.js';
import type { OrdersRepo } from '../store/orders-repo.js';
import { paymentView, refundView } from '../orders/views.js';
import type { Metrics } from './metrics.js';
import { errorResponse, paymentSchema, refundSchema } from './openapi-schemas.js';
import { assertAllowedUrl } from '../onecode/checkouts.js';

declare module 'fastify' {
  interface FastifyRequest {
    merchantId?: string;
  }
}

const minor = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
// WeChat's out_trade_no alphabet, the narrowest of the channels', so any reference fits all.
const reference = z
  .string()
  .min(1)
  .max(32)
  .regex(/^[0-9A-Za-z_\-|*]+$/, 'use 1–32 of 0-9 A-Z a-z _ - | *');
const currencyCode = z.string().refine(isCurrency, { message: 'unknown ISO 4217 currency' });

export const createPaymentBody = z.strictObject({
  out_trade_no: reference,
  amount_minor: minor,
  currency: currencyCode,
  channel: z.enum(CHANNELS),
  mode: z
    .enum(PAYMENT_MODES)
    .describe(
      'wechat: native (QR) | jsapi (inside WeChat) | h5 (a phone browser opens WeChat) | micropay; alipay: web (cashier; the account default decides desktop or mobile) | wap (mobile cashier) | precreate | spot; bank: bank',
    ),
  auth_code: z.string().min(1).max(128).optional(),
  openid: z.string().min(1).max(128).optional(),
  quote_id: z.string().min(1).max(64).optional(),
  return_url: z
    .url({ protocol: /^https?$/ })
    .max(512)
    .optional(),
  description: z.string().min(1).max(127).optional(),
  payer_ip: z
    .union([z.ipv4(), z.ipv6()])
    .optional()
    .describe("mode h5: the payer's own IP address (WeChat refuses H5 without it); default: the caller's"),
});

export const refundBody = z.strictObject({
  out_refund_no: reference.max(64),
  amount_minor: minor,
  reason: z.string().max(80).optional(),
});

const outTradeNoParams = z.object({ out_trade_no: reference });

/** Authenticates `Authorization: Bearer <api key>` to a merchant, before anything else runs. */
export function apiKeyAuth(accounts: AccountsRepo) {
  return async (req: FastifyRequest): Promise<void> => {
    const header = req.headers.authorization;
    if (!header) throw new KauriError('unauthenticated', 'Send your API key as "Authorization: Bearer <key>"');
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m) throw new KauriError('unauthenticated', 'The Authorization header must be "Bearer <key>"');
    const merchantId = await accounts.merchantForApiKey(m[1]!);
    if (!merchantId) throw new KauriError('unauthenticated', 'That API key is unknown or revoked');
    req.merchantId = merchantId;
  };
}

export function registerMerchantApi(
  app: FastifyInstance,
  deps: {
    accounts: AccountsRepo;
    payments: PaymentService;
    orders: OrdersRepo;
    metrics: Metrics;
    publicBaseUrl: string;
  },
): void {
  const { payments, orders, publicBaseUrl } = deps;
  void app.register(async (api) => {
    const r = api.withTypeProvider<ZodTypeProvider>();
    api.addHook('onRequest', apiKeyAuth(deps.accounts));
    const merchant = (req: FastifyRequest) => req.merchantId!;
    const tags = ['payments'];

    r.post(
      '/api/v1/payments',
      {
        schema: {
          tags,
          summary: 'Create a payment (201), or answer the existing one (200) when out_trade_no was sent before',
          operationId: 'createPayment',
          body: createPaymentBody,
          response: { 200: paymentSchema, 201: paymentSchema, ...errorResponse },
        },
      },
      async (req, reply) => {
        if (req.body.return_url) {
          // No open redirects: the payer is only ever sent back to a host the merchant named.
          const m = await deps.accounts.getMerchant(merchant(req));
          assertAllowedUrl(req.body.return_url, m?.allowed_domains ?? [], 'return_url');
        }
        const { payer_ip: payerIp, ...input } = req.body;
        const { order, created } = await payments.createPaymentResult(merchant(req), input, {
          clientIp: payerIp ?? req.ip,
        });
        if (created) deps.metrics.paymentsCreated.inc({ channel: order.channel, mode: order.mode });
        void reply.status(created ? 201 : 200);
        return paymentView(order, { publicBaseUrl });
      },
    );

    r.get(
      '/api/v1/payments',
      {
        schema: {
          tags,
          summary: 'List payments, newest first',
          operationId: 'listPayments',
          querystring: z.object({
            limit: z.coerce.number().int().min(1).max(200).optional(),
            before: z.string().max(64).optional(),
            status: z.string().max(32).optional(),
          }),
          response: { 200: z.object({ data: z.array(paymentSchema), next: z.string().nullable() }), ...errorResponse },
        },
      },
      async (req) => {
        const list = await orders.list(merchant(req), req.query);
        return {
          data: list.map((o) => paymentView(o, { publicBaseUrl })),
          next: list.length ? list[list.length - 1]!.id : null,
        };
      },
    );

    r.get(
      '/api/v1/payments/:out_trade_no',
      {
        schema: {
          tags,
          summary: 'A payment, by the merchant’s out_trade_no',
          operationId: 'getPayment',
          params: outTradeNoParams,
          response: { 200: paymentSchema, ...errorResponse },
        },
      },
      async (req) => {
        return paymentView(await payments.getPayment(merchant(req), req.params.out_trade_no), { publicBaseUrl });
      },
    );

    r.post(
      '/api/v1/payments/:out_trade_no/close',
      {
        schema: {
          tags,
          summary: 'Close an unpaid payment (its channel order is closed or reversed)',
          operationId: 'closePayment',
          params: outTradeNoParams,
          response: { 200: paymentSchema, ...errorResponse },
        },
      },
      async (req) => {
        return paymentView(await payments.closePayment(merchant(req), req.params.out_trade_no), { publicBaseUrl });
      },
    );

    r.post(
      '/api/v1/payments/:out_trade_no/refunds',
      {
        schema: {
          tags,
          summary: 'Refund all or part of a paid payment',
          operationId: 'createRefund',
          params: outTradeNoParams,
          body: refundBody,
          response: { 201: refundSchema, ...errorResponse },
        },
      },
      async (req, reply) => {
        const { refund, order } = await payments.refund(merchant(req), req.params.out_trade_no, req.body);
        void reply.status(201);
        return refundView(refund, order);
      },
    );

    r.get(
      '/api/v1/payments/:out_trade_no/refunds',
      {
        schema: {
          tags,
          summary: 'The refunds of a payment',
          operationId: 'listRefunds',
          params: outTradeNoParams,
          response: { 200: z.object({ data: z.array(refundSchema) }), ...errorResponse },
        },
      },
      async (req) => {
        const order = await payments.getPayment(merchant(req), req.params.out_trade_no);
        return { data: (await orders.refundsOf(order.id)).map((x) => refundView(x, order)) };
      },
    );
  });
}
