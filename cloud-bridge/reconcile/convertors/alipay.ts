import { RowProblem } from '../errors.js';
import { C_PAID, C_REFUND_SUCCEEDED, C_REVOKED, KIND_PAYMENT, KIND_REFUND } from '../codes.js';
import { ascii, bytesEqual, CurrencyInterner, text } from '../lines.js';
import { currencyExponent, parseScaled } from '../money.js';
import { StatementRowScratch, type StatementSink } from '../rows.js';
import { parseChinaTime } from '../time.js';
import type { Head, PartParser, PartResult, StatementFormat } from './format.js';
import { checkUtf8Line, decodeHeaderLine } from './header.js';
import { columnsByName, COUNT_MASK, HIGH_BIT, splitFields } from './fields.js';

// Alipay cross-border files (protocol notes A5): pipe-separated with a header line,
// optionally preceded by an info line "Partner:…|Payment_time: 2026-11-20|Total_count:4".
// The transaction file has Transaction_type (PAYMENT, REVERSAL, CANCEL, REFUND); the
// settlement file has Type (P/R), Rmb_amount and Rate. Partner_transaction_id is our
// out_trade_no on payments and our out_refund_no on refunds.

const ROLES = {
  id: ['Partner_transaction_id'],
  tradeNo: ['Transaction_id'],
  amount: ['Transaction_amount', 'Amount'],
  fee: ['Charge_amount', 'Fee'],
  currency: ['Currency'],
  time: ['Payment_time'],
  txType: ['Transaction_type'],
  type: ['Type'],
  status: ['Status'],
  rmb: ['Rmb_amount'],
  rate: ['Rate'],
} as const;
type Role = keyof typeof ROLES;

export interface AlipayLayout {
  names: string[];
  cols: Record<Role, number>;
  settlement: boolean;
  info: Record<string, string> | null;
}

const PAYMENT = ascii('PAYMENT');
const REVERSAL = ascii('REVERSAL');
const CANCEL = ascii('CANCEL');
const REFUND = ascii('REFUND');
const P = ascii('P');
const R = ascii('R');

export const alipayFormat: StatementFormat<AlipayLayout> = {
  channel: 'alipay',

  readHead(head: Uint8Array): Head<AlipayLayout> {
    const first = decodeHeaderLine(head, '|', 'Alipay transaction or settlement file');
    let info: Record<string, string> | null = null;
    let header = first;
    let offset = first.next;
    let dataLine = 2;
    if (/^partner\s*:/i.test(first.fields[0] ?? '')) {
      info = {};
      for (const f of first.fields) {
        const i = f.indexOf(':');
        if (i > 0) info[f.slice(0, i).trim().toLowerCase()] = f.slice(i + 1).trim();
      }
      header = decodeHeaderLine(head.subarray(offset), '|', 'Alipay transaction or settlement file');
      offset += header.next;
      dataLine = 3;
    }
    const settlement = !header.fields.some((n) => n.toLowerCase() === 'transaction_type');
    const required: Role[] = settlement
      ? ['id', 'tradeNo', 'amount', 'fee', 'currency', 'time', 'type']
      : ['id', 'tradeNo', 'amount', 'fee', 'currency', 'time', 'txType'];
    const cols = columnsByName(header.fields, ROLES, required, 'Alipay transaction or settlement file');
    return {
      layout: { names: header.fields, cols, settlement, info },
      layoutName: settlement ? 'alipay-settlement' : 'alipay-transaction',
      dataOffset: offset,
      dataLine,
    };
  },

  createParser(layout, sink): PartParser {
    return new AlipayPartParser(layout, sink);
  },

  check(layout, parts, ctx): void {
    const rows = parts.reduce((n, p) => n + p.rows, 0);
    const info = layout.info;
    if (!info) return;
    const count = info.total_count;
    if (count !== undefined && Number(count) !== rows) {
      const lines = parts.reduce((n, p) => n + p.lines, 0) + 2;
      throw Object.assign(
        new RowProblem(
          Number(count) > rows ? 'truncated_file' : 'summary_mismatch',
          `Total_count says ${count} but the file has ${rows} rows`,
        ),
        { line: Number(count) > rows ? lines : 1 },
      );
    }
    const day = info.payment_time;
    if (!layout.settlement && day && day.slice(0, 10).replace(/(\d{4})(\d{2})(\d{2})/, '$1-$2-$3') !== ctx.date) {
      throw Object.assign(new RowProblem('wrong_day', `the file is for ${day}, not ${ctx.date}`), { line: 1 });
    }
  },
};

class AlipayPartParser implements PartParser {
  private readonly n: number;
  private readonly S: Int32Array;
  private readonly E: Int32Array;
  private readonly row = new StatementRowScratch();
  private readonly currencies = new CurrencyInterner();
  private readonly seen = new Set<string>();
  private rows = 0;
  private lines = 0;

