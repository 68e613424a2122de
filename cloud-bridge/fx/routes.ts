import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { isCurrency, money } from '../../protocol/money.js';
import { CHANNELS } from '../../protocol/payments.js';
import type { AccountsRepo } from '../store/accounts.js';
import { apiKeyAuth } from '../server/merchant-api.js';
import type { FxService } from './service.js';
import { errorResponse, quoteSchema } from '../server/openapi-schemas.js';

// `GET /api/v1/fx/quote?channel=C&amount_minor=N&currency=NZD` (docs/CONTRACTS.md).

const query = z.strictObject({
  channel: z.enum(CHANNELS),
  amount_minor: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  currency: z.string().refine(isCurrency, { message: 'unknown ISO 4217 currency' }),
});

export function registerFxRoutes(app: FastifyInstance, deps: { accounts: AccountsRepo; fx: FxService }): void {
  void app.register(async (api) => {
    api.addHook('onRequest', apiKeyAuth(deps.accounts));
    api.withTypeProvider<ZodTypeProvider>().get(
      '/api/v1/fx/quote',
      {
        schema: {
          tags: ['fx'],
          summary: 'Quote what the customer pays in CNY for an amount, at the channel’s latest rate',
          operationId: 'getFxQuote',
          querystring: query,
          response: { 200: quoteSchema, ...errorResponse },
        },
      },
      async (req) => {
        return deps.fx.quote(req.merchantId!, req.query.channel, money(req.query.amount_minor, req.query.currency));
      },
    );
  });
}
