// Batch payment files in the import formats New Zealand banks publish (being filled in).

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

function notImplemented(id: BankFileFormat['id']): BankFileFormat {
  return {
    id,
    name: id,
    confirmed: false,
    spec: '',
    extension: 'txt',
    contentType: 'text/plain',
    problems: () => {
      throw new Error('not implemented');
    },
    render: () => {
      throw new Error('not implemented');
    },
  };
}

export const BANK_FILE_FORMATS: Record<BankFileFormat['id'], BankFileFormat> = {
  'asb-csv': notImplemented('asb-csv'),
  'asb-mt9': notImplemented('asb-mt9'),
  anz: notImplemented('anz'),
  bnz: notImplemented('bnz'),
  westpac: notImplemented('westpac'),
  kiwibank: notImplemented('kiwibank'),
};
