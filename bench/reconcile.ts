import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { duckdbReconcile, type DuckCounts } from './reconcile-duckdb.js';
import { DATE, generateDay, PLANTED, type Expected } from './reconcile-data.js';
import { writeSection } from './section.js';

// Reconciliation benchmark: a WeChat statement of a million rows and the
// matching platform CSV with known differences; the whole `kauri reconcile … --json`
// command (start-up included) against DuckDB computing the same classification.
// `run()` returns the markdown section; run standalone it also writes BENCHMARKS.md.

const root = fileURLToPath(new URL('..', import.meta.url));
const COUNT_KEYS = [
  'statementRows',
  'platformRows',
  'matched',
  'amountMismatch',
  'currencyMismatch',
  'statusMismatch',
  'channelOnly',
  'platformOnly',
  'duplicates',
  'suspense',
] as const;

interface Timed {
  seconds: number;
  /** user + system CPU seconds, all threads: the fairer yardstick on a loaded machine */
  cpu: number;
  maxRssKb: number;
  stdout: string;
}

function exec(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number | null; stdout: string; stderr: string; seconds: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, seconds: (performance.now() - started) / 1000 }));
  });
}

/**
 * The CLI compiled, as `bin/kauri` runs it from dist/ after `npm install`. Built privately
 * from the current sources (a dist/ left by someone else's build may be stale).
 */
async function compiledCli(): Promise<{ argv: string[]; label: string }> {
  const out = join(root, 'node_modules/.cache/kauri-bench');
  // tsc still emits when someone else's work in progress has type errors; only the JS matters here.
  await exec(process.execPath, [
    join(root, 'node_modules/typescript/bin/tsc'),
    '-p',
    join(root, 'tsconfig.build.json'),
    '--outDir',
    out,
  ]);
  if (!existsSync(join(out, 'cli/kauri.js'))) throw new Error('could not compile the CLI for the benchmark');
  // The same command without the rest of the CLI, to show what the other commands' eager
  // imports cost at start-up.
  writeFileSync(
    join(out, 'reconcile-only.mjs'),
    [
      "import { Command } from 'commander';",
      "import { registerReconcileCommand } from './cloud-bridge/reconcile/command.js';",
      "const program = new Command('kauri');",
      'registerReconcileCommand(program);',
      'await program.parseAsync(process.argv);',
    ].join('\n'),
  );
  return {
    argv: [process.execPath, join(out, 'cli/kauri.js')],
    label: 'compiled JS (`tsc -p tsconfig.build.json`, run with node as `bin/kauri` runs dist/)',
  };
}

function reconcileOnly(): string[] {
  return [process.execPath, join(root, 'node_modules/.cache/kauri-bench/reconcile-only.mjs')];
}

