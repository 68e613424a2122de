import { describe, expect, it } from 'vitest';
import { checkNzAccount, checkRemainder, type Algorithm } from './account-number.js';

function valid(n: string): string {
  const r = checkNzAccount(n);
  if (!r.ok) throw new Error(`${n}: ${r.reason} ${r.message}`);
  return r.normalised;
}
function reason(n: string): string {
  const r = checkNzAccount(n);
  return r.ok ? 'ok' : r.reason;
}

describe('checkNzAccount: the specification’s worked examples', () => {
  it.each([
    ['01-902-0068389-00', '01-0902-0068389-000', 'A'],
    ['08-6523-1954512-001', '08-6523-1954512-001', 'D'],
    ['26-2600-0320871-032', '26-2600-0320871-032', 'G'],
  ])('%s is valid', (input, normalised, algorithm) => {
    const r = checkNzAccount(input);
    expect(r).toMatchObject({ ok: true, normalised, algorithm });
  });
});

// For each algorithm a valid number and the same number with one digit changed.
const PAIRS: Array<[Algorithm, string, string]> = [
  ['A', '02-0100-0123454-000', '02-0100-0123455-000'],
  ['B', '12-3140-0999993-000', '12-3140-0999939-000'],
  ['D', '08-6523-1954512-001', '08-6523-1954521-001'],
  ['E', '09-0000-0123450-003', '09-0000-0123450-004'],
  ['F', '25-2500-1234569-000', '25-2500-1234568-000'],
  ['F', '33-6701-7654325-010', '33-6701-7654326-010'],
  ['G', '28-2100-1234560-004', '28-2100-1234560-005'],
  ['G', '29-2150-1111110-008', '29-2150-1111111-008'],
];

describe('checkNzAccount: each algorithm', () => {
  it.each(PAIRS)('algorithm %s: %s passes, %s fails', (algorithm, good, bad) => {
    expect(checkNzAccount(good)).toMatchObject({ ok: true, algorithm });
    expect(checkNzAccount(bad)).toMatchObject({ ok: false, reason: 'bad_check_digits' });
    expect((checkNzAccount(bad) as { message: string }).message).toContain(`algorithm ${algorithm}`);
  });

  it('A below base 0990000 and B from it, for the same bank', () => {
    expect(checkNzAccount('01-0902-0068389-000')).toMatchObject({ algorithm: 'A' });
    expect(checkNzAccount('01-0902-9990016-000')).toMatchObject({ ok: true, algorithm: 'B' });
    // Valid under B's weights only: under A the branch digits would count too.
    expect(checkRemainder('010902099900160000', 'B')).toBe(0);
    expect(checkRemainder('010902099900160000', 'A')).not.toBe(0);
  });

  it('E and G add the digits of each product (twice), not the product itself', () => {
    // 09-0000-0123450-003: products 15, 16, 15, 0 and 3 fold to 6 + 7 + 6 + 0 + 3 = 22, 22 % 11 = 0;
    // unfolded they would be 49, which is not.
    expect(checkRemainder('090000001234500003', 'E')).toBe(0);
  });

  it('C (in the specification, used by no bank today) has its own weights', () => {
    expect(checkRemainder('010000001234540000', 'C')).toBe(0);
    expect(checkRemainder('010000001234550000', 'C')).not.toBe(0);
  });

  it('X (bank 31) accepts any check digits, as the specification says', () => {
    expect(checkNzAccount('31-2800-0000010-000')).toMatchObject({ ok: true, algorithm: 'X' });
    expect(checkNzAccount('31-2800-1234567-089')).toMatchObject({ ok: true, algorithm: 'X' });
  });
});

describe('checkNzAccount: banks and branches', () => {
  it('refuses a bank code no bank has', () => {
    expect(reason('99-0001-0000001-000')).toBe('unknown_bank');
    expect(reason('07-0001-0000001-000')).toBe('unknown_bank');
    expect((checkNzAccount('99-0001-0000001-000') as { message: string }).message).toContain('bank 99');
  });

  it("refuses a branch outside the bank's ranges, naming the ranges", () => {
    const r = checkNzAccount('01-5000-0068389-000');
    expect(r).toMatchObject({ ok: false, reason: 'branch_out_of_range' });
    expect((r as { message: string }).message).toContain('0001–0999, 1100–1199, 1800–1899');
    expect(reason('01-1000-0068389-000')).toBe('branch_out_of_range'); // between two ranges
    expect(reason('09-0001-0123450-003')).toBe('branch_out_of_range'); // 09 has only branch 0000
    expect(reason('38-9500-1234560-000')).toBe('branch_out_of_range');
  });

  it('F does not weigh the suffix', () => {
    expect(reason('33-6701-7654325-011')).toBe('ok');
  });

  it('checks the branch before the check digits', () => {
    expect(reason('01-5000-0068388-000')).toBe('branch_out_of_range');
  });
});

describe('checkNzAccount: the forms people write', () => {
  it.each([
    '01-902-0068389-00',
    '01-0902-0068389-000',
    '01-0902-0068389-0000',
    '01-0902-00068389-000',
    '01 0902 0068389 00',
    ' 01 - 0902 - 0068389 - 000 '.replace(/ - /g, '-'),
    '010902006838900',
    '0109020068389000',
  ])('%s → 01-0902-0068389-000', (input) => {
    expect(valid(input)).toBe('01-0902-0068389-000');
  });

  it.each([
    '',
    'abc',
    '01-0902-0068389',
    '01/0902/0068389/000',
    '01-0902-0068389-1000', // a 4-digit suffix that is not only padding
    '01-0902-10068389-000', // an 8-digit base that is not only padding
    '01090200683890000',
    '0109020068389',
    '01-09O2-0068389-000',
  ])('%j is malformed', (input) => {
    expect(reason(input)).toBe('malformed');
  });
});
