import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { AccountsRepo, User } from '../store/accounts.js';
import type { ReconcileService } from '../reconcile/runs/service.js';
import { checkChannel, checkDay, settlementCsv } from '../reconcile/runs/service.js';
import { RunError } from '../reconcile/runs/errors.js';
import { DIFFERENCE_COLUMNS, differenceCsvCells } from '../reconcile/differences.js';
import { csvDocument } from '../csv.js';
import { HqSessions, isHq, SESSION_COOKIE, type Session } from './sessions.js';
import { dateOfDayNumber, channelDayNumber } from '../reconcile/time.js';
import type { Clock } from '../../protocol/clock.js';
import type { Terminal } from '../terminals/repo.js';
import type { PayoutService } from '../payouts/service.js';
import { registerPayoutRoutes } from '../payouts/routes.js';
import { KauriError } from '../../protocol/errors.js';
import type { Store } from '../store/db.js';
import type { AuditEntry, AuditLog } from './audit.js';
import type { People } from './people.js';
import type { TotpService } from './totp.js';
import type { Role } from './scope.js';
import { registerPeopleRoutes } from './people-routes.js';
import { registerDeveloperRoutes } from './developers-routes.js';
import { registerMerchantRoutes } from './merchants-routes.js';
import { registerStoreRoutes } from './stores-routes.js';
import type { WebhookService } from '../webhooks/service.js';
import { registerBackOfficePayments, type BackOfficePaymentDeps } from './payments-routes.js';

// The back office at /hq: the console (a React app built by `npm run build` into
// console/dist, its files under /hq/console/assets/) and the reconciliation workspace it
// frames at /hq/workspace (assets/hq.html + hq.js + hq.css, Chart.js from node_modules: the
// machines have no internet), with their JSON API under /hq/api. HQ users see everything; a
// merchant's users see their own merchant's settlement and nothing else.

export interface HqDeps {
  accounts: AccountsRepo;
  reconcile: ReconcileService;
  sessions: HqSessions;
  clock: Clock;
  log: Logger;
  /**
   * Terminal pairing codes (TerminalService.createPairingCode); `audit` commits with the code
   * (its merchant, target and expiry filled in by the repository).
   */
  createPairingCode(
    storeIdOrCode: string,
    options: { merchantId?: string; terminalName?: string },
    audit?: AuditEntry,
  ): Promise<{ code: string; storeId: string; expiresAt: string }>;
  /**
   * The counters (TerminalService.repo) and whether one is linked to this bridge instance (its
   * hub); revoking one (TerminalService.revoke) and the stores' manager PINs (TerminalsRepo).
   */
  terminals?: {
    list(filter: { merchantId?: string; storeId?: string }): Promise<Terminal[]>;
    isConnected(id: string): boolean;
    get?(id: string): Promise<Terminal | undefined>;
    revoke?(id: string, merchantId?: string, audit?: AuditEntry): Promise<Terminal>;
    setManagerPin?(storeId: string, pin: string, audit?: AuditEntry): Promise<void>;
    managerPinsSetAt?(storeIds: readonly string[]): Promise<Map<string, string>>;
  };
  /** The URL people reach the bridge at: when it is https the cookie is Secure whatever the hop before us spoke. */
  readonly publicBaseUrl?: string;
  /** Payouts to merchants (the Payouts tab and the settlement's operator fees). */
  payouts?: PayoutService;
  store: Store;
  people: People;
  totp: TotpService;
  audit: AuditLog;
  /** Roles that must sign in with TOTP (`kauri bridge --require-totp`); none by default. */
  requireTotp?: readonly Role[];
  /** User names the requirement never applies to (the demo's HQ user). */
  totpExemptUsers?: readonly string[];
  /** Merchants' webhook endpoints (the Developers page); without it the webhook routes answer not_found. */
  webhooks?: Pick<WebhookService, 'getEndpoint' | 'setEndpoint'>;
  /** Payments, refunds, reports and exports of the back office (payments-routes.ts). */
  backOffice?: BackOfficePaymentDeps;
}