  constructor(
    private readonly layout: AlipayLayout,
    private readonly sink: StatementSink,
  ) {
    this.n = layout.names.length;
    this.S = new Int32Array(this.n + 1);
    this.E = new Int32Array(this.n + 1);
  }

  line(buf: Uint8Array, start: number, end: number, lineNo: number): void {
    this.lines = lineNo;
    if (end === start) return;
    const split = splitFields(buf, start, end, 124, this.S, this.E, this.n);
    if (split & HIGH_BIT) checkUtf8Line(buf, start, end);
    const count = split & COUNT_MASK;
    if (count !== this.n) {
      throw new RowProblem(
        'malformed_row',
        `${count > this.n ? 'more than' : count} fields where the header has ${this.n} (truncated or malformed row)`,
      );
    }
    const { S, E } = this;
    const c = this.layout.cols;
    const r = this.row;
    r.buf = buf;
    r.line = lineNo;
    r.timeMs = parseChinaTime(buf, S[c.time]!, E[c.time]!);
    if (Number.isNaN(r.timeMs)) this.bad(buf, c.time, 'is not a time');
    const cur = this.currencies.get(buf, S[c.currency]!, E[c.currency]!);
    if (cur === null) this.bad(buf, c.currency, 'is not a currency code');
    r.currency = cur!;
    if (this.seen.size < 8) this.seen.add(cur!);
    const exp = currencyExponent(cur!);
    const amount = parseScaled(buf, S[c.amount]!, E[c.amount]!, exp);
    if (Number.isNaN(amount)) this.bad(buf, c.amount, `is not an amount in ${cur}'s minor unit`);
    r.amountMinor = Math.abs(amount);
    const fee = E[c.fee]! > S[c.fee]! ? parseScaled(buf, S[c.fee]!, E[c.fee]!, 6) : NaN;
    if (E[c.fee]! > S[c.fee]! && Number.isNaN(fee)) this.bad(buf, c.fee, 'is not a fee amount');
    r.feeMicro = fee;
    r.tradeNoS = S[c.tradeNo]!;
    r.tradeNoE = E[c.tradeNo]!;
    r.refundIdS = r.refundIdE = 0;
    r.cnyMinor = NaN;
    r.rateS = r.rateE = 0;
    r.rateScale = 0;
    if (c.rmb >= 0 && E[c.rmb]! > S[c.rmb]!) {
      r.cnyMinor = Math.abs(parseScaled(buf, S[c.rmb]!, E[c.rmb]!, 2));
      if (Number.isNaN(r.cnyMinor)) this.bad(buf, c.rmb, 'is not a CNY amount');
    }
    if (c.rate >= 0) {
      r.rateS = S[c.rate]!;
      r.rateE = E[c.rate]!;
    }
    const col = this.layout.settlement ? c.type : c.txType;
    const ts = S[col]!;
    const te = E[col]!;
    let kind = -1;
    if (this.layout.settlement) {
      if (bytesEqual(buf, ts, te, P)) kind = KIND_PAYMENT;
      else if (bytesEqual(buf, ts, te, R)) kind = KIND_REFUND;
      r.status = kind === KIND_PAYMENT ? C_PAID : C_REFUND_SUCCEEDED;
    } else if (bytesEqual(buf, ts, te, PAYMENT)) {
      kind = KIND_PAYMENT;
      r.status = C_PAID;
    } else if (bytesEqual(buf, ts, te, REVERSAL) || bytesEqual(buf, ts, te, CANCEL)) {
      kind = KIND_PAYMENT;
      r.status = C_REVOKED;
    } else if (bytesEqual(buf, ts, te, REFUND)) {
      kind = KIND_REFUND;
      r.status = C_REFUND_SUCCEEDED;
    }
    if (kind < 0) this.bad(buf, col, this.layout.settlement ? 'is not a type (P or R)' : 'is not a transaction type');
    r.kind = kind;
    const idS = S[c.id]!;
    const idE = E[c.id]!;
    if (idE <= idS) throw new RowProblem('malformed_row', 'row without Partner_transaction_id');
    if (kind === KIND_PAYMENT) {
      r.outTradeNoS = idS;
      r.outTradeNoE = idE;
      r.outRefundNoS = r.outRefundNoE = 0;
    } else {
      r.outRefundNoS = idS;
      r.outRefundNoE = idE;
      r.outTradeNoS = r.outTradeNoE = 0;
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

  finish(): PartResult {
    return { rows: this.rows, lines: this.lines, sums: {}, currencies: [...this.seen], trailer: [] };
  }
}
