import { RowProblem } from './errors.js';
import {
  KIND_PAYMENT,
  KIND_REFUND,
  PAYMENT_STATUSES,
  REFUND_STATUSES,
  platformStatusCode,
  type Channel,
} from './codes.js';
import { ascii, bytesEqual, CurrencyInterner, text } from './lines.js';
import { parseScaled } from './money.js';
import { parseIsoWithOffset } from './time.js';
import { csvUnneutralise } from '../csv.js';
import { decodeHeaderLine, checkUtf8Line } from './convertors/header.js';
import { columnsByName, COUNT_MASK, hasByte, HIGH_BIT, QUOTE_BIT, splitFields } from './convertors/fields.js';

// The platform orders CSV of docs/CONTRACTS.md: columns found by header name, `out_refund_no`
// may be absent. Rows of other channels are skipped. Quoted fields (RFC 4180, as a
// spreadsheet may write them) take a slower path; the common unquoted row is split on bytes.

export interface PlatformRow {
  outTradeNo: string;
  outRefundNo: string | null;
  channel: Channel;
  channelTradeNo: string | null;
  kind: 'payment' | 'refund';
  amountMinor: number;
  currency: string;
  status: string;
  /** ISO 8601 with offset; null when unknown (the order never reached the channel's clock). */
  paidAt: string | null;
}

const ROLES = {
  outTradeNo: ['out_trade_no'],
  outRefundNo: ['out_refund_no'],
  channel: ['channel'],
  tradeNo: ['channel_trade_no'],
  kind: ['kind'],
  amount: ['amount_minor'],
  currency: ['currency'],
  status: ['status'],
  paidAt: ['paid_at'],
} as const;
type Role = keyof typeof ROLES;
const REQUIRED: Role[] = ['outTradeNo', 'channel', 'tradeNo', 'kind', 'amount', 'currency', 'status', 'paidAt'];

export interface PlatformLayout {
  names: string[];
  cols: Record<Role, number>;
}

/** One platform row as offsets into the line buffer; reused. keyS/keyE is the id it is matched on. */
export class PlatformRowScratch {
  buf: Uint8Array = new Uint8Array(0);
  kind = KIND_PAYMENT;
  keyS = 0;
  keyE = 0;
  tradeNoS = 0;
  tradeNoE = 0;
  status = 0;
  amountMinor = 0;
  currency = '';
  paidAtMs = NaN;
  line = 0;
}
export type PlatformSink = (row: PlatformRowScratch) => void;

export function readPlatformHead(head: Uint8Array): { layout: PlatformLayout; dataOffset: number } {
  const h = decodeHeaderLine(head, ',', 'platform orders CSV');
  const names = h.fields.map((f) => f.replace(/^"(.*)"$/, '$1'));
  return { layout: { names, cols: columnsByName(names, ROLES, REQUIRED, 'platform orders CSV') }, dataOffset: h.next };
}

const PAYMENT = ascii('payment');
const STATUS_BYTES = [PAYMENT_STATUSES.map(ascii), REFUND_STATUSES.map(ascii)];

/** The platform status code of buf[s, e), by bytes (no string per row); 0 if unknown. */
function statusCode(kind: number, buf: Uint8Array, s: number, e: number): number {
  const list = STATUS_BYTES[kind]!;
  for (let i = 0; i < list.length; i++) {
    if (bytesEqual(buf, s, e, list[i]!))
      return platformStatusCode(kind, kind === KIND_PAYMENT ? PAYMENT_STATUSES[i]! : REFUND_STATUSES[i]!);
  }
  return 0;
}
const REFUND = ascii('refund');

export class PlatformPartParser {
  private readonly n: number;
  private readonly S: Int32Array;
  private readonly E: Int32Array;
  private readonly row = new PlatformRowScratch();
  private readonly currencies = new CurrencyInterner();
  private readonly channelBytes: Uint8Array;
  rows = 0;
  lines = 0;

  constructor(
    private readonly layout: PlatformLayout,
    private readonly channel: Channel,
    private readonly sink: PlatformSink,
  ) {
    this.n = layout.names.length;
    this.S = new Int32Array(this.n + 1);
    this.E = new Int32Array(this.n + 1);
    this.channelBytes = ascii(channel);
  }

