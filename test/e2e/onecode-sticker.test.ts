import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PNG } from 'pngjs';
import jsQRModule from 'jsqr';
import { openStore } from '../../cloud-bridge/store/db.js';
import { AccountsRepo } from '../../cloud-bridge/store/accounts.js';
import { SecretBox } from '../../cloud-bridge/store/secret-box.js';
import { seedDemo } from '../../cloud-bridge/demo.js';
import { spawnKauri } from '../support/processes.js';

// `kauri sticker` as a shop owner runs it, against a bridge database with the demo store.

// jsqr is CommonJS whose types declare an ES default export: take whichever is callable.
const decode = ((jsQRModule as unknown as { default?: unknown }).default ?? jsQRModule) as typeof jsQRModule.default;

describe('kauri sticker', () => {
  let dir: string;
  let db: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kauri-sticker-'));
    db = `sqlite:${join(dir, 'bridge.db')}`;
    const store = await openStore(db);
    const accounts = new AccountsRepo(store, new SecretBox('sticker-test-secret-key-0123'));
    await seedDemo(accounts, {
      channelAccounts: [
        { channel: 'wechat', config: { appid: 'wx1' }, secrets: { apiKey: 'k' } },
        { channel: 'alipay', config: { partner: '2088' }, secrets: { md5Key: 'k' } },
      ],
    });
    await store.close();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const run = async (args: string[]) => {
    const p = await spawnKauri(['sticker', ...args], { timeoutMs: 60_000 });
    const code =
      p.proc.exitCode ??
      p.proc.signalCode ??
      (await new Promise<number | null>((r) => p.proc.once('exit', (c) => r(c))));
    return { code, out: p.stdout(), err: p.stderr() };
  };

  it("writes a PNG whose QR opens the store's page, naming the wallets the merchant takes", async () => {
    const out = join(dir, 'queen-st.png');
    const r = await run([
      '--store',
      'demo-queen-st',
      '--out',
      out,
      '--db',
      db,
      '--base-url',
      'https://pay.example.co.nz',
    ]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('wechat, alipay');
    const png = PNG.sync.read(readFileSync(out));
    expect(decode(new Uint8ClampedArray(png.data), png.width, png.height)?.data).toBe(
      'https://pay.example.co.nz/s/demo-queen-st',
    );
  }, 60_000);

  it('writes an A6 PDF', async () => {
    const out = join(dir, 'queen-st.pdf');
    const r = await run(['--store', 'demo-queen-st', '--out', out, '--db', db]);
    expect(r.code).toBe(0);
    expect(readFileSync(out).subarray(0, 5).toString()).toBe('%PDF-');
  }, 60_000);

  it('refuses bad arguments with one line on stderr and writes nothing', async () => {
    const before = readdirSync(dir).sort();
    for (const [args, why] of [
      [['--store', 'nope', '--out', join(dir, 'x.png'), '--db', db], /no store with code "nope"/],
      [['--store', 'demo-queen-st', '--out', join(dir, 'x.jpg'), '--db', db], /must end in \.pdf or \.png/],
      [
        ['--store', 'demo-queen-st', '--out', join(dir, 'x.png'), '--db', `sqlite:${join(dir, 'missing.db')}`],
        /no bridge database/,
      ],
      [['--store', 'demo-queen-st', '--out', join(dir, 'x.png'), '--db', db, '--base-url', 'ftp://x'], /--base-url/],
      [['--out', join(dir, 'x.png')], /--store/],
    ] as const) {
      const r = await run([...args]);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(
        r.err
          .trim()
          .split('\n')
          .filter((l) => !l.startsWith('(run with')),
        args.join(' '),
      ).toHaveLength(1);
      expect(r.err).toMatch(why);
    }
    expect(readdirSync(dir).sort()).toEqual(before);
  }, 120_000);
});
