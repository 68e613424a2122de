import PDFDocument from 'pdfkit';
import { csvDocument } from '../csv.js';
import { findCjkFont } from '../onecode/sticker.js';
import type { Item, Line, Run } from './service.js';

// A merchant's remittance advice for one payout: which settlement days and payments it pays,
// the channels' and the operator's fees, refunds and adjustments, what was carried in, and the
// amount sent to which account. The same figures as CSV (through csv.ts) and as a PDF.

export interface Remittance {
  line: Line;
  run: Run;
  items: Item[];
  payments: Array<{
    channel: string;
    day: string;
    outTradeNo: string;
    amountMinor: number;
    refundedMinor: number;
    paidAt: string;
  }>;
}

const cents = (minor: number) => {
  const sign = minor < 0 ? '-' : '';
  const a = Math.abs(minor);
  return `${sign}${Math.trunc(a / 100).toLocaleString('en-NZ')}.${String(a % 100).padStart(2, '0')}`;
};

export const REMITTANCE_COLUMNS = [
  'record',
  'channel',
  'day',
  'out_trade_no',
  'payments',
  'gross_minor',
  'refunds_minor',
  'channel_fees_minor',
  'operator_fees_minor',
  'operator_fee',
  'adjustments_minor',
  'net_minor',
] as const;

export function remittanceCsv(r: Remittance): string {
  const rows: Array<Array<string | number | null>> = [];
  for (const i of r.items)
    rows.push([
      'day',
      i.channel,
      i.day,
      null,
      i.payments,
      Number(i.gross_minor),
      Number(i.refunds_minor),
      Number(i.channel_fees_minor),
      Number(i.operator_fees_minor),
      `${i.operator_fee_percent}% + ${Number(i.operator_fee_fixed_minor)}`,
      Number(i.adjustments_minor),
      Number(i.net_minor),
    ]);
  for (const p of r.payments)
    rows.push([
      'payment',
      p.channel,
      p.day,
      p.outTradeNo,
      1,
      p.amountMinor,
      p.refundedMinor,
      null,
      null,
      null,
      null,
      null,
    ]);
  const l = r.line;
  rows.push(['carried_in', null, null, null, null, null, null, null, null, null, null, Number(l.carried_in_minor)]);
  rows.push([
    'total',
    null,
    null,
    null,
    l.payments,
    Number(l.gross_minor),
    Number(l.refunds_minor),
    Number(l.channel_fees_minor),
    Number(l.operator_fees_minor),
    null,
    Number(l.adjustments_minor),
    Number(l.balance_minor),
  ]);
  rows.push(['paid', null, l.bank_date, l.reference, null, null, null, null, null, null, null, Number(l.amount_minor)]);
  rows.push(['carried_out', null, null, null, null, null, null, null, null, null, null, Number(l.carried_out_minor)]);
  return csvDocument(REMITTANCE_COLUMNS, rows);
}

export async function remittancePdf(r: Remittance): Promise<Buffer> {
  const font = findCjkFont();
  const doc = new PDFDocument({
    size: 'A4',
    margin: 48,
    info: { Title: `Remittance advice — payout ${r.run.number} — ${r.line.merchantName}`, Creator: 'Kauri' },
  });
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<void>((resolve) => doc.on('end', () => resolve()));
  let write = (s: string) => s;
  if (font) {
    doc.registerFont('body', font.path, font.postscript);
    doc.font('body');
  } else {
    doc.font('Helvetica');
    write = (s) => s.replace(/[^\x20-\x7e]+/g, '?');
  }
  const l = r.line;
  doc.fontSize(18).text(write('Remittance advice'));
  doc.moveDown(0.3).fontSize(11);
  doc.text(write(`${l.merchantName} — payout ${r.run.number}, line ${l.line_no}`));
  doc.text(write(`Paid to ${l.account_name ?? ''} ${l.account_number ?? ''}`));
  doc.text(
    write(
      `Due ${r.run.due_date ?? '—'}; particulars ${l.particulars}, code ${l.code}, reference ${l.reference}` +
        (l.bank_date ? `; confirmed by the bank statement of ${l.bank_date}` : ''),
    ),
  );
  doc.moveDown();
  doc.fontSize(12).text('Settlement days');
  doc.fontSize(9);
  for (const i of r.items)
    doc.text(
      write(
        `${i.day}  ${i.channel.padEnd(7)}  ${i.payments} payments  gross ${cents(Number(i.gross_minor))}  refunds ${cents(Number(i.refunds_minor))}  ` +
          `channel fees ${cents(Number(i.channel_fees_minor))}  operator fee ${cents(Number(i.operator_fees_minor))} (${i.operator_fee_percent}% + ${cents(Number(i.operator_fee_fixed_minor))} each)  ` +
          `adjustments ${cents(Number(i.adjustments_minor))}  net ${cents(Number(i.net_minor))}`,
      ),
    );
  doc.moveDown();
  doc.fontSize(12).text('Payments');
  doc.fontSize(9);
  if (r.payments.length === 0) doc.text('(none)');
  for (const p of r.payments)
    doc.text(
      write(
        `${p.day}  ${p.channel.padEnd(7)}  ${p.outTradeNo}  ${cents(p.amountMinor)}${p.refundedMinor ? `  refunded ${cents(p.refundedMinor)}` : ''}`,
      ),
    );
  doc.moveDown();
  doc.fontSize(11);
  const row = (label: string, minor: number) => doc.text(write(`${label}: NZD ${cents(minor)}`));
  row('Gross', Number(l.gross_minor));
  row('Refunds', -Number(l.refunds_minor));
  row('Channel fees', -Number(l.channel_fees_minor));
  row('Operator fees', -Number(l.operator_fees_minor));
  row('Adjustments', Number(l.adjustments_minor));
  row('Carried in from earlier payouts', Number(l.carried_in_minor));
  doc.fontSize(13);
  row('Amount paid', Number(l.amount_minor));
  doc.fontSize(11);
  if (Number(l.carried_out_minor) !== 0)
    row(`Carried to the next payout (${l.reason ?? ''})`, Number(l.carried_out_minor));
  doc.end();
  await done;
  return Buffer.concat(chunks);
}