  line(buf: Uint8Array, start: number, end: number, lineNo: number): void {
    this.lines = lineNo;
    if (end === start) return;
    let b = buf;
    let s = start;
    let e = end;
    let split = splitFields(b, s, e, 44, this.S, this.E, this.n);
    if (split & QUOTE_BIT) {
      // Quoted fields (a spreadsheet's export): unquote, then split again.
      b = unquote(buf, start, end);
      s = 0;
      e = b.length;
      split = splitFields(b, s, e, 44, this.S, this.E, this.n);
    }
    if (split & HIGH_BIT) checkUtf8Line(b, s, e);
    const count = split & COUNT_MASK;
    if (count !== this.n)
      throw new RowProblem(
        'malformed_row',
        `${count > this.n ? 'more than' : count} fields where the header has ${this.n}`,
      );
    const { S, E } = this;
    const c = this.layout.cols;
    if (!bytesEqual(b, S[c.channel]!, E[c.channel]!, this.channelBytes)) {
      const ch = text(b, S[c.channel]!, E[c.channel]!);
      if (ch !== 'wechat' && ch !== 'alipay' && ch !== 'bank')
        this.bad(b, c.channel, 'is not a channel (wechat, alipay, bank)');
      return;
    }
    const r = this.row;
    r.buf = b;
    r.line = lineNo;
    if (bytesEqual(b, S[c.kind]!, E[c.kind]!, PAYMENT)) r.kind = KIND_PAYMENT;
    else if (bytesEqual(b, S[c.kind]!, E[c.kind]!, REFUND)) r.kind = KIND_REFUND;
    else this.bad(b, c.kind, 'is not a kind (payment, refund)');
    const code = statusCode(r.kind, b, S[c.status]!, E[c.status]!);
    if (code === 0) this.bad(b, c.status, `is not a ${r.kind === KIND_PAYMENT ? 'payment' : 'refund'} status`);
    r.status = code;
    const amount = parseScaled(b, S[c.amount]!, E[c.amount]!, 0);
    if (Number.isNaN(amount) || amount < 0 || hasByte(b, S[c.amount]!, E[c.amount]!, 46))
      this.bad(b, c.amount, 'is not a whole number of minor units');
    r.amountMinor = amount;
    const cur = this.currencies.get(b, S[c.currency]!, E[c.currency]!);
    if (cur === null) this.bad(b, c.currency, 'is not a currency code');
    r.currency = cur!;
    const ps = S[c.paidAt]!;
    const pe = E[c.paidAt]!;
    r.paidAtMs = pe > ps ? parseIsoWithOffset(b, ps, pe) : NaN;
    if (pe > ps && Number.isNaN(r.paidAtMs)) this.bad(b, c.paidAt, 'is not an ISO 8601 time with offset');
    r.tradeNoS = S[c.tradeNo]!;
    r.tradeNoE = E[c.tradeNo]!;
    if (E[c.outTradeNo]! <= S[c.outTradeNo]!) throw new RowProblem('malformed_row', 'row without out_trade_no');
    if (r.kind === KIND_PAYMENT) {
      r.keyS = S[c.outTradeNo]!;
      r.keyE = E[c.outTradeNo]!;
    } else if (this.channel === 'bank') {
      // Bank refunds are known by the bank's refund id (see BANK-STATEMENT.md).
      r.keyS = r.tradeNoS;
      r.keyE = r.tradeNoE;
      if (r.keyE <= r.keyS)
        throw new RowProblem('malformed_row', 'bank refund row without channel_trade_no (the bank refund id)');
    } else {
      if (c.outRefundNo < 0 || E[c.outRefundNo]! <= S[c.outRefundNo]!)
        throw new RowProblem('malformed_row', 'refund row without out_refund_no');
      r.keyS = S[c.outRefundNo]!;
      r.keyE = E[c.outRefundNo]!;
    }
    this.rows++;
    this.sink(r);
  }

  private bad(buf: Uint8Array, col: number, what: string): never {
    throw new RowProblem(
      'malformed_row',
      `${this.layout.names[col]} "${text(buf, this.S[col]!, this.E[col]!)}" ${what}`,
    );
  }
}

/** RFC 4180 fields on one line → the same fields unquoted, re-joined with commas (commas inside are refused). */
function unquote(buf: Uint8Array, start: number, end: number): Uint8Array {
  const line = text(buf, start, end);
  const out: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let v = '';
      i++;
      for (;;) {
        if (i >= line.length) throw new RowProblem('malformed_row', 'unterminated quoted field');
        if (line[i] === '"') {
          if (line[i + 1] === '"') {
            v += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        v += line[i++];
      }
      if (i < line.length && line[i] !== ',') throw new RowProblem('malformed_row', 'text after a closing quote');
      // Our own platform.csv export, read back: a reference beginning with "-" was written '-….
      out.push(csvUnneutralise(v));
      i++;
    } else {
      const j = line.indexOf(',', i);
      const stop = j < 0 ? line.length : j;
      out.push(line.slice(i, stop));
      i = stop + 1;
    }
  }
  if (out.some((v) => v.includes(',')))
    throw new RowProblem('malformed_row', 'a field holds a comma (ids and amounts never do)');
  return new TextEncoder().encode(out.join(','));
}
