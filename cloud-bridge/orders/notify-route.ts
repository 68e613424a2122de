import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Metrics } from '../server/metrics.js';
import type { PaymentService } from './payments.js';

// The channels' notify URLs (`/notify/<channel>/<account id>`): public, so rate-limited per
// source address. The default is generous (a channel retries a few times, a bank batches),
// so load tests and real bursts pass while a flood from one address is cut off.
export const DEFAULT_NOTIFY_RATE_LIMIT = 30_000;

export async function registerNotifyRoutes(
  app: FastifyInstance,
  deps: { payments: PaymentService; metrics: Metrics; rateLimitPerMinute?: number },
): Promise<void> {
  await app.register(async (notify) => {
    await notify.register(rateLimit, {
      global: true,
      max: deps.rateLimitPerMinute ?? DEFAULT_NOTIFY_RATE_LIMIT,
      timeWindow: 60_000,
      keyGenerator: (req) => req.ip,
      onExceeded: (req) =>
        deps.metrics.notifies.inc({
          channel: (req.params as { channel?: string }).channel ?? 'unknown',
          result: 'rate_limited',
        }),
    });
    // Raw bodies whatever the Content-Type says, since signatures are computed over exactly what was sent.
    notify.removeAllContentTypeParsers();
    notify.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 1024 * 1024 }, (_req, body, done) =>
      done(null, body),
    );
    const handler = async (
      req: FastifyRequest<{ Params: { channel: string; account: string } }>,
      reply: FastifyReply,
    ) => {
      const result = await deps.payments.handleNotify(req.params.channel, req.params.account, {
        method: req.method,
        headers: req.headers,
        query: req.query as Record<string, string>,
        body: (req.body as Buffer | undefined) ?? Buffer.alloc(0),
      });
      deps.metrics.notifies.inc({ channel: req.params.channel, result: result.result });
      void reply.status(result.status).type(result.contentType).send(result.body);
    };
    notify.post('/notify/:channel/:account', handler);
    notify.get('/notify/:channel/:account', handler);
  });
}
