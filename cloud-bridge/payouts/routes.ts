import type { FastifyInstance, FastifyRequest } from 'fastify';
import { KauriError } from '../../protocol/errors.js';
import { isHq, type Session } from '../hq/sessions.js';
import { BANK_FILE_FORMATS } from './formats/index.js';
import { remittanceCsv, remittancePdf, type Remittance } from './remittance.js';
import type { PayoutService } from './service.js';
import type { AuditEntry } from '../hq/audit.js';

// The HQ page's payout API under /hq/api/payouts. HQ users run everything; a merchant admin
// proposes their own merchant's bank account; a merchant's users see their own remittances.

type Auth = (req: FastifyRequest, opts?: { write?: boolean; hq?: boolean }) => Promise<Session>;
/**
 * The back office's audit entry of a change (who and from where come from the request): the
 * service writes it in the change's own transaction.
 */
type AuditOf = (
  req: FastifyRequest,
  s: Session,
  entry: { action: string; merchantId?: string | null; target?: string | null; details?: { [k: string]: unknown } },
) => AuditEntry;
/** Writes a download's audit entry before its first byte; the download fails when it cannot. */
type LogDownload = (
  req: FastifyRequest,
  s: Session,
  entry: { action: string; merchantId?: string | null; target?: string | null; details?: { [k: string]: unknown } },
) => Promise<void>;

function body(req: FastifyRequest): Record<string, unknown> {
  const b = req.body;
  return b && typeof b === 'object' && !Buffer.isBuffer(b) ? (b as Record<string, unknown>) : {};
}
const text = (v: unknown, name: string, max = 200): string => {
  if (typeof v !== 'string' || !v.trim() || v.length > max)
    throw new KauriError('invalid_request', `${name} is required (text up to ${max} characters)`);
  return v.trim();
};
const whole = (v: unknown, name: string): number => {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n))
    throw new KauriError('invalid_request', `${name} is a whole number`);
  return n;
};
const optionalWhole = (v: unknown, name: string) =>
  v === undefined || v === null || v === '' ? undefined : whole(v, name);