async function timeCommand(argv: string[]): Promise<Timed> {
  // /usr/bin/time -f '%M' gives the peak resident set (KB) of the process, worker thread included.
  const r = await exec('/usr/bin/time', ['-f', 'maxrss_kb=%M cpu=%U+%S', ...argv]);
  if (r.code !== 0) throw new Error(`${argv.join(' ')} failed: ${r.stderr.trim().split('\n').pop()}`);
  const m = /maxrss_kb=(\d+) cpu=([\d.]+)\+([\d.]+)/.exec(r.stderr);
  return {
    seconds: r.seconds,
    cpu: m ? Number(m[2]) + Number(m[3]) : NaN,
    maxRssKb: m ? Number(m[1]) : NaN,
    stdout: r.stdout,
  };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function run(
  options: { rows?: number; runs?: number; log?: (line: string) => void } = {},
): Promise<string> {
  const rows = options.rows ?? 1_000_000;
  const runs = options.runs ?? 3;
  const log = options.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const dir = join(tmpdir(), `kauri-bench-reconcile-${rows}`);
  const statement = join(dir, 'wechat-statement.csv');
  const platform = join(dir, 'platform-orders.csv');
  const expectedFile = join(dir, 'expected.json');
  mkdirSync(dir, { recursive: true });
  let expected: Expected;
  if (existsSync(expectedFile) && existsSync(statement) && existsSync(platform)) {
    expected = JSON.parse(readFileSync(expectedFile, 'utf8'));
  } else {
    log(`reconcile bench: generating ${rows} rows in ${dir}`);
    expected = await generateDay(rows, statement, platform);
    writeFileSync(expectedFile, JSON.stringify(expected));
  }
  const sizes = { statement: readFileSync(statement).length, platform: readFileSync(platform).length };
  const cli = await compiledCli();
  const args = [
    'reconcile',
    '--channel',
    'wechat',
    '--date',
    DATE,
    '--statement',
    statement,
    '--platform',
    platform,
    '--json',
  ];
  const load = loadavg()[0]!;
  const kauri: Timed[] = [];
  const duck: number[] = [];
  const duckCpu: number[] = [];
  const startup: number[] = [];
  const alone: Timed[] = [];
  const startupCpu: number[] = [];
  const startupRss: number[] = [];
  let duckCounts: DuckCounts | null = null;
  // Interleaved, so both sides see the same machine load.
  for (let i = 0; i < runs; i++) {
    log(`reconcile bench: run ${i + 1}/${runs}`);
    const help = await timeCommand([...cli.argv, '--help']);
    startup.push(help.seconds);
    startupCpu.push(help.cpu);
    startupRss.push(help.maxRssKb);
    kauri.push(await timeCommand([...cli.argv, ...args]));
    alone.push(await timeCommand([...reconcileOnly(), ...args]));
    const t = performance.now();
    const c = process.cpuUsage();
    duckCounts = await duckdbReconcile(statement, platform, DATE, 15, 2);
    const used = process.cpuUsage(c);
    duck.push((performance.now() - t) / 1000);
    duckCpu.push((used.user + used.system) / 1e6);
  }
  const result = JSON.parse(kauri[kauri.length - 1]!.stdout) as Record<string, number>;
  const kauriSeconds = median(kauri.map((k) => k.seconds));
  const peakMb = Math.max(...kauri.map((k) => k.maxRssKb)) / 1024;
  const duckSeconds = median(duck);
  const ratio = kauriSeconds / duckSeconds;
  const kauriCpu = median(kauri.map((k) => k.cpu));
  const aloneCpu = median(alone.map((k) => k.cpu));
  const cpuRatio = kauriCpu / median(duckCpu);
  const agree = COUNT_KEYS.every((k) => result[k] === duckCounts![k] && result[k] === expected[k]);
  const mb = (b: number): string => `${(b / 1048576).toFixed(0)} MB`;
  const cpu = cpus();
  const lines = [
    '## Reconciliation',
    '',
    `Run ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${cpu[0]?.model ?? 'unknown CPU'} × ${cpu.length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GB RAM, Node ${process.version}; load average ${load.toFixed(2)} when it started (the machine is shared).`,
    '',
    `Input: a WeChat Pay statement (overseas English layout, 35 backtick-prefixed columns, summary rows) of ${rows.toLocaleString('en')} rows (${mb(sizes.statement)}) and the platform orders CSV (${mb(sizes.platform)}), generated by \`bench/reconcile-data.ts\` with planted differences: ${PLANTED.amountMismatch} amount, ${PLANTED.currencyMismatch} currency, ${PLANTED.statusMismatch} status mismatches, ${PLANTED.channelOnly} channel-only, ${PLANTED.platformOnly} platform-only, ${PLANTED.duplicates} duplicated rows, ${PLANTED.suspense} in suspense, plus ${PLANTED.otherDay} other-day and ~${PLANTED.otherChannel} other-channel platform rows to ignore.`,
    '',
    `| | wall time (median of ${runs}) | CPU time (user+sys, all threads) | peak memory |`,
    '|---|---|---|---|',
    `| \`kauri reconcile --statement … --platform … --json\`, ${cli.label}, whole command | ${kauriSeconds.toFixed(2)} s (runs: ${kauri.map((k) => k.seconds.toFixed(2)).join(', ')}) | ${kauriCpu.toFixed(2)} s | ${peakMb.toFixed(0)} MB max RSS (\`/usr/bin/time\`) |`,
    `| of which start-up (\`kauri --help\`) | ${median(startup).toFixed(2)} s | ${median(startupCpu).toFixed(2)} s | ${(Math.max(...startupRss) / 1024).toFixed(0)} MB |`,
    `| the same command with only the reconcile module registered (no other command's imports) | ${median(alone.map((a) => a.seconds)).toFixed(2)} s | ${aloneCpu.toFixed(2)} s | ${(Math.max(...alone.map((a) => a.maxRssKb)) / 1024).toFixed(0)} MB |`,
    `| DuckDB (\`@duckdb/node-api\`, 2 threads, in-process: load both files + classify in SQL) | ${duckSeconds.toFixed(2)} s (runs: ${duck.map((d) => d.toFixed(2)).join(', ')}) | ${median(duckCpu).toFixed(2)} s | |`,
    '',
    `Ratio kauri / DuckDB, wall time: **${ratio.toFixed(2)}×**, CPU time: **${cpuRatio.toFixed(2)}×** (target ≤ 1.5×: ${ratio <= 1.5 ? 'met' : 'not met'} on wall time); without the other commands' start-up: ${(median(alone.map((a) => a.seconds)) / duckSeconds).toFixed(2)}× wall, ${(aloneCpu / median(duckCpu)).toFixed(2)}× CPU. Peak memory ${peakMb.toFixed(0)} MB (target ≤ 256 MB: ${peakMb <= 256 ? 'met' : 'not met'}).`,
    `Counts: ${agree ? 'kauri, DuckDB and the planted set agree' : '**DISAGREE**'}.`,
    '',
    "The whole command includes the start-up of the complete CLI, which imports every command's modules before parsing its arguments (the `kauri --help` row); the row with only the reconcile module registered isolates reconciliation itself. On a shared, loaded machine wall times swing by 2× between runs; CPU time is the steadier comparison.",
    '',
    '| count | kauri | DuckDB | planted |',
    '|---|---|---|---|',
    ...COUNT_KEYS.map((k) => `| ${k} | ${result[k]} | ${duckCounts![k]} | ${expected[k]} |`),
    '',
  ];
  return lines.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const rows = Number(process.env.KAURI_BENCH_ROWS ?? 1_000_000);
  const section = await run({ rows });
  process.stdout.write(`${section}\n`);
  writeSection('reconcile', section);
}
