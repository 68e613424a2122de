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
import { currencyExponent, ExactSum, parseScaled, POW10, rescaleRound } from '../money.js';
import { StatementRowScratch, type StatementSink } from '../rows.js';
import { parseChinaTime } from '../time.js';
import {
  addSum,
  SCALE_AMOUNT,
  SCALE_FEE,
  type Head,
  type PartParser,
  type PartResult,
  type StatementFormat,
} from './format.js';
import { checkUtf8Line, decodeHeaderLine } from './header.js';
import {
  COUNT_MASK,
  hasByte,
  HIGH_BIT,
  LITTLE_ENDIAN,
  splitBacktickFields,
  splitBacktickFieldsWords,
} from './fields.js';

// WeChat Pay downloadbill (bill_type=ALL). Three header layouts are in use: the current
// Chinese one (应结订单金额…, and the v3 cross-border statement), the early Chinese one
// (24 columns with 总金额 and 企业红包金额, which the official format page says some
// merchants still get: pay.weixin.qq.com/docs/merchant/products/bill-download/format-trade.html)
// and the overseas v2 English one. Columns are found by name, so all of them parse with
// one parser. REVOKED rows (a payment revoked after it was paid) stay in the bill and in
// its summary totals, which add up every row's columns. Data rows are backtick-prefixed fields ("`a,`b"), split on ",`" because a
// product name may hold a comma; the last two lines are a summary header and its
// backtick-prefixed totals, which must agree with the rows.
//
// Hand-written rather than a CSV library: none splits on the two-byte ",`" separator, and
// the general ones (csv-parse, papaparse) make a string per field, 35 fields × a million
// rows, which is most of their time; here fields stay byte ranges and only the dozen
// columns reconciliation needs are ever decoded (BENCHMARKS.md, Reconciliation).

const ROLES = {
  time: ['交易时间', 'transaction time'],
  tradeNo: ['微信订单号', 'wechat order number', 'wechatpay order number', 'wechat order no'],
  outTradeNo: ['商户订单号', 'vendor order number', 'merchant order number', 'merchant order no'],
  status: ['交易状态', 'transaction status'],
  currency: ['货币种类', '标价币种', 'currency type'],
  // 总金额: the early Chinese bill's name for 应结订单金额 (official format page, 注意事项).
  amount: ['订单金额', '订单金额(标价币种)', 'total amount', '应结订单金额', '总金额'],
  settleAmount: ['应结订单金额', 'settlement currency amount'],
  refundId: ['微信退款单号', 'wechat refund number'],
  outRefundNo: ['商户退款单号', 'vendor refund number', 'merchant refund number'],
  refundAmount: ['退款金额', 'refund amount', '申请退款金额'],
  refundStatus: ['退款状态', 'refund status'],
  fee: ['手续费', 'fee'],
  cashCurrency: ['用户支付币种', 'payment currency type'],
  cashAmount: ['用户支付金额', 'cash payment amount'],
  fxRate: ['支付汇率', 'exchange rate'],
} as const;
type Role = keyof typeof ROLES;
const REQUIRED: Role[] = [
  'time',
  'tradeNo',
  'outTradeNo',
  'status',
  'currency',
  'amount',
  'outRefundNo',
  'refundAmount',
  'fee',
];

export interface WechatLayout {
  names: string[];
  cols: Record<Role, number>; // -1 when absent
  english: boolean;
}

const SUCCESS = ascii('SUCCESS');
const REFUND = ascii('REFUND');
const REVOKED = ascii('REVOKED');
const PROCESSING = ascii('PROCESSING');
const REFUNDCLOSE = ascii('REFUNDCLOSE');
const CHANGE = ascii('CHANGE');
const FAIL = ascii('FAIL');
const FAILED = ascii('FAILED');

