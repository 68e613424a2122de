import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { KauriError } from '../../protocol/errors.js';
import { money, type Money } from '../../protocol/money.js';
import { CHANNELS } from '../../protocol/payments.js';
import type { Merchant } from '../store/accounts.js';
import { checkChannelAccount } from '../channels/account-check.js';
import type { Auth, HqDeps } from './routes.js';
import type { Session } from './sessions.js';

// Merchants and their channel accounts under /hq/api (docs/back-office.md, "Merchants"). HQ
// admins create, change and turn off merchants and set their channel accounts; HQ finance reads
// every merchant, a merchant admin reads their own (another merchant's id answers 404, as one
// that does not exist); store managers and viewers get 403. The work is AccountsRepo's, the
// one the `kauri admin merchant|channel-account` commands use: the same checks, the same
// SecretBox sealing the secrets. Secrets are written and never read back: no answer and no
// audit row holds one.

/** Parses a body with its schema; a refusal names the fields and rules, never the values sent. */
export function parseBody<T>(schema: z.ZodType<T>, req: FastifyRequest): T {
  const r = schema.safeParse(req.body ?? {});
  if (r.success) return r.data;
  throw new KauriError(
    'invalid_request',
    r.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '),
  );
}

const host = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^(?=.{1,253}$)[a-z0-9-]+(\.[a-z0-9-]+)*$/, 'a host name such as shop.example.co.nz');
const amount = z.object({
  minor: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  currency: z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code'),
});

const merchantFields = {
  name: z.string().trim().min(1).max(200),
  allowedDomains: z.array(host).max(50),
  fxMarkup: z.string().regex(/^0(\.\d{1,6})?$/, 'a fraction below 1, e.g. 0.02'),
  maxPayment: amount,
  allowPrivateWebhooks: z.boolean(),
};
const createMerchantBody = z
  .object({
    name: merchantFields.name,
    allowedDomains: merchantFields.allowedDomains.optional(),
    fxMarkup: merchantFields.fxMarkup.optional(),
    maxPayment: merchantFields.maxPayment.optional(),
    allowPrivateWebhooks: merchantFields.allowPrivateWebhooks.optional(),
  })
  .strict();
const updateMerchantBody = z.object(merchantFields).partial().strict();
const channelAccountBody = z
  .object({
    channel: z.enum(CHANNELS),
    config: z.record(z.string().max(100), z.unknown()),
    secrets: z.record(z.string().max(100), z.string().max(20_000)),
  })
  .strict();

/** A merchant as the back office shows it. */
export function merchantView(m: Merchant) {
  return {
    id: m.id,
    name: m.name,
    allowedDomains: m.allowed_domains,
    fxMarkup: m.fx_markup,
    maxPayment: { minor: m.max_payment_minor, currency: m.max_payment_currency } as Money,
    allowPrivateWebhooks: m.allow_private_webhooks === 1,
    disabledAt: m.disabled_at,
    createdAt: m.created_at,
  };
}

