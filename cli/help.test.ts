import { describe, it, expect } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const bin = fileURLToPath(new URL('../bin/kauri', import.meta.url));
const env = { ...process.env, KAURI_FROM_SOURCE: '1' };

function help(args: string[]): string {
  return execFileSync(process.execPath, [bin, ...args, '--help'], { env, encoding: 'utf8' });
}

describe('kauri --help', () => {
  it('lists the commands, and every command has its own help', { timeout: 180_000 }, () => {
    const top = help([]);
    const commands = [...top.matchAll(/^ {2}([a-z-]+)(?: \[options\]| <|\s)/gm)]
      .map((m) => m[1]!)
      .filter((c) => c !== 'help');
    expect(commands).toEqual(expect.arrayContaining(['start', 'bridge', 'admin', 'sim']));
    for (const c of commands) expect(help([c])).toMatch(new RegExp(`Usage: kauri ${c}`));
    expect(help(['admin', 'merchant', 'create'])).toContain('--name');
  });

  it('exits non-zero with a one-line reason for unknown commands and bad options', { timeout: 60_000 }, () => {
    const r = spawnSync(process.execPath, [bin, 'frobnicate'], { env, encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/unknown command/);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1); // the reason and the hint on one line
    const missing = spawnSync(process.execPath, [bin, 'sticker'], { env, encoding: 'utf8' });
    expect(missing.status).not.toBe(0);
    expect(missing.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(/required option '--store/)]);
    const p = spawnSync(process.execPath, [bin, 'bridge', '--port', 'nine'], { env, encoding: 'utf8' });
    expect(p.status).not.toBe(0);
    expect(p.stderr).toMatch(/port/);
  });
});

// Records every module the process loads (the project's own and node_modules'), written to
// KAURI_MODULE_LIST when it exits, so the tests see what `kauri` really imported.
const recorder = join(mkdtempSync(join(tmpdir(), 'kauri-modules-')), 'record.mjs');
writeFileSync(
  recorder,
  `import { registerHooks } from 'node:module';
import { writeFileSync } from 'node:fs';
const seen = new Set();
registerHooks({ load(url, context, next) { seen.add(url); return next(url, context); } });
process.on('exit', () => writeFileSync(process.env.KAURI_MODULE_LIST, [...seen].join('\\n')));
`,
);
const root = fileURLToPath(new URL('..', import.meta.url));

function loadedBy(args: string[]): { project: string[]; packages: string[]; stdout: string } {
  const list = join(dirname(recorder), `${args.join('_').replace(/[^a-z-_]/g, '')}.txt`);
  const r = spawnSync(process.execPath, ['--import', pathToFileURL(recorder).href, bin, ...args], {
    env: { ...env, KAURI_MODULE_LIST: list },
    encoding: 'utf8',
  });
  expect(r.status, r.stderr).toBe(0);
  const files = readFileSync(list, 'utf8')
    .split('\n')
    .filter((u) => u.startsWith('file:'))
    .map((u) => relative(root, fileURLToPath(u)));
  const packages = new Set(
    files
      .filter((f) => f.startsWith('node_modules/'))
      .map((f) =>
        f
          .split('/')
          .slice(1, f.split('/')[1]!.startsWith('@') ? 3 : 2)
          .join('/'),
      ),
  );
  return { project: files.filter((f) => !f.startsWith('node_modules/')), packages: [...packages], stdout: r.stdout };
}

// What running TypeScript needs (tsx and its parts) and commander are all a help screen may load.
const TOOLING = ['tsx', 'esbuild', 'get-tsconfig', 'resolve-pkg-maps', 'commander'];
// The parts a command loads only when it runs: the bridge, stores, counter, drivers, servers.
const HEAVY_PACKAGES = ['fastify', 'better-sqlite3', 'kysely', 'pg', 'serialport', 'usb', 'pdfkit', 'pino', 'undici'];
const HEAVY_FILES =
  /^(cli\/start\.ts|cloud-bridge\/bridge\.ts|cloud-bridge\/store\/|terminal\/core\/|terminal\/drivers\/|simulators\/[a-z]+\/(server|printer-sim|display-sim)\.ts)/;

describe('kauri starts at once', () => {
  it('--version prints the version in package.json', { timeout: 60_000 }, () => {
    const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    const r = spawnSync(process.execPath, [bin, '--version'], { env, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(version);
    expect(spawnSync(process.execPath, [bin, '-V'], { env, encoding: 'utf8' }).stdout.trim()).toBe(version);
  });

  it('--help and --version load no command module, only commander', { timeout: 60_000 }, () => {
    for (const args of [['--help'], ['--version']]) {
      const { project, packages } = loadedBy(args);
      expect(project).toEqual(['bin/kauri', 'cli/kauri.ts']);
      expect(packages.filter((p) => !TOOLING.includes(p))).toEqual([]);
    }
  });

  it("a command's --help loads what declares its options, not what it runs", { timeout: 180_000 }, () => {
    const top = loadedBy(['--help']).stdout;
    const commands = [...top.matchAll(/^ {2}([a-z-]+)(?: \[options\]| <|\s)/gm)]
      .map((m) => m[1]!)
      .filter((c) => c !== 'help');
    expect(commands).toContain('start');
    for (const c of commands) {
      const { project, packages, stdout } = loadedBy([c, '--help']);
      expect(stdout).toContain(`Usage: kauri ${c}`);
      expect(project.filter((f) => HEAVY_FILES.test(f))).toEqual([]);
      expect(packages.filter((p) => HEAVY_PACKAGES.includes(p) || p.startsWith('@serialport/'))).toEqual([]);
    }
  });
});
