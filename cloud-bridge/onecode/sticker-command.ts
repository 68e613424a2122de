import { writeFileSync, renameSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import type { Command } from 'commander';
import { CHANNELS, type ChannelName } from '../../protocol/payments.js';
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import type { StickerInput } from './sticker.js';

// `kauri sticker --store CODE --out FILE.pdf|FILE.png`: the store's printed one-code
// sticker. It reads the store, its merchant and the wallets the merchant has accounts
// on from the bridge's database, and points the QR at <base URL>/s/<store code>.

export async function stickerFor(dbUrl: string, storeCode: string, baseUrl: string): Promise<StickerInput> {
  // The store and the PDF/PNG renderers load only when a sticker is made, not for --help.
  const { openStore } = await import('../store/db.js');
  const store = await openStore(dbUrl);
  try {
    const input = await stickerInputOf(store.db, { code: storeCode }, baseUrl);
    if (!input)
      throw new Error(`no store with code "${storeCode}" in ${dbUrl.startsWith('sqlite:') ? dbUrl : 'the database'}`);
    return input;
  } finally {
    await store.close();
  }
}

/**
 * What a store's sticker shows, read from the bridge's database (the CLI and the back office
 * both make stickers from it): the store by id or by code, or undefined when there is none.
 * The wallets are those the merchant has an account on that is in force and not turned off.
 */
export async function stickerInputOf(
  db: Kysely<Database>,
  which: { id: string } | { code: string },
  baseUrl: string,
): Promise<StickerInput | undefined> {
  const q = db.selectFrom('stores').selectAll();
  const s = await ('id' in which ? q.where('id', '=', which.id) : q.where('code', '=', which.code)).executeTakeFirst();
  if (!s) return undefined;
  const m = await db.selectFrom('merchants').select('name').where('id', '=', s.merchant_id).executeTakeFirstOrThrow();
  const accounts = await db
    .selectFrom('channel_accounts')
    .select('channel')
    .where('merchant_id', '=', s.merchant_id)
    .where('active', '=', 1)
    .where('disabled_at', 'is', null)
    .execute();
  const have = new Set(accounts.map((a) => a.channel));
  const wallets = CHANNELS.filter((c): c is ChannelName => have.has(c));
  return {
    url: new URL(`/s/${encodeURIComponent(s.code)}`, baseUrl).toString(),
    storeName: s.name,
    merchantName: m.name,
    wallets,
  };
}

export function registerStickerCommand(program: Command): void {
  program
    .command('sticker')
    .description("make a store's printed one-code sticker (QR to /s/<store code>, store name, wallets) as PDF or PNG")
    .requiredOption('--store <code>', 'the store code')
    .requiredOption('--out <file>', 'FILE.pdf (A6, vector) or FILE.png')
    .option('--db <url>', 'the bridge database: sqlite:PATH or postgres://…', 'sqlite:./data/bridge.db')
    .option('--base-url <url>', 'the bridge URL customers reach', 'http://127.0.0.1:7300')
    .action(async (o: { store: string; out: string; db: string; baseUrl: string }) => {
      const kind = extname(o.out).toLowerCase();
      if (kind !== '.pdf' && kind !== '.png') throw new Error(`--out must end in .pdf or .png, got "${o.out}"`);
      let base: URL;
      try {
        base = new URL(o.baseUrl);
        if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new Error();
      } catch {
        throw new Error(`--base-url must be an http(s) URL, got "${o.baseUrl}"`);
      }
      if (o.db.startsWith('sqlite:')) {
        const { existsSync } = await import('node:fs');
        const path = o.db.slice('sqlite:'.length);
        if (!existsSync(path))
          throw new Error(`no bridge database at ${path} (run kauri start or kauri bridge first, or give --db)`);
      }
      const input = await stickerFor(o.db, o.store, base.toString());
      const out = resolve(o.out);
      let bytes: Buffer;
      if (kind === '.pdf') {
        const { stickerPdf } = await import('./sticker.js');
        const { pdf, warning } = await stickerPdf(input);
        if (warning) process.stderr.write(`kauri sticker: ${warning}\n`);
        bytes = pdf;
      } else {
        bytes = (await import('./sticker.js')).stickerPng(input);
      }
      // Written whole or not at all.
      const tmp = `${dirname(out)}/.${Date.now()}.${process.pid}.sticker.tmp`;
      writeFileSync(tmp, bytes);
      renameSync(tmp, out);
      process.stdout.write(
        `sticker for ${input.storeName} (${input.url}, ${input.wallets.join(', ') || 'no wallets yet'}) written to ${out}\n`,
      );
    });
}
