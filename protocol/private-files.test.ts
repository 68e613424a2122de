import { chmodSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { privateDir, privateFile, writePrivateFile } from './private-files.js';

// Files that hold a secret are created 0600, in a folder of mode 0700,
// whatever the umask; an older, looser one is tightened when opened. The bridge's and the
// counter's databases: cloud-bridge/store/private-db.test.ts, terminal/core/private-db.test.ts.

const mode = (p: string) => statSync(p).mode & 0o777;
const root = mkdtempSync(join(tmpdir(), 'kauri-private-'));
const oldUmask = process.umask(0o022);
afterAll(() => {
  process.umask(oldUmask);
});

describe('private files', () => {
  it('writes files 0600 in folders 0700, and tightens ours (but not a sticky shared folder)', () => {
    writePrivateFile(join(root, 'a', 'b', 'endpoints.json'), '{"apiKey":"k"}\n');
    expect(mode(join(root, 'a'))).toBe(0o700);
    expect(mode(join(root, 'a', 'b'))).toBe(0o700);
    expect(mode(join(root, 'a', 'b', 'endpoints.json'))).toBe(0o600);
    expect(readFileSync(join(root, 'a', 'b', 'endpoints.json'), 'utf8')).toBe('{"apiKey":"k"}\n');
    mkdirSync(join(root, 'old'), { mode: 0o755 });
    writeFileSync(join(root, 'old', 'x.db'), '', { mode: 0o644 });
    privateFile(join(root, 'old', 'x.db'));
    expect(mode(join(root, 'old'))).toBe(0o700);
    expect(mode(join(root, 'old', 'x.db'))).toBe(0o600);
    mkdirSync(join(root, 'shared'));
    chmodSync(join(root, 'shared'), 0o1777);
    privateDir(join(root, 'shared'));
    expect(statSync(join(root, 'shared')).mode & 0o7777).toBe(0o1777);
  });
});
