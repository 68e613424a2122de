import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startBridge, type Bridge, type BridgeOptions } from '../../cloud-bridge/bridge.js';
import { systemClock } from '../../protocol/clock.js';
import { createTestDatabase, type TestDatabase } from './stores.js';

// A bridge in the test's process on a fresh database and files folder, quiet unless
// KAURI_LOG_LEVEL says otherwise, with protocol time `timeScale` times faster.

export interface TestBridge {
  readonly bridge: Bridge;
  readonly db: TestDatabase;
  /** Drops the database and removes the files folder (after `bridge.close()`). */
  cleanup(): Promise<void>;
}

export async function startTestBridge(options: {
  kind: 'sqlite' | 'postgres';
  secretKey: string;
  timeScale: number;
  bridge?: Partial<BridgeOptions>;
}): Promise<TestBridge> {
  const db = await createTestDatabase(options.kind);
  const filesDir = mkdtempSync(join(tmpdir(), 'kauri-files-'));
  const bridge = await startBridge({
    dbUrl: db.url,
    port: 0,
    secretKey: options.secretKey,
    filesDir,
    log: pino({ level: process.env.KAURI_LOG_LEVEL ?? 'silent' }),
    clock: systemClock(options.timeScale),
    ...options.bridge,
  });
  return {
    bridge,
    db,
    async cleanup() {
      await db.drop();
      rmSync(filesDir, { recursive: true, force: true });
    },
  };
}
