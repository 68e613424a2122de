import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { privateDir } from '../protocol/private-files.js';

/**
 * KAURI_SECRET_KEY seals channel credentials. When it is unset, a key is generated into
 * the data folder once (and the caller says so), so `npm start` works on a fresh machine.
 */
export function resolveSecretKey(dataDir: string, say: (line: string) => void): string {
  const fromEnv = process.env.KAURI_SECRET_KEY;
  if (fromEnv) return fromEnv;
  const path = join(dataDir, 'secret.key');
  if (existsSync(path)) return readFileSync(path, 'utf8').trim();
  privateDir(dataDir);
  const key = randomBytes(32).toString('base64url');
  writeFileSync(path, `${key}\n`, { mode: 0o600, flag: 'wx' });
  say(`KAURI_SECRET_KEY is not set: generated one into ${path} (keep it; channel credentials are sealed with it)`);
  return key;
}
