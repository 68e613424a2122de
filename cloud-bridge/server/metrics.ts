import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { FastifyInstance } from 'fastify';

export class Metrics {
  readonly registry = new Registry();
  readonly httpDuration = new Histogram({
    name: 'kauri_http_request_duration_seconds', help: 'HTTP request latency', labelNames: ['method', 'route', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [this.registry],
  });
  readonly paymentsCreated = new Counter({ name: 'kauri_payments_created_total', help: 'Payments created', labelNames: ['channel', 'mode'], registers: [this.registry] });
  readonly notifies = new Counter({ name: 'kauri_channel_notifies_total', help: 'Channel notifies received', labelNames: ['channel', 'result'], registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'kauri_' });
  }

  install(app: FastifyInstance): void {
    app.addHook('onResponse', async (req, reply) => {
      this.httpDuration.observe(
        { method: req.method, route: req.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) },
        reply.elapsedTime / 1000,
      );
    });
    app.get('/metrics', async (_req, reply) => {
      void reply.type(this.registry.contentType);
      return this.registry.metrics();
    });
  }
}
