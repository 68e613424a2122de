import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

// better-sqlite3 12 on Node 24 aborted at process exit ("Assertion failed: (env) != nullptr" in
// node::RemoveEnvironmentCleanupHook, from a statement finalised after Node's environment was
// gone), so every `kauri` process that had used SQLite ended in SIGABRT. Version 13 is a
// Node-API module without that hook. A process that prepared many statements must exit cleanly.
const SCRIPT = `
const Database = require('better-sqlite3');
const db = new Database(':memory:');
for (let i = 0; i < 20000; i++) db.prepare('select ' + i).get();
setTimeout(() => {}, 10);
`;

describe('SQLite at process exit', () => {
  it('leaves the process with exit code 0, not an abort', { timeout: 120_000 }, () => {
    for (let run = 0; run < 3; run++) {
      const r = spawnSync(process.execPath, ['-e', SCRIPT], { encoding: 'utf8' });
      expect(r.stderr).not.toMatch(/Assertion failed/);
      expect({ status: r.status, signal: r.signal }).toEqual({ status: 0, signal: null });
    }
  });
});
