import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { KauriError } from '../../protocol/errors.js';
import type { Merchant, ShopStore } from '../store/accounts.js';
import { stickerInputOf } from '../onecode/sticker-command.js';
import { newManagerPin } from '../terminals/pin-policy.js';
import type { Auth, HqDeps } from './routes.js';
import type { Session } from './sessions.js';
import { parseBody } from './merchants-routes.js';

// Stores and their counters under /hq/api (docs/back-office.md, "Stores and counters"). Every
// role reads the stores of its scope (HQ every merchant's, a merchant's users their merchant's,
// a store manager or a store-tied viewer their stores); a store outside it answers 404, as one
// that does not exist. HQ admins create and change any merchant's stores and merchant admins
// their own; the manager PIN is theirs to reset too. A store manager revokes the counters of
// their own stores. The work is the services the CLI uses (AccountsRepo for stores,
// TerminalsRepo for the manager PIN, TerminalService.revoke, the sticker of `kauri sticker`).

const storeFields = {
  name: z.string().trim().min(1).max(200),
  timezone: z.string().min(1).max(64),
  maxStaticAmountMinor: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
};
const createStoreBody = z
  .object({
    merchantId: z.string().min(1).max(100).optional(),
    name: storeFields.name,
    code: z
      .string()
      .regex(/^[A-Za-z0-9_-]{3,40}$/, '3–40 of A-Z a-z 0-9 _ -')
      .optional(),
    timezone: storeFields.timezone.optional(),
    maxStaticAmountMinor: storeFields.maxStaticAmountMinor.optional(),
  })
  .strict();
const updateStoreBody = z.object(storeFields).partial().strict();

