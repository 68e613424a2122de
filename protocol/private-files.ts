import {
  chmodSync,
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  renameSync,
  statSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';

// Files that hold a secret (endpoints.json with the demo API key, HQ password and manager
// PIN; bridge.db with sealed credentials and hashes; secret.key; the counter's terminal.db
// with its device secret) are readable by this user only: 0600, in a folder of mode 0700.
// The one place that says how, for the bridge, the counter and `kauri start` alike.

const FILE_MODE = 0o600;
const DIR_MODE = 0o700;

/**
 * A folder only this user may enter. Created 0700 (with any missing parents); an existing
 * one is tightened when it is ours, but never a shared sticky folder such as /tmp, nor
 * one that belongs to someone else.
 */
export function privateDir(dir: string): void {
  if (!existsSync(dir)) {
    mkdirSync(dir, { recursive: true, mode: DIR_MODE });
    return;
  }
  const s = statSync(dir);
  const mine = typeof process.getuid !== 'function' || s.uid === process.getuid();
  if (mine && (s.mode & 0o1000) === 0 && (s.mode & 0o077) !== 0) chmodSync(dir, DIR_MODE);
}

/**
 * Makes `path` exist as a file only this user can read (0600), tightening an existing one,
 * in a private folder. For a SQLite database call it before opening: SQLite creates the
 * -wal and -shm files with the database's own permissions; files of an older run are
 * tightened here too.
 */
export function privateFile(path: string, options: { sqlite?: boolean } = {}): void {
  privateDir(dirname(path));
  closeSync(openSync(path, 'a', FILE_MODE));
  chmodSync(path, FILE_MODE);
  if (options.sqlite)
    for (const f of [`${path}-wal`, `${path}-shm`, `${path}-journal`]) if (existsSync(f)) chmodSync(f, FILE_MODE);
}

/** Writes `data` to `path` whole or not at all (a temporary file, synced, renamed), readable by this user only. */
export function writePrivateFile(path: string, data: string | Uint8Array): void {
  privateDir(dirname(path));
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', FILE_MODE);
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  chmodSync(tmp, FILE_MODE);
  renameSync(tmp, path);
}
