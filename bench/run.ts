// `npm run bench`: runs every benchmark, one after another (they share two cores and must
// not disturb each other), each writing its own section of BENCHMARKS.md with the machine
// and the date. `npm run bench -- reconcile payments` runs only those.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const ALL = [
  'cli-start',
  'printer-bytes',
  'payments',
  'soak',
  'landing',
  'terminal',
  'terminal-screens',
  'reconcile',
  'back-office',
];
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const unknown = wanted.filter((w) => !ALL.includes(w));
if (unknown.length) {
  process.stderr.write(`bench: no benchmark named ${unknown.join(', ')} (there are: ${ALL.join(', ')})\n`);
  process.exit(2);
}
let failed = 0;
for (const name of wanted.length ? wanted : ALL) {
  process.stdout.write(`\n== bench/${name}.ts ==\n`);
  const started = Date.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, `${name}.ts`)], {
    stdio: 'inherit',
  });
  process.stdout.write(
    `== ${name}: ${r.status === 0 ? 'done' : `failed (${r.status ?? r.signal})`} in ${((Date.now() - started) / 1000).toFixed(0)} s ==\n`,
  );
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
