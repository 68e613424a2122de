import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BANK_FILE_FORMATS, type BankFileFormat, type PayoutBatch, type PayoutFileLine } from './index.js';
import { hashTotal } from './shared.js';

const FIXTURES = join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'payouts');

const line = (over: Partial<PayoutFileLine>): PayoutFileLine => ({
  accountNumber: '01-0902-0068389-000',
  accountName: 'Dragon Noodle House',
  amountMinor: 1000,
  particulars: 'KAURI PAYOUT',
  code: '2026-12-04',
  reference: 'RUN0001',
  ...over,
});

// Three merchants paid from the operator's ASB account; the first name is longer than every
// format's name field, and the branch+account sum overflows 11 digits (the hash keeps the right 11).
const BATCH: PayoutBatch = {
  originator: { accountNumber: '12-3140-0999993-000', name: 'Kauri Payments Limited' },
  dueDate: '2026-12-07',
  batchReference: 'RUN0001',
  lines: [
    line({ accountName: 'Dragon Noodle House Limited Partnership', amountMinor: 123456 }),
    line({ accountNumber: '08-6523-1954512-001', accountName: 'Tea & Co', amountMinor: 500, code: '2026-12-03' }),
    line({ accountNumber: '26-2600-0320871-032', accountName: "O'Brien's Dumplings", amountMinor: 99999 }),
  ],
};

const text = (f: BankFileFormat, b: PayoutBatch = BATCH) => f.render(b).toString('ascii');
const records = (f: BankFileFormat) => text(f).split('\r\n').slice(0, -1);
const golden = (f: BankFileFormat) => readFileSync(join(FIXTURES, `${f.id}.${f.extension}`), 'ascii');

describe('hash total', () => {
  it('sums branch and base of every line and keeps the 11 rightmost digits', () => {
    // 0902 0068389 + 6523 1954512 + 2600 0320871 = 100252343772
    expect(hashTotal(BATCH.lines)).toBe('00252343772');
    expect(hashTotal([BATCH.lines[1]!])).toBe('65231954512');
  });
});

