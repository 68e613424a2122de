import type { FastifyInstance, FastifyRequest } from 'fastify';
import { KauriError } from '../../protocol/errors.js';
import type { Auth, HqDeps } from './routes.js';
import { HqSessions, type Session } from './sessions.js';

// People, sessions, two-factor sign-in and the audit log under /hq/api (docs/back-office.md,
// "People and the audit log"). Who may do what is decided in People and AuditLog from the
// session's Scope; these handlers only read the request and pass it on.

function body(req: FastifyRequest): Record<string, unknown> {
  const b = req.body;
  return b && typeof b === 'object' && !Buffer.isBuffer(b) ? (b as Record<string, unknown>) : {};
}

function text(v: unknown, name: string, max = 200): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > max)
    throw new KauriError('invalid_request', `${name} is required (text up to ${max} characters)`);
  return v;
}

function storeIdsOf(v: unknown): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.length > 200 || v.some((x) => typeof x !== 'string' || x.length > 100))
    throw new KauriError('invalid_request', 'storeIds is a list of store ids');
  return v as string[];
}

function limitOf(v: unknown): number | null | undefined {
  if (v === undefined) return undefined;
  if (v === null || v === '') return null;
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0)
    throw new KauriError('invalid_request', 'refundLimitMinor is a whole number of minor units, zero or more');
  return n;
}

export function registerPeopleRoutes(
  hq: FastifyInstance,
  deps: HqDeps,
  auth: Auth,
  totpRequired: (s: Session) => boolean,
): void {
  const { people, totp, audit } = deps;
  const baseUrl = (req: FastifyRequest) => deps.publicBaseUrl || `${req.protocol}://${req.headers.host ?? 'localhost'}`;

  hq.get('/hq/api/users', async (req) => {
    const s = await auth(req, { hq: false });
    return { users: await people.list(s.scope) };
  });
  hq.post('/hq/api/users', async (req) => {
    const s = await auth(req, { write: true, hq: false });
    const b = body(req);
    const user = await people.create(
      s.scope,
      {
        username: text(b.username, 'username', 100),
        password: text(b.password, 'password', 200),
        role: text(b.role, 'role', 40),
        merchantId: typeof b.merchantId === 'string' ? b.merchantId : null,
        storeIds: storeIdsOf(b.storeIds),
        refundLimitMinor: limitOf(b.refundLimitMinor),
      },
      req.ip,
    );
    return { user };
  });
  hq.patch<{ Params: { id: string } }>('/hq/api/users/:id', async (req) => {
    const s = await auth(req, { write: true, hq: false });
    const b = body(req);
    return {
      user: await people.update(
        s.scope,
        req.params.id,
        { storeIds: storeIdsOf(b.storeIds), refundLimitMinor: limitOf(b.refundLimitMinor) },
        req.ip,
      ),
    };
  });
  hq.post<{ Params: { id: string } }>('/hq/api/users/:id/disable', async (req) => {
    const s = await auth(req, { write: true, hq: false });
    return { user: await people.disable(s.scope, req.params.id, req.ip) };
  });

  hq.post('/hq/api/invites', async (req) => {
    const s = await auth(req, { write: true, hq: false });
    const b = body(req);
    const inv = await people.invite(
      s.scope,
      {
        role: text(b.role, 'role', 40),
        merchantId: typeof b.merchantId === 'string' ? b.merchantId : null,
        storeIds: storeIdsOf(b.storeIds),
        refundLimitMinor: limitOf(b.refundLimitMinor),
      },
      baseUrl(req),
      req.ip,
    );
    return { id: inv.id, link: inv.link, expiresAt: inv.expiresAt };
  });
  // No session: the invited person has none yet. The token is the credential; it is good once.
  hq.post('/hq/api/invites/accept', async (req) => {
    if (!String(req.headers['content-type'] ?? '').startsWith('application/json'))
      throw new KauriError('forbidden', 'accept the invitation from the HQ page');
    const b = body(req);
    const user = await people.accept(
      {
        token: typeof b.token === 'string' ? b.token : '',
        username: text(b.username, 'username', 100),
        password: text(b.password, 'password', 200),
      },
      req.ip,
    );
    return { user: { id: user.id, username: user.username, role: user.role, merchantId: user.merchant_id } };
  });

  hq.get<{ Querystring: { user?: string } }>('/hq/api/sessions', async (req) => {
    const s = await auth(req, { hq: false, totpSetup: true });
    return { sessions: await people.sessions(s.scope, s.id, req.query.user || undefined) };
  });
  hq.delete<{ Params: { id: string } }>('/hq/api/sessions/:id', async (req) => {
    // A DELETE carries no body: the CSRF token is what matters, so no JSON content type is asked for.
    const s = await auth(req, { hq: false, totpSetup: true });
    if (!HqSessions.csrfMatches(s, req.headers['x-csrf-token']))
      throw new KauriError('forbidden', 'missing or wrong CSRF token: reload the page');
    await people.endSession(s.scope, req.params.id, req.ip);
    return { ok: true };
  });

  hq.post('/hq/api/totp/setup', async (req) => {
    const s = await auth(req, { write: true, hq: false, totpSetup: true });
    return totp.setup(s.user.id, s.user.username);
  });
  hq.post('/hq/api/totp/enable', async (req) => {
    const s = await auth(req, { write: true, hq: false, totpSetup: true });
    const code = String(body(req).code ?? '');
    await deps.store.db.transaction().execute(async (trx) => {
      await totp.enable(s.user.id, code, trx);
      await audit.record(
        { actor: s.scope, action: 'totp.enable', merchantId: s.scope.merchantId, target: s.user.id, ip: req.ip },
        trx,
      );
    });
    return { totpEnabled: true };
  });
  hq.post('/hq/api/totp/disable', async (req) => {
    const s = await auth(req, { write: true, hq: false });
    // Turning it off where the role requires it would only lock the user out of everything else.
    if (totpRequired(s)) throw new KauriError('forbidden', 'your role must keep two-factor sign-in on');
    const code = String(body(req).code ?? '');
    await deps.store.db.transaction().execute(async (trx) => {
      await totp.disable(s.user.id, code, trx);
      await audit.record(
        { actor: s.scope, action: 'totp.disable', merchantId: s.scope.merchantId, target: s.user.id, ip: req.ip },
        trx,
      );
    });
    return { totpEnabled: false };
  });

  hq.get<{ Querystring: Record<string, string | undefined> }>('/hq/api/audit', async (req) => {
    const s = await auth(req, { hq: false });
    const q = req.query;
    return audit.list(s.scope, {
      actor: q.actor || undefined,
      action: q.action || undefined,
      merchant: q.merchant || undefined,
      from: q.from || undefined,
      to: q.to || undefined,
      cursor: q.cursor || undefined,
      limit: q.limit ? Number(q.limit) : undefined,
    });
  });
}
