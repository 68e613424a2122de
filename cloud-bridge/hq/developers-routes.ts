import type { FastifyInstance, FastifyRequest } from 'fastify';
import { KauriError } from '../../protocol/errors.js';
import type { Auth, HqDeps } from './routes.js';
import type { Session } from './sessions.js';

// A merchant's API keys and webhook endpoint under /hq/api (docs/back-office.md, "Developers").
// HQ admins work on any merchant, naming it; merchant admins on their own; HQ finance only
// reads; store managers and viewers get nothing, since a key or webhook reaches the whole
// merchant. Secrets (the key, the webhook signing secret) are in the one answer that made them
// and nowhere else: not in a later read, not in the audit log.

function body(req: FastifyRequest): Record<string, unknown> {
  const b = req.body;
  return b && typeof b === 'object' && !Buffer.isBuffer(b) ? (b as Record<string, unknown>) : {};
}

function named(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

export function registerDeveloperRoutes(hq: FastifyInstance, deps: HqDeps, auth: Auth): void {
  const { accounts, audit } = deps;

  /** Throws unless the session's role may read (or, with `change`, change) keys and webhooks at all. */
  const allow = (s: Session, change: boolean): void => {
    const role = s.scope.role;
    if (role === 'hq_admin' || role === 'merchant_admin') return;
    if (role === 'hq_finance' && !change) return;
    throw new KauriError(
      'forbidden',
      change ? 'only HQ and merchant admins change API keys and webhooks' : 'API keys and webhooks are for admins',
    );
  };

  /** The merchant a request works on: the one HQ names, or the merchant admin's own. */
  const merchantOf = async (s: Session, change: boolean, asked: unknown): Promise<string> => {
    allow(s, change);
    const name = named(asked);
    if (s.scope.merchantId !== null) {
      if (name && name !== s.scope.merchantId) throw new KauriError('forbidden', "this is another merchant's");
      return s.scope.merchantId;
    }
    if (!name) throw new KauriError('invalid_request', 'name the merchant (merchant / merchantId)');
    if (!(await accounts.getMerchant(name))) throw new KauriError('not_found', `No merchant "${name}"`);
    return name;
  };

  const webhooks = () => {
    if (!deps.webhooks) throw new KauriError('not_found', 'webhooks are not set up on this bridge');
    return deps.webhooks;
  };

  hq.get<{ Querystring: { merchant?: string } }>('/hq/api/api-keys', async (req) => {
    const s = await auth(req, { hq: false });
    const merchantId = await merchantOf(s, false, req.query.merchant);
    return { keys: await accounts.listApiKeys(merchantId) };
  });

  hq.post('/hq/api/api-keys', async (req) => {
    const s = await auth(req, { write: true, hq: false });
    const b = body(req);
    const merchantId = await merchantOf(s, true, b.merchantId ?? b.merchant);
    const label = typeof b.label === 'string' && b.label.trim() ? b.label.trim() : 'console';
    if (label.length > 60) throw new KauriError('invalid_request', 'label is text up to 60 characters');
    const made = await deps.store.db.transaction().execute(async (trx) => {
      const k = await accounts.createApiKey(merchantId, label, trx);
      await audit.record(
        { actor: s.scope, action: 'apikey.create', merchantId, target: k.id, ip: req.ip, details: { label } },
        trx,
      );
      return k;
    });
    return {
      id: made.id,
      key: made.key,
      merchantId,
      label,
      prefix: made.key.split('.').slice(0, 2).join('.'),
      createdAt: made.createdAt,
      lastUsedAt: null,
      revokedAt: null,
    };
  });

  hq.post<{ Params: { id: string } }>('/hq/api/api-keys/:id/revoke', async (req) => {
    const s = await auth(req, { write: true, hq: false });
    allow(s, true);
    const key = await accounts.getApiKey(req.params.id);
    // Another merchant's key is answered as no key: its id tells the asker nothing.
    if (!key || (s.scope.merchantId !== null && key.merchantId !== s.scope.merchantId))
      throw new KauriError('not_found', 'No such API key');
    if (key.revokedAt) return { key };
    await deps.store.db.transaction().execute(async (trx) => {
      await accounts.revokeApiKey(key.id, trx);
      await audit.record(
        {
          actor: s.scope,
          action: 'apikey.revoke',
          merchantId: key.merchantId,
          target: key.id,
          ip: req.ip,
          details: { label: key.label },
        },
        trx,
      );
    });
    return { key: await accounts.getApiKey(key.id) };
  });

  hq.get<{ Querystring: { merchant?: string } }>('/hq/api/webhook', async (req) => {
    const s = await auth(req, { hq: false });
    const merchantId = await merchantOf(s, false, req.query.merchant);
    try {
      const ep = await webhooks().getEndpoint(merchantId);
      return { merchantId, url: ep.url, createdAt: ep.created_at, updatedAt: ep.updated_at };
    } catch (err) {
      if (err instanceof KauriError && err.code === 'webhook_not_set')
        return { merchantId, url: null, createdAt: null, updatedAt: null };
      throw err;
    }
  });

  hq.put('/hq/api/webhook', async (req) => {
    const s = await auth(req, { write: true, hq: false });
    const b = body(req);
    const merchantId = await merchantOf(s, true, b.merchantId ?? b.merchant);
    if (typeof b.url !== 'string' || b.url.length === 0 || b.url.length > 2000)
      throw new KauriError('invalid_request', 'url is required (an https URL on an allowed domain)');
    // The service checks the URL (allowed domains, https, no private address) before it stores
    // anything, then writes the endpoint and this audit entry in one transaction.
    const set = await webhooks().setEndpoint(merchantId, b.url, {
      actor: s.scope,
      action: 'webhook.set',
      merchantId,
      target: merchantId,
      ip: req.ip,
      details: { url: b.url },
    });
    return { merchantId, url: set.url, secret: set.secret };
  });

  hq.post('/hq/api/webhook/rotate', async (req) => {
    const s = await auth(req, { write: true, hq: false });
    const b = body(req);
    const merchantId = await merchantOf(s, true, b.merchantId ?? b.merchant);
    const current = await webhooks().getEndpoint(merchantId);
    // Setting the same URL again is what makes a new secret; the old one stops signing at once.
    const set = await webhooks().setEndpoint(merchantId, current.url, {
      actor: s.scope,
      action: 'webhook.rotate',
      merchantId,
      target: merchantId,
      ip: req.ip,
      details: { url: current.url },
    });
    return { merchantId, url: set.url, secret: set.secret };
  });
}
