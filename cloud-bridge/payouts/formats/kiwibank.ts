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

// Kiwibank: no published import specification for Kiwibank's business bulk payments was found.
// This writes the header / transaction / control layout New Zealand banks share (the one BNZ's
// guide publishes: records 1, 2 and 3, the control record with the total, the count and an
// 11-digit hash total of branch and account numbers, which a published description of Kiwibank's
// batch file also names). Marked unconfirmed: check it with Kiwibank before relying on it.

const RULES: FieldRules = { nameMax: 20, refMax: 12, amountDigits: 10, totalDigits: 11 };

function problems(batch: PayoutBatch): string[] {
  return commonProblems(batch, RULES);
}

function render(batch: PayoutBatch): Buffer {
  assertCarried('kiwibank', problems(batch));
  const payer = fitName(batch.originator.name, 20);
  const records = [
    csvRecord([
      '1',
      '',
      '',
      '',
      digits(batch.originator.accountNumber),
      '7',
      yymmdd(batch.dueDate),
      yymmdd(batch.createdOn ?? batch.dueDate),
      'I',
    ]),
    ...batch.lines.map((l) =>
      csvRecord([
        '2',
        digits(l.accountNumber),
        '50',
        l.amountMinor,
        fitName(l.accountName, RULES.nameMax),
        l.reference,
        l.code,
        '',
        l.particulars,
        payer,
        l.code,
        l.reference,
        l.particulars,
      ]),
    ),
    csvRecord(['3', totalMinor(batch.lines), batch.lines.length, hashTotal(batch.lines)]),
  ];
  return Buffer.from(`${records.join('\r\n')}\r\n`, 'ascii');
}

export const kiwibank: BankFileFormat = {
  id: 'kiwibank',
  name: 'Kiwibank — direct credit batch (unconfirmed)',
  confirmed: false,
  spec: 'none found: the shared NZ header/transaction/control layout (unconfirmed)',
  extension: 'txt',
  contentType: 'text/plain; charset=us-ascii',
  problems,
  render,
};
