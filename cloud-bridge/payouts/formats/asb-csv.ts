import type { BankFileFormat, PayoutBatch } from './index.js';
import { assertCarried, commonProblems, csvRecord, decimalAmount, digits, fitName, type FieldRules } from './shared.js';

// ASB: the FastNet Business direct credit CSV import. ASB publishes it in its FastNet Business
// "File Formats Technical Guide" (offered from FastNet Business's Guides menu, not on the public
// web), which could not be found; the layout here is from one published third-party
// implementation only, so the format is marked unconfirmed. One record per payment and no header
// or trailer: payment name, due date (YYYY/MM/DD), paying account, amount in dollars and cents,
// the payee's particulars, code and reference, the payee's account, the payer's particulars, code
// and reference, the payee's name.

const RULES: FieldRules = { nameMax: 32, refMax: 12, amountDigits: 10 };

function problems(batch: PayoutBatch): string[] {
  return commonProblems(batch, RULES);
}

function render(batch: PayoutBatch): Buffer {
  assertCarried('asb-csv', problems(batch));
  const name = batch.batchReference.slice(0, 20); // the same for every record of one batch
  const due = batch.dueDate.replace(/-/g, '/');
  const from = digits(batch.originator.accountNumber);
  const records = batch.lines.map((l) =>
    csvRecord([
      name,
      due,
      from,
      decimalAmount(l.amountMinor),
      l.particulars,
      l.code,
      l.reference,
      digits(l.accountNumber),
      l.particulars,
      l.code,
      l.reference,
      fitName(l.accountName, RULES.nameMax),
    ]),
  );
  return Buffer.from(`${records.join('\r\n')}\r\n`, 'ascii');
}

export const asbCsv: BankFileFormat = {
  id: 'asb-csv',
  name: 'ASB — FastNet Business direct credit CSV',
  confirmed: false,
  spec: 'ASB FastNet Business "File Formats Technical Guide", direct credit CSV (not found; unconfirmed)',
  extension: 'csv',
  contentType: 'text/csv; charset=us-ascii',
  problems,
  render,
};