export function registerMerchantRoutes(hq: FastifyInstance, deps: HqDeps, auth: Auth): void {
  const { accounts, audit } = deps;

  /** Throws unless the session may read merchants at all. */
  const mayRead = (s: Session): void => {
    const r = s.scope.role;
    if (r !== 'hq_admin' && r !== 'hq_finance' && r !== 'merchant_admin')
      throw new KauriError('forbidden', 'merchants are for HQ and merchant admins');
  };
  /** Throws unless the session may change merchants and channel accounts (HQ admins). */
  const mayChange = (s: Session): void => {
    if (s.scope.role !== 'hq_admin') throw new KauriError('forbidden', 'only HQ admins change merchants');
  };
  /** The merchant by id, as the session may read it: another merchant's answers as none. */
  const merchantFor = async (s: Session, id: string): Promise<Merchant> => {
    mayRead(s);
    const m = await accounts.getMerchant(id);
    if (!m || (s.scope.merchantId !== null && s.scope.merchantId !== m.id))
      throw new KauriError('not_found', `No merchant "${id}"`);
    return m;
  };

  hq.get('/hq/api/merchants', async (req) => {
    const s = await auth(req, { hq: false });
    mayRead(s);
    const list =
      s.scope.merchantId === null
        ? await accounts.listMerchants()
        : [await accounts.getMerchant(s.scope.merchantId)].filter((m): m is Merchant => !!m);
    return { merchants: list.map(merchantView) };
  });

  hq.get<{ Params: { id: string } }>('/hq/api/merchants/:id', async (req) => {
    const s = await auth(req, { hq: false });
    const m = await merchantFor(s, req.params.id);
    const channelAccounts = await accounts.listChannelAccounts(m.id);
    const stores = await accounts.listStores(m.id);
    return {
      merchant: merchantView(m),
      // Config only: the secrets stay sealed in the database and are never read back out here.
      channelAccounts: channelAccounts.reverse(),
      stores: stores.map((st) => ({ id: st.id, code: st.code, name: st.name })),
    };
  });

  hq.post('/hq/api/merchants', async (req) => {
    const s = await auth(req, { write: true, hq: false });
    mayChange(s);
    const b = parseBody(createMerchantBody, req);
    const maxPayment = b.maxPayment ? money(b.maxPayment.minor, b.maxPayment.currency) : undefined;
    const made = await deps.store.db.transaction().execute(async (trx) => {
      const m = await accounts.createMerchant(
        {
          name: b.name,
          allowedDomains: b.allowedDomains ?? [],
          fxMarkup: b.fxMarkup,
          allowPrivateWebhooks: b.allowPrivateWebhooks === true,
          maxPayment,
        },
        trx,
      );
      await audit.record(
        {
          actor: s.scope,
          action: 'merchant.create',
          merchantId: m.id,
          target: m.id,
          ip: req.ip,
          details: { ...b, maxPayment: merchantView(m).maxPayment },
        },
        trx,
      );
      return m;
    });
    return { merchant: merchantView(made) };
  });

  hq.patch<{ Params: { id: string } }>('/hq/api/merchants/:id', async (req) => {
    const s = await auth(req, { write: true, hq: false });
    mayChange(s);
    const b = parseBody(updateMerchantBody, req);
    const m = await deps.store.db.transaction().execute(async (trx) => {
      const before = await accounts.getMerchant(req.params.id, trx);
      if (!before) throw new KauriError('not_found', `No merchant "${req.params.id}"`);
      const after = await accounts.updateMerchant(
        before.id,
        { ...b, maxPayment: b.maxPayment ? money(b.maxPayment.minor, b.maxPayment.currency) : undefined },
        trx,
      );
      await audit.record(
        { actor: s.scope, action: 'merchant.update', merchantId: after.id, target: after.id, ip: req.ip, details: b },
        trx,
      );
      return after;
    });
    return { merchant: merchantView(m) };
  });

  // Off: no new payment starts for the merchant (merchant_disabled); what exists carries on.
  for (const [path, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const) {
    hq.post<{ Params: { id: string } }>(`/hq/api/merchants/:id/${path}`, async (req) => {
      const s = await auth(req, { write: true, hq: false });
      mayChange(s);
      const m = await deps.store.db.transaction().execute(async (trx) => {
        const after = await accounts.updateMerchant(req.params.id, { disabled }, trx);
        await audit.record(
          { actor: s.scope, action: `merchant.${path}`, merchantId: after.id, target: after.id, ip: req.ip },
          trx,
        );
        return after;
      });
      return { merchant: merchantView(m) };
    });
  }

  hq.post<{ Params: { id: string } }>('/hq/api/merchants/:id/channel-accounts', async (req) => {
    const s = await auth(req, { write: true, hq: false });
    mayChange(s);
    const b = parseBody(channelAccountBody, req);
    const m = await accounts.getMerchant(req.params.id);
    if (!m) throw new KauriError('not_found', `No merchant "${req.params.id}"`);
    checkChannelAccount(b.channel, b.config, b.secrets);
    const made = await deps.store.db.transaction().execute(async (trx) => {
      const acc = await accounts.createChannelAccount(
        { merchantId: m.id, channel: b.channel, config: b.config, secrets: b.secrets },
        trx,
      );
      // The names of the secrets set, so the log says what changed; their values never.
      await audit.record(
        {
          actor: s.scope,
          action: 'channel_account.set',
          merchantId: m.id,
          target: acc.id,
          ip: req.ip,
          details: { channel: b.channel, config: b.config, secretsSet: Object.keys(b.secrets).sort() },
        },
        trx,
      );
      return acc;
    });
    const listed = (await accounts.listChannelAccounts(m.id)).find((a) => a.id === made.id)!;
    return { account: listed };
  });

  for (const [path, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const) {
    hq.post<{ Params: { id: string } }>(`/hq/api/channel-accounts/:id/${path}`, async (req) => {
      const s = await auth(req, { write: true, hq: false });
      mayChange(s);
      const done = await deps.store.db.transaction().execute(async (trx) => {
        const r = await accounts.setChannelAccountDisabled(req.params.id, disabled, trx);
        if (!r) throw new KauriError('not_found', `No channel account "${req.params.id}"`);
        await audit.record(
          {
            actor: s.scope,
            action: `channel_account.${path}`,
            merchantId: r.merchantId,
            target: req.params.id,
            ip: req.ip,
            details: { channel: r.channel },
          },
          trx,
        );
        return r;
      });
      const listed = (await accounts.listChannelAccounts(done.merchantId)).find((a) => a.id === req.params.id)!;
      return { account: listed };
    });
  }
}
