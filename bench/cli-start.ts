// How long `kauri` takes to answer --help and --version, whole process (spawn to exit), against
// a bare `node -e 0` in the same run: the top level loads only commander, and a command loads
// what declares its options, so each of these should stay within 2× of a bare Node start.
// Runs the compiled CLI, as `npm install` leaves it (bin/kauri → dist/cli/kauri.js): it builds
// dist first unless given --no-build. The commands are taken in turns, so a busy moment of the
// machine falls on all of them alike; the figure is the median.
//
//   node --import tsx bench/cli-start.ts [--runs 15] [--no-build]   (writes its section of BENCHMARKS.md)

import os from 'node:os';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { BENCHMARKS_FILE, writeSection } from './section.js';

const root = join(import.meta.dirname, '..');
const bin = join(root, 'bin', 'kauri');
const args = process.argv.slice(2);
const runsAt = args.indexOf('--runs');
const RUNS = runsAt >= 0 ? Number(args[runsAt + 1]) : 15;

if (!args.includes('--no-build')) {
  process.stdout.write('building dist (tsc -p tsconfig.build.json) ...\n');
  const b = spawnSync(
    process.execPath,
    [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
    {
      cwd: root,
      stdio: 'inherit',
    },
  );
  if (b.status !== 0) process.exit(1);
}
if (!existsSync(join(root, 'dist', 'cli', 'kauri.js'))) {
  process.stderr.write('bench/cli-start: dist/cli/kauri.js is missing; run without --no-build\n');
  process.exit(1);
}

const COMMANDS = ['start', 'demo-bridge', 'bridge', 'admin', 'reconcile', 'sticker', 'sim', 'print-test', 'terminal'];
const cases: Array<{ what: string; argv: string[] }> = [
  { what: 'node -e 0', argv: ['-e', '0'] },
  { what: 'kauri --help', argv: [bin, '--help'] },
  { what: 'kauri --version', argv: [bin, '--version'] },
  ...COMMANDS.map((c) => ({ what: `kauri ${c} --help`, argv: [bin, c, '--help'] })),
];
// Without KAURI_FROM_SOURCE, bin/kauri runs the compiled CLI.
const env = { ...process.env, KAURI_FROM_SOURCE: '' };

const times = new Map<string, number[]>(cases.map((c) => [c.what, []]));
for (let i = 0; i < RUNS + 1; i++) {
  for (const c of cases) {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, c.argv, { env, stdio: 'ignore' });
    const ms = performance.now() - t0;
    if (r.status !== 0) throw new Error(`${c.what} exited ${r.status}`);
    if (i > 0) times.get(c.what)!.push(ms); // the first round warms the file cache
  }
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const base = median(times.get('node -e 0')!);
const rows = cases.map((c) => {
  const m = median(times.get(c.what)!);
  return { what: c.what, ms: m, ratio: m / base };
});
const worst = Math.max(...rows.slice(1).map((r) => r.ratio));

const machine = `${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.platform()} ${os.release()}, node ${process.version}`;
const date = new Date().toISOString().slice(0, 10);
const section = `## CLI start-up

Run: \`node --import tsx bench/cli-start.ts\` · ${date} · ${machine} · load average ${os
  .loadavg()
  .map((l) => l.toFixed(1))
  .join(' ')}

Whole process, spawn to exit, compiled CLI (\`bin/kauri\` → \`dist/cli/kauri.js\`), median of ${RUNS} runs
taken in turns with a bare \`node -e 0\`. Target: every line within 2× of \`node -e 0\`.

| command | median ms | × node -e 0 |
|---|---:|---:|
${rows.map((r) => `| \`${r.what}\` | ${r.ms.toFixed(0)} | ${r.ratio.toFixed(2)} |`).join('\n')}

Slowest: ${worst.toFixed(2)}× a bare Node start (${worst <= 2 ? 'within' : 'NOT within'} the 2× target). \`kauri --help\`
and \`--version\` load commander and nothing else; \`kauri <command> --help\` also loads the module
that declares that command's options, whose action imports what it runs only when it runs.
`;
process.stdout.write(`${section}\n`);
writeSection('cli-start', section);
process.stdout.write(`written to ${BENCHMARKS_FILE}\n`);
