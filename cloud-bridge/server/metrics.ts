import { createServer, type Server } from 'node:http';
import { createHash, timingSafeEqual } from 'node:crypto';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { FastifyInstance } from 'fastify';

/**
 * How /metrics is reached. The metrics tell a stranger the traffic, routes and process
 * details, so they are never open on the public port: either a bearer token there, or a
 * separate listen address (a private interface only the scraper reaches), or both.
 */
export interface MetricsAccess {
  /** Bearer token for GET /metrics on the bridge's own port (--metrics-token / KAURI_METRICS_TOKEN). */
  token?: string;
  /** host:port of a separate listener that serves /metrics without a token (--metrics-listen / KAURI_METRICS_LISTEN). */
  listen?: string;
}

export const METRICS_OFF_MESSAGE =
  '/metrics is off on this address: start the bridge with --metrics-token <token> (or KAURI_METRICS_TOKEN) and scrape with "Authorization: Bearer <token>", or with --metrics-listen <host:port> to serve it on a private address';

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** Parses "host:port", "[v6]:port" or ":port" (all interfaces is the operator's explicit choice). */
export function parseListen(spec: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(spec.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || !Number.isInteger(port) || port > 65535)
    throw new Error(`--metrics-listen must be host:port, e.g. 127.0.0.1:9464 (got "${spec}")`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

export class Metrics {
  readonly registry = new Registry();
  readonly httpDuration = new Histogram({
    name: 'kauri_http_request_duration_seconds',
    help: 'HTTP request latency',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly paymentsCreated = new Counter({
    name: 'kauri_payments_created_total',
    help: 'Payments created',
    labelNames: ['channel', 'mode'],
    registers: [this.registry],
  });
  readonly notifies = new Counter({
    name: 'kauri_channel_notifies_total',
    help: 'Channel notifies received',
    labelNames: ['channel', 'result'],
    registers: [this.registry],
  });
  private server: Server | undefined;

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'kauri_' });
  }

  install(app: FastifyInstance, access: MetricsAccess = {}): void {
    app.addHook('onResponse', async (req, reply) => {
      this.httpDuration.observe(
        { method: req.method, route: req.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) },
        reply.elapsedTime / 1000,
      );
    });
    const expected = access.token ? digest(access.token) : undefined;
    app.get('/metrics', async (req, reply) => {
      if (!expected) {
        const where = access.listen
          ? `/metrics is served on the metrics address (--metrics-listen ${access.listen}), not here`
          : METRICS_OFF_MESSAGE;
        return reply.status(403).send({ error: { code: 'forbidden', message: where } });
      }
      const m = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''));
      // Digests have one length, so the comparison is constant-time whatever was sent.
      if (!m || !timingSafeEqual(digest(m[1]!), expected)) {
        return reply
          .status(401)
          .header('www-authenticate', 'Bearer realm="kauri-metrics"')
          .send({
            error: {
              code: 'unauthenticated',
              message: 'GET /metrics needs "Authorization: Bearer <the --metrics-token>"',
            },
          });
      }
      void reply.type(this.registry.contentType);
      return this.registry.metrics();
    });
  }

  /** Starts the separate metrics listener; answers its URL. */
  async listen(spec: string): Promise<string> {
    const { host, port } = parseListen(spec);
    const server = createServer((req, res) => {
      if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics here\n');
        return;
      }
      this.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    this.server = server;
    const a = server.address();
    const bound = typeof a === 'object' && a ? a.port : port;
    return `http://${host.includes(':') ? `[${host}]` : host}:${bound}/metrics`;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }
}
