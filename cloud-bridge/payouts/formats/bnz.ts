import type { BankFileFormat, PayoutBatch } from './index.js';
import {
  assertCarried,
  commonProblems,
  csvRecord,
  digits,
  fitName,
  hashTotal,
  totalMinor,
  yymmdd,
  type FieldRules,
} from './shared.js';

// BNZ: the direct credit file of BNZ's "Internet Banking for Business — Information you need to
// know about importing transaction files" (the IB4B file format guide, "Direct Credits File
// Format"). Comma-separated records, each ending in CR LF: a header (1), a transaction record (2)
// per payment and a control record (3) with the total, the count and the hash total. The guide
// itself could not be read here; the layout is from two published transcriptions of it (see the
// README), which disagree on the dates' form: this follows the newer (YYMMDD).

const RULES: FieldRules = { nameMax: 20, refMax: 12, amountDigits: 10, totalDigits: 11 };

function problems(batch: PayoutBatch): string[] {
  return commonProblems(batch, RULES);
}

function render(batch: PayoutBatch): Buffer {
  assertCarried('bnz', problems(batch));
  const payer = fitName(batch.originator.name, 20);
  const records = [
    csvRecord([
      '1', // header
      '', // direct debit authority: debit files only
      '', // spare
      '', // spare
      digits(batch.originator.accountNumber),
      '7', // file type: direct credit
      yymmdd(batch.dueDate),
      yymmdd(batch.createdOn ?? batch.dueDate), // file creation date
      'I', // individual listing: one line per payment on the paying statement
    ]),
    ...batch.lines.map((l) =>
      csvRecord([
        '2',
        digits(l.accountNumber),
        '50', // direct credit
        l.amountMinor,
        fitName(l.accountName, RULES.nameMax),
        l.reference, // other party reference
        l.code, // other party code
        '', // other party alpha reference (spare)
        l.particulars, // other party particulars
        payer, // this party name
        l.code, // this party code
        l.reference, // this party reference
        l.particulars, // this party particulars
      ]),
    ),
    csvRecord(['3', totalMinor(batch.lines), batch.lines.length, hashTotal(batch.lines)]),
  ];
  return Buffer.from(`${records.join('\r\n')}\r\n`, 'ascii');
}

export const bnz: BankFileFormat = {
  id: 'bnz',
  name: 'BNZ — Internet Banking for Business direct credit file',
  confirmed: true,
  spec: 'BNZ, "Internet Banking for Business: importing transaction files", Direct Credits File Format',
  extension: 'txt',
  contentType: 'text/plain; charset=us-ascii',
  problems,
  render,
};
