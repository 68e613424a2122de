import { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import type { Kysely } from 'kysely';
import { money, toDecimalString } from '../../protocol/money.js';
import { CsvDecimal, csvLine, type CsvValue } from '../csv.js';
import type { Database } from '../store/schema.js';
import type { Scope } from './scope.js';
import type { Exporter } from './export-workers.js';
import {
  DEFAULT_TIMEZONE,
  eachPayment,
  eachRefund,
  localDate,
  resolve,
  type PaymentFilter,
  type Resolved,
} from './payments-query.js';

// The back office's CSV exports, streamed: rows are read a keyset page at a time and each
// page is written only when the connection has taken the one before (Readable.from pulls on
// demand), so a month of a million payments never sits in memory, and a client that goes away
// stops the reading. Every cell goes through cloud-bridge/csv.ts. On a database file or
// PostgreSQL this runs in a worker thread (export-workers.ts), memory-bounded and off the
// event loop that answers payments.

export type ExportKind = 'payments' | 'refunds' | 'xero';

const PAYMENT_COLUMNS = [
  'id',
  'out_trade_no',
  'merchant_id',
  'merchant_name',
  'store_id',
  'store_name',
  'terminal_id',
  'channel',
  'mode',
  'status',
  'currency',
  'amount_minor',
  'refunded_minor',
  'cny_charged_minor',
  'flagged',
  'created_at',
  'paid_at',
];

const REFUND_COLUMNS = [
  'id',
  'out_refund_no',
  'payment_id',
  'out_trade_no',
  'merchant_id',
  'merchant_name',
  'store_id',
  'store_name',
  'channel',
  'currency',
  'amount_minor',
  'status',
  'reason',
  'automatic',
  'created_at',
  'updated_at',
];

/** Xero's bank statement CSV: Date and Amount required, Payee, Description and Reference optional. */
export const XERO_COLUMNS = ['Date', 'Amount', 'Payee', 'Description', 'Reference'];

const CHANNEL_NAMES: Record<string, string> = { wechat: 'WeChat Pay', alipay: 'Alipay', bank: 'Online banking' };
/** Money that came in: what a statement shows as a credit. */
const RECEIVED = ['paid', 'partially_refunded', 'refunded'];

/** Lines batched into one chunk: one write per keyset page rather than per row. */
const CHUNK_LINES = 500;

async function* lines(header: readonly string[], rows: AsyncIterable<readonly CsvValue[]>): AsyncGenerator<string> {
  yield `${csvLine(header)}\n`;
  let batch: string[] = [];
  for await (const r of rows) {
    batch.push(csvLine(r));
    if (batch.length >= CHUNK_LINES) {
      yield `${batch.join('\n')}\n`;
      batch = [];
    }
  }
  if (batch.length) yield `${batch.join('\n')}\n`;
}

/** DD/MM/YYYY, the New Zealand order Xero reads without asking. */
function xeroDate(iso: string, tz: string): string {
  const [y, m, d] = localDate(iso, tz).split('-');
  return `${d}/${m}/${y}`;
}

const amount = (minor: number, currency: string) => new CsvDecimal(toDecimalString(money(minor, currency)));

async function* paymentCells(db: Kysely<Database>, r: Resolved): AsyncGenerator<CsvValue[]> {
  for await (const p of eachPayment(db, r))
    yield [
      p.id,
      p.outTradeNo,
      p.merchantId,
      p.merchantName,
      p.storeId,
      p.storeName,
      p.terminalId,
      p.channel,
      p.mode,
      p.status,
      p.amount.currency,
      p.amount.minor,
      p.refunded.minor,
      p.charged?.minor ?? null,
      p.flagged,
      p.createdAt,
      p.paidAt,
    ];
}

async function* refundCells(db: Kysely<Database>, r: Resolved): AsyncGenerator<CsvValue[]> {
  for await (const x of eachRefund(db, r))
    yield [
      x.id,
      x.outRefundNo,
      x.paymentId,
      x.outTradeNo,
      x.merchantId,
      x.merchantName,
      x.storeId,
      x.storeName,
      x.channel,
      x.amount.currency,
      x.amount.minor,
      x.status,
      x.reason,
      x.automatic,
      x.createdAt,
      x.updatedAt,
    ];
}

/**
 * A statement of one currency (a Xero bank account has one): each payment received is a
 * credit on its store's local date, each refund that went through a debit.
 */
async function* xeroCells(db: Kysely<Database>, payments: Resolved, refunds: Resolved): AsyncGenerator<CsvValue[]> {
  const tz = (storeId: string | null) => (storeId && payments.timezones.get(storeId)) || DEFAULT_TIMEZONE;
  for await (const p of eachPayment(db, payments)) {
    if (!RECEIVED.includes(p.status)) continue;
    const channel = CHANNEL_NAMES[p.channel] ?? p.channel;
    yield [
      xeroDate(p.paidAt ?? p.createdAt, tz(p.storeId)),
      amount(p.amount.minor, p.amount.currency),
      channel,
      `${channel} payment${p.storeName ? ` at ${p.storeName}` : ''} (Kauri ${p.id})`,
      p.outTradeNo,
    ];
  }
  for await (const x of eachRefund(db, refunds)) {
    if (x.status !== 'succeeded') continue;
    const channel = CHANNEL_NAMES[x.channel] ?? x.channel;
    yield [
      xeroDate(x.updatedAt, tz(x.storeId)),
      amount(-x.amount.minor, x.amount.currency),
      channel,
      `${channel} refund${x.storeName ? ` at ${x.storeName}` : ''} (Kauri ${x.id})`,
      x.outTradeNo,
    ];
  }
}

/** The export's CSV text, a chunk (a few hundred lines) at a time; the filter is resolved first, so its errors come before any byte. */
export async function exportSource(
  db: Kysely<Database>,
  scope: Scope,
  kind: ExportKind,
  filter: PaymentFilter,
): Promise<AsyncGenerator<string>> {
  if (kind === 'payments') return lines(PAYMENT_COLUMNS, paymentCells(db, await resolve(db, scope, filter)));
  if (kind === 'refunds')
    return lines(REFUND_COLUMNS, refundCells(db, await resolve(db, scope, filter, 'r.created_at')));
  const f = { ...filter, currency: filter.currency ?? 'NZD' };
  return lines(XERO_COLUMNS, xeroCells(db, await resolve(db, scope, f), await resolve(db, scope, f, 'r.created_at')));
}

/** The export read and formatted on this thread (see export-workers.ts for the worker that does it off it). */
export async function exportStream(
  db: Kysely<Database>,
  scope: Scope,
  kind: ExportKind,
  filter: PaymentFilter,
): Promise<Readable> {
  // One chunk buffered ahead at most: the database is read as fast as the client reads.
  return Readable.from(await exportSource(db, scope, kind, filter), { objectMode: false, highWaterMark: 64 * 1024 });
}

export async function sendExport(
  exporter: Exporter,
  scope: Scope,
  kind: ExportKind,
  filter: PaymentFilter,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const stream = await exporter.open(scope, kind, filter);
  // A failure after the first byte (the database gone, the worker out of memory) destroys the
  // stream: fastify then drops the connection instead of ending the chunked body, so the
  // client sees a failed download rather than a short CSV that looks whole.
  stream.on('error', (err: Error & { code?: string }) =>
    reply.log.error({ kind, code: err.code, message: err.message }, 'export stopped: the download is cut short'),
  );
  const span = [filter.from, filter.to].filter(Boolean).join('-to-');
  const name = `${kind}${span ? `-${span}` : ''}.csv`;
  return reply
    .type('text/csv; charset=utf-8')
    .header('content-disposition', `attachment; filename="${name}"`)
    .send(stream);
}
