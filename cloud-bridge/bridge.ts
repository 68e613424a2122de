import { join, resolve } from 'node:path';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import formbody from '@fastify/formbody';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import { sql } from 'kysely';
import { systemClock, type Clock } from '../protocol/clock.js';
import { money } from '../protocol/money.js';
import { openStore, redactUrl, type Store } from './store/db.js';
import { AccountsRepo } from './store/accounts.js';
import { OrdersRepo } from './store/orders-repo.js';
import { SecretBox } from './store/secret-box.js';
import { EventLog } from './events/event-log.js';
import { Scheduler } from './jobs/scheduler.js';
import { FileStore } from './files/file-store.js';
import { MessageRecorder } from './orders/recorder.js';
import type { ChannelRegistry } from './channels/channel.js';
import { defaultChannels } from './channels/index.js';
import { PaymentService } from './orders/payments.js';
import { registerNotifyRoutes } from './orders/notify-route.js';
import { installErrorHandling } from './server/errors.js';
import { registerMerchantApi } from './server/merchant-api.js';
import { Metrics, type MetricsAccess } from './server/metrics.js';
import { installPageSecurity } from './server/page-security.js';
import { createLogger } from './logger.js';
import { installFx, type FxOptions, type FxService, type PullReport } from './fx/index.js';
import { registerBankPages } from './server/bank-pages.js';
import { TerminalService } from './terminals/service.js';
import { checkoutPortOf } from './terminals/executor.js';
import { CheckoutService } from './onecode/checkouts.js';
import { registerCheckoutApi } from './onecode/api.js';
import { registerLandingPages } from './onecode/landing.js';
import { WebhookService } from './webhooks/service.js';
import { registerWebhookApi } from './webhooks/api.js';
import type { Resolver } from './webhooks/destination.js';
import { registerOpenApi } from './server/openapi.js';
import { ReconcileService } from './reconcile/runs/service.js';
import { installReconcileJobs, type ReconcileScheduleOptions } from './reconcile/runs/jobs.js';
import { HqSessions } from './hq/sessions.js';
import { registerHq } from './hq/routes.js';
import { AuditLog } from './hq/audit.js';
import { People } from './hq/people.js';
import { TotpService } from './hq/totp.js';
import type { Role } from './hq/scope.js';
import { PayoutService } from './payouts/service.js';
import { installPayoutJobs, type PayoutScheduleOptions } from './payouts/jobs.js';

/**
 * One access line per request, when it completes, instead of Fastify's two (the first, on
 * arrival, sent every header through redaction): logging was about a tenth of a busy
 * bridge's CPU in the payments benchmark. Fastify's other lines (errors) are unchanged.
 */
// Query values that grant something (WeChat's one-time OAuth code and its state on the
// one-code page, a token or key anyone might pass): the access line keeps their names only.
const SECRET_QUERY = /([?&](?:code|state|auth_code|token|access_token|secret|password|key)=)[^&#]*/gi;

/** The request's URL as the access log keeps it. */
function loggedUrl(url: string): string {
  return url.includes('?') ? url.replace(SECRET_QUERY, '$1[redacted]') : url;
}

class AccessLog extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, req: FastifyRequest, reply: FastifyReply): void {
    const line = {
      method: req.method,
      url: loggedUrl(req.url),
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 10) / 10,
    };
    if (error) reply.log.error({ ...line, err: error }, 'request errored');
    else reply.log.info(line, 'request');
  }
}

