import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runKauri } from '../support/processes.js';

// `kauri admin bank-account set|list|approve`, `operator-fee set` and `payouts settings`
// through bin/kauri on a fresh SQLite database, as an operator runs them.
describe('kauri admin payout commands', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kauri-payout-cli-'));
  const db = `sqlite:${join(dir, 'bridge.db')}`;
  const env = { KAURI_SECRET_KEY: 'payout-cli-secret-key-0123456789abcdef' };
  const kauri = (args: string[]) => runKauri([...args, '--db', db], { env });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('records, proposes, approves and lists accounts; refuses a bad number; sets fees and settings', async () => {
    const m = await kauri(['admin', 'merchant', 'create', '--name', 'Dragon Noodle House', '--json']);
    expect(m.code, m.stderr).toBe(0);
    const merchant = JSON.parse(m.stdout).id as string;

    const bad = await kauri([
      'admin',
      'bank-account',
      'set',
      '--merchant',
      merchant,
      '--number',
      '01-902-0068388-00',
      '--name',
      'Dragon',
    ]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/check digit/i);

    const set = await kauri([
      'admin',
      'bank-account',
      'set',
      '--merchant',
      merchant,
      '--number',
      '01-902-0068389-00',
      '--name',
      'Dragon Noodle House',
      '--schedule',
      'weekly',
      '--day',
      '5',
      '--minimum',
      '20.00',
      '--json',
    ]);
    expect(set.code, set.stderr).toBe(0);
    expect(JSON.parse(set.stdout)).toMatchObject({
      state: 'active',
      account_number: '01-0902-0068389-000',
      minimum_minor: 2000,
    });

    const proposed = await kauri([
      'admin',
      'bank-account',
      'set',
      '--merchant',
      merchant,
      '--number',
      '08-6523-1954512-001',
      '--name',
      'Dragon NH',
      '--propose',
      '--json',
    ]);
    const id = JSON.parse(proposed.stdout).id as string;
    expect(JSON.parse(proposed.stdout).state).toBe('proposed');
    const approved = await kauri(['admin', 'bank-account', 'approve', id]);
    expect(approved.code, approved.stderr).toBe(0);
    expect(approved.stdout).toMatch(/08-6523-1954512-001.*active\tpayable from /);
    const fee = await kauri([
      'admin',
      'operator-fee',
      'set',
      '--merchant',
      merchant,
      '--channel',
      'wechat',
      '--percent',
      '1.5',
      '--fixed',
      '0.30',
    ]);
    expect(fee.code, fee.stderr).toBe(0);
    expect(fee.stdout).toMatch(/wechat: 1.5 % \+ NZD 0.30 per payment/);
    const s = await kauri([
      'admin',
      'payouts',
      'settings',
      '--originator-account',
      '12-3140-0999993-00',
      '--originator-name',
      'Kauri Ltd',
      '--json',
    ]);
    expect(JSON.parse(s.stdout)).toEqual({
      originatorAccount: '12-3140-0999993-000',
      originatorName: 'Kauri Ltd',
      coolingOffHours: 24,
    });
  }, 240_000);
});
