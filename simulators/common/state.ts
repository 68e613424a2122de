import { mkdirSync, readFileSync, realpathSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

// A simulator's state as one JSON document in `--state DIR`, so a restarted simulator
// remembers its orders, pending notifies, clock offset and faults. Writes are atomic
// (temp file + rename): a crash mid-write leaves the previous state, never half a file.
// Without a directory the state lives in memory only.

export class StateFileError extends Error {
  readonly code = 'state_file_unreadable';
}

/**
 * Makes a state folder, refusing kernel file systems: Node's recursive mkdir never
 * returns on /proc or /sys (it retries the kernel's refusal forever), so a mistyped
 * `--state /proc/…` would hang instead of saying what is wrong.
 */
export function makeStateDir(dir: string): void {
  let probe = resolve(dir);
  while (!existsSync(probe) && dirname(probe) !== probe) probe = dirname(probe);
  const real = realpathSync(probe);
  if (/^\/(proc|sys)(\/|$)/.test(real))
    throw new StateFileError(
      `cannot keep simulator state in ${dir}: ${real.split('/')[1]} is the kernel's, not a folder for files`,
    );
  mkdirSync(dir, { recursive: true });
}

export class JsonState<T extends object> {
  readonly data: T;
  private readonly file: string | undefined;
  private pending = false;
  private lastWrite = 0;
  private lastCost = 0;
  private readonly minIntervalMs: number;

  /**
   * `minIntervalMs` bounds how often a busy simulator rewrites its file (the whole
   * document each time); `saveNow()` at shutdown writes whatever is pending.
   */
  constructor(dir: string | undefined, fileName: string, initial: () => T, opts: { minIntervalMs?: number } = {}) {
    this.minIntervalMs = opts.minIntervalMs ?? 0;
    if (dir === undefined) {
      this.file = undefined;
      this.data = initial();
      return;
    }
    makeStateDir(dir);
    this.file = join(dir, fileName);
    if (existsSync(this.file)) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(readFileSync(this.file, 'utf8'));
      } catch (err) {
        throw new StateFileError(`cannot read state file ${this.file}: ${(err as Error).message}`);
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        throw new StateFileError(`state file ${this.file} does not hold a JSON object`);
      }
      // Fields added in newer versions get their defaults.
      this.data = { ...initial(), ...(parsed as Partial<T>) } as T;
    } else {
      this.data = initial();
    }
  }

  get path(): string | undefined {
    return this.file;
  }

  /** Writes now, synchronously: the state on disk matches memory when this returns. */
  saveNow(): void {
    this.pending = false;
    if (!this.file) return;
    const started = Date.now();
    this.lastWrite = started;
    const tmp = `${this.file}.${process.pid}.tmp`;
    // No fsync: the file must survive its process being killed (the tests kill -9 simulators),
    // which the rename alone makes safe, not a power cut. The fsync of a busy simulator's
    // document stalled its event loop (20-30 ms per save, seen as the slowest answers of the
    // payments benchmark), which a real channel does not do.
    writeFileSync(tmp, JSON.stringify(this.data, null, 1));
    renameSync(tmp, this.file);
    this.lastCost = Date.now() - started;
  }

  /** Coalesces the saves of one tick (or of `minIntervalMs`) into one write. */
  save(): void {
    if (!this.file || this.pending) return;
    this.pending = true;
    // A big document is written less often: at most ~10% of the time goes to writing.
    const wait = this.lastWrite + Math.max(this.minIntervalMs, 10 * this.lastCost) - Date.now();
    const run = () => {
      if (this.pending) this.saveNow();
    };
    if (wait <= 0) queueMicrotask(run);
    else setTimeout(run, wait);
  }
}
