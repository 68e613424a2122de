import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KauriError } from '../../../protocol/errors.js';
import { parseStatement, type StatementLine } from './index.js';

const DIR = join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'payouts', 'statements');
const file = (name: string) => readFileSync(join(DIR, name));

function refusal(body: Buffer | string, kind: 'csv' | 'ofx'): KauriError {
  try {
    parseStatement(Buffer.isBuffer(body) ? body : Buffer.from(body), kind);
  } catch (err) {
    expect(err).toBeInstanceOf(KauriError);
    expect((err as KauriError).code).toBe('statement_invalid');
    return err as KauriError;
  }
  throw new Error('parsed without complaint');
}

const DRAGON: Partial<StatementLine> = { date: '2026-12-07', amountMinor: -123456 };

describe('CSV exports, detected by their header', () => {
  it('ASB: skips the preamble and the empty line, reads dates YYYY/MM/DD and quoted commas', () => {
    const lines = parseStatement(file('asb.csv'), 'csv');
    expect(lines).toEqual([
      {
        ...DRAGON,
        payee: 'D/C TO DRAGON NOODLE HOUSE',
        description: 'D/C KAURI PAYOUT 2026-12-04 RUN0001',
        id: '2026120701',
      },
      {
        date: '2026-12-07',
        amountMinor: -500,
        payee: 'D/C TO TEA & CO, NEWMARKET',
        description: 'D/C KAURI PAYOUT 2026-12-03 RUN0001',
        id: '2026120702',
      },
      {
        date: '2026-12-08',
        amountMinor: 2000000,
        payee: 'ALIPAY SETTLEMENT',
        description: 'CREDIT ALIPAY 20261207',
        id: '2026120801',
      },
    ]);
  });

  it('ASB: the newer D/MM/YYYY dates', () => {
    const text =
      'Date,Unique Id,Tran Type,Cheque Number,Payee,Memo,Amount\n,,,,,,\n3/04/2026,2026040301,D/C,,X,,-1.5\n';
    expect(parseStatement(Buffer.from(text), 'csv')).toMatchObject([{ date: '2026-04-03', amountMinor: -150 }]);
  });

  it('ANZ: particulars, code and reference, dates DD/MM/YYYY, "20,000.00"', () => {
    const lines = parseStatement(file('anz.csv'), 'csv');
    expect(lines[0]).toEqual({
      ...DRAGON,
      payee: 'Dragon Noodle House',
      particulars: 'KAURI PAYOUT',
      code: '2026-12-04',
      reference: 'RUN0001',
      description: 'Direct Credit',
    });
    expect(lines[2]).toMatchObject({ date: '2026-12-08', amountMinor: 2000000 });
    expect(lines).toHaveLength(3);
  });

  it('BNZ (dates DD/MM/YY) and Westpac', () => {
    expect(parseStatement(file('bnz.csv'), 'csv')).toEqual([
      {
        ...DRAGON,
        payee: 'Dragon Noodle House',
        particulars: 'KAURI PAYOUT',
        code: '2026-12-04',
        reference: 'RUN0001',
        description: 'DC',
      },
    ]);
    expect(parseStatement(file('westpac.csv'), 'csv')).toEqual([
      {
        ...DRAGON,
        payee: 'Dragon Noodle House',
        particulars: 'KAURI PAYOUT',
        code: '2026-12-04',
        reference: 'RUN0001',
        description: 'DIRECT CREDIT',
      },
    ]);
  });

  it('a Windows-1252 export (not UTF-8) is read as such', () => {
    const text =
      'Date,Amount,Other Party,Description,Reference,Particulars,Analysis Code\n07/12/2026,-1.00,Caf\u00e9 Kr\u00f6ne,,,,\n';
    expect(parseStatement(Buffer.from(text, 'latin1'), 'csv')[0]!.payee).toBe('Caf\u00e9 Kr\u00f6ne');
    expect(parseStatement(Buffer.from(text, 'utf8'), 'csv')[0]!.payee).toBe('Caf\u00e9 Kr\u00f6ne');
  });

  it('a header with no rows is an empty statement', () => {
    expect(
      parseStatement(Buffer.from('Date,Amount,Other Party,Description,Reference,Particulars,Analysis Code\n'), 'csv'),
    ).toEqual([]);
  });
});