function findColumns(names: string[]): WechatLayout {
  const norm = names.map((n) => n.trim().replace(/^`/, '').toLowerCase());
  const cols = {} as Record<Role, number>;
  for (const role of Object.keys(ROLES) as Role[]) {
    cols[role] = -1;
    for (const alias of ROLES[role]) {
      const i = norm.indexOf(alias);
      if (i >= 0) {
        cols[role] = i;
        break;
      }
    }
  }
  const missing = REQUIRED.filter((r) => cols[r] < 0);
  if (missing.length > 0) {
    throw new RowProblem(
      'wrong_header',
      `not a WeChat Pay statement header: no column ${missing.map((r) => ROLES[r].slice(0, 2).join('/')).join(', ')}`,
    );
  }
  // 应结订单金额 may have been taken as the amount (older layouts); don't sum it twice.
  if (cols.settleAmount === cols.amount) cols.settleAmount = -1;
  return { names, cols, english: /^[\x20-\x7e]+$/.test(names[cols.time]!) };
}

export const wechatFormat: StatementFormat<WechatLayout> = {
  channel: 'wechat',

  readHead(head: Uint8Array): Head<WechatLayout> {
    const start = new TextDecoder().decode(head.subarray(0, 512));
    if (/^\s*<xml>/.test(start)) {
      // downloadbill answers errors ("No Bill Exist") as XML instead of a statement.
      const msg = /<return_msg>(?:<!\[CDATA\[)?(.*?)(?:\]\]>)?<\/return_msg>/.exec(start)?.[1] ?? 'unknown';
      throw new RowProblem('wrong_header', `a WeChat Pay error reply ("${msg}"), not a statement`);
    }
    const { fields, next } = decodeHeaderLine(head, ',', 'WeChat Pay statement');
    const layout = findColumns(fields);
    return { layout, layoutName: layout.english ? 'wechat-en' : 'wechat-zh', dataOffset: next, dataLine: 2 };
  },

  createParser(layout: WechatLayout, sink: StatementSink): PartParser {
    return new WechatPartParser(layout, sink);
  },

  check(layout, parts, ctx): void {
    const trailerParts = parts.map((p, i) => ({ p, i })).filter(({ p }) => p.trailer.length > 0);
    const lastIndex = parts.length - 1;
    const last = trailerParts.length > 0 ? trailerParts[trailerParts.length - 1]! : undefined;
    if (!last || last.p.trailer.length < 2) {
      const lines = parts.reduce((n, p) => n + p.lines, 0) + 1;
      throw Object.assign(new RowProblem('truncated_file', 'the file ends without its summary rows (truncated?)'), {
        line: lines,
      });
    }
    if (trailerParts.length > 1 || last.i !== lastIndex) {
      const first = trailerParts[0]!;
      throw Object.assign(new RowProblem('malformed_row', 'rows follow the summary'), {
        line: ctx.globalLine(first.i, first.p.trailer[0]!.line),
      });
    }
    const [namesLine, totalsLine] = last.p.trailer as [PartResult['trailer'][0], PartResult['trailer'][0]];
    const line = ctx.globalLine(last.i, totalsLine.line);
    const names = namesLine.fields;
    const values = totalsLine.fields;
    if (values.length !== names.length) {
      throw Object.assign(
        new RowProblem('malformed_row', `summary has ${values.length} values for ${names.length} summary columns`),
        { line },
      );
    }
    const rows = parts.reduce((n, p) => n + p.rows, 0);
    const sums: Record<string, bigint> = {};
    const currencies = new Set<string>();
    for (const p of parts) {
      for (const [k, v] of Object.entries(p.sums)) addSum(sums, k, v);
      for (const c of p.currencies) currencies.add(c);
    }
    const single = currencies.size === 1 ? [...currencies][0]! : null;
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!.trim().toLowerCase();
      const raw = values[i]!.trim();
      const target = summaryTarget(name, layout);
      if (target === null) continue;
      const bytes = new TextEncoder().encode(raw);
      if (target === 'count') {
        const n = parseScaled(bytes, 0, bytes.length, 0);
        if (n !== rows) {
          throw Object.assign(
            new RowProblem('summary_mismatch', `summary ${names[i]!.trim()} says ${raw} but the file has ${rows} rows`),
            { line },
          );
        }
        continue;
      }
      const scale = target === 'fee' ? SCALE_FEE : SCALE_AMOUNT;
      const stated = parseScaled(bytes, 0, bytes.length, scale);
      if (Number.isNaN(stated)) {
        throw Object.assign(new RowProblem('malformed_row', `summary ${names[i]!.trim()} "${raw}" is not an amount`), {
          line,
        });
      }
      // Compared at the currency's minor unit: fees carry sub-cent precision per row.
      const exp = single ? currencyExponent(single) : scale;
      const want = rescaleRound(BigInt(stated), scale, exp);
      const got = rescaleRound(sums[target] ?? 0n, scale, exp);
      if (want !== got) {
        throw Object.assign(
          new RowProblem(
            'summary_mismatch',
            `summary ${names[i]!.trim()} says ${raw} but the rows add up to ${formatScaled(sums[target] ?? 0n, scale)}`,
          ),
          { line },
        );
      }
    }
  },
};

function formatScaled(v: bigint, scale: number): string {
  const neg = v < 0n;
  const s = (neg ? -v : v).toString().padStart(scale + 1, '0');
  return (
    `${neg ? '-' : ''}${s.slice(0, -scale)}.${s.slice(-scale)}`.replace(/\.?0+$/, (m) =>
      m.startsWith('.') ? '' : m,
    ) || '0'
  );
}

function summaryTarget(
  name: string,
  layout: WechatLayout,
): 'count' | 'amount' | 'settleAmount' | 'refundAmount' | 'fee' | null {
  if (name.includes('单数') || name.includes('count')) return 'count';
  // Vouchers (充值券/代金券, 企业红包 in the early bill) are not columns Kauri sums.
  if (
    name.includes('充值券') ||
    name.includes('代金券') ||
    name.includes('红包') ||
    name.includes('coupon') ||
    name.includes('申请退款')
  )
    return null;
  if (name.includes('应结') || name.includes('settlement'))
    return layout.cols.settleAmount >= 0 ? 'settleAmount' : 'amount';
  if (name.includes('退款') || name.includes('refund')) return 'refundAmount';
  if (name.includes('手续费') || name.includes('fee')) return 'fee';
  if (name.includes('金额') || name.includes('交易额') || name.includes('amount')) return 'amount';
  return null;
}

class WechatPartParser implements PartParser {
  private readonly n: number;
  private readonly starts: Int32Array;
  private readonly ends: Int32Array;
  private readonly row = new StatementRowScratch();
  private readonly currencies = new CurrencyInterner();
  private readonly seen = new Set<string>();
  private rows = 0;
  private lines = 0;
  private readonly amountSum = new ExactSum();
  private readonly settleSum = new ExactSum();
  private readonly refundSum = new ExactSum();
  private readonly feeSum = new ExactSum();
  private readonly trailer: PartResult['trailer'] = [];
  private readonly c: Record<Role, number>;
  private wordsOf: Uint8Array | null = null;
  private words: Uint32Array | null = null;

  constructor(
    private readonly layout: WechatLayout,
    private readonly sink: StatementSink,
  ) {
    this.n = layout.names.length;
    this.starts = new Int32Array(this.n);
    this.ends = new Int32Array(this.n);
    this.c = layout.cols;
  }

  line(buf: Uint8Array, start: number, end: number, lineNo: number): void {
    this.lines = lineNo;
    if (end === start) return; // blank lines (trailing CRLF) carry nothing
    if (this.trailer.length === 0 && buf[start] === 96) {
      this.dataRow(buf, start, end, lineNo);
      return;
    }
    if (this.trailer.length === 0) {
      this.trailer.push({
        line: lineNo,
        fields: text(buf, start, end)
          .split(',')
          .map((s) => s.trim()),
      });
      return;
    }
    if (this.trailer.length === 1) {
      if (buf[start] !== 96) throw new RowProblem('malformed_row', 'the summary totals line is not backtick-prefixed');
      this.trailer.push({ line: lineNo, fields: text(buf, start + 1, end).split(',`') });
      return;
    }
    throw new RowProblem('malformed_row', 'content after the summary totals (the summary must be the last two lines)');
  }

  private dataRow(buf: Uint8Array, start: number, end: number, lineNo: number): void {
    const S = this.starts;
    const E = this.ends;
    if (buf !== this.wordsOf) {
      this.wordsOf = buf;
      this.words =
        LITTLE_ENDIAN && (buf.byteOffset & 3) === 0
          ? new Uint32Array(buf.buffer, buf.byteOffset, buf.length >> 2)
          : null;
    }
    const split = this.words
      ? splitBacktickFieldsWords(buf, this.words, start, end, S, E, this.n)
      : splitBacktickFields(buf, start, end, S, E, this.n);
    if (split & HIGH_BIT) checkUtf8Line(buf, start, end);
    const f = split & COUNT_MASK;
    if (f > this.n) throw new RowProblem('malformed_row', `more than the header's ${this.n} fields`);
    if (f !== this.n) {
      throw new RowProblem('malformed_row', `${f} fields where the header has ${this.n} (truncated or malformed row)`);
    }
    const c = this.c;
    const r = this.row;
    r.buf = buf;
    r.line = lineNo;
    r.timeMs = parseChinaTime(buf, S[c.time]!, E[c.time]!);
    if (Number.isNaN(r.timeMs)) this.bad(c.time, buf, 'is not a time (yyyy-MM-dd HH:mm:ss)');
    const cur = this.currencies.get(buf, S[c.currency]!, E[c.currency]!);
    if (cur === null) this.bad(c.currency, buf, 'is not a currency code');
    r.currency = cur!;
    this.noteCurrency(cur!);
    const exp = currencyExponent(cur!);
    const unit = POW10[SCALE_AMOUNT - exp]!;

    const amount = this.money(buf, c.amount, SCALE_AMOUNT, unit);
    this.amountSum.add(amount);
    if (c.settleAmount >= 0) this.settleSum.add(this.money(buf, c.settleAmount, SCALE_AMOUNT, unit));
    const refund = this.money(buf, c.refundAmount, SCALE_AMOUNT, unit);
    this.refundSum.add(refund);
    const fee = this.money(buf, c.fee, SCALE_FEE, 1);
    this.feeSum.add(fee);
    r.feeMicro = fee;

    r.tradeNoS = S[c.tradeNo]!;
    r.tradeNoE = E[c.tradeNo]!;
    r.outTradeNoS = S[c.outTradeNo]!;
    r.outTradeNoE = E[c.outTradeNo]!;
    r.outRefundNoS = S[c.outRefundNo]!;
    r.outRefundNoE = E[c.outRefundNo]!;
    if (c.refundId >= 0) {
      r.refundIdS = S[c.refundId]!;
      r.refundIdE = E[c.refundId]!;
    } else {
      r.refundIdS = r.refundIdE = 0;
    }
    r.rateS = r.rateE = 0;
    r.cnyMinor = NaN;

    const ss = S[c.status]!;
    const se = E[c.status]!;
    if (bytesEqual(buf, ss, se, SUCCESS) || bytesEqual(buf, ss, se, REVOKED)) {
      r.kind = KIND_PAYMENT;
      r.status = buf[ss] === 83 /* S */ ? C_PAID : C_REVOKED;
      r.amountMinor = Math.abs(amount) / unit;
      if (r.outTradeNoE <= r.outTradeNoS)
        throw new RowProblem('malformed_row', `payment row without ${this.name(c.outTradeNo)}`);
      if (c.cashAmount >= 0 && c.cashCurrency >= 0 && bytesEqual(buf, S[c.cashCurrency]!, E[c.cashCurrency]!, CNY)) {
        r.cnyMinor = this.money(buf, c.cashAmount, 2, 1);
      }
      if (c.fxRate >= 0) {
        r.rateS = S[c.fxRate]!;
        r.rateE = E[c.fxRate]!;
        r.rateScale = hasByte(buf, r.rateS, r.rateE, 46) ? 0 : 8;
      }
    } else if (bytesEqual(buf, ss, se, REFUND)) {
      r.kind = KIND_REFUND;
      r.amountMinor = Math.abs(refund) / unit;
      r.status = C_REFUND_SUCCEEDED;
      if (c.refundStatus >= 0) {
        const rs = S[c.refundStatus]!;
        const re = E[c.refundStatus]!;
        if (re === rs || bytesEqual(buf, rs, re, SUCCESS)) r.status = C_REFUND_SUCCEEDED;
        else if (bytesEqual(buf, rs, re, PROCESSING)) r.status = C_REFUND_PROCESSING;
        else if (
          bytesEqual(buf, rs, re, REFUNDCLOSE) ||
          bytesEqual(buf, rs, re, CHANGE) ||
          bytesEqual(buf, rs, re, FAIL) ||
          bytesEqual(buf, rs, re, FAILED)
        ) {
          r.status = C_REFUND_FAILED;
        } else this.bad(c.refundStatus, buf, 'is not a refund status');
      }
      if (r.outRefundNoE <= r.outRefundNoS)
        throw new RowProblem('malformed_row', `refund row without ${this.name(c.outRefundNo)}`);
    } else {
      this.bad(c.status, buf, 'is not a transaction status (SUCCESS, REFUND, REVOKED)');
    }
    this.rows++;
    this.sink(r);
  }

  private noteCurrency(cur: string): void {
    if (this.seen.size < 8 && !this.seen.has(cur)) this.seen.add(cur);
  }

  private name(col: number): string {
    return this.layout.names[col]!.trim();
  }

  private money(buf: Uint8Array, col: number, scale: number, unit: number): number {
    const s = this.starts[col]!;
    const e = this.ends[col]!;
    if (e === s) return 0; // empty amount cells in refund-only columns
    const v = parseScaled(buf, s, e, scale);
    if (Number.isNaN(v) || v % unit !== 0) {
      this.bad(
        col,
        buf,
        scale === SCALE_FEE ? 'is not a fee amount' : `is not an amount in ${this.row.currency}'s minor unit`,
      );
    }
    return v;
  }

  private bad(col: number, buf: Uint8Array, what: string): never {
    throw new RowProblem(
      'malformed_row',
      `${this.name(col)} "${text(buf, this.starts[col]!, this.ends[col]!)}" ${what}`,
    );
  }

  finish(): PartResult {
    const sums: Record<string, bigint> = {
      amount: this.amountSum.value(),
      refundAmount: this.refundSum.value(),
      fee: this.feeSum.value(),
    };
    if (this.c.settleAmount >= 0) sums.settleAmount = this.settleSum.value();
    return { rows: this.rows, lines: this.lines, sums, currencies: [...this.seen], trailer: this.trailer };
  }
}

const CNY = ascii('CNY');
