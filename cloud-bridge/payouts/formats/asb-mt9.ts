import type { BankFileFormat, PayoutBatch } from './index.js';
import {
  accountParts,
  alpha,
  assertCarried,
  commonProblems,
  fitName,
  hashTotal,
  num,
  totalMinor,
  yymmdd,
  type FieldRules,
} from './shared.js';

// ASB: the MT9 direct credit file FastNet Business imports ("How do I import a Direct Credit bulk
// file?", ASB help: "a direct credit bulk file (MT9 format)"), specified in ASB's FastNet Business
// "File Formats Technical Guide", which could not be found. Fixed-width records of 160
// characters: a header (file type 12), a transaction record (13) per payment and a trailer (13,
// bank 99) with the hash total and the total. The header is from a published transcription of
// the guide; the transaction and trailer records are the MT9 layout as commonly described, not
// checked against ASB's guide, so the format is marked unconfirmed.

const RULES: FieldRules = { nameMax: 20, refMax: 12, amountDigits: 10, totalDigits: 10, twoDigitSuffix: true };
const WIDTH = 160;

function problems(batch: PayoutBatch): string[] {
  return commonProblems(batch, RULES);
}

function record(fields: string[]): string {
  const r = fields.join('');
  if (r.length > WIDTH) throw new Error(`MT9 record is ${r.length} characters`);
  return r.padEnd(WIDTH, ' ');
}

function render(batch: PayoutBatch): Buffer {
  assertCarried('asb-mt9', problems(batch));
  const from = accountParts(batch.originator.accountNumber);
  const payer = fitName(batch.originator.name, 20);
  const records = [
    record([
      '12', // file type: direct credit
      from.bank,
      from.branch,
      from.base,
      alpha(from.suffix.slice(1), 3), // two-digit suffix, then a space
      alpha(yymmdd(batch.dueDate), 13), // due date, then 7 spaces
      alpha(payer, 20), // client short name
    ]),
    ...batch.lines.map((l) => {
      const to = accountParts(l.accountNumber);
      return record([
        '13',
        to.bank,
        to.branch,
        to.base,
        num(to.suffix, 3),
        '051', // direct credit
        num(l.amountMinor, 10),
        alpha(fitName(l.accountName, RULES.nameMax), 20), // this party (payee) name
        alpha(l.reference, 12),
        alpha(l.code, 12),
        alpha('', 12), // alpha reference
        alpha(l.particulars, 12),
        alpha(payer, 20), // other party (payer) name
        alpha(l.code, 12),
        alpha(l.reference, 12),
        alpha(l.particulars, 12),
      ]);
    }),
    record(['13', '99', num(hashTotal(batch.lines), 11), num(totalMinor(batch.lines), 10)]),
  ];
  return Buffer.from(`${records.join('\r\n')}\r\n`, 'ascii');
}

export const asbMt9: BankFileFormat = {
  id: 'asb-mt9',
  name: 'ASB — MT9 direct credit file',
  confirmed: false,
  spec: 'ASB FastNet Business "File Formats Technical Guide", MT9 direct credit (not found; unconfirmed)',
  extension: 'mt9',
  contentType: 'text/plain; charset=us-ascii',
  problems,
  render,
};
