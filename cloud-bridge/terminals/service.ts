import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Logger } from 'pino';
import type { Clock } from '../../protocol/clock.js';
import { KauriError } from '../../protocol/errors.js';
import type { EventLog } from '../events/event-log.js';
import type { ChannelRegistry } from '../channels/channel.js';
import type { PaymentService } from '../orders/payments.js';
import type { AccountsRepo } from '../store/accounts.js';
import type { Store } from '../store/db.js';
import type { OrdersRepo } from '../store/orders-repo.js';
import { TerminalCommandExecutor, type CheckoutPort, type FxPort } from './executor.js';
import { TerminalHub } from './hub.js';
import { TerminalsRepo, type Terminal } from './repo.js';
import { auditInsert, type AuditEntry } from '../hq/audit.js';
import { errorResponse, pairingCodeSchema, terminalSchema } from '../server/openapi-schemas.js';

// Counters: pairing, credentials, revocation, and the link hub. `startBridge` builds one
// of these and `kauri start` uses it to pair its own headless terminal.

export interface TerminalServiceDeps {
  store: Store;
  accounts: AccountsRepo;
  orders: OrdersRepo;
  events: EventLog;
  payments: PaymentService;
  clock: Clock;
  log: Logger;
  publicBaseUrl: () => string;
}

export class TerminalService {
  readonly repo: TerminalsRepo;
  readonly executor: TerminalCommandExecutor;
  readonly hub: TerminalHub;
  private checkouts?: CheckoutPort;
  private fx?: FxPort;
  private channels?: ChannelRegistry;

  constructor(readonly deps: TerminalServiceDeps) {
    this.repo = new TerminalsRepo(deps.store, deps.clock);
    this.executor = new TerminalCommandExecutor({
      terminals: this.repo,
      payments: deps.payments,
      orders: deps.orders,
      log: deps.log,
      checkouts: () => this.checkouts,
      fx: () => this.fx,
      channels: () => this.channels,
      accounts: deps.accounts,
    });
    this.hub = new TerminalHub({
      store: deps.store,
      events: deps.events,
      terminals: this.repo,
      accounts: deps.accounts,
      executor: this.executor,
      clock: deps.clock,
      log: deps.log,
      publicBaseUrl: deps.publicBaseUrl,
    });
  }

  /** Plugs in the one-code checkouts and the FX estimates once the bridge has them. */
  use(parts: { checkouts?: CheckoutPort; fx?: FxPort; channels?: ChannelRegistry }): void {
    if (parts.channels) this.channels = parts.channels;
    if (parts.checkouts) this.checkouts = parts.checkouts;
    if (parts.fx) this.fx = parts.fx;
  }

  async register(app: FastifyInstance): Promise<void> {
    await this.hub.register(app);
    registerTerminalApi(app, this);
    await this.hub.start();
  }

  /** `audit`, the back office's entry of who made the code, commits with it (the store's merchant filled in). */
  createPairingCode(
    storeIdOrCode: string,
    options: { merchantId?: string; terminalName?: string } = {},
    audit?: AuditEntry,
  ) {
    return this.repo.createPairingCode({ storeIdOrCode, ...options }, audit);
  }

  /** Revokes a terminal: refused from now on, and its open link (on any instance) is cut. */
  async revoke(terminalId: string, merchantId?: string, audit?: AuditEntry): Promise<Terminal> {
    return revokeTerminal(this.deps.store, this.deps.events, terminalId, { merchantId, audit, repo: this.repo });
  }

  close(): Promise<void> {
    return this.hub.close();
  }
}

/**
 * Revokes a terminal (the hub's service and the admin CLI alike): the revoked mark, the
 * `terminal.revoked` event that cuts its link on every instance, and the audit row commit in one
 * transaction, so a crash can leave neither a revoked counter whose open link is never cut nor
 * a revocation without a record of who made it. `merchantId`: refuse another merchant's counter.
 */
export async function revokeTerminal(
  store: Store,
  events: EventLog,
  terminalId: string,
  options: { merchantId?: string; audit?: AuditEntry; repo?: TerminalsRepo } = {},
): Promise<Terminal> {
  const repo = options.repo ?? new TerminalsRepo(store);
  const t = await repo.get(terminalId);
  if (!t || (options.merchantId && t.merchantId !== options.merchantId))
    throw new KauriError('not_found', `No terminal "${terminalId}"`);
  await store.db.transaction().execute(async (trx) => {
    await repo.markRevoked(terminalId, trx);
    const event = await events.appendIn(trx, {
      type: 'terminal.revoked',
      merchantId: t.merchantId,
      storeId: t.storeId,
      payload: { terminalId },
    });
    if (options.audit) await auditInsert(trx, options.audit, new Date(event.createdAt)).execute();
  });
  events.poke();
  return (await repo.get(terminalId))!;
}

function registerTerminalApi(app: FastifyInstance, service: TerminalService): void {
  const merchantOf = async (req: FastifyRequest): Promise<string> => {
    const m = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
    const merchantId = m ? await service.deps.accounts.merchantForApiKey(m[1]!) : undefined;
    if (!merchantId)
      throw new KauriError('unauthenticated', 'Send the merchant API key as "Authorization: Bearer <key>"');
    return merchantId;
  };
  const codeBody = z.object({ store: z.string().min(1).max(64), name: z.string().min(1).max(60).optional() });

  const tags = ['terminals'];
  const pairingCodeRoute = {
    schema: {
      tags,
      summary: 'A one-time code that pairs a new counter with a store',
      operationId: 'createPairingCode',
      body: codeBody,
      response: { 201: pairingCodeSchema, ...errorResponse },
    },
  };
  app.post('/api/v1/terminals/pairing-codes', pairingCodeRoute, async (req, reply) => {
    const merchantId = await merchantOf(req);
    const body = codeBody.safeParse(req.body);
    if (!body.success) throw new KauriError('invalid_request', 'Send {"store": "<store id or code>", "name"?: "…"}');
    const code = await service.createPairingCode(body.data.store, { merchantId, terminalName: body.data.name });
    return reply.code(201).send({ code: code.code, store_id: code.storeId, expires_at: code.expiresAt });
  });
  const listRoute = {
    schema: {
      tags,
      summary: 'The merchant’s counters, with whether each is connected now and its devices’ health',
      operationId: 'listTerminals',
      response: {
        200: z.object({ terminals: z.array(terminalSchema.extend({ connected: z.boolean() })) }),
        ...errorResponse,
      },
    },
  };
  app.get('/api/v1/terminals', listRoute, async (req) => {
    const merchantId = await merchantOf(req);
    const list = await service.repo.list({ merchantId });
    return { terminals: list.map((t) => ({ ...t, connected: service.hub.isConnected(t.id) })) };
  });
  const revokeRoute = {
    schema: {
      tags,
      summary: 'Revoke a counter: its link is refused from now on',
      operationId: 'revokeTerminal',
      params: z.object({ id: z.string().max(64) }),
      response: { 200: terminalSchema, ...errorResponse },
    },
  };
  app.post<{ Params: { id: string } }>('/api/v1/terminals/:id/revoke', revokeRoute, async (req) => {
    const merchantId = await merchantOf(req);
    return service.revoke(req.params.id, merchantId);
  });
}
