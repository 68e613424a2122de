import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { readFile } from 'node:fs/promises';
import { pino } from 'pino';
import { openStore } from '../../store/db.js';
import { AccountsRepo } from '../../store/accounts.js';
import { SecretBox } from '../../store/secret-box.js';
import { FileStore } from '../../files/file-store.js';
import { MessageRecorder } from '../../orders/recorder.js';
import { defaultChannels } from '../../channels/index.js';
import { resolveSecretKey } from '../../secret-key.js';
import { systemClock } from '../../../protocol/clock.js';
import type { Channel } from '../codes.js';
import type { Difference, ReconcileSummary } from '../ledger.js';
import { ReconcileError } from '../errors.js';
import { ReconcileService } from './service.js';
import { RunError } from './errors.js';

// `kauri reconcile` without --statement and/or --platform: the statement is downloaded
// through the merchant's channel account (and kept in the file store), the platform rows
// come from the bridge's database, and the run is recorded there, so the HQ page shows it.

export const DEFAULT_DB = 'sqlite:./data/bridge.db';

export interface DatabaseReconcileInput {
  channel: Channel;
  date: string;
  db?: string;
  statement?: string;
  platform?: string;
  windowMinutes: number;
  filesDir?: string;
}

export async function reconcileWithDatabase(
  input: DatabaseReconcileInput,
): Promise<{ summary: ReconcileSummary; differences: Difference[]; layout: string; notes: string[] }> {
  const url = input.db ?? DEFAULT_DB;
  const dataDir = url.startsWith('sqlite:') ? dirname(url.slice('sqlite:'.length)) : './data';
  const store = await openStore(url);
  try {
    const secretKey = resolveSecretKey(dataDir, (l) => process.stderr.write(`${l}\n`));
    const accounts = new AccountsRepo(store, new SecretBox(secretKey));
    const files = new FileStore(
      resolve(input.filesDir ?? process.env.KAURI_FILES_DIR ?? join(dataDir, 'files')),
      store,
    );
    const recorder = new MessageRecorder(store);
    const clock = systemClock();
    const log = pino({ level: process.env.KAURI_LOG_LEVEL ?? 'silent' });
    const channels = defaultChannels();
    const service = new ReconcileService({
      store,
      accounts,
      channels,
      files,
      clock,
      log,
      windowMinutes: input.windowMinutes,
      contextFor: (account) => ({
        account,
        clock,
        log,
        notifyUrl: `http://127.0.0.1/notify/${account.channel}/${account.id}`,
        publicBaseUrl: 'http://127.0.0.1',
        record: (m) => recorder.record({ channel: account.channel, accountId: account.id, ...m }),
      }),
    });
    if (input.platform) {
      // A platform file with a downloaded statement: download, then the file engine.
      const accs = (await accounts.listChannelAccounts()).filter((a) => a.active && a.channel === input.channel);
      if (accs.length !== 1)
        throw new RunError(
          'bad_argument',
          `--platform FILE without --statement needs exactly one ${input.channel} account in the database, found ${accs.length}`,
        );
      const acc = (await accounts.getChannelAccount(accs[0]!.id))!;
      const dl = await service.download(input.channel, input.date, acc);
      if (dl.state === 'not_ready' || dl.state === 'failed')
        throw new RunError(
          'no_statement',
          `${input.channel} ${input.date}: ${dl.state === 'not_ready' ? 'the statement is not available yet' : 'the download failed'}: ${dl.error}`,
        );
      if (dl.state === 'empty')
        throw new RunError(
          'no_statement',
          `${input.channel} ${input.date}: the channel has no transactions that day (no statement to compare the platform file with)`,
        );
      const tmp = await mkdtemp(join(tmpdir(), 'kauri-reconcile-'));
      try {
        const path = join(tmp, 'statement');
        await writeFile(path, await files.read(dl.sha256!));
        const { reconcileFiles } = await import('../engine.js');
        const r = await reconcileFiles({
          channel: input.channel,
          date: input.date,
          statementPath: path,
          platformPath: input.platform,
          windowMinutes: input.windowMinutes,
        });
        return { ...r, notes: [`statement ${dl.sha256}`] };
      } finally {
        await rm(tmp, { recursive: true, force: true });
      }
    }
    const statement = input.statement
      ? { body: await readStatement(input.statement), fileName: input.statement }
      : undefined;
    const run = await service.reconcileDay(input.channel, input.date, { actor: 'cli', statement });
    if (run.merchants.length === 0)
      throw new RunError(
        'bad_argument',
        `no merchant has an active ${input.channel} account in ${url.replace(/\/\/([^:/@]+):([^@]+)@/, '//$1:***@')}`,
      );
    const notes: string[] = [];
    for (const d of run.downloads) {
      if (d.state === 'not_ready' || d.state === 'failed') {
        throw new RunError(
          'no_statement',
          `${input.channel} ${input.date} (merchant ${d.merchantId}): ${d.state === 'not_ready' ? 'the statement is not available yet' : 'the download failed'}: ${d.error}`,
        );
      }
      notes.push(
        `merchant ${d.merchantId}: ${d.state === 'empty' ? 'no transactions that day' : `statement ${d.sha256}`}`,
      );
    }
    return {
      summary: run.summary,
      differences: run.differences,
      layout: run.merchants.length === 1 ? 'database' : `database, ${run.merchants.length} merchants`,
      notes,
    };
  } catch (err) {
    if (err instanceof RunError)
      throw new ReconcileError(err.code === 'bad_argument' ? 'bad_argument' : 'database_required', err.message);
    throw err;
  } finally {
    await store.close();
  }
}

async function readStatement(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new ReconcileError(
      'file_unreadable',
      `cannot read statement ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    );
  }
}
