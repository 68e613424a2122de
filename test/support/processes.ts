import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

// Starts real `kauri …` processes from source for end-to-end tests, waits for the line that
// says they are ready, and makes sure none outlives the test.

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const kauriBin = join(repoRoot, 'bin', 'kauri');

export interface KauriProcess {
  readonly proc: ChildProcess;
  /** The first capture group of the ready pattern (usually the URL). */
  readonly ready: string;
  stdout(): string;
  stderr(): string;
  /** Waits until stdout (or stderr) matches; returns the first capture group. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** The exit code once the process has ended and its output has been read to the end. */
  finished(): Promise<number | null>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

export async function spawnKauri(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; ready?: RegExp; timeoutMs?: number; cwd?: string; stdin?: string } = {},
): Promise<KauriProcess> {
  const proc = spawn(process.execPath, [kauriBin, ...args], {
    cwd: options.cwd ?? repoRoot,
    env: {
      ...process.env,
      KAURI_FROM_SOURCE: '1',
      KAURI_LOG_LEVEL: process.env.KAURI_LOG_LEVEL ?? 'warn',
      ...options.env,
    },
    stdio: [options.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  if (options.stdin !== undefined) proc.stdin!.end(options.stdin);
  running.add(proc);
  let out = '';
  let err = '';
  const waiters = new Set<() => void>();
  proc.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    for (const w of waiters) w();
  });
  proc.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    for (const w of waiters) w();
  });
  const exited = new Promise<number | null>((resolve) =>
    proc.once('exit', (code) => {
      running.delete(proc);
      for (const w of waiters) w();
      resolve(code);
    }),
  );
  // 'exit' may come before the last of stdout is read; 'close' comes after both.
  const finished = new Promise<number | null>((resolve) => proc.once('close', (code) => resolve(code)));

  const waitFor = (pattern: RegExp, timeoutMs = options.timeoutMs ?? 30_000) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const m = pattern.exec(out) ?? pattern.exec(err);
        if (m) {
          cleanup();
          resolve(m[1] ?? m[0]);
          return;
        }
        if (proc.exitCode !== null || proc.signalCode !== null) {
          cleanup();
          reject(
            new Error(
              `kauri ${args.join(' ')} exited (${proc.exitCode ?? proc.signalCode}) before ${pattern}:\n${out}\n${err}`,
            ),
          );
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out waiting for ${pattern} from kauri ${args.join(' ')}:\n${out}\n${err}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });

  const ready = options.ready ? await waitFor(options.ready) : '';
  return {
    proc,
    ready,
    waitFor,
    stdout: () => out,
    stderr: () => err,
    finished: () => finished,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      proc.kill(signal);
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Runs `kauri …` to its end: the exit code and everything it printed. */
export async function runKauri(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const k = await spawnKauri(args, options);
  const code = await k.finished();
  return { code, stdout: k.stdout(), stderr: k.stderr() };
}

/** A free TCP port on loopback (for processes that need one before they start). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** The kernel's ephemeral range, from which it picks every outgoing connection's local port. */
function ephemeralRange(): [number, number] {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (lo && hi) return [lo, hi];
  } catch {
    /* not Linux: the IANA range */
  }
  return [49_152, 65_535];
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/**
 * A port base whose +0…+(count-1) are all free now, for `kauri start --port-base`. It is
 * taken below the ephemeral range: inside it, any outgoing connection of another test (to
 * PostgreSQL, a simulator, Chromium's own) may take one of the ports between this check
 * and the moment `kauri start` binds it.
 */
export async function portBase(count = 11): Promise<number> {
  const [lo, hi] = ephemeralRange();
  const [from, to] = lo > 12_000 ? [10_000, lo - count] : [hi + 1, 65_535 - count];
  for (let attempt = 0; attempt < 100; attempt++) {
    const base = from + Math.floor(Math.random() * (to - from));
    const free = await Promise.all(Array.from({ length: count }, (_, i) => portFree(base + i)));
    if (free.every(Boolean)) return base;
  }
  throw new Error(`no free run of ${count} ports`);
}
