import { RowProblem } from '../errors.js';
import {
  C_PAID,
  C_REFUND_FAILED,
  C_REFUND_PROCESSING,
  C_REFUND_SUCCEEDED,
  C_REVOKED,
  KIND_PAYMENT,
  KIND_REFUND,
} from '../codes.js';
import { ascii, bytesEqual, CurrencyInterner, text } from '../lines.js';
import { currencyExponent, ExactSum, parseScaled, rescaleRound } from '../money.js';
import { StatementRowScratch, type StatementSink } from '../rows.js';
import { parseChinaTime } from '../time.js';
import type { Head, PartParser, PartResult, StatementFormat } from './format.js';
import { checkUtf8Line, decodeHeaderLine } from './header.js';
import { columnsByName, COUNT_MASK, HIGH_BIT, splitFields } from './fields.js';

// The bank gateway publishes no statement of its own; Kauri defines one
// (BANK-STATEMENT.md beside this file) and the bank simulator writes exactly that.

const ROLES = {
  mid: ['v_mid'],
  oid: ['v_oid'],
  refid: ['v_refid'],
  tradeNo: ['bank_trade_no'],
  type: ['type'],
  amount: ['amount'],
  currency: ['currency'],
  status: ['status'],
  time: ['time'],
  fee: ['fee'],
} as const;
type Role = keyof typeof ROLES;
const REQUIRED = Object.keys(ROLES) as Role[];

export interface BankLayout {
  names: string[];
  cols: Record<Role, number>;
}

const PAY = ascii('PAY');
const REFUND = ascii('REFUND');
const SUCCESS = ascii('SUCCESS');
const REVERSED = ascii('REVERSED');
const PROCESSING = ascii('PROCESSING');
const FAILED = ascii('FAILED');
const TRAILER = ascii('TRAILER,');
const AMOUNT_SCALE = 3;
const FEE_SCALE = 6;

export const bankFormat: StatementFormat<BankLayout> = {
  channel: 'bank',

  readHead(head: Uint8Array): Head<BankLayout> {
    const h = decodeHeaderLine(head, ',', 'bank statement');
    const cols = columnsByName(h.fields, ROLES, REQUIRED, 'bank statement');
    return { layout: { names: h.fields, cols }, layoutName: 'bank', dataOffset: h.next, dataLine: 2 };
  },

  createParser(layout, sink): PartParser {
    return new BankPartParser(layout, sink);
  },

  check(_layout, parts, ctx): void {
    const withTrailer = parts.map((p, i) => ({ p, i })).filter(({ p }) => p.trailer.length > 0);
    if (withTrailer.length === 0) {
      const lines = parts.reduce((n, p) => n + p.lines, 0) + 1;
      throw Object.assign(new RowProblem('truncated_file', 'the file ends without its TRAILER line (truncated?)'), {
        line: lines,
      });
    }
    const last = withTrailer[withTrailer.length - 1]!;
    const t = last.p.trailer[0]!;
    const line = ctx.globalLine(last.i, t.line);
    if (withTrailer.length > 1 || last.i !== parts.length - 1 || last.p.trailer.length > 1) {
      throw Object.assign(new RowProblem('malformed_row', 'rows follow the TRAILER line'), { line });
    }
    const f = t.fields; // TRAILER,date,count,pay_total,refund_total,fee_total
    if (f.length !== 6)
      throw Object.assign(new RowProblem('malformed_row', `TRAILER has ${f.length} fields, expected 6`), { line });
    if (f[1] !== ctx.date)
      throw Object.assign(new RowProblem('wrong_day', `the statement is for ${f[1]}, not ${ctx.date}`), { line });
    const rows = parts.reduce((n, p) => n + p.rows, 0);
    if (String(rows) !== f[2])
      throw Object.assign(new RowProblem('summary_mismatch', `TRAILER says ${f[2]} rows but the file has ${rows}`), {
        line,
      });
    const currencies = new Set(parts.flatMap((p) => p.currencies));
    const exp = currencies.size === 1 ? currencyExponent([...currencies][0]!) : 2;
    const checks: [string, string, number][] = [
      ['pay total', 'pay', AMOUNT_SCALE],
      ['refund total', 'refund', AMOUNT_SCALE],
      ['fee total', 'fee', FEE_SCALE],
    ];
    checks.forEach(([label, key, scale], k) => {
      const raw = f[3 + k]!;
      const bytes = ascii(raw);
      const stated = parseScaled(bytes, 0, bytes.length, scale);
      if (Number.isNaN(stated))
        throw Object.assign(new RowProblem('malformed_row', `TRAILER ${label} "${raw}" is not an amount`), { line });
      const sum = parts.reduce((s, p) => s + (p.sums[key] ?? 0n), 0n);
      if (rescaleRound(sum, scale, exp) !== rescaleRound(BigInt(stated), scale, exp)) {
        throw Object.assign(
          new RowProblem('summary_mismatch', `TRAILER ${label} says ${raw} but the rows add up to a different amount`),
          { line },
        );
      }
    });
  },
};

