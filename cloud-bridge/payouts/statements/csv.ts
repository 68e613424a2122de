import { parse } from 'csv-parse/sync';
import { invalid, parseAmount, parseDate } from './amounts.js';
import type { StatementLine } from './index.js';

// The CSV exports of New Zealand internet banking, told apart by their column header (ASB's has a
// preamble of account lines before it). The layouts are those the banks' exports write today:
//   ASB (FastNet Classic / Business): Date,Unique Id,Tran Type,Cheque Number,Payee,Memo,Amount
//   ANZ: Type,Details,Particulars,Code,Reference,Amount,Date,ForeignCurrencyAmount,ConversionCharge
//   BNZ: Date,Amount,Payee,Particulars,Code,Reference,Tran Type,…
//   Westpac: Date,Amount,Other Party,Description,Reference,Particulars,Analysis Code
// A column is found by its name, so an extra or moved column does not misread the file.

interface Layout {
  bank: string;
  /** Columns that must all be present (lower case). */
  needs: readonly string[];
  order: 'ymd' | 'dmy';
  map(get: (name: string) => string | undefined): Omit<StatementLine, 'date' | 'amountMinor'> & {
    date: string;
    amount: string;
  };
}

const LAYOUTS: readonly Layout[] = [
  {
    bank: 'ASB',
    needs: ['date', 'unique id', 'tran type', 'payee', 'memo', 'amount'],
    order: 'dmy',
    map: (g) => ({
      date: g('date')!,
      amount: g('amount')!,
      payee: g('payee'),
      description: joinText(g('tran type'), g('memo')),
      id: g('unique id'),
    }),
  },
  {
    bank: 'ANZ',
    needs: ['type', 'details', 'particulars', 'code', 'reference', 'amount', 'date'],
    order: 'dmy',
    map: (g) => ({
      date: g('date')!,
      amount: g('amount')!,
      payee: g('details'),
      particulars: g('particulars'),
      code: g('code'),
      reference: g('reference'),
      description: g('type'),
    }),
  },
  {
    bank: 'BNZ',
    needs: ['date', 'amount', 'payee', 'particulars', 'code', 'reference', 'tran type'],
    order: 'dmy',
    map: (g) => ({
      date: g('date')!,
      amount: g('amount')!,
      payee: g('payee'),
      particulars: g('particulars'),
      code: g('code'),
      reference: g('reference'),
      description: g('tran type'),
    }),
  },
  {
    bank: 'Westpac',
    needs: ['date', 'amount', 'other party', 'description', 'reference', 'particulars', 'analysis code'],
    order: 'dmy',
    map: (g) => ({
      date: g('date')!,
      amount: g('amount')!,
      payee: g('other party'),
      particulars: g('particulars'),
      code: g('analysis code'),
      reference: g('reference'),
      description: g('description'),
    }),
  },
];

function joinText(...parts: (string | undefined)[]): string | undefined {
  const s = parts.filter((p) => p && p.trim()).join(' ');
  return s || undefined;
}

export function parseCsvStatement(text: string): StatementLine[] {
  let rows: string[][];
  try {
    rows = parse(text.replace(/^\uFEFF/, ''), {
      relax_column_count: true,
      skip_empty_lines: true,
      trim: true,
    }) as string[][];
  } catch (err) {
    const e = err as Error & { lines?: number };
    invalid(`the CSV cannot be read${e.lines ? ` (line ${e.lines})` : ''}: ${e.message}`);
  }

  let headerAt = -1;
  let layout: Layout | undefined;
  let columns = new Map<string, number>();
  for (let i = 0; i < rows.length && !layout; i++) {
    const cells = rows[i]!.map((c) => c.toLowerCase());
    const found = LAYOUTS.find((l) => l.needs.every((n) => cells.includes(n)));
    if (found) {
      layout = found;
      headerAt = i;
      columns = new Map(cells.map((c, j) => [c, j]));
    }
  }
  if (!layout)
    invalid('no bank statement header found: expected the CSV export of ASB, ANZ, BNZ or Westpac internet banking');

  const out: StatementLine[] = [];
  for (let i = headerAt + 1; i < rows.length; i++) {
    const row = rows[i]!;
    // ASB writes a line of empty cells after its header.
    if (row.every((c) => c === '')) continue;
    const where = `${layout.bank} CSV, transaction ${out.length + 1}`;
    if (row.length < columns.size)
      invalid(`${where}: ${row.length} fields where the header has ${columns.size} (is the file cut short?)`);
    const get = (name: string): string | undefined => {
      const v = row[columns.get(name) ?? -1];
      return v === undefined || v === '' ? undefined : v;
    };
    const m = layout.map(get);
    if (m.date === undefined || m.amount === undefined) invalid(`${where}: no date or no amount`);
    const { date, amount, ...rest } = m;
    const line: StatementLine = { date: parseDate(date, layout.order, where), amountMinor: parseAmount(amount, where) };
    for (const [k, v] of Object.entries(rest)) if (v !== undefined) (line as unknown as Record<string, string>)[k] = v;
    out.push(line);
  }
  return out;
}