describe.each(Object.values(BANK_FILE_FORMATS))('$id', (f) => {
  it('renders the batch exactly as its golden file', () => {
    expect(f.problems(BATCH)).toEqual([]);
    expect(text(f)).toBe(golden(f));
  });

  it('ends every record with CR LF and uses only the allowed characters', () => {
    const t = text(f);
    expect(t.endsWith('\r\n')).toBe(true);
    expect(t.replace(/\r\n/g, '')).toMatch(/^[A-Za-z0-9\-'&/#?:_., ]*$/);
  });

  it('names its specification and says whether it is confirmed', () => {
    expect(f.spec.length).toBeGreaterThan(10);
    expect(typeof f.confirmed).toBe('boolean');
  });

  it('cuts a long payee name to the field, never refuses it', () => {
    expect(text(f)).toContain('Dragon Noodle House');
    expect(text(f)).not.toContain('Partnership');
  });

  it.each([
    [{ amountMinor: 0 }, 'not a positive whole number of cents'],
    [{ amountMinor: -100 }, 'not a positive whole number of cents'],
    [{ amountMinor: 12.5 }, 'not a positive whole number of cents'],
    [{ amountMinor: 100_000_000_00 }, 'too large for the 10-digit amount field'],
    [{ accountNumber: '01-0902-0068388-000' }, 'check digits are wrong'],
    [{ accountNumber: '99-0001-0000001-000' }, 'bank 99'],
    [{ accountNumber: '01-902-0068389-00' }, 'not normalised'],
    [{ accountName: '张三餐馆' }, 'characters the format cannot carry'],
    [{ accountName: '   ' }, 'account name is empty'],
    [{ particulars: 'PAYOUT,1' }, 'particulars "PAYOUT,1" has characters'],
    [{ code: 'a"b' }, 'code "a"b" has characters'],
    [{ reference: 'RUN0001-2026-12' }, 'reference "RUN0001-2026-12" is longer than 12'],
  ] as const)('refuses a line with %j', (over, why) => {
    const bad = { ...BATCH, lines: [BATCH.lines[0]!, line(over)] };
    const p = f.problems(bad);
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(/^line 2 /);
    expect(p[0]).toContain(why);
    expect(() => f.render(bad)).toThrow(/cannot carry/);
  });

  it('gives one reason per line that cannot be carried', () => {
    const bad = { ...BATCH, lines: [line({ amountMinor: 0 }), BATCH.lines[1]!, line({ accountName: 'é' })] };
    expect(f.problems(bad).map((p) => p.slice(0, 7))).toEqual(['line 1 ', 'line 3 ']);
  });

  it('refuses a batch with no lines, a bad date or a bad paying account', () => {
    expect(f.problems({ ...BATCH, lines: [] })).toContain('the batch has no lines');
    expect(f.problems({ ...BATCH, dueDate: '07/12/2026' }).join()).toContain('not a date');
    expect(f.problems({ ...BATCH, dueDate: '2026-02-31' }).join()).toContain('not a date');
    expect(
      f.problems({ ...BATCH, originator: { ...BATCH.originator, accountNumber: '12-3140-0999994-000' } }).join(),
    ).toContain('the paying account');
  });
});

describe('two-digit suffixes', () => {
  const suffix101 = { ...BATCH, lines: [line({ accountNumber: '08-6523-1954512-101' })] };
  it('ASB MT9 refuses a payee suffix above 99; the CSV formats carry it', () => {
    expect(BANK_FILE_FORMATS['asb-mt9'].problems(suffix101).join()).toContain('two-digit suffix');
    expect(BANK_FILE_FORMATS.bnz.problems(suffix101)).toEqual([]);
    expect(BANK_FILE_FORMATS.anz.problems(suffix101)).toEqual([]);
  });
  it('ANZ refuses a paying account whose suffix does not fit its 15-digit funds account', () => {
    const b = { ...BATCH, originator: { ...BATCH.originator, accountNumber: '08-6523-1954512-101' } };
    expect(BANK_FILE_FORMATS.anz.problems(b).join()).toContain('two-digit');
  });
});

describe('ANZ record by record', () => {
  const r = records(BANK_FILE_FORMATS.anz).map((x) => x.split(','));
  it('descriptive record: credit batch, due date, 15-digit funds and dishonour account', () => {
    expect(r[0]!.slice(0, 10)).toEqual([
      '1',
      'C',
      '20261207',
      '',
      '',
      '123140099999300',
      '',
      'M',
      '123140099999300',
      'RUN0001',
    ]);
  });
  it('detail records: 16-digit account, code 50, cents, name cut to 20, particulars/code/reference', () => {
    expect(r[1]!.slice(0, 8)).toEqual([
      '2',
      '0109020068389000',
      '50',
      '123456',
      'Dragon Noodle House',
      'KAURI PAYOUT',
      '2026-12-04',
      'RUN0001',
    ]);
    expect(r[2]![4]).toBe('Tea & Co');
  });
  it('control record: credit total, count, hash total', () => {
    expect(r[4]).toEqual(['3', '', '223955', '3', '00252343772']);
  });
});

describe('BNZ record by record', () => {
  const r = records(BANK_FILE_FORMATS.bnz).map((x) => x.split(','));
  it('header: account, file type 7, dates YYMMDD', () => {
    expect(r[0]).toEqual(['1', '', '', '', '1231400999993000', '7', '261207', '261207', 'I']);
  });
  it('control: total, count, hash', () => {
    expect(r[4]).toEqual(['3', '223955', '3', '00252343772']);
  });
  it('the creation date is the day the file is made when given', () => {
    const made = BANK_FILE_FORMATS.bnz.render({ ...BATCH, createdOn: '2026-12-04' }).toString('ascii');
    expect(made.split('\r\n')[0]).toBe('1,,,,1231400999993000,7,261207,261204,I');
    expect(BANK_FILE_FORMATS.bnz.problems({ ...BATCH, createdOn: '2026-12-08' }).join()).toContain(
      'after its due date',
    );
  });
  it('detail: other party reference, code, alpha reference, particulars, then this party', () => {
    expect(r[2]).toEqual([
      '2',
      '0865231954512001',
      '50',
      '500',
      'Tea & Co',
      'RUN0001',
      '2026-12-03',
      '',
      'KAURI PAYOUT',
      'Kauri Payments Limit',
      '2026-12-03',
      'RUN0001',
      'KAURI PAYOUT',
    ]);
  });
});

describe('Westpac Deskbank record by record', () => {
  const r = records(BANK_FILE_FORMATS.westpac).map((x) => x.split(','));
  it('header A with sequence 1 and due date DDMMYY; details D numbered from 2; no trailer', () => {
    expect(r[0]).toEqual(['A', '1', '12', '3140', 'Kauri Payments Limited', '', 'RUN0001', '071226', '']);
    expect(r.slice(1).map((d) => [d[0], d[1]])).toEqual([
      ['D', '2'],
      ['D', '3'],
      ['D', '4'],
    ]);
    expect(r[3]!.slice(2, 9)).toEqual(['26', '2600', '0320871', '032', '50', 'DC', '99999']);
    expect(r).toHaveLength(4);
  });
});

describe('ASB MT9 record by record', () => {
  const r = records(BANK_FILE_FORMATS['asb-mt9']);
  it('every record is 160 characters', () => {
    expect(r.map((x) => x.length)).toEqual([160, 160, 160, 160, 160]);
  });
  it('header 12: paying account, two-digit suffix and a space, due date YYMMDD, short name', () => {
    expect(r[0]!.slice(0, 51)).toBe(
      ['12', '12', '3140', '0999993', '00 ', '261207       ', 'Kauri Payments Limit'].join(''),
    );
  });
  it('transaction 13: account, code 051, amount in 10 digits, payee name in 20', () => {
    expect(r[1]!.slice(0, 51)).toBe(
      ['13', '01', '0902', '0068389', '000', '051', '0000123456', 'Dragon Noodle House '].join(''),
    );
  });
  it('trailer: 13 99, hash total, total', () => {
    expect(r[4]!.slice(0, 25)).toBe(['13', '99', '00252343772', '0000223955'].join(''));
  });
});

describe('ASB CSV', () => {
  it('one record per payment with dollars and cents and the date as YYYY/MM/DD', () => {
    const r = records(BANK_FILE_FORMATS['asb-csv']).map((x) => x.split(','));
    expect(r).toHaveLength(3);
    expect(r[0]!.slice(0, 4)).toEqual(['RUN0001', '2026/12/07', '1231400999993000', '1234.56']);
    expect(r[1]![3]).toBe('5.00');
  });
});