/** Options of the session check: a change (CSRF, JSON), HQ roles only, or reachable before a required TOTP is set up. */
export interface AuthOptions {
  write?: boolean;
  hq?: boolean;
  totpSetup?: boolean;
}
export type Auth = (req: FastifyRequest, opts?: AuthOptions) => Promise<Session>;

function assetsDir(): string {
  const here = fileURLToPath(new URL('./assets/', import.meta.url));
  if (existsSync(here)) return here;
  // Compiled to dist/: the assets stay beside the sources.
  return fileURLToPath(new URL('../../../cloud-bridge/hq/assets/', import.meta.url));
}

/** The built console (console/dist), beside the sources also when running from dist/. */
function consoleDir(): string {
  const here = fileURLToPath(new URL('./console/dist/', import.meta.url));
  if (existsSync(here)) return here;
  return fileURLToPath(new URL('../../../cloud-bridge/hq/console/dist/', import.meta.url));
}

const CONSOLE_TYPES: Record<string, string> = {
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
  png: 'image/png',
  woff2: 'font/woff2',
};

const ASSETS: Record<string, string> = {
  'hq.js': 'text/javascript; charset=utf-8',
  'hq.css': 'text/css; charset=utf-8',
};

const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";
// The workspace is framed by the console, on this origin only.
const WORKSPACE_CSP = CSP.replace("frame-ancestors 'none'", "frame-ancestors 'self'");

function cookieOf(req: FastifyRequest): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === SESSION_COOKIE) return v.join('=');
  }
  return undefined;
}

function setCookie(
  reply: FastifyReply,
  req: FastifyRequest,
  value: string,
  maxAgeS: number,
  publicBaseUrl: string | undefined,
): void {
  // Behind a TLS-terminating proxy without --trust-proxy the request looks like http, yet the
  // browser is on https: the public URL is what the browser sees.
  const secure = req.protocol === 'https' || /^https:/i.test(publicBaseUrl ?? '') ? '; Secure' : '';
  void reply.header(
    'set-cookie',
    `${SESSION_COOKIE}=${value}; Path=/hq; HttpOnly; SameSite=Strict; Max-Age=${maxAgeS}${secure}`,
  );
}

function str(v: unknown, name: string, max = 200): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > max)
    throw new RunError('bad_argument', `${name} is required (text up to ${max} characters)`);
  return v;
}

function body(req: FastifyRequest): Record<string, unknown> {
  const b = req.body;
  return b && typeof b === 'object' && !Buffer.isBuffer(b) ? (b as Record<string, unknown>) : {};
}

