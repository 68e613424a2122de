import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { ReconcileError } from './errors.js';
import { CHANNELS, type Channel } from './codes.js';

// `kauri reconcile` (docs/CONTRACTS.md). The engine is imported when the command runs, so the
// rest of the CLI does not pay for it at start-up.

interface Options {
  channel: string;
  date: string;
  statement?: string;
  platform?: string;
  db?: string;
  json?: boolean;
  differencesOut?: string;
  windowMinutes: string;
  threads?: string;
  progress: boolean;
}

export function registerReconcileCommand(program: Command): void {
  program
    .command('reconcile')
    .description("reconcile one channel-day (the channel's day, UTC+8): its statement against the platform's orders")
    .requiredOption('--channel <channel>', 'wechat, alipay or bank')
    .requiredOption('--date <YYYY-MM-DD>', "the channel's day (China time)")
    .option(
      '--statement <file>',
      "the channel's statement file (WeChat downloadbill, Alipay transaction/settlement file, bank statement)",
    )
    .option('--platform <file>', 'platform orders CSV (docs/CONTRACTS.md)')
    .option(
      '--db <url>',
      'the bridge database (sqlite:PATH or postgres://…; default sqlite:./data/bridge.db when it exists), for orders, downloads and the recorded run',
    )
    .option('--json', 'print the result as one JSON object on stdout')
    .option(
      '--differences-out <file>',
      'write the differences: JSON lines if FILE ends in .jsonl/.ndjson/.json, CSV otherwise',
    )
    .option('--window-minutes <n>', 'orders this close to the day cut-off wait in suspense', '15')
    .option('--threads <n>', 'parser threads, 1 or 2 (default: 2 for files over 32 MB)')
    .option('--no-progress', 'no progress bar on stderr')
    .action(async (opts: Options) => {
      await runReconcile(opts);
    });
}

async function runReconcile(opts: Options): Promise<void> {
  if (!(CHANNELS as readonly string[]).includes(opts.channel)) {
    throw new ReconcileError('bad_argument', `--channel must be wechat, alipay or bank, got "${opts.channel}"`);
  }
  const channel = opts.channel as Channel;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(opts.date) || Number.isNaN(Date.parse(`${opts.date}T00:00:00Z`))) {
    throw new ReconcileError('bad_argument', `--date must be YYYY-MM-DD, got "${opts.date}"`);
  }
  const windowMinutes = Number(opts.windowMinutes);
  if (!Number.isInteger(windowMinutes) || windowMinutes < 0 || windowMinutes > 720) {
    throw new ReconcileError(
      'bad_argument',
      `--window-minutes must be a whole number from 0 to 720, got "${opts.windowMinutes}"`,
    );
  }
  const threads = opts.threads === undefined ? undefined : Number(opts.threads);
  if (threads !== undefined && threads !== 1 && threads !== 2) {
    throw new ReconcileError('bad_argument', `--threads must be 1 or 2, got "${opts.threads}"`);
  }
  const [{ reconcileFiles }, { checkWritable, writeDifferences }, { progressBar }] = await Promise.all([
    import('./engine.js'),
    import('./differences.js'),
    import('./progress.js'),
  ]);
  if (!opts.statement || !opts.platform) {
    // Database mode (runs/cli.ts): download and/or read orders from the bridge's database,
    // by default the one `npm start` keeps in ./data (never created here by accident).
    if (!opts.db && !existsSync('./data/bridge.db')) {
      const missing = [!opts.statement && '--statement', !opts.platform && '--platform'].filter(Boolean).join(' and ');
      throw new ReconcileError(
        'database_required',
        `without ${missing}, reconcile needs the database: pass --db URL (there is no ./data/bridge.db here)`,
      );
    }
    if (opts.differencesOut) await checkWritable(opts.differencesOut);
    const { reconcileWithDatabase } = await import('./runs/cli.js');
    const r = await reconcileWithDatabase({
      channel,
      date: opts.date,
      db: opts.db,
      statement: opts.statement,
      platform: opts.platform,
      windowMinutes,
    });
    if (opts.differencesOut) await writeDifferences(opts.differencesOut, r.differences);
    if (opts.json) process.stdout.write(`${JSON.stringify(r.summary)}\n`);
    else
      process.stdout.write(
        `${await summaryText(r.summary, r.layout, r.differences.length, opts.differencesOut)}\n${r.notes.map((n) => `  ${n}`).join('\n')}\n`,
      );
    return;
  }
  if (opts.differencesOut) await checkWritable(opts.differencesOut);
  const bar = opts.progress ? progressBar(process.stderr) : undefined;
  let result;
  try {
    result = await reconcileFiles({
      channel,
      date: opts.date,
      statementPath: opts.statement,
      platformPath: opts.platform,
      windowMinutes,
      threads,
      onProgress: bar?.update,
    });
  } catch (err) {
    bar?.clear();
    if (err instanceof ReconcileError) throw new ReconcileError(err.code, err.report());
    throw err;
  }
  bar?.clear();
  if (opts.differencesOut) await writeDifferences(opts.differencesOut, result.differences);
  const s = result.summary;
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(s)}\n`);
    return;
  }
  process.stdout.write(`${await summaryText(s, result.layout, result.differences.length, opts.differencesOut)}\n`);
}

async function summaryText(
  s: import('./ledger.js').ReconcileSummary,
  layout: string,
  differences: number,
  differencesOut?: string,
): Promise<string> {
  const { formatMinor } = await import('./money.js');
  const lines = [
    `${s.channel} ${s.date} (${layout}): ${s.statementRows} statement rows, ${s.platformRows} platform rows`,
    `  matched            ${s.matched}`,
    `  amount mismatch    ${s.amountMismatch}`,
    `  currency mismatch  ${s.currencyMismatch}`,
    `  status mismatch    ${s.statusMismatch}`,
    `  channel only       ${s.channelOnly}`,
    `  platform only      ${s.platformOnly}`,
    `  duplicates         ${s.duplicates}`,
    `  suspense           ${s.suspense}`,
    `  net at the channel ${formatMinor(s.totals.channelMinor, s.totals.currency)} ${s.totals.currency}, on the platform ${formatMinor(s.totals.platformMinor, s.totals.currency)} ${s.totals.currency}`,
  ];
  if (differencesOut) lines.push(`  ${differences} differences written to ${differencesOut}`);
  return lines.join('\n');
}
