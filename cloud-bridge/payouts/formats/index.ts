// Batch payment files in the import formats New Zealand banks publish, one module per format,
// each naming the bank's document it follows. A renderer never writes a file its own problems()
// would refuse: a run with a line the format cannot carry is refused with the reasons, before any
// file exists.
import { anz } from './anz.js';
import { asbCsv } from './asb-csv.js';
import { asbMt9 } from './asb-mt9.js';
import { bnz } from './bnz.js';
import { kiwibank } from './kiwibank.js';
import { westpac } from './westpac.js';

export interface PayoutFileLine {
  /** Normalised, BB-bbbb-AAAAAAA-SSS. */
  accountNumber: string;
  accountName: string;
  /** NZD cents, > 0. */
  amountMinor: number;
  particulars: string;
  code: string;
  reference: string;
}

export interface PayoutBatch {
  originator: { accountNumber: string; name: string };
  /** YYYY-MM-DD */
  dueDate: string;
  batchReference: string;
  lines: PayoutFileLine[];
  /** YYYY-MM-DD, the day the file is made, for the formats that carry it (BNZ); defaults to dueDate. */
  createdOn?: string;
}

export interface BankFileFormat {
  id: 'asb-csv' | 'asb-mt9' | 'anz' | 'bnz' | 'westpac' | 'kiwibank';
  name: string;
  /** false when no published specification was found. */
  confirmed: boolean;
  /** The document it follows. */
  spec: string;
  extension: string;
  contentType: string;
  /** Empty = the format can carry the batch; else human reasons, one per line that cannot be carried. */
  problems(batch: PayoutBatch): string[];
  render(batch: PayoutBatch): Buffer;
}

export const BANK_FILE_FORMATS: Record<BankFileFormat['id'], BankFileFormat> = {
  'asb-csv': asbCsv,
  'asb-mt9': asbMt9,
  anz,
  bnz,
  westpac,
  kiwibank,
};
