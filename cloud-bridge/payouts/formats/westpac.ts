import type { BankFileFormat, PayoutBatch } from './index.js';
import { accountParts, assertCarried, commonProblems, csvRecord, ddmmyy, fitName, type FieldRules } from './shared.js';

// Westpac New Zealand: "Deskbank Import CSV/Fixed Length – Payments or Direct Debits" in Westpac's
// "Business Online Transaction Import & Export (Download) File Formats" reference document, the
// CSV variant. A header record (A) and one detail record (D) per payment, each with its own
// sequence number; Deskbank has no control record and no hash total. The document itself could
// not be read here; the layout is from two published transcriptions of it (see the README).

const RULES: FieldRules = { nameMax: 20, refMax: 12, amountDigits: 10, maxLines: 999_998 };

function problems(batch: PayoutBatch): string[] {
  return commonProblems(batch, RULES);
}

function render(batch: PayoutBatch): Buffer {
  assertCarried('westpac', problems(batch));
  const from = accountParts(batch.originator.accountNumber);
  const payer = fitName(batch.originator.name, 20);
  const records = [
    csvRecord([
      'A',
      1, // sequence number
      from.bank,
      from.branch,
      fitName(batch.originator.name, 30), // customer name
      '', // customer number (unused)
      batch.batchReference.slice(0, 20), // description
      ddmmyy(batch.dueDate),
      '', // spare
    ]),
    ...batch.lines.map((l, i) => {
      const to = accountParts(l.accountNumber);
      return csvRecord([
        'D',
        i + 2, // sequence number: the header is 1
        to.bank,
        to.branch,
        to.base,
        to.suffix,
        '50', // direct credit
        'DC', // MTS source: direct credit
        l.amountMinor, // cents
        fitName(l.accountName, RULES.nameMax),
        l.particulars,
        l.code,
        l.reference,
        from.bank,
        from.branch,
        from.base,
        from.suffix,
        payer,
        '', // spare
      ]);
    }),
  ];
  return Buffer.from(`${records.join('\r\n')}\r\n`, 'ascii');
}

export const westpac: BankFileFormat = {
  id: 'westpac',
  name: 'Westpac New Zealand — Deskbank import (CSV)',
  confirmed: true,
  spec: 'Westpac, "Business Online Transaction Import & Export (Download) File Formats", Deskbank Import CSV',
  extension: 'csv',
  contentType: 'text/csv; charset=us-ascii',
  problems,
  render,
};
