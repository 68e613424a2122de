import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runKauri } from '../support/processes.js';
import { openStore } from '../../cloud-bridge/store/db.js';
import { AccountsRepo } from '../../cloud-bridge/store/accounts.js';
import { SecretBox } from '../../cloud-bridge/store/secret-box.js';
import { DEMO_MERCHANT_ID, seedDemo } from '../../cloud-bridge/demo.js';

// The private-webhooks allowance is a merchant setting in the database, set by the operator
// from the CLI (never by the merchant), and by --demo on the demo merchant only.

describe('kauri admin merchant … --allow-private-webhooks', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kauri-admin-webhooks-'));
  const db = `sqlite:${join(dir, 'bridge.db')}`;
  const env = { KAURI_SECRET_KEY: 'admin-webhooks-secret-key-0123456789abcdef' };
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const kauri = async (...args: string[]) => {
    const r = await runKauri([...args, '--db', db, '--json'], { env });
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout);
  };

  it('is off unless asked for; update turns it on and off, and list shows it', async () => {
    const plain = await kauri('admin', 'merchant', 'create', '--name', 'Plain Books');
    expect(plain.allow_private_webhooks).toBe(0);
    const lan = await kauri('admin', 'merchant', 'create', '--name', 'LAN Books', '--allow-private-webhooks');
    expect(lan.allow_private_webhooks).toBe(1);
    expect(
      (await kauri('admin', 'merchant', 'update', '--merchant', plain.id, '--allow-private-webhooks'))
        .allow_private_webhooks,
    ).toBe(1);
    expect(
      (await kauri('admin', 'merchant', 'update', '--merchant', plain.id, '--no-allow-private-webhooks'))
        .allow_private_webhooks,
    ).toBe(0);
    // Neither flag changes nothing.
    expect((await kauri('admin', 'merchant', 'update', '--merchant', lan.id)).allow_private_webhooks).toBe(1);
    const list = await kauri('admin', 'merchant', 'list');
    expect(
      Object.fromEntries(
        list.map((m: { name: string; allow_private_webhooks: number }) => [m.name, m.allow_private_webhooks]),
      ),
    ).toEqual({ 'Plain Books': 0, 'LAN Books': 1 });
    const missing = await runKauri(
      ['admin', 'merchant', 'update', '--merchant', 'mch_nope', '--allow-private-webhooks', '--db', db],
      { env },
    );
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/mch_nope/);
  });

  it('--demo sets it on the demo merchant only, also on a demo merchant made before the setting existed', async () => {
    const store = await openStore(db);
    try {
      const accounts = new AccountsRepo(store, new SecretBox(env.KAURI_SECRET_KEY));
      await accounts.createMerchant({ id: DEMO_MERCHANT_ID, name: 'old demo' }); // as an older database has it: off
      await seedDemo(accounts, { channelAccounts: [] });
      expect((await accounts.getMerchant(DEMO_MERCHANT_ID))!.allow_private_webhooks).toBe(1);
      const others = (await accounts.listMerchants()).filter((m) => m.id !== DEMO_MERCHANT_ID);
      expect(others.find((m) => m.name === 'Plain Books')!.allow_private_webhooks).toBe(0);
    } finally {
      await store.close();
    }
  });
});
