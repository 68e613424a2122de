import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import { z } from 'zod';
import { isKauriError, ERRORS } from '../../protocol/errors.js';
import type { Counter } from './counter.js';

// The cashier and customer screens over loopback HTTP (`kauri terminal --headless`, and
// what the Electron windows load). The screens read the counter's state from an event
// stream and act through a handful of POSTs; the counter does everything else.

/** The built renderer (terminal/renderer/dist), found from here in source and in dist/. */
export function rendererDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'terminal', 'renderer', 'dist');
    if (existsSync(join(dir, 'package.json')) && existsSync(candidate)) return candidate;
    if (existsSync(join(dir, 'package.json'))) break;
    dir = dirname(dir);
  }
  return join(dir, 'terminal', 'renderer', 'dist');
}

/** What the screens may ask for: validated here, as the Electron preload validates it there. */
export const UiActions = {
  charge: z.object({ amount: z.string().max(20) }),
  // Long garbage from a scanner is the counter's to refuse (scan-error), not a 400 the screen hides.
  scan: z.object({ code: z.string().max(4096), amount: z.string().max(20) }),
  cancel: z.object({}),
  refund: z.object({
    sale: z.string().min(1).max(64),
    amount: z.string().max(20).default(''),
    pin: z.string().max(12),
  }),
  settlement: z.object({}),
  'close-day': z.object({ pin: z.string().max(12) }),
  dismiss: z.object({}),
  amount: z.object({ amount: z.string().max(20) }),
  reconnect: z.object({}),
} as const;
export type UiAction = keyof typeof UiActions;

export async function runAction(counter: Counter, action: UiAction, raw: unknown): Promise<unknown> {
  const body = UiActions[action].parse(raw ?? {}) as any;
  switch (action) {
    case 'charge':
      return counter.charge(body.amount);
    case 'scan':
      return counter.scan(body.code, body.amount);
    case 'cancel':
      return counter.cancel();
    case 'refund':
      return counter.refund(body.sale, body.amount, body.pin);
    case 'settlement':
      return counter.settlementReport();
    case 'close-day':
      return counter.closeDay(body.pin);
    case 'dismiss':
      counter.dismiss();
      return { ok: true };
    case 'amount':
      counter.setKeyedAmount(body.amount);
      return { ok: true };
    case 'reconnect':
      counter.reconnect();
      return { ok: true };
  }
}

export async function startUiServer(
  counter: Counter,
  options: { port: number; host?: string },
): Promise<{ app: FastifyInstance; url: string }> {
  const app = Fastify({ logger: false });
  const dir = rendererDir();
  const index = () => {
    const file = join(dir, 'index.html');
    if (!existsSync(file)) return '<!doctype html><p>The screens are not built: run <code>npm run build</code>.</p>';
    return readFileSync(file, 'utf8');
  };
  const host = options.host ?? '127.0.0.1';

  // Loopback only, and only for pages that name this server: another site open in a
  // browser on this machine cannot drive the counter (DNS rebinding, cross-origin POSTs).
  app.addHook('onRequest', async (req, reply) => {
    const hostHeader = req.headers.host ?? '';
    if (!/^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/.test(hostHeader))
      return reply.code(403).send({ error: { code: 'forbidden', message: 'loopback only' } });
    const origin = req.headers.origin;
    if (req.method === 'POST' && origin && new URL(origin).host !== hostHeader)
      return reply.code(403).send({ error: { code: 'forbidden', message: 'cross-origin request refused' } });
  });
  if (existsSync(join(dir, 'assets')))
    await app.register(fastifyStatic, { root: join(dir, 'assets'), prefix: '/assets/' });
  app.get('/', async (_req, reply) => reply.redirect('/cashier'));
  for (const page of ['/cashier', '/customer'])
    app.get(page, async (_req, reply) => reply.type('text/html').send(index()));

  // Both screens stream the same state: one snapshot per change serves them all. A burst
  // of changes in one turn of the event loop is sent once, without waiting on a timer (the
  // customer sees the QR as soon as the bridge has answered).
  let version = 0;
  let frame: { version: number; at: number; data: Promise<string> } | undefined;
  counter.on('change', () => version++);
  const current = (): Promise<string> => {
    const now = Date.now();
    if (!frame || frame.version !== version || now - frame.at > 250)
      frame = { version, at: now, data: counter.snapshot().then((s) => `data: ${JSON.stringify(s)}\n\n`) };
    return frame.data;
  };
  app.get('/api/state', async () => counter.snapshot());
  app.get('/api/stream', (req, reply) => {
    reply.raw.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    let queued: NodeJS.Immediate | undefined;
    const push = () => {
      if (queued) return;
      queued = setImmediate(async () => {
        queued = undefined;
        try {
          reply.raw.write(await current());
        } catch {
          /* closed */
        }
      });
    };
    counter.on('change', push);
    const tick = setInterval(push, 1000); // countdowns and "now"
    push();
    req.raw.on('close', () => {
      counter.off('change', push);
      clearInterval(tick);
      clearImmediate(queued);
    });
  });
  app.post<{ Params: { action: string } }>('/api/:action', async (req, reply) => {
    const action = req.params.action as UiAction;
    if (!(action in UiActions))
      return reply.code(404).send({ error: { code: 'not_found', message: 'no such action' } });
    try {
      return await runAction(counter, action, req.body);
    } catch (err) {
      if (isKauriError(err))
        return reply.code(err.status).send({ error: { code: err.code, message: err.message, zh: err.zh } });
      if (err instanceof z.ZodError)
        return reply.code(400).send({
          error: {
            code: 'invalid_request',
            message: err.issues.map((i) => i.message).join('; '),
            zh: ERRORS.invalid_request.zh,
          },
        });
      throw err;
    }
  });

  await app.listen({ port: options.port, host });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return { app, url: `http://${host}:${port}` };
}