export interface BridgeOptions {
  dbUrl: string;
  port?: number;
  host?: string;
  /** The URL customers and channels reach this bridge at (default http://host:port). */
  publicBaseUrl?: string;
  /** Where raw channel files are kept (content-addressed). */
  filesDir?: string;
  secretKey: string;
  log?: Logger;
  clock?: Clock;
  channels?: ChannelRegistry;
  /** Run the scheduler (jobs and tasks) in this instance (default true). */
  runJobs?: boolean;
  /** FX: rate sources, limits and quotes; `pullAtStart: false` skips the first pull. */
  fx?: FxOptions & { pullAtStart?: boolean };
  /** Requests a minute per client on the one-code pages (default KAURI_LANDING_RATE_LIMIT or 120). */
  landingRateLimitPerMinute?: number;
  /** Channel notifies a minute per source address (KAURI_NOTIFY_RATE_LIMIT; default 30000). */
  notifyRateLimitPerMinute?: number;
  /** Reconciliation: suspense window and the statement download schedule. */
  reconcile?: ReconcileScheduleOptions & { windowMinutes?: number };
  /**
   * Which proxies' X-Forwarded-For to believe for the client's address (rate limits, HQ
   * logins, the IP channels are told): their addresses or CIDRs, or a hop count. Default
   * KAURI_TRUST_PROXY, else none: a client cannot pick its own address by sending the header.
   */
  trustProxy?: TrustProxy;
  /**
   * Who may read /metrics: a bearer token on this port and/or a separate listen address.
   * Default KAURI_METRICS_TOKEN and KAURI_METRICS_LISTEN; with neither, /metrics answers 403.
   */
  metrics?: MetricsAccess;
  /** How webhook host names are resolved at delivery time (tests inject one; default the system's). */
  webhookResolver?: Resolver;
  /** Payouts: how often the scheduled run looks for merchants due (0: never). */
  payouts?: PayoutScheduleOptions;
  /** The back office: roles that must sign in with TOTP, and user names exempt from it (the demo's). */
  hq?: { requireTotp?: readonly Role[]; totpExemptUsers?: readonly string[] };
}

export type TrustProxy = boolean | string | ((address: string, hop: number) => boolean);

/** KAURI_TRUST_PROXY / --trust-proxy: "10.0.0.0/8,127.0.0.1", a hop count, or "true" (every hop: only behind a proxy that all traffic must pass). */
export function parseTrustProxy(spec: string | undefined): TrustProxy {
  const s = (spec ?? '').trim();
  if (!s || s === 'false') return false;
  if (s === 'true') return true;
  if (/^\d+$/.test(s)) {
    const hops = Number(s);
    return (_address, hop) => hop < hops;
  }
  return s;
}

export interface Bridge {
  readonly app: FastifyInstance;
  /** Every route the bridge answers (method and URL pattern), as registered. */
  readonly routes: ReadonlyArray<{ method: string; url: string }>;
  readonly url: string;
  readonly store: Store;
  readonly accounts: AccountsRepo;
  readonly orders: OrdersRepo;
  readonly events: EventLog;
  readonly scheduler: Scheduler;
  readonly files: FileStore;
  readonly payments: PaymentService;
  readonly fx: FxService;
  /** What the start-up rate pull found (absent when skipped); `fx.pullAll()` pulls again, e.g. after seeding accounts. */
  readonly fxStartReport?: PullReport;
  readonly terminals: TerminalService;
  readonly checkouts: CheckoutService;
  readonly webhooks: WebhookService;
  readonly reconcile: ReconcileService;
  readonly payouts: PayoutService;
  /** The back office's audit log and people (users, invitations, sessions). */
  readonly audit: AuditLog;
  readonly people: People;
  readonly channels: ChannelRegistry;
  readonly log: Logger;
  readonly clock: Clock;
  /** The separate metrics listener's URL (with metrics.listen). */
  readonly metricsUrl?: string;
  close(): Promise<void>;
}