export function registerStoreRoutes(hq: FastifyInstance, deps: HqDeps, auth: Auth): void {
  const { accounts, audit } = deps;
  const baseUrl = (req: FastifyRequest) => deps.publicBaseUrl || `${req.protocol}://${req.headers.host ?? 'localhost'}`;
  const inScope = (s: Session, st: ShopStore): boolean =>
    (s.scope.merchantId === null || s.scope.merchantId === st.merchant_id) &&
    (s.scope.storeIds === null || s.scope.storeIds.includes(st.id));

  /** The store by id as the session may read it; one outside the scope answers as none. */
  const storeFor = async (s: Session, id: string): Promise<ShopStore> => {
    const st = await accounts.getStore(id);
    if (!st || !inScope(s, st)) throw new KauriError('not_found', `No store "${id}"`);
    return st;
  };
  /** HQ admins change any store, merchant admins their merchant's; nobody else. */
  const mayChange = (s: Session): void => {
    if (s.scope.role !== 'hq_admin' && s.scope.role !== 'merchant_admin')
      throw new KauriError('forbidden', 'only HQ and merchant admins change stores');
  };

  const views = async (stores: ShopStore[], merchants: Map<string, Merchant>) => {
    const pins = deps.terminals?.managerPinsSetAt
      ? await deps.terminals.managerPinsSetAt(stores.map((s) => s.id))
      : new Map<string, string>();
    return stores.map((st) => ({
      id: st.id,
      code: st.code,
      name: st.name,
      // `merchant` (its name) is what the list always said; the id came with the Stores page.
      merchant: merchants.get(st.merchant_id)?.name ?? '',
      merchantId: st.merchant_id,
      timezone: st.timezone,
      maxStaticAmount: { minor: Number(st.max_static_amount_minor), currency: st.currency },
      createdAt: st.created_at,
      managerPinSetAt: pins.get(st.id) ?? null,
    }));
  };

  hq.get<{ Querystring: { merchant?: string } }>('/hq/api/stores', async (req) => {
    const s = await auth(req, { hq: false });
    const merchants =
      s.scope.merchantId !== null
        ? [await accounts.getMerchant(s.scope.merchantId)]
        : req.query.merchant
          ? [await accounts.getMerchant(req.query.merchant)]
          : await accounts.listMerchants();
    const byId = new Map<string, Merchant>();
    const stores: ShopStore[] = [];
    for (const m of merchants) {
      if (!m) continue;
      byId.set(m.id, m);
      for (const st of await accounts.listStores(m.id)) if (inScope(s, st)) stores.push(st);
    }
    return { stores: await views(stores, byId) };
  });

  hq.get<{ Params: { id: string } }>('/hq/api/stores/:id', async (req) => {
    const s = await auth(req, { hq: false });
    const st = await storeFor(s, req.params.id);
    const m = (await accounts.getMerchant(st.merchant_id))!;
    const [store] = await views([st], new Map([[m.id, m]]));
    const counters = deps.terminals ? await deps.terminals.list({ storeId: st.id }) : [];
    return {
      store,
      counters: counters.map((t) => ({
        id: t.id,
        name: t.name,
        createdAt: t.createdAt,
        revokedAt: t.revokedAt,
        connected: !t.revokedAt && deps.terminals!.isConnected(t.id),
        lastSeenAt: t.lastSeenAt,
        health: t.health,
        healthAt: t.healthAt,
      })),
    };
  });

  hq.post('/hq/api/stores', async (req) => {
    const s = await auth(req, { write: true, hq: false });
    mayChange(s);
    const b = parseBody(createStoreBody, req);
    let merchantId: string;
    if (s.scope.merchantId !== null) {
      if (b.merchantId && b.merchantId !== s.scope.merchantId)
        throw new KauriError('forbidden', "this is another merchant's");
      merchantId = s.scope.merchantId;
    } else {
      if (!b.merchantId) throw new KauriError('invalid_request', 'name the merchant (merchantId)');
      merchantId = b.merchantId;
    }
    const made = await deps.store.db.transaction().execute(async (trx) => {
      const st = await accounts.createStore(
        {
          merchantId,
          name: b.name,
          code: b.code,
          timezone: b.timezone,
          maxStaticAmountMinor: b.maxStaticAmountMinor,
        },
        trx,
      );
      await audit.record(
        {
          actor: s.scope,
          action: 'store.create',
          merchantId,
          target: st.id,
          ip: req.ip,
          details: {
            name: st.name,
            code: st.code,
            timezone: st.timezone,
            maxStaticAmountMinor: b.maxStaticAmountMinor,
          },
        },
        trx,
      );
      return st;
    });
    const m = (await accounts.getMerchant(merchantId))!;
    return { store: (await views([made], new Map([[m.id, m]])))[0] };
  });

  hq.patch<{ Params: { id: string } }>('/hq/api/stores/:id', async (req) => {
    const s = await auth(req, { write: true, hq: false });
    mayChange(s);
    const b = parseBody(updateStoreBody, req);
    const st = await storeFor(s, req.params.id);
    const after = await deps.store.db.transaction().execute(async (trx) => {
      const changed = await accounts.updateStore(st.id, b, trx);
      await audit.record(
        { actor: s.scope, action: 'store.update', merchantId: st.merchant_id, target: st.id, ip: req.ip, details: b },
        trx,
      );
      return changed;
    });
    const m = (await accounts.getMerchant(st.merchant_id))!;
    return { store: (await views([after], new Map([[m.id, m]])))[0] };
  });

  // The printed sticker of `kauri sticker`, as a download: A6, vector, the QR to /s/<code>.
  hq.get<{ Params: { id: string } }>('/hq/api/stores/:id/sticker.pdf', async (req, reply) => {
    const s = await auth(req, { hq: false });
    const st = await storeFor(s, req.params.id);
    const input = await stickerInputOf(deps.store.db, { id: st.id }, baseUrl(req));
    if (!input) throw new KauriError('not_found', `No store "${req.params.id}"`);
    const { stickerPdf } = await import('../onecode/sticker.js');
    const { pdf, warning } = await stickerPdf(input);
    if (warning) deps.log.warn({ store: st.id }, warning);
    return reply
      .type('application/pdf')
      .header('content-disposition', `attachment; filename="sticker-${st.code}.pdf"`)
      .send(pdf);
  });

  // A new manager PIN, made by the rules the CLI's `manager-pin set` makes one by, shown this
  // once: only its scrypt hash is kept, and the log says when and by whom, never the PIN.
  hq.post<{ Params: { id: string } }>('/hq/api/stores/:id/manager-pin', async (req) => {
    const s = await auth(req, { write: true, hq: false });
    mayChange(s);
    const st = await storeFor(s, req.params.id);
    if (!deps.terminals?.setManagerPin) throw new KauriError('not_found', 'counters are not set up on this bridge');
    const pin = newManagerPin();
    await deps.terminals.setManagerPin(st.id, pin, {
      actor: s.scope,
      action: 'manager_pin.reset',
      merchantId: st.merchant_id,
      target: st.id,
      ip: req.ip,
    });
    return { storeId: st.id, pin };
  });

  // Revoking a counter: HQ admins any, merchant admins their merchant's, store managers their stores'.
  hq.post<{ Params: { id: string } }>('/hq/api/terminals/:id/revoke', async (req) => {
    const s = await auth(req, { write: true, hq: false });
    const r = s.scope.role;
    if (r !== 'hq_admin' && r !== 'merchant_admin' && r !== 'store_manager')
      throw new KauriError('forbidden', 'only HQ and merchant admins and store managers revoke counters');
    if (!deps.terminals?.revoke || !deps.terminals.get)
      throw new KauriError('not_found', 'counters are not set up on this bridge');
    const t = await deps.terminals.get(req.params.id);
    const st = t ? await accounts.getStore(t.storeId) : undefined;
    if (!t || !st || !inScope(s, st)) throw new KauriError('not_found', `No terminal "${req.params.id}"`);
    if (t.revokedAt) return { counter: t };
    const revoked = await deps.terminals.revoke(t.id, t.merchantId, {
      actor: s.scope,
      action: 'terminal.revoke',
      merchantId: t.merchantId,
      target: t.id,
      ip: req.ip,
      details: { storeId: t.storeId, name: t.name },
    });
    return { counter: revoked };
  });
}
