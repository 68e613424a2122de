import { describe, expect, it } from 'vitest';
import { runKauri } from '../support/processes.js';

// `kauri admin bank-account check` through bin/kauri, as an operator runs it.
describe('kauri admin bank-account check', () => {
  it('prints the normalised number and exits 0 for a valid one', async () => {
    const r = await runKauri(['admin', 'bank-account', 'check', '01-902-0068389-00']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('01-0902-0068389-000');
    expect(r.stderr).toBe('');
  });

  it('accepts the number with spaces as one argument', async () => {
    const r = await runKauri(['admin', 'bank-account', 'check', '26 2600 0320871 032']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('26-2600-0320871-032');
  });

  it.each([
    ['99-0001-0000001-000', 'unknown_bank'],
    ['01-5000-0068389-000', 'branch_out_of_range'],
    ['01-0902-0068388-000', 'bad_check_digits'],
    ['01-0902', 'malformed'],
  ])('%s exits non-zero and says %s', async (n, why) => {
    const r = await runKauri(['admin', 'bank-account', 'check', n]);
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(new RegExp(`^${why}: `));
  });

  it('--json gives the whole result', async () => {
    const r = await runKauri(['admin', 'bank-account', 'check', '--json', '08-6523-1954512-001']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, bank: '08', branch: '6523', algorithm: 'D' });
  });
});