/** Builds the bridge on its store and starts listening. */
export async function startBridge(options: BridgeOptions): Promise<Bridge> {
  const log = options.log ?? createLogger();
  const clock = options.clock ?? systemClock();
  const store = await openStore(options.dbUrl);
  const box = new SecretBox(options.secretKey);
  const accounts = new AccountsRepo(store, box, { clock });
  await accounts.startCaches(log.child({ part: 'accounts' }));
  const orders = new OrdersRepo(store, clock);
  const events = new EventLog(store, clock);
  const scheduler = new Scheduler(store, clock, log.child({ part: 'scheduler' }));
  const files = new FileStore(resolve(options.filesDir ?? join('data', 'files')), store, clock);
  const recorder = new MessageRecorder(store, clock);
  const channels = options.channels ?? defaultChannels();
  const metrics = new Metrics();

  const app = Fastify({
    loggerInstance: log as unknown as FastifyBaseLogger,
    logController: new AccessLog(),
    bodyLimit: 256 * 1024,
    trustProxy: options.trustProxy ?? parseTrustProxy(process.env.KAURI_TRUST_PROXY),
  });
  const routes: Array<{ method: string; url: string }> = [];
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) routes.push({ method, url: r.url });
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandling(app);
  installPageSecurity(app);
  const metricsAccess: MetricsAccess = {
    token: options.metrics?.token ?? (process.env.KAURI_METRICS_TOKEN || undefined),
    listen: options.metrics?.listen ?? (process.env.KAURI_METRICS_LISTEN || undefined),
  };
  metrics.install(app, metricsAccess);

  const host = options.host ?? '127.0.0.1';
  // The public URL is needed before listening (channels get notify URLs), so when the
  // port is chosen by the OS we fill it in after listen through this holder.
  // A fixed port gives the URL at once: the start-up rate pull already builds channel contexts.
  const urlHolder = {
    base: options.publicBaseUrl ?? (options.port === 0 ? '' : `http://${host}:${options.port ?? 7300}`),
  };
  const payments = new PaymentService({
    accounts,
    orders,
    events,
    scheduler,
    channels,
    recorder,
    clock,
    log: log.child({ part: 'payments' }),
    get publicBaseUrl() {
      return urlHolder.base;
    },
  } as ConstructorParameters<typeof PaymentService>[0]);

  const checkouts = new CheckoutService({
    store,
    accounts,
    orders,
    payments,
    events,
    scheduler,
    channels,
    clock,
    log: log.child({ part: 'checkouts' }),
    get publicBaseUrl() {
      return urlHolder.base;
    },
  });
  const webhooks = new WebhookService({
    store,
    box,
    accounts,
    events,
    scheduler,
    clock,
    log: log.child({ part: 'webhooks' }),
    resolve: options.webhookResolver,
  });
  await registerOpenApi(app, { publicBaseUrl: () => urlHolder.base });

  app.get('/healthz', async () => {
    await sql`select 1`.execute(store.db);
    return { status: 'ok', db: store.dialect, channels: channels.names() };
  });

  registerMerchantApi(app, {
    accounts,
    payments,
    orders,
    metrics,
    get publicBaseUrl() {
      return urlHolder.base;
    },
  } as Parameters<typeof registerMerchantApi>[1]);
  registerBankPages(app, {
    orders,
    accounts,
    channels,
    clock,
    get publicBaseUrl() {
      return urlHolder.base;
    },
  });
  const { fx, startReport: fxStartReport } = await installFx(app, {
    store,
    accounts,
    channels,
    events,
    scheduler,
    payments,
    clock,
    log,
    options: options.fx,
  });
  registerCheckoutApi(app, {
    accounts,
    checkouts,
    get publicBaseUrl() {
      return urlHolder.base;
    },
  });
  registerWebhookApi(app, { accounts, webhooks });

  await registerNotifyRoutes(app, {
    payments,
    metrics,
    rateLimitPerMinute: options.notifyRateLimitPerMinute ?? (Number(process.env.KAURI_NOTIFY_RATE_LIMIT) || undefined),
  });
  await app.register(formbody);
  await registerLandingPages(app, {
    checkouts,
    accounts,
    orders,
    log: log.child({ part: 'onecode' }),
    get publicBaseUrl() {
      return urlHolder.base;
    },
    rateLimitPerMinute:
      options.landingRateLimitPerMinute ?? (Number(process.env.KAURI_LANDING_RATE_LIMIT) || undefined),
    bankQuote: async (merchantId, amountMinor, currency) => {
      const q = await fx.quote(merchantId, 'bank', money(amountMinor, currency));
      return { quoteId: q.quote_id, cnyMinor: q.cny_minor, rate: q.rate, markup: q.markup, rateTime: q.rate_time };
    },
  });
  const terminals = new TerminalService({
    store,
    accounts,
    orders,
    events,
    payments,
    clock,
    log: log.child({ part: 'terminals' }),
    publicBaseUrl: () => urlHolder.base,
  });
  await terminals.register(app);
  const reconcile = new ReconcileService({
    store,
    accounts,
    channels,
    files,
    clock,
    log: log.child({ part: 'reconcile' }),
    windowMinutes: options.reconcile?.windowMinutes,
    contextFor: (account) => payments.channelContext(account),
  });
  installReconcileJobs(scheduler, reconcile, channels, clock, log.child({ part: 'reconcile' }), options.reconcile);
  const payouts = new PayoutService({
    store,
    accounts,
    reconcile,
    events,
    files,
    clock,
    log: log.child({ part: 'payouts' }),
  });
  installPayoutJobs(scheduler, payouts, clock, log.child({ part: 'payouts' }), options.payouts);
  const audit = new AuditLog(store, { clock });
  const people = new People({ store, accounts, audit, clock });
  const totp = new TotpService({ store, box, clock });
  await registerHq(app, {
    store,
    people,
    totp,
    audit,
    requireTotp: options.hq?.requireTotp,
    totpExemptUsers: options.hq?.totpExemptUsers,
    accounts,
    reconcile,
    clock,
    log: log.child({ part: 'hq' }),
    sessions: new HqSessions({ store, accounts, clock, people, totp }),
    createPairingCode: (store, o, audit) => terminals.createPairingCode(store, o, audit),
    payouts,
    webhooks,
    backOffice: { store, orders, payments, webhooks, audit },
    terminals: {
      list: (f) => terminals.repo.list(f),
      isConnected: (id) => terminals.hub.isConnected(id),
      get: (id) => terminals.repo.get(id),
      revoke: (id, merchantId, audit) => terminals.revoke(id, merchantId, audit),
      setManagerPin: (storeId, pin, audit) => terminals.repo.setManagerPin(storeId, pin, audit),
      managerPinsSetAt: (ids) => terminals.repo.managerPinsSetAt(ids),
    },
    get publicBaseUrl() {
      return urlHolder.base;
    },
  });
  terminals.use({
    channels,
    checkouts: checkoutPortOf(checkouts),
    fx: {
      async estimate(merchantId, channel, amountMinor, currency) {
        const q = await fx.quote(merchantId, channel as 'wechat' | 'alipay', money(amountMinor, currency));
        return { cnyMinor: q.cny_minor, rate: q.rate, rateTime: q.rate_time };
      },
    },
  });

  await app.listen({ port: options.port ?? 7300, host });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const url = `http://${host}:${port}`;
  if (!urlHolder.base) urlHolder.base = url;
  const metricsUrl = metricsAccess.listen ? await metrics.listen(metricsAccess.listen) : undefined;
  if (options.runJobs !== false) scheduler.start();
  log.info(
    {
      url,
      db: redactUrl(store.url),
      channels: channels.names(),
      metrics: metricsUrl ?? (metricsAccess.token ? 'bearer token' : 'off'),
    },
    'bridge listening',
  );

  return {
    app,
    routes,
    url,
    store,
    accounts,
    audit,
    people,
    orders,
    events,
    scheduler,
    files,
    payments,
    fx,
    fxStartReport,
    terminals,
    checkouts,
    webhooks,
    reconcile,
    payouts,
    channels,
    log,
    clock,
    metricsUrl,
    async close() {
      await metrics.close();
      await scheduler.stop();
      webhooks.close();
      await terminals.close();
      await app.close();
      await channels.shutdown();
      await accounts.closeCaches();
      await store.close();
    },
  };
}
