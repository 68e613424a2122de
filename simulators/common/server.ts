import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { TLSSocket } from 'node:tls';
import { pino, type Logger } from 'pino';
import type { SimClock } from './clock.js';
import { FaultInputError, parseFaultRequest, type FaultKind, type FaultMode, type FaultRegistry } from './faults.js';

// Fastify set up the way a payment gateway behaves: request bodies are read raw
// whatever the Content-Type says (WeChat clients often send none; the simulator parses
// the XML/form itself), bodies are size-limited, and HTTPS can ask for client
// certificates without refusing clients that have none (the route decides, as
// WeChat answers an error on /secapi/* rather than dropping the handshake).

export interface TlsOptions {
  key: string;
  cert: string;
  ca: string;
  /** Ask for a client certificate (verified against `ca`); the route checks `clientCertificate()`. */
  requestCert?: boolean;
}

export interface SimServerOptions {
  log: Logger;
  tls?: TlsOptions;
  bodyLimit?: number;
}

export function simLogger(name: string): Logger {
  // stdout carries the "listening on" line for whoever spawned us; logs go to stderr.
  return pino({ name, level: process.env.KAURI_LOG_LEVEL ?? 'info' }, pino.destination(2));
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The fault taken for this request by `installRequestFaults`, if any. */
    simFault?: FaultMode;
  }
}

export function createSimServer(opts: SimServerOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: opts.log,
    bodyLimit: opts.bodyLimit ?? 64 * 1024,
    // A request held by a `timeout` fault must not keep a stopping simulator alive.
    forceCloseConnections: true,
    logController: new LogController({ disableRequestLogging: process.env.KAURI_LOG_LEVEL !== 'debug' }),
    ...(opts.tls
      ? {
          https: {
            key: opts.tls.key,
            cert: opts.tls.cert,
            ca: opts.tls.ca,
            requestCert: opts.tls.requestCert ?? false,
            rejectUnauthorized: false,
          },
        }
      : {}),
  }) as unknown as FastifyInstance;
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  return app;
}

/** The raw request body as a Buffer (empty when there was none). */
export function rawBody(req: FastifyRequest): Buffer {
  return Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
}

export class BadJsonError extends Error {
  readonly code = 'invalid_json';
}

/** Parses a /sim/ control body as JSON (an empty body is `{}`). */
export function jsonBody(req: FastifyRequest): Record<string, unknown> {
  const raw = rawBody(req).toString('utf8').trim();
  if (raw === '') return {};
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (err) {
    throw new BadJsonError(`request body is not JSON: ${(err as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new BadJsonError('request body must be a JSON object');
  return v as Record<string, unknown>;
}

/** A JSON error answer for the /sim/ control API. */
export function controlError(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  return reply.code(status).type('application/json').send({ error: { code, message } });
}

/**
 * The verified client certificate of a TLS request, or undefined when the request is
 * plain HTTP, presented none, or presented one the CA did not sign.
 */
export function clientCertificate(req: FastifyRequest): { subject: Record<string, string | string[]> } | undefined {
  const socket = req.raw.socket as TLSSocket;
  if (typeof socket.getPeerCertificate !== 'function' || !socket.authorized) return undefined;
  const cert = socket.getPeerCertificate();
  if (!cert || Object.keys(cert).length === 0) return undefined;
  return { subject: cert.subject as unknown as Record<string, string | string[]> };
}

/**
 * Path faults (`/sim/faults` with a request path as target):
 * - `http500`: answered 500 before the request is processed;
 * - `timeout`: processed (it takes effect) but the answer never comes; the connection
 *   is held for `holdMs` protocol time and then dropped, so the client must find out
 *   what happened by querying;
 * - `unknown` and `bad-signature`: left on `req.simFault` for the channel's handler,
 *   which knows what an uncertain result or a bad signature looks like in its protocol.
 */
export function installRequestFaults(
  app: FastifyInstance,
  faults: FaultRegistry,
  clock: SimClock,
  opts: { targetOf?: (req: FastifyRequest) => string | undefined; holdMs?: number } = {},
): void {
  const kinds: FaultKind[] = ['timeout', 'http500', 'unknown', 'bad-signature'];
  app.addHook('preHandler', async (req, reply) => {
    const path = req.url.split('?')[0]!;
    if (path.startsWith('/sim/')) return;
    // A service name (e.g. Alipay's `service=`) first, then the path itself.
    const named = opts.targetOf?.(req);
    let target = named ?? path;
    let fault = named !== undefined ? faults.take(named, kinds) : undefined;
    if (!fault) {
      target = path;
      fault = faults.take(path, kinds);
    }
    if (!fault) return;
    req.log.info({ target, fault: fault.kind }, 'injecting fault');
    if (fault.kind === 'http500') {
      return reply.code(500).type('text/html').send('<html><body>500 Internal Server Error</body></html>');
    }
    req.simFault = fault;
  });
  app.addHook('onSend', async (req, reply, payload) => {
    if (req.simFault?.kind !== 'timeout') return payload;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, clock.duration(opts.holdMs ?? 60_000));
      req.raw.socket.once('close', () => {
        clearTimeout(t);
        resolve();
      });
    });
    req.raw.socket.destroy();
    return payload;
  });
}

/** GET/POST /sim/clock and GET/POST/DELETE /sim/faults. */
export function registerControlRoutes(
  app: FastifyInstance,
  deps: { clock: SimClock; faults: FaultRegistry; onClockChange: () => void },
): void {
  const clockView = () => ({
    now: deps.clock.now().toISOString(),
    offset_ms: deps.clock.offsetMs,
    time_scale: deps.clock.scale,
  });
  app.get('/sim/clock', async () => clockView());
  app.post('/sim/clock', async (req, reply) => {
    const body = jsonBody(req);
    if (typeof body.now !== 'string' || Number.isNaN(Date.parse(body.now))) {
      return controlError(
        reply,
        400,
        'invalid_clock',
        '"now" must be an ISO-8601 date-time, e.g. "2026-11-20T10:00:00+08:00"',
      );
    }
    deps.clock.set(new Date(body.now));
    deps.onClockChange();
    return clockView();
  });
  app.get('/sim/faults', async () => ({ faults: deps.faults.list() }));
  app.post('/sim/faults', async (req, reply) => {
    try {
      deps.faults.add(parseFaultRequest(jsonBody(req)));
    } catch (err) {
      if (err instanceof FaultInputError) return controlError(reply, 400, err.code, err.message);
      throw err;
    }
    return { faults: deps.faults.list() };
  });
  app.delete('/sim/faults', async () => {
    deps.faults.clear();
    return { faults: [] };
  });
  app.setErrorHandler((err, req, reply) => {
    if (err instanceof BadJsonError) return controlError(reply, 400, err.code, err.message);
    const status = (err as { statusCode?: number }).statusCode ?? 500;
    if (status >= 500) req.log.error({ err }, 'unhandled error');
    const code = (err as { code?: string }).code ?? 'internal_error';
    return controlError(reply, status, String(code).toLowerCase(), err instanceof Error ? err.message : String(err));
  });
}

/** Listens and returns the URL actually bound (port 0 picks a free port). */
export async function listen(app: FastifyInstance, port: number, host = '127.0.0.1'): Promise<string> {
  await app.listen({ port, host });
  const addr = app.server.address();
  const bound = typeof addr === 'object' && addr ? addr.port : port;
  // An https.Server (a tls.Server) can change its secure context; a plain one cannot.
  const scheme = 'setSecureContext' in app.server ? 'https' : 'http';
  return `${scheme}://${host}:${bound}`;
}
