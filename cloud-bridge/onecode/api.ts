import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { KauriError } from '../../protocol/errors.js';
import { isCurrency } from '../../protocol/money.js';
import { CHANNELS } from '../../protocol/payments.js';
import { paymentView } from '../orders/views.js';
import type { AccountsRepo } from '../store/accounts.js';
import { apiKeyAuth } from '../server/merchant-api.js';
import { errorResponse, paymentSchema } from '../server/openapi-schemas.js';
import { checkoutView, type CheckoutService } from './checkouts.js';

// The merchant API's checkouts (docs/CONTRACTS.md): the same service the terminal uses through
// its link. A checkout is found by its token or its id; another merchant's is "not found".

const minor = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);

export const createCheckoutBody = z.strictObject({
  amount_minor: minor,
  currency: z.string().refine(isCurrency, { message: 'unknown ISO 4217 currency' }),
  store: z.string().min(1).max(64).optional().describe('the store code (or id) the checkout belongs to'),
  expires_in_s: z
    .number()
    .int()
    .min(30)
    .max(86_400)
    .optional()
    .describe('seconds until the code stops taking payments (default 300)'),
  allowed_channels: z.array(z.enum(CHANNELS)).min(1).max(3).optional(),
  return_url: z
    .url({ protocol: /^https?$/ })
    .max(512)
    .optional()
    .describe("where the payer goes once paid; must be on the merchant's allowed domains"),
  description: z.string().min(1).max(127).optional(),
  reference: z.string().min(1).max(64).optional().describe('your own reference'),
});

export const checkoutSchema = z.object({
  id: z.string(),
  token: z.string(),
  url: z.string(),
  kind: z.enum(['dynamic', 'static']),
  status: z.enum(['open', 'paid', 'expired', 'cancelled']),
  amount_minor: z.number().int(),
  currency: z.string(),
  store_id: z.string().optional(),
  terminal_id: z.string().optional(),
  allowed_channels: z.array(z.enum(CHANNELS)).optional(),
  reference: z.string().optional(),
  description: z.string().optional(),
  return_url: z.string().optional(),
  expires_at: z.string(),
  created_at: z.string(),
  payment: paymentSchema.optional(),
});

const tokenParams = z.object({ token: z.string().min(1).max(64) });

export function registerCheckoutApi(
  app: FastifyInstance,
  deps: { accounts: AccountsRepo; checkouts: CheckoutService; readonly publicBaseUrl: string },
): void {
  const { checkouts, accounts } = deps;
  void app.register(async (api) => {
    const r = api.withTypeProvider<ZodTypeProvider>();
    api.addHook('onRequest', apiKeyAuth(accounts));
    const merchant = (req: FastifyRequest) => req.merchantId!;
    const tags = ['checkouts'];
    const security = [{ apiKey: [] }];

    r.post(
      '/api/v1/checkouts',
      {
        schema: {
          tags,
          security,
          summary: 'Create a checkout (one QR code for every wallet)',
          operationId: 'createCheckout',
          body: createCheckoutBody,
          response: { 201: checkoutSchema, ...errorResponse },
        },
      },
      async (req, reply) => {
        const b = req.body;
        let storeId: string | undefined;
        if (b.store) {
          const store = (await accounts.getStore(b.store)) ?? (await accounts.getStoreByCode(b.store));
          if (!store || store.merchant_id !== merchant(req))
            throw new KauriError('not_found', `No store "${b.store}" for this merchant`);
          storeId = store.id;
        }
        const c = await checkouts.create(merchant(req), {
          amountMinor: b.amount_minor,
          currency: b.currency,
          storeId,
          expiresInS: b.expires_in_s,
          allowedChannels: b.allowed_channels,
          returnUrl: b.return_url,
          description: b.description,
          reference: b.reference,
        });
        void reply.status(201);
        return checkoutView(c);
      },
    );

    r.get(
      '/api/v1/checkouts',
      {
        schema: {
          tags,
          security,
          summary: 'List checkouts, newest first',
          operationId: 'listCheckouts',
          querystring: z.object({
            limit: z.coerce.number().int().min(1).max(200).optional(),
            before: z.string().max(64).optional(),
            status: z.enum(['open', 'paid', 'expired', 'cancelled']).optional(),
          }),
          response: { 200: z.object({ data: z.array(checkoutSchema), next: z.string().nullable() }), ...errorResponse },
        },
      },
      async (req) => {
        const list = await checkouts.list(merchant(req), req.query);
        return { data: list.map(checkoutView), next: list.length ? list[list.length - 1]!.id : null };
      },
    );

    r.get(
      '/api/v1/checkouts/:token',
      {
        schema: {
          tags,
          security,
          summary: 'A checkout, with its payment once paid',
          operationId: 'getCheckout',
          params: tokenParams,
          response: { 200: checkoutSchema, ...errorResponse },
        },
      },
      async (req) => checkoutView(await checkouts.getForMerchant(merchant(req), req.params.token)),
    );

    r.post(
      '/api/v1/checkouts/:token/cancel',
      {
        schema: {
          tags,
          security,
          summary: 'Cancel an open checkout (its channel orders are closed)',
          operationId: 'cancelCheckout',
          params: tokenParams,
          response: { 200: checkoutSchema, ...errorResponse },
        },
      },
      async (req) => checkoutView(await checkouts.cancel(merchant(req), req.params.token)),
    );

    r.get(
      '/api/v1/checkouts/:token/payments',
      {
        schema: {
          tags,
          security,
          summary: 'The channel orders made under a checkout (one per wallet the customer tried)',
          operationId: 'listCheckoutPayments',
          params: tokenParams,
          response: { 200: z.object({ data: z.array(paymentSchema) }), ...errorResponse },
        },
      },
      async (req) => {
        const c = await checkouts.getForMerchant(merchant(req), req.params.token);
        return {
          data: (await checkouts.ordersOf(c.id)).map((o) => paymentView(o, { publicBaseUrl: deps.publicBaseUrl })),
        };
      },
    );
  });
}
