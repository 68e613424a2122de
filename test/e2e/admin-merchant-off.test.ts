import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runKauri } from '../support/processes.js';
import { openStore } from '../../cloud-bridge/store/db.js';

// Turning a merchant or one of its channel accounts off (and on) from the shell, as the back
// office's Merchants page does: the same columns, the same audit actions (actor `cli`).

describe('kauri admin merchant update --off|--on, channel-account disable|enable', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kauri-admin-off-'));
  const db = `sqlite:${join(dir, 'bridge.db')}`;
  const env = { KAURI_SECRET_KEY: 'admin-off-secret-key-0123456789abcdef' };
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const kauri = async (...args: string[]) => {
    const r = await runKauri([...args, '--db', db], { env });
    expect(r.code, r.stderr).toBe(0);
    return r.stdout;
  };

  it('turns a merchant and a channel account off and on, each change in the audit log', async () => {
    const m = JSON.parse(await kauri('admin', 'merchant', 'create', '--name', 'Off Books', '--json')) as { id: string };
    const off = JSON.parse(await kauri('admin', 'merchant', 'update', m.id, '--off', '--json'));
    expect(off.disabled_at).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(await kauri('admin', 'merchant', 'update', m.id)).toContain('OFF since');
    const on = JSON.parse(await kauri('admin', 'merchant', 'update', m.id, '--on', '--json'));
    expect(on.disabled_at).toBeNull();
    const both = await runKauri(['admin', 'merchant', 'update', m.id, '--on', '--off', '--db', db], { env });
    expect(both.code).not.toBe(0);

    const acc = JSON.parse(
      await kauri(
        'admin',
        'channel-account',
        'set',
        '--merchant',
        m.id,
        '--channel',
        'wechat',
        '--config',
        '{"appid":"wx1"}',
        '--secrets',
        '{"apiKey":"k-S3CRET"}',
        '--json',
      ),
    ) as { id: string };
    expect(await kauri('admin', 'channel-account', 'disable', acc.id)).toContain('turned off');
    expect(await kauri('admin', 'channel-account', 'list')).toMatch(new RegExp(`${acc.id}\\t.*\\toff since `));
    expect(await kauri('admin', 'channel-account', 'enable', acc.id)).toContain('turned on');
    expect(await kauri('admin', 'channel-account', 'list')).not.toContain('off since');
    const missing = await runKauri(['admin', 'channel-account', 'disable', 'cha_nothing', '--db', db], { env });
    expect(missing.code).not.toBe(0);

    const store = await openStore(db);
    try {
      const rows = await store.db.selectFrom('audit_log').select(['actor', 'action', 'target']).orderBy('id').execute();
      expect(rows).toEqual([
        { actor: 'cli', action: 'merchant.disable', target: m.id },
        { actor: 'cli', action: 'merchant.enable', target: m.id },
        { actor: 'cli', action: 'channel_account.disable', target: acc.id },
        { actor: 'cli', action: 'channel_account.enable', target: acc.id },
      ]);
    } finally {
      await store.close();
    }
  });
});
