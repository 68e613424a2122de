import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AccountsRepo } from '../store/accounts.js';
import { apiKeyAuth } from '../server/merchant-api.js';
import { errorResponse, errorSchema } from '../server/openapi-schemas.js';
import type { Delivery, DeliveryAttempt, WebhookService } from './service.js';

// PUT /api/v1/webhook (docs/CONTRACTS.md) and the delivery log with manual redelivery.

const deliverySchema = z.object({
  id: z.string(),
  event_id: z.string(),
  event_type: z.string(),
  url: z.string(),
  status: z.enum(['pending', 'delivered', 'failed']),
  attempts: z.number().int(),
  last_status_code: z.number().int().nullable(),
  last_error: z.string().nullable(),
  next_attempt_at: z.string().nullable(),
  delivered_at: z.string().nullable(),
  created_at: z.string(),
});

const attemptSchema = z.object({
  attempt: z.number().int(),
  status_code: z.number().int().nullable(),
  error: z.string().nullable(),
  duration_ms: z.number().int(),
  manual: z.boolean(),
  created_at: z.string(),
});

const deliveryWithAttempts = deliverySchema.extend({ attempt_log: z.array(attemptSchema) });

function deliveryView(d: Delivery): z.infer<typeof deliverySchema> {
  return {
    id: d.id,
    event_id: d.event_id,
    event_type: d.event_type,
    url: d.url,
    status: d.status,
    attempts: Number(d.attempts),
    last_status_code: d.last_status_code,
    last_error: d.last_error,
    next_attempt_at: d.status === 'pending' ? d.next_attempt_at : null,
    delivered_at: d.delivered_at,
    created_at: d.created_at,
  };
}

function withAttempts(x: { delivery: Delivery; attempts: DeliveryAttempt[] }): z.infer<typeof deliveryWithAttempts> {
  return {
    ...deliveryView(x.delivery),
    attempt_log: x.attempts.map((a) => ({
      attempt: a.attempt,
      status_code: a.status_code,
      error: a.error,
      duration_ms: a.duration_ms,
      manual: a.manual === 1,
      created_at: a.created_at,
    })),
  };
}

export function registerWebhookApi(
  app: FastifyInstance,
  deps: { accounts: AccountsRepo; webhooks: WebhookService },
): void {
  const { webhooks } = deps;
  void app.register(async (api) => {
    const r = api.withTypeProvider<ZodTypeProvider>();
    api.addHook('onRequest', apiKeyAuth(deps.accounts));
    const merchant = (req: FastifyRequest) => req.merchantId!;
    const tags = ['webhooks'];
    const security = [{ apiKey: [] }];

    r.put(
      '/api/v1/webhook',
      {
        schema: {
          tags,
          security,
          summary:
            'Set the webhook URL (https, public addresses only unless the merchant is allowed private webhooks); answers the signing secret (shown once, replaced at every call)',
          operationId: 'setWebhook',
          body: z.strictObject({ url: z.url({ protocol: /^https?$/ }).max(512) }),
          response: { 200: z.object({ url: z.string(), secret: z.string() }), ...errorResponse },
        },
      },
      async (req) => webhooks.setEndpoint(merchant(req), req.body.url),
    );

    r.get(
      '/api/v1/webhook',
      {
        schema: {
          tags,
          security,
          summary: 'The webhook URL (never the secret)',
          operationId: 'getWebhook',
          response: {
            200: z.object({ url: z.string(), created_at: z.string(), updated_at: z.string() }),
            ...errorResponse,
          },
        },
      },
      async (req) => webhooks.getEndpoint(merchant(req)),
    );

    r.get(
      '/api/v1/webhook/deliveries',
      {
        schema: {
          tags,
          security,
          summary: 'The delivery log, newest event first',
          operationId: 'listWebhookDeliveries',
          querystring: z.object({
            event_id: z.string().max(64).optional(),
            status: z.enum(['pending', 'delivered', 'failed']).optional(),
            limit: z.coerce.number().int().min(1).max(200).optional(),
          }),
          response: { 200: z.object({ data: z.array(deliverySchema) }), ...errorResponse },
        },
      },
      async (req) => ({
        data: (
          await webhooks.listDeliveries(merchant(req), {
            eventId: req.query.event_id,
            status: req.query.status,
            limit: req.query.limit,
          })
        ).map(deliveryView),
      }),
    );

    r.get(
      '/api/v1/webhook/deliveries/:id',
      {
        schema: {
          tags,
          security,
          summary: 'One delivery with every attempt',
          operationId: 'getWebhookDelivery',
          params: z.object({ id: z.string().max(64) }),
          response: { 200: deliveryWithAttempts, ...errorResponse },
        },
      },
      async (req) => withAttempts(await webhooks.getDelivery(merchant(req), req.params.id)),
    );

    r.post(
      '/api/v1/webhook/deliveries/:id/redeliver',
      {
        schema: {
          tags,
          security,
          summary: 'Send a delivery again now (at most once every 10 s per delivery and 20 a minute per merchant)',
          operationId: 'redeliverWebhook',
          params: z.object({ id: z.string().max(64) }),
          response: { 200: deliveryWithAttempts, ...errorResponse, 429: errorSchema },
        },
      },
      async (req) => withAttempts(await webhooks.redeliver(merchant(req), req.params.id)),
    );
  });
}