describe('CSV refusals', () => {
  it('a file cut inside a quoted field', () => {
    const whole = file('asb.csv').toString();
    const cut = whole.slice(0, whole.indexOf('TEA & CO') + 3);
    expect(refusal(cut, 'csv').message).toMatch(/cannot be read/);
  });

  it('a file cut short inside a row', () => {
    const whole = file('anz.csv').toString();
    const cut = whole.slice(0, whole.indexOf('Tea & Co') + 8);
    expect(refusal(cut, 'csv').message).toMatch(
      /ANZ CSV, transaction 2: 2 fields where the header has 9 \(is the file cut short\?\)/,
    );
  });

  it('a cut inside the amount', () => {
    const whole = file('westpac.csv').toString();
    expect(refusal(whole.slice(0, whole.indexOf('-1234.56') + 6), 'csv').message).toMatch(/transaction 1/);
    expect(refusal(whole.replace('-1234.56', '-1234.'), 'csv').message).toMatch(/amount "-1234\." is not a number/);
  });

  it.each([
    ['no known header', 'date,amount\n2026-12-07,1.00\n', /no bank statement header/],
    ['an empty file', '', /no bank statement header/],
    [
      'an amount in words',
      'Date,Amount,Other Party,Description,Reference,Particulars,Analysis Code\n07/12/2026,ten,X,,,,\n',
      /amount "ten"/,
    ],
    [
      'three decimals',
      'Date,Amount,Other Party,Description,Reference,Particulars,Analysis Code\n07/12/2026,1.234,X,,,,\n',
      /amount "1.234"/,
    ],
    [
      'a day that does not exist',
      'Date,Amount,Other Party,Description,Reference,Particulars,Analysis Code\n31/02/2026,1.00,X,,,,\n',
      /date "31\/02\/2026" is not a date/,
    ],
    [
      'a date that is no date',
      'Date,Amount,Other Party,Description,Reference,Particulars,Analysis Code\nyesterday,1.00,X,,,,\n',
      /date "yesterday"/,
    ],
  ])('%s', (_name, text, why) => {
    expect(refusal(text, 'csv').message).toMatch(why);
  });
});

describe('OFX', () => {
  const expected = [
    { ...DRAGON, payee: 'DRAGON NOODLE HOUSE', description: 'KAURI PAYOUT 2026-12-04 RUN0001', id: '2026120701' },
    {
      date: '2026-12-07',
      amountMinor: -500,
      payee: 'TEA & CO',
      description: 'KAURI PAYOUT 2026-12-03 RUN0001',
      id: '2026120702',
    },
  ];

  it('1.x SGML: leaves without closing tags, a bare "&", a DTPOSTED with time and zone', () => {
    const lines = parseStatement(file('ofx1.ofx'), 'ofx');
    expect(lines.slice(0, 2)).toEqual(expected);
    expect(lines[2]).toEqual({
      date: '2026-12-08',
      amountMinor: 2000000,
      payee: 'ALIPAY SETTLEMENT',
      id: '2026120801',
    });
  });

  it('2.x XML', () => {
    expect(parseStatement(file('ofx2.ofx'), 'ofx')).toEqual(expected);
  });

  it('a comma as the decimal mark', () => {
    const body = file('ofx2.ofx').toString().replace('-5.00', '-5,25');
    expect(parseStatement(Buffer.from(body), 'ofx')[1]!.amountMinor).toBe(-525);
  });

  it.each([
    ['1.x', 'ofx1.ofx', '<BANKTRANLIST>'],
    ['1.x', 'ofx1.ofx', 'TEA & CO'],
    ['2.x', 'ofx2.ofx', '<NAME>TEA'],
    ['2.x', 'ofx2.ofx', '</BANKTRANLIST>'],
  ])('%s cut short (after %s %s) is refused, not read as a shorter statement', (_v, name, at) => {
    const whole = file(name).toString();
    const cut = whole.slice(0, whole.indexOf(at) + at.length);
    const message = refusal(cut, 'ofx').message;
    expect(message).toMatch(/^OFX: the file ends inside <OFX> <BANKMSGSRSV1> .*cut short/);
  });

  it.each([
    ['a CSV given as OFX', 'Date,Amount\n', /not an OFX file/],
    ['XML that is not OFX', '<?xml version="1.0"?><a/>', /without the <\?OFX/],
    ['1.x header with no body', 'OFXHEADER:100\nDATA:OFXSGML\n\n', /no <OFX> element/],
    ['no transaction list', 'OFXHEADER:100\n\n<OFX><SIGNONMSGSRSV1></SIGNONMSGSRSV1></OFX>', /no transaction list/],
    [
      'a transaction without an amount',
      'OFXHEADER:100\n\n<OFX><BANKTRANLIST><STMTTRN><DTPOSTED>20261207<FITID>1</STMTTRN></BANKTRANLIST></OFX>',
      /transaction 1 \(1\): no <DTPOSTED> or no <TRNAMT>/,
    ],
    [
      'a bad amount',
      'OFXHEADER:100\n\n<OFX><BANKTRANLIST><STMTTRN><DTPOSTED>20261207<TRNAMT>12.3.4</STMTTRN></BANKTRANLIST></OFX>',
      /amount "12.3.4"/,
    ],
    [
      'a bad date',
      'OFXHEADER:100\n\n<OFX><BANKTRANLIST><STMTTRN><DTPOSTED>20261340<TRNAMT>1</STMTTRN></BANKTRANLIST></OFX>',
      /date "20261340"/,
    ],
    // The line named is the file's own, also for 1.x once its leaves are closed.
    [
      'mismatched tags',
      'OFXHEADER:100\nDATA:OFXSGML\n\n<OFX>\n<BANKTRANLIST>\n<DTSTART>20261201\n</STMTRS></OFX>',
      /OFX: .*opened in line 5.*\(line 7\)/,
    ],
  ])('%s', (_name, text, why) => {
    expect(refusal(text, 'ofx').message).toMatch(why);
  });
});
