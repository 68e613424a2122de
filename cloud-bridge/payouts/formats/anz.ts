import type { BankFileFormat, PayoutBatch } from './index.js';
import {
  accountParts,
  assertCarried,
  commonProblems,
  csvRecord,
  digits,
  fitName,
  hashTotal,
  totalMinor,
  yyyymmdd,
  type FieldRules,
} from './shared.js';

// ANZ New Zealand: "NZ Domestic Payment CSV (Full File Import)", section 3.2 of ANZ's
// "ANZ Transactive File Formats" (07.2013; the same layout is carried as "NZ CSV" in
// "ANZ Transactive – Global File Formats (with ANZ Transactive – AU & NZ Payments)").
// One descriptive record (1), one detail record (2) per payment and a batch control record (3)
// with the credit total, the count and the hash total. The guide itself could not be read here;
// the field order and sizes are from published transcriptions of it (see the README, "Bank
// files", for which record was seen where). ANZ's funds and dishonour accounts are 15 digits (BBbbbbAAAAAAASS), so
// the paying account's suffix must fit two digits.

const RULES: FieldRules = { nameMax: 20, refMax: 12, amountDigits: 10, totalDigits: 10, maxLines: 4999 };

function problems(batch: PayoutBatch): string[] {
  const out = commonProblems(batch, RULES);
  const funds = safeParts(batch.originator.accountNumber);
  if (funds && Number(funds.suffix) > 99)
    out.push(`the paying account's suffix ${funds.suffix} does not fit ANZ's two-digit funds account suffix`);
  return out;
}

function safeParts(n: string): ReturnType<typeof accountParts> | null {
  try {
    return accountParts(n);
  } catch {
    return null;
  }
}

/** ANZ's 15-digit funds account: bank 2, branch 4, base 7, suffix 2. */
function account15(n: string): string {
  const p = accountParts(n);
  return `${p.bank}${p.branch}${p.base}${p.suffix.slice(1)}`;
}

function render(batch: PayoutBatch): Buffer {
  assertCarried('anz', problems(batch));
  const funds = account15(batch.originator.accountNumber);
  const batchName = batch.batchReference.slice(0, 12);
  const records = [
    csvRecord([
      '1', // descriptive record
      'C', // credit batch
      yyyymmdd(batch.dueDate), // payment date
      '', // payment time (optional)
      '', // batch creation date (optional; ANZ ignores it)
      funds,
      '', // direct debit code: debit batches only
      'M', // multiple reporting: one statement line per payment on the funds account
      funds, // dishonour account: the same account, as ANZ asks
      batchName,
      batchName, // originator particulars
      '', // originator analysis code
      '', // originator reference
    ]),
    ...batch.lines.map((l) =>
      csvRecord([
        '2',
        digits(l.accountNumber), // 16 digits, suffix 3
        '50', // direct credit
        l.amountMinor, // cents
        fitName(l.accountName, RULES.nameMax),
        l.particulars,
        l.code,
        l.reference,
        // The operator's own statement line for this payment (reporting method M).
        l.particulars,
        l.code,
        l.reference,
      ]),
    ),
    csvRecord([
      '3',
      '', // debit total: a credit batch has none
      totalMinor(batch.lines), // credit total, cents
      batch.lines.length,
      hashTotal(batch.lines),
    ]),
  ];
  return Buffer.from(`${records.join('\r\n')}\r\n`, 'ascii');
}

export const anz: BankFileFormat = {
  id: 'anz',
  name: 'ANZ New Zealand — NZ Domestic Payment CSV',
  confirmed: true,
  spec: 'ANZ Transactive File Formats (07.2013), 3.2 "NZ Domestic Payment CSV (Full File Import)"',
  extension: 'csv',
  contentType: 'text/csv; charset=us-ascii',
  problems,
  render,
};