class BankPartParser implements PartParser {
  private readonly n: number;
  private readonly S: Int32Array;
  private readonly E: Int32Array;
  private readonly row = new StatementRowScratch();
  private readonly currencies = new CurrencyInterner();
  private readonly seen = new Set<string>();
  private rows = 0;
  private lines = 0;
  private readonly pay = new ExactSum();
  private readonly refund = new ExactSum();
  private readonly fee = new ExactSum();
  private readonly trailer: PartResult['trailer'] = [];

  constructor(
    private readonly layout: BankLayout,
    private readonly sink: StatementSink,
  ) {
    this.n = layout.names.length;
    this.S = new Int32Array(this.n + 1);
    this.E = new Int32Array(this.n + 1);
  }

  line(buf: Uint8Array, start: number, end: number, lineNo: number): void {
    this.lines = lineNo;
    if (end === start) return;
    if (this.trailer.length > 0) throw new RowProblem('malformed_row', 'content after the TRAILER line');
    if (end - start >= TRAILER.length && bytesEqual(buf, start, start + TRAILER.length, TRAILER)) {
      this.trailer.push({ line: lineNo, fields: text(buf, start, end).split(',') });
      return;
    }
    const split = splitFields(buf, start, end, 44, this.S, this.E, this.n);
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
    if (Number.isNaN(r.timeMs)) this.bad(buf, c.time, 'is not a time (yyyy-MM-dd HH:mm:ss)');
    const cur = this.currencies.get(buf, S[c.currency]!, E[c.currency]!);
    if (cur === null) this.bad(buf, c.currency, 'is not a currency code');
    r.currency = cur!;
    if (this.seen.size < 8) this.seen.add(cur!);
    const unit = 10 ** (AMOUNT_SCALE - currencyExponent(cur!));
    const amount = parseScaled(buf, S[c.amount]!, E[c.amount]!, AMOUNT_SCALE);
    if (Number.isNaN(amount) || amount < 0 || amount % unit !== 0)
      this.bad(buf, c.amount, `is not an amount in ${cur}'s minor unit`);
    r.amountMinor = amount / unit;
    const fee = parseScaled(buf, S[c.fee]!, E[c.fee]!, FEE_SCALE);
    if (Number.isNaN(fee)) this.bad(buf, c.fee, 'is not a fee amount');
    this.fee.add(fee);
    r.feeMicro = fee;
    r.tradeNoS = S[c.tradeNo]!;
    r.tradeNoE = E[c.tradeNo]!;
    r.outTradeNoS = S[c.oid]!;
    r.outTradeNoE = E[c.oid]!;
    r.refundIdS = S[c.refid]!;
    r.refundIdE = E[c.refid]!;
    r.outRefundNoS = r.outRefundNoE = 0;
    r.cnyMinor = cur === 'CNY' ? r.amountMinor : NaN;
    r.rateS = r.rateE = 0;
    const ts = S[c.type]!;
    const te = E[c.type]!;
    const ss = S[c.status]!;
    const se = E[c.status]!;
    if (bytesEqual(buf, ts, te, PAY)) {
      r.kind = KIND_PAYMENT;
      if (bytesEqual(buf, ss, se, SUCCESS)) r.status = C_PAID;
      else if (bytesEqual(buf, ss, se, REVERSED)) r.status = C_REVOKED;
      else this.bad(buf, c.status, 'is not a payment status (SUCCESS, REVERSED)');
      if (r.outTradeNoE <= r.outTradeNoS) throw new RowProblem('malformed_row', 'PAY row without v_oid');
      this.pay.add(amount);
    } else if (bytesEqual(buf, ts, te, REFUND)) {
      r.kind = KIND_REFUND;
      if (bytesEqual(buf, ss, se, SUCCESS)) r.status = C_REFUND_SUCCEEDED;
      else if (bytesEqual(buf, ss, se, PROCESSING)) r.status = C_REFUND_PROCESSING;
      else if (bytesEqual(buf, ss, se, FAILED)) r.status = C_REFUND_FAILED;
      else this.bad(buf, c.status, 'is not a refund status (SUCCESS, PROCESSING, FAILED)');
      if (r.refundIdE <= r.refundIdS) throw new RowProblem('malformed_row', 'REFUND row without v_refid');
      this.refund.add(amount);
    } else {
      this.bad(buf, c.type, 'is not a type (PAY, REFUND)');
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
    return {
      rows: this.rows,
      lines: this.lines,
      sums: { pay: this.pay.value(), refund: this.refund.value(), fee: this.fee.value() },
      currencies: [...this.seen],
      trailer: this.trailer,
    };
  }
}
