import { createHash, randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { KauriError } from '../../protocol/errors.js';
import type { Store } from '../store/db.js';
import type { Order, OrdersRepo, Refund } from '../store/orders-repo.js';
import type { Session } from './sessions.js';
import { canExport, canRead, canRefund, isHqRole, type Scope } from './scope.js';
import type { AuditEntry, AuditLog } from './audit.js';
import {
  decodeCursor,
  pagePayments,
  PAGE_LIMIT_MAX,
  parseFilter,
  paymentRow,
  resolve,
  totals,
  type PaymentRow,
} from './payments-query.js';
import { redactForDisplay } from './redact.js';
import { reportRows } from './reports.js';
import { sendExport, type ExportKind } from './exports.js';
import { ExportWorkers } from './export-workers.js';

// The back office's payments: the list, a payment's page, refund, close, resend a webhook,
// reports and exports (docs/back-office.md). Every route turns the session into a Scope first;
// a payment outside it answers 404 exactly as one that does not exist.

export interface BackOfficePaymentDeps {
  store: Store;
  orders: Pick<OrdersRepo, 'byId' | 'history' | 'refundsOf'>;
  /** The merchant API's refund and close (PaymentService): the one path refunds take. */
  payments: {
    refund(
      merchantId: string,
      outTradeNo: string,
      input: { out_refund_no: string; amount_minor: number; reason?: string },
      options?: { audit?: AuditEntry; requester?: { userId: string; limitMinor: number | null } },
    ): Promise<{ refund: Refund; order: Order }>;
    closeOrder(order: Order, cause: string, audit?: AuditEntry): Promise<Order>;
  };
  /**
   * The webhook redelivery of the merchant API, with its throttle (WebhookService.redeliver);
   * `audit` commits with the attempt's count, before the request goes out.
   */
  webhooks?: { redeliver(merchantId: string, id: string, audit?: AuditEntry): Promise<unknown> };
  /** The audit log, for the reads it records (exports), written before the read starts. */
  audit: Pick<AuditLog, 'record'>;
}

export type Auth = (req: FastifyRequest, opts?: { write?: boolean; hq?: boolean }) => Promise<Session>;

type Q = Record<string, string | undefined>;

function body(req: FastifyRequest): Record<string, unknown> {
  const b = req.body;
  return b && typeof b === 'object' && !Buffer.isBuffer(b) ? (b as Record<string, unknown>) : {};
}

function notFound(): never {
  throw new KauriError('not_found', 'No such payment');
}

function sourceOf(o: Order): 'counter' | 'api' | 'onecode' {
  if (o.terminal_id) return 'counter';
  if (o.checkout_id) return 'onecode';
  return 'api';
}

export function registerBackOfficePayments(hq: FastifyInstance, deps: BackOfficePaymentDeps, auth: Auth): void {
  const db = deps.store.db;
  const audit = deps.audit;
  // This bridge's export workers (at most EXPORT_WORKERS_MAX at once).
  const exporter = new ExportWorkers(deps.store);
  /** The session and its scope (role, merchant, store assignments, refund limit: the user's rows). */
  const scopeOf = async (req: FastifyRequest, write = false): Promise<{ session: Session; scope: Scope }> => {
    const session = await auth(req, { hq: false, write });
    return { session, scope: session.scope };
  };
  const entry = (scope: Scope, req: FastifyRequest, e: Omit<AuditEntry, 'actor' | 'ip'>): AuditEntry => ({
    actor: scope,
    ip: req.ip,
    ...e,
  });
  /** For a read (an export): written before it starts, so a failed write stops it. */
  const log = (scope: Scope, req: FastifyRequest, e: Omit<AuditEntry, 'actor' | 'ip'>) =>
    audit.record(entry(scope, req, e));

  /** The order if the scope may read it; otherwise the same 404 as a missing one. */
  const orderInScope = async (scope: Scope, id: string): Promise<Order> => {
    if (typeof id !== 'string' || id.length > 100) notFound();
    const order = await deps.orders.byId(id);
    if (!order || !canRead(scope, order.merchant_id, order.store_id)) notFound();
    return order;
  };
  const rowOf = async (id: string): Promise<PaymentRow> => {
    const r = await db
      .selectFrom('orders as o')
      .innerJoin('merchants as m', 'm.id', 'o.merchant_id')
      .leftJoin('stores as s', 's.id', 'o.store_id')
      .select([
        'o.id',
        'o.out_trade_no',
        'o.merchant_id',
        'm.name as merchant_name',
        'o.store_id',
        's.name as store_name',
        's.timezone as store_timezone',
        'o.terminal_id',
        'o.channel',
        'o.mode',
        'o.status',
        'o.amount_minor',
        'o.currency',
        'o.cny_charged_minor',
        'o.refunded_minor',
        'o.flagged',
        'o.created_at',
        'o.paid_at',
      ])
      .where('o.id', '=', id)
      .executeTakeFirstOrThrow();
    return paymentRow(r);
  };
  const refundOut = (r: Refund) => ({
    id: r.id,
    outRefundNo: r.out_refund_no,
    amount: { minor: Number(r.amount_minor), currency: r.currency },
    status: r.status,
    reason: r.reason,
    automatic: r.automatic === 1,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  });

  hq.get<{ Querystring: Q }>('/hq/api/payments', async (req) => {
    const { scope } = await scopeOf(req);
    const filter = parseFilter(req.query);
    const limit = req.query.limit ? Number(req.query.limit) : 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > PAGE_LIMIT_MAX)
      throw new KauriError('bad_argument', `limit must be 1 to ${PAGE_LIMIT_MAX}`);
    const cursor = decodeCursor(req.query.cursor);
    const r = await resolve(db, scope, filter);
    const page = await pagePayments(db, r, cursor, limit);
    // The totals are the whole filter's, not the page's: the first page carries them, unless
    // asked not to (`totals=false`: a console that fetches /totals beside the page, since
    // summing a million rows takes longer than finding fifty).
    const withTotals = !cursor && req.query.totals !== 'false' && req.query.totals !== '0';
    return { ...page, totals: withTotals ? await totals(db, r) : null };
  });

  hq.get<{ Querystring: Q }>('/hq/api/payments/totals', async (req) => {
    const { scope } = await scopeOf(req);
    return { totals: await totals(db, await resolve(db, scope, parseFilter(req.query))) };
  });

  hq.get<{ Params: { id: string } }>('/hq/api/payments/:id', async (req) => {
    const { scope } = await scopeOf(req);
    const order = await orderInScope(scope, req.params.id);
    const [row, history, refunds] = await Promise.all([
      rowOf(order.id),
      deps.orders.history(order.id),
      deps.orders.refundsOf(order.id),
    ]);
    // The webhook deliveries of its events: the payment's own and its refunds', which all
    // carry the payment's id; written between its creation and its last change (an event's
    // time is read a moment after its change's, hence the margin).
    const last = [order.updated_at, ...refunds.map((r) => r.updated_at)].sort().at(-1)!;
    const until = new Date(Date.parse(last) + 5 * 60_000).toISOString();
    const deliveries = await db
      .selectFrom('events as e')
      .innerJoin('webhook_deliveries as d', (j) =>
        j.onRef('d.event_id', '=', 'e.id').onRef('d.merchant_id', '=', 'e.merchant_id'),
      )
      .select([
        'd.id',
        'd.event_type',
        'd.url',
        'd.status',
        'd.attempts',
        'd.last_error',
        'd.last_status_code',
        'd.created_at',
        'd.delivered_at',
      ])
      .where('e.merchant_id', '=', order.merchant_id)
      .where('e.created_at', '>=', order.created_at)
      .where('e.created_at', '<=', until)
      .where('e.payload', 'like', `%"id":"${order.id}"%`)
      .orderBy('d.created_at')
      .limit(200)
      .execute();
    const out: Record<string, unknown> = {
      ...row,
      rate: order.rate,
      rateAt: order.rate_time,
      source: sourceOf(order),
      checkoutId: order.checkout_id,
      channelTradeNo: order.channel_trade_no,
      flagReason: order.flag_reason,
      history: history.map((h) => ({ state: h.to_status, from: h.from_status, at: h.created_at, reason: h.cause })),
      refunds: refunds.map(refundOut),
      deliveries: deliveries.map((d) => ({
        id: d.id,
        eventType: d.event_type,
        url: d.url,
        state: d.status,
        attempts: d.attempts,
        lastError: d.last_error,
        lastStatusCode: d.last_status_code,
        at: d.delivered_at ?? d.created_at,
      })),
    };
    if (isHqRole(scope.role)) {
      const messages = await db
        .selectFrom('channel_messages')
        .select(['id', 'channel', 'direction', 'endpoint', 'http_status', 'body', 'created_at'])
        .where('order_id', '=', order.id)
        .orderBy('id')
        .limit(500)
        .execute();
      out.messages = messages.map((m) => ({
        id: Number(m.id),
        channel: m.channel,
        direction: m.direction,
        endpoint: m.endpoint,
        httpStatus: m.http_status,
        body: redactForDisplay(m.body),
        at: m.created_at,
      }));
    }
    return out;
  });

  hq.post<{ Params: { id: string } }>('/hq/api/payments/:id/refunds', async (req, reply) => {
    const { scope } = await scopeOf(req, true);
    const order = await orderInScope(scope, req.params.id);
    if (!canRefund(scope)) throw new KauriError('forbidden', `a ${scope.role} may not refund`);
    const b = body(req);
    const amount = b.amountMinor;
    if (typeof amount !== 'number' || !Number.isSafeInteger(amount) || amount <= 0)
      throw new KauriError('invalid_amount', 'amountMinor must be a positive whole number of minor units');
    const reason = typeof b.reason === 'string' ? b.reason.trim() : '';
    if (!reason || reason.length > 500)
      throw new KauriError('bad_argument', 'a reason (up to 500 characters) is required');
    if (scope.refundLimitMinor !== null && amount > scope.refundLimitMinor)
      throw new KauriError(
        'refund_limit_exceeded',
        `this refund is above your limit of ${scope.refundLimitMinor} minor units; ask your merchant's admin`,
        { details: { limitMinor: scope.refundLimitMinor } },
      );
    // The same key twice is the same refund (a double click, a retried request): the merchant
    // API's out_refund_no does the rest. Without a key every request is a new refund.
    const key = req.headers['idempotency-key'];
    const outRefundNo =
      typeof key === 'string' && key.length > 0 && key.length <= 200
        ? `hq-${createHash('sha256').update(`${scope.userId}\n${order.id}\n${key}`).digest('base64url').slice(0, 32)}`
        : `hq-${randomBytes(16).toString('base64url')}`;
    // The audit entry commits with the refund's creation, before the channel is called (the
    // flow adds the refund's id); what the channel then says is the refund's own state.
    const { refund } = await deps.payments.refund(
      order.merchant_id,
      order.out_trade_no,
      { out_refund_no: outRefundNo, amount_minor: amount, reason },
      {
        requester: { userId: scope.userId, limitMinor: scope.refundLimitMinor },
        audit: entry(scope, req, {
          action: 'payment.refund',
          merchantId: order.merchant_id,
          target: order.id,
          details: { amountMinor: amount, currency: order.currency, reason },
        }),
      },
    );
    return reply.code(201).send(refundOut(refund));
  });

  hq.post<{ Params: { id: string } }>('/hq/api/payments/:id/close', async (req) => {
    const { scope } = await scopeOf(req, true);
    const order = await orderInScope(scope, req.params.id);
    if (!canRefund(scope)) throw new KauriError('forbidden', `a ${scope.role} may not close payments`);
    if (order.status !== 'created' && order.status !== 'pending')
      throw new KauriError('order_not_closable', `The payment is ${order.status} and cannot be closed`);
    // Committed with the close itself (the flow adds the state the payment ended in).
    await deps.payments.closeOrder(
      order,
      'hq_close',
      entry(scope, req, { action: 'payment.close', merchantId: order.merchant_id, target: order.id }),
    );
    return rowOf(order.id);
  });

  hq.post<{ Params: { id: string } }>('/hq/api/deliveries/:id/resend', async (req) => {
    const { scope } = await scopeOf(req, true);
    const id = req.params.id;
    const d =
      id.length <= 100
        ? await db
            .selectFrom('webhook_deliveries as d')
            .leftJoin('events as e', 'e.id', 'd.event_id')
            .select(['d.id', 'd.merchant_id', 'e.store_id'])
            .where('d.id', '=', id)
            .executeTakeFirst()
        : undefined;
    if (!d || !canRead(scope, d.merchant_id, d.store_id)) throw new KauriError('not_found', 'No such delivery');
    // Webhooks are the merchant's developers' business: HQ admins and merchant admins.
    if (scope.role !== 'hq_admin' && scope.role !== 'merchant_admin')
      throw new KauriError('forbidden', `a ${scope.role} may not resend webhooks`);
    if (!deps.webhooks) throw new KauriError('not_found', 'webhooks are not set up on this bridge');
    await deps.webhooks.redeliver(
      d.merchant_id,
      d.id,
      entry(scope, req, { action: 'webhook.resend', merchantId: d.merchant_id, target: d.id }),
    );
    const after = await db
      .selectFrom('webhook_deliveries')
      .select(['id', 'event_type', 'url', 'status', 'attempts', 'last_error', 'created_at', 'delivered_at'])
      .where('id', '=', d.id)
      .executeTakeFirstOrThrow();
    return {
      id: after.id,
      eventType: after.event_type,
      url: after.url,
      state: after.status,
      attempts: after.attempts,
      lastError: after.last_error,
      at: after.delivered_at ?? after.created_at,
    };
  });

  hq.get<{ Querystring: Q }>('/hq/api/reports', async (req) => {
    const { scope } = await scopeOf(req);
    return { rows: await reportRows(db, scope, req.query) };
  });

  for (const kind of ['payments', 'refunds', 'xero'] as ExportKind[]) {
    hq.get<{ Querystring: Q }>(`/hq/api/exports/${kind}.csv`, async (req, reply) => {
      const { scope } = await scopeOf(req);
      if (!canExport(scope)) throw new KauriError('forbidden', 'a viewer may not export');
      const filter = parseFilter(req.query);
      await log(scope, req, {
        action: `export.${kind}`,
        merchantId: scope.merchantId ?? filter.merchantId ?? null,
        target: `${kind}.csv`,
        details: { filter },
      });
      return sendExport(exporter, scope, kind, filter, reply);
    });
  }
}