export async function registerHq(app: FastifyInstance, deps: HqDeps): Promise<void> {
  const dir = assetsDir();
  // chart.js exports no path to its UMD build: find the package, then the file beside it.
  const chartPath = join(dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.min.js');

  await app.register(async (hq) => {
    // Errors are answered by the bridge's one error boundary (server/errors.ts).
    hq.addHook('onSend', async (req, reply) => {
      const framed = req.routeOptions.url === '/hq/workspace';
      void reply.header('content-security-policy', framed ? WORKSPACE_CSP : CSP);
      if (framed) void reply.header('x-frame-options', 'SAMEORIGIN');
      void reply.header('x-content-type-options', 'nosniff');
      void reply.header('referrer-policy', 'same-origin');
      void reply.header('cache-control', 'no-store');
    });

    const consoleFiles = consoleDir();
    const workspace = async (_req: FastifyRequest, reply: FastifyReply) =>
      reply.type('text/html; charset=utf-8').send(await readFile(`${dir}hq.html`));
    // Without a built console (a checkout before `npm run build`) /hq is still the workspace,
    // so HQ never loses reconciliation to a missing build.
    const page = async (req: FastifyRequest, reply: FastifyReply) => {
      const index = `${consoleFiles}index.html`;
      if (!existsSync(index)) return workspace(req, reply);
      return reply.type('text/html; charset=utf-8').send(await readFile(index));
    };
    hq.get('/hq', page);
    hq.get('/hq/', page);
    hq.get('/hq/workspace', workspace);
    hq.get<{ Params: { name: string } }>('/hq/console/assets/:name', async (req, reply) => {
      const name = req.params.name;
      const type = CONSOLE_TYPES[name.split('.').pop() ?? ''];
      // Only the build's own file names: no path separators, no dot-files.
      if (!type || !/^[\w-]+(\.[\w-]+)*$/.test(name)) throw new RunError('not_found', 'no such asset');
      const file = `${consoleFiles}assets/${name}`;
      if (!existsSync(file)) throw new RunError('not_found', 'no such asset');
      return reply.type(type).send(await readFile(file));
    });
    hq.get<{ Params: { name: string } }>('/hq/assets/:name', async (req, reply) => {
      const name = req.params.name;
      if (name === 'chart.umd.min.js')
        return reply.type('text/javascript; charset=utf-8').send(await readFile(chartPath));
      const type = ASSETS[name];
      if (!type) throw new RunError('not_found', 'no such asset');
      return reply.type(type).send(await readFile(`${dir}${name}`));
    });

    /** The session of the request, or 401; changes must carry the CSRF token and be JSON. */
    const totpRequired = (s: Session): boolean =>
      (deps.requireTotp ?? []).includes(s.scope.role) && !(deps.totpExemptUsers ?? []).includes(s.user.username);
    const auth: Auth = async (req, opts = {}) => {
      const session = await deps.sessions.get(cookieOf(req));
      if (!session) throw new RunError('unauthorized', 'log in first');
      // A user whose role must use TOTP and has not set it up reaches only the TOTP setup.
      if (!opts.totpSetup && !session.totpEnabled && totpRequired(session)) throw new KauriError('totp_setup_required');
      if (opts.write) {
        if (!String(req.headers['content-type'] ?? '').startsWith('application/json'))
          throw new RunError('forbidden', 'changes are JSON requests from the HQ page');
        if (!HqSessions.csrfMatches(session, req.headers['x-csrf-token']))
          throw new RunError('forbidden', 'missing or wrong CSRF token: reload the page');
      }
      if (opts.hq !== false && !isHq(session.user)) throw new RunError('forbidden', 'only HQ users may do this');
      return session;
    };
    const who = (u: User) => u.username;
    const me = (s: Session) => ({
      username: s.user.username,
      role: s.scope.role,
      merchantId: s.user.merchant_id,
      hq: isHq(s.user),
      csrf: s.csrf,
      user: { id: s.user.id, username: s.user.username, role: s.scope.role, merchantId: s.user.merchant_id },
      scope: s.scope,
      totpEnabled: s.totpEnabled,
      totpRequired: totpRequired(s),
    });
    /** The audit entry of a change made through this page: the service writes it in the change's transaction. */
    const entry = (req: FastifyRequest, s: Session, e: Omit<AuditEntry, 'actor' | 'ip'>): AuditEntry => ({
      ...e,
      actor: s.scope,
      ip: req.ip,
    });
    /**
     * A download's audit entry (a read, so no transaction to join): written before the first byte,
     * so a file nobody is recorded as having taken is never sent; a failed write fails the request.
     */
    const logDownload = (req: FastifyRequest, s: Session, e: Omit<AuditEntry, 'actor' | 'ip'>) =>
      deps.audit.record(entry(req, s, e));
    const today = () => dateOfDayNumber(channelDayNumber(deps.clock.now().getTime()));
    const range = (q: Record<string, string | undefined>): { from: string; to: string } => {
      const to = q.to ? checkDay(q.to) : today();
      const from = q.from
        ? checkDay(q.from)
        : dateOfDayNumber(channelDayNumber(Date.parse(`${to}T12:00:00+08:00`)) - 13);
      if (from > to) throw new RunError('bad_argument', 'from is after to');
      return { from, to };
    };

    hq.post('/hq/api/login', async (req, reply) => {
      if (!String(req.headers['content-type'] ?? '').startsWith('application/json'))
        throw new RunError('forbidden', 'log in from the HQ page');
      const b = body(req);
      const { token, session } = await deps.sessions.login(
        String(b.username ?? '').slice(0, 100),
        String(b.password ?? '').slice(0, 200),
        req.ip,
        {
          totp: typeof b.totp === 'string' ? b.totp.slice(0, 10) : undefined,
          userAgent: typeof req.headers['user-agent'] === 'string' ? req.headers['user-agent'] : undefined,
        },
      );
      setCookie(reply, req, token, 12 * 3600, deps.publicBaseUrl);
      return me(session);
    });
    hq.post('/hq/api/logout', async (req, reply) => {
      await auth(req, { write: true, hq: false, totpSetup: true });
      await deps.sessions.logout(cookieOf(req));
      setCookie(reply, req, '', 0, deps.publicBaseUrl);
      return { ok: true };
    });
    hq.get('/hq/api/me', async (req) => me(await auth(req, { hq: false, totpSetup: true })));

    hq.get<{ Querystring: Record<string, string | undefined> }>('/hq/api/overview', async (req) => {
      await auth(req);
      const { from, to } = range(req.query);
      return { from, to, today: today(), cells: await deps.reconcile.overview(from, to) };
    });
    hq.get<{ Params: { channel: string; day: string } }>('/hq/api/days/:channel/:day', async (req) => {
      await auth(req);
      const channel = checkChannel(req.params.channel);
      const day = checkDay(req.params.day);
      const [cell] = (await deps.reconcile.overview(day, day)).filter((c) => c.channel === channel);
      const differences = await deps.reconcile.differences({ channel, day });
      return {
        channel,
        day,
        cell: cell ?? null,
        signOff: (await deps.reconcile.signOffOf(channel, day)) ?? null,
        differences,
      };
    });
    hq.get<{ Params: { channel: string; day: string } }>(
      '/hq/api/days/:channel/:day/differences.csv',
      async (req, reply) => {
        const s = await auth(req);
        const channel = checkChannel(req.params.channel);
        const day = checkDay(req.params.day);
        const list = await deps.reconcile.differences({ channel, day });
        const csv = csvDocument(
          ['merchant_id', 'state', 'action', 'note', 'actor', 'at', ...DIFFERENCE_COLUMNS],
          list.map((d) => [d.merchantId, d.state, d.action, d.note, d.actor, d.at, ...differenceCsvCells(d.data)]),
        );
        const fileName = `differences-${channel}-${day}.csv`;
        // Every merchant on the channel: an HQ-wide entry, as the file is.
        await logDownload(req, s, {
          action: 'export.differences',
          target: `${channel}/${day}`,
          details: { channel, day, file: fileName, rows: list.length },
        });
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="${fileName}"`)
          .send(csv);
      },
    );
    hq.get<{ Params: { channel: string; day: string } }>(
      '/hq/api/days/:channel/:day/platform.csv',
      async (req, reply) => {
        const s = await auth(req);
        const channel = checkChannel(req.params.channel);
        const day = checkDay(req.params.day);
        const csv = await deps.reconcile.platformExport(channel, day);
        const fileName = `platform-${channel}-${day}.csv`;
        await logDownload(req, s, {
          action: 'export.platform',
          target: `${channel}/${day}`,
          details: { channel, day, file: fileName },
        });
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="${fileName}"`)
          .send(csv);
      },
    );
    hq.get<{ Querystring: { key?: string } }>('/hq/api/history', async (req) => {
      await auth(req);
      return { versions: await deps.reconcile.history(str(req.query.key, 'key', 400)) };
    });
    hq.post('/hq/api/resolve', async (req) => {
      const s = await auth(req, { write: true });
      const b = body(req);
      const adjust =
        b.adjustMinor === undefined || b.adjustMinor === null || b.adjustMinor === ''
          ? undefined
          : Number(b.adjustMinor);
      const key = str(b.key, 'key', 400);
      // The audit entry commits in the resolution's own transaction (the service adds the merchant).
      return deps.reconcile.resolve(
        key,
        {
          action: str(b.action, 'action', 20),
          note: typeof b.note === 'string' ? b.note : '',
          actor: who(s.user),
          linkedOrder: typeof b.linkedOrder === 'string' ? b.linkedOrder : undefined,
          adjustMinor: adjust,
        },
        entry(req, s, {
          action: 'difference.resolve',
          target: key,
          details: { action: b.action, note: b.note, adjustMinor: adjust ?? null, linkedOrder: b.linkedOrder ?? null },
        }),
      );
    });
    hq.post<{ Params: { channel: string; day: string } }>('/hq/api/days/:channel/:day/sign-off', async (req) => {
      const s = await auth(req, { write: true });
      const b = body(req);
      const note = typeof b.note === 'string' ? b.note.slice(0, 2000) : undefined;
      // The sign-off and its audit entry commit together.
      await deps.reconcile.signOff(
        req.params.channel,
        req.params.day,
        who(s.user),
        note,
        entry(req, s, {
          action: 'day.sign_off',
          target: `${req.params.channel}/${req.params.day}`,
          details: { note: note ?? null },
        }),
      );
      return { signOff: await deps.reconcile.signOffOf(req.params.channel, req.params.day) };
    });
    hq.post<{ Params: { channel: string; day: string } }>('/hq/api/days/:channel/:day/reconcile', async (req) => {
      const s = await auth(req, { write: true });
      const channel = checkChannel(req.params.channel);
      const day = checkDay(req.params.day);
      if (day >= today())
        throw new RunError(
          'bad_argument',
          `${day} is not over yet in China time; its statement comes the next morning`,
        );
      // The entry commits with the run's first record (a statement fetched before it is only
      // kept for the next run): a run whose entry cannot be written records nothing.
      const run = await deps.reconcile.reconcileDay(channel, day, {
        actor: who(s.user),
        forceDownload: body(req).download === true,
        audit: entry(req, s, {
          action: 'day.reconcile',
          target: `${channel}/${day}`,
          details: { download: body(req).download === true },
        }),
      });
      return { summary: run.summary, merchants: run.merchants, downloads: run.downloads };
    });
    hq.post('/hq/api/adjustments', async (req) => {
      const s = await auth(req, { write: true });
      const b = body(req);
      // The audit entry commits with the booking (the service sets its target, the new id).
      const id = await deps.reconcile.addAdjustment(
        {
          channel: str(b.channel, 'channel'),
          day: str(b.day, 'day'),
          merchantId: str(b.merchantId, 'merchantId'),
          currency: str(b.currency, 'currency', 3),
          amountMinor: Number(b.amountMinor),
          note: str(b.note, 'note', 2000),
          refersTo: typeof b.refersTo === 'string' ? b.refersTo : undefined,
          actor: who(s.user),
        },
        entry(req, s, {
          action: 'adjustment.create',
          merchantId: String(b.merchantId),
          details: {
            channel: b.channel,
            day: b.day,
            currency: b.currency,
            amountMinor: Number(b.amountMinor),
            note: b.note,
            refersTo: b.refersTo ?? null,
          },
        }),
      );
      return { id };
    });
    hq.get('/hq/api/files', async (req) => {
      await auth(req);
      return { files: await deps.reconcile.files() };
    });

    // Settlement: HQ sees every merchant (or one); a merchant's user only their own.
    const settlementScope = (s: Session, q: Record<string, string | undefined>): string | undefined => {
      if (isHq(s.user)) return q.merchant || undefined;
      if (!s.user.merchant_id) throw new RunError('forbidden', 'this user belongs to no merchant');
      // Settlement is the merchant's whole: a user limited to some stores does not read it.
      if (s.scope.storeIds !== null)
        throw new RunError('forbidden', "the settlement covers the merchant's every store");
      return s.user.merchant_id;
    };
    hq.get<{ Querystring: Record<string, string | undefined> }>('/hq/api/settlement', async (req) => {
      const s = await auth(req, { hq: false });
      const { from, to } = range(req.query);
      const rows = await deps.reconcile.settlement({
        from,
        to,
        merchantId: settlementScope(s, req.query),
        channel: req.query.channel || undefined,
      });
      return { from, to, rows: deps.payouts ? await deps.payouts.withOperatorFees(rows) : rows };
    });
    hq.get<{ Querystring: Record<string, string | undefined> }>('/hq/api/settlement.csv', async (req, reply) => {
      const s = await auth(req, { hq: false });
      const { from, to } = range(req.query);
      const merchantId = settlementScope(s, req.query);
      const channel = req.query.channel || undefined;
      const rows = await deps.reconcile.settlement({ from, to, merchantId, channel });
      const csv = settlementCsv(rows);
      const fileName = `settlement-${from}-${to}.csv`;
      // The merchant it covers (null: every merchant, HQ's), so a merchant admin's audit list shows their own.
      await logDownload(req, s, {
        action: 'export.settlement',
        merchantId: merchantId ?? null,
        target: fileName,
        details: { from, to, channel: channel ?? null, rows: rows.length },
      });
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${fileName}"`)
        .send(csv);
    });

    if (deps.payouts) registerPayoutRoutes(hq, deps.payouts, auth, entry, logDownload);
    registerPeopleRoutes(hq, deps, auth, totpRequired);
    registerDeveloperRoutes(hq, deps, auth);
    registerMerchantRoutes(hq, deps, auth);
    registerStoreRoutes(hq, deps, auth);
    if (deps.backOffice) registerBackOfficePayments(hq, deps.backOffice, auth);

    // Pairing counters: HQ, a merchant admin (their merchant's stores), a store manager (their stores).
    // HQ finance reads every merchant but changes none: a pairing code is a change (a credential).
    const pairs = (s: Session) =>
      s.scope.role === 'hq_admin' || s.scope.role === 'merchant_admin' || s.scope.role === 'store_manager';
    // GET /hq/api/stores (the stores of the session's scope) is in stores-routes.ts.
    // The counters and their devices' latest health: HQ sees every merchant's, a merchant's
    // users (any role: it is their own shops) only their own merchant's.
    hq.get('/hq/api/terminals', async (req) => {
      const s = await auth(req, { hq: false });
      if (!deps.terminals) return { terminals: [] };
      if (!isHq(s.user) && !s.user.merchant_id) throw new RunError('forbidden', 'this user belongs to no merchant');
      const merchants = isHq(s.user)
        ? await deps.accounts.listMerchants()
        : [(await deps.accounts.getMerchant(s.user.merchant_id!))!];
      const stores = new Map<string, { name: string; code: string; merchant: string }>();
      for (const m of merchants)
        for (const st of await deps.accounts.listStores(m.id))
          stores.set(st.id, { name: st.name, code: st.code, merchant: m.name });
      const list = await deps.terminals.list({ merchantId: isHq(s.user) ? undefined : s.user.merchant_id! });
      return {
        terminals: list
          .filter(
            (t) =>
              !t.revokedAt &&
              stores.has(t.storeId) &&
              (s.scope.storeIds === null || s.scope.storeIds.includes(t.storeId)),
          )
          .map((t) => {
            const st = stores.get(t.storeId)!;
            return {
              id: t.id,
              name: t.name,
              merchantId: t.merchantId,
              merchant: st.merchant,
              storeId: t.storeId,
              store: st.name,
              storeCode: st.code,
              connected: deps.terminals!.isConnected(t.id),
              lastSeenAt: t.lastSeenAt,
              health: t.health,
              healthAt: t.healthAt,
            };
          }),
      };
    });
    hq.post('/hq/api/pairing-codes', async (req) => {
      const s = await auth(req, { write: true, hq: false });
      if (!pairs(s)) throw new RunError('forbidden', 'only HQ, merchant admins and store managers pair terminals');
      const b = body(req);
      const store = str(b.store, 'store');
      if (s.scope.storeIds !== null) {
        const st = (await deps.accounts.getStore(store)) ?? (await deps.accounts.getStoreByCode(store));
        if (!st || !s.scope.storeIds.includes(st.id))
          throw new RunError('forbidden', 'a store manager pairs counters of their own stores only');
      }
      const name =
        typeof b.terminalName === 'string' && b.terminalName.trim() ? b.terminalName.trim().slice(0, 60) : undefined;
      try {
        // The code itself is a credential until used: the log keeps only when and for which
        // store. The entry commits with the code.
        return await deps.createPairingCode(
          store,
          {
            merchantId: isHq(s.user) ? undefined : (s.user.merchant_id ?? undefined),
            terminalName: name,
          },
          entry(req, s, { action: 'pairing_code.create', details: { terminalName: name ?? null } }),
        );
      } catch (err) {
        // A store that is not there (or not the user's) is the request's fault; a failed write is not.
        if (err instanceof KauriError) throw new RunError('bad_argument', err.message);
        throw err;
      }
    });
  });
}