export function registerPayoutRoutes(
  hq: FastifyInstance,
  payouts: PayoutService,
  auth: Auth,
  entry?: AuditOf,
  logDownload?: LogDownload,
): void {
  const audit: AuditOf | (() => undefined) = entry ?? (() => undefined);
  const logged: LogDownload = logDownload ?? (async () => undefined);
  const who = (s: Session) => s.user.username;
  const ownMerchant = (s: Session): string => {
    if (!s.user.merchant_id) throw new KauriError('forbidden', 'this user belongs to no merchant');
    // Payouts are the merchant's whole: a user limited to some stores does not read them.
    if (s.scope.storeIds !== null) throw new KauriError('forbidden', "payouts cover the merchant's every store");
    return s.user.merchant_id;
  };

  hq.get('/hq/api/payouts/settings', async (req) => {
    await auth(req);
    return {
      ...(await payouts.settings()),
      formats: Object.values(BANK_FILE_FORMATS).map((f) => ({
        id: f.id,
        name: f.name,
        confirmed: f.confirmed,
        spec: f.spec,
      })),
    };
  });
  hq.post('/hq/api/payouts/settings', async (req) => {
    const s = await auth(req, { write: true });
    const b = body(req);
    await payouts.setSettings(
      {
        originatorAccount: typeof b.originatorAccount === 'string' ? b.originatorAccount : undefined,
        originatorName: typeof b.originatorName === 'string' ? b.originatorName : undefined,
        coolingOffHours: optionalWhole(b.coolingOffHours, 'coolingOffHours'),
      },
      who(s),
      audit(req, s, {
        action: 'payout.settings',
        details: {
          originatorName: b.originatorName ?? null,
          coolingOffHours: b.coolingOffHours ?? null,
          originatorAccountChanged: typeof b.originatorAccount === 'string',
        },
      }),
    );
    return payouts.settings();
  });

  hq.get('/hq/api/payouts/merchants', async (req) => {
    await auth(req);
    return { merchants: await payouts.merchants() };
  });
  hq.get('/hq/api/payouts/accounts', async (req) => {
    const s = await auth(req, { hq: false });
    return { accounts: await payouts.bankAccounts(isHq(s.user) ? undefined : ownMerchant(s)) };
  });
  // HQ sets an account (active at once, a change after the cooling-off); a merchant admin proposes one.
  hq.post('/hq/api/payouts/accounts', async (req) => {
    const s = await auth(req, { write: true, hq: false });
    const hqUser = isHq(s.user);
    if (!hqUser && s.user.role !== 'merchant_admin')
      throw new KauriError('forbidden', 'only HQ and merchant admins record bank accounts');
    const b = body(req);
    const schedule = text(b.schedule, 'schedule', 10);
    const merchantId = hqUser ? text(b.merchantId, 'merchantId') : ownMerchant(s);
    const account = await payouts.setAccount(
      {
        merchantId,
        accountNumber: text(b.accountNumber, 'accountNumber', 40),
        accountName: text(b.accountName, 'accountName', 40),
        schedule: schedule as 'daily' | 'weekly' | 'monthly',
        scheduleDay: optionalWhole(b.scheduleDay, 'scheduleDay') ?? null,
        minimumMinor: optionalWhole(b.minimumMinor, 'minimumMinor') ?? 0,
        actor: who(s),
      },
      {
        approve: hqUser,
        // The service sets the target, the new account's id.
        audit: audit(req, s, {
          action: 'payout.account.set',
          merchantId,
          details: {
            accountName: b.accountName,
            accountLast4: String(b.accountNumber).replace(/\D/g, '').slice(-4),
            schedule,
          },
        }),
      },
    );
    return { account };
  });
  hq.post<{ Params: { id: string } }>('/hq/api/payouts/accounts/:id/decide', async (req) => {
    const s = await auth(req, { write: true });
    const account = await payouts.decideAccount(
      req.params.id,
      body(req).approve === true,
      who(s),
      audit(req, s, {
        action: body(req).approve === true ? 'payout.account.approve' : 'payout.account.reject',
        target: req.params.id,
      }),
    );
    return { account };
  });

  hq.get('/hq/api/payouts/fees', async (req) => {
    await auth(req);
    return { fees: await payouts.fees() };
  });
  hq.post('/hq/api/payouts/fees', async (req) => {
    const s = await auth(req, { write: true });
    const b = body(req);
    await payouts.setFee(
      text(b.merchantId, 'merchantId'),
      text(b.channel, 'channel', 10),
      { percent: text(b.percent, 'percent', 10), fixedMinor: whole(b.fixedMinor ?? 0, 'fixedMinor') },
      who(s),
      audit(req, s, {
        action: 'payout.fee.set',
        merchantId: String(b.merchantId),
        target: String(b.channel),
        details: { percent: b.percent, fixedMinor: b.fixedMinor ?? 0 },
      }),
    );
    return { fees: await payouts.fees() };
  });

  hq.get('/hq/api/payouts/runs', async (req) => {
    await auth(req);
    return { runs: await payouts.runs() };
  });
  hq.post('/hq/api/payouts/runs', async (req) => {
    const s = await auth(req, { write: true });
    const run = await payouts.buildRun({ actor: who(s), audit: audit(req, s, { action: 'payout.run.create' }) });
    return { run };
  });
  hq.get<{ Params: { id: string } }>('/hq/api/payouts/runs/:id', async (req) => {
    await auth(req);
    const run = await payouts.run(req.params.id);
    if (!run) throw new KauriError('not_found', 'no such payout run');
    return { run, lines: await payouts.lines({ runId: run.id }), audit: await payouts.auditOf({ runId: run.id }) };
  });
  hq.post<{ Params: { id: string } }>('/hq/api/payouts/runs/:id/approve', async (req) => {
    const s = await auth(req, { write: true });
    const run = await payouts.approve(
      req.params.id,
      who(s),
      audit(req, s, { action: 'payout.run.approve', target: req.params.id }),
    );
    return { run };
  });
  hq.post<{ Params: { id: string } }>('/hq/api/payouts/runs/:id/cancel', async (req) => {
    const s = await auth(req, { write: true });
    const run = await payouts.cancel(
      req.params.id,
      who(s),
      audit(req, s, { action: 'payout.run.cancel', target: req.params.id }),
    );
    return { run };
  });
  hq.get<{ Params: { id: string }; Querystring: { format?: string; due?: string } }>(
    '/hq/api/payouts/runs/:id/problems',
    async (req) => {
      await auth(req);
      return { problems: await payouts.problems(req.params.id, text(req.query.format, 'format', 20), req.query.due) };
    },
  );
  // The bank file: a POST (it fixes the run for good), so it carries the CSRF token.
  hq.post<{ Params: { id: string } }>('/hq/api/payouts/runs/:id/file', async (req, reply) => {
    const s = await auth(req, { write: true });
    const b = body(req);
    const file = await payouts.download(
      req.params.id,
      text(b.format, 'format', 20),
      who(s),
      typeof b.dueDate === 'string' && b.dueDate ? b.dueDate : undefined,
      audit(req, s, { action: 'payout.run.file', target: req.params.id, details: { format: b.format } }),
    );
    return reply
      .type(file.contentType)
      .header('content-disposition', `attachment; filename="${file.fileName}"`)
      .send(file.body);
  });

  hq.post('/hq/api/payouts/statements', { bodyLimit: 6 * 1024 * 1024 }, async (req) => {
    const s = await auth(req, { write: true });
    const b = body(req);
    const kind = b.kind === 'ofx' ? 'ofx' : b.kind === 'csv' ? 'csv' : undefined;
    if (!kind) throw new KauriError('invalid_request', 'kind is csv or ofx');
    const content = text(b.content, 'content', 4_000_000);
    const result = await payouts.importStatement(
      Buffer.from(content, 'base64'),
      kind,
      who(s),
      audit(req, s, { action: 'payout.statement.import', details: { kind } }),
    );
    return result;
  });

  // Remittances: HQ sees every merchant's, a merchant's users only their own.
  const scope = (s: Session) => (isHq(s.user) ? undefined : ownMerchant(s));
  hq.get('/hq/api/payouts/remittances', async (req) => {
    const s = await auth(req, { hq: false });
    const lines = await payouts.lines({ merchantId: scope(s) });
    const runs = new Map((await payouts.runs(500)).map((r) => [r.id, r]));
    return {
      remittances: lines
        .filter((l) => runs.get(l.run_id)?.state === 'downloaded')
        .map((l) => ({
          id: l.id,
          runNumber: runs.get(l.run_id)!.number,
          merchantId: l.merchant_id,
          merchantName: l.merchantName,
          status: l.status,
          amountMinor: l.amount_minor,
          bankStatus: l.bank_status,
          bankDate: l.bank_date,
          dueDate: runs.get(l.run_id)!.due_date,
        }))
        .reverse(),
    };
  });
  const remittanceOf = async (req: FastifyRequest<{ Params: { id: string } }>) => {
    const s = await auth(req, { hq: false });
    const r = await payouts.remittance(req.params.id);
    const own = scope(s);
    // Another merchant's payout is "not found", not "forbidden": its id tells nothing.
    if ((own && r.line.merchant_id !== own) || r.run.state !== 'downloaded')
      throw new KauriError('not_found', 'no such payout');
    return { s, r };
  };
  /** The remittance's audit entry, under the payout's merchant so that merchant's admin reads it too. */
  const logRemittance = (req: FastifyRequest, s: Session, r: Remittance, format: 'csv' | 'pdf', fileName: string) =>
    logged(req, s, {
      action: 'export.remittance',
      merchantId: r.line.merchant_id,
      target: r.line.id,
      details: { format, file: fileName, runNumber: r.run.number, lineNo: r.line.line_no },
    });
  hq.get<{ Params: { id: string } }>('/hq/api/payouts/remittances/:id/remittance.csv', async (req, reply) => {
    const { s, r } = await remittanceOf(req);
    const csv = remittanceCsv(r);
    const fileName = `remittance-${r.run.number}-${r.line.line_no}.csv`;
    await logRemittance(req, s, r, 'csv', fileName);
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="${fileName}"`)
      .send(csv);
  });
  hq.get<{ Params: { id: string } }>('/hq/api/payouts/remittances/:id/remittance.pdf', async (req, reply) => {
    const { s, r } = await remittanceOf(req);
    const pdf = await remittancePdf(r);
    const fileName = `remittance-${r.run.number}-${r.line.line_no}.pdf`;
    await logRemittance(req, s, r, 'pdf', fileName);
    return reply.type('application/pdf').header('content-disposition', `attachment; filename="${fileName}"`).send(pdf);
  });
}
