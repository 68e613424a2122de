import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { startBridge, type Bridge } from '../../cloud-bridge/bridge.js';
import { bankDemoAccount } from '../../cloud-bridge/channels/bank/index.js';
import { createLogger } from '../../cloud-bridge/logger.js';
import type { Clock } from '../../protocol/clock.js';
import { merchantApi } from '../support/merchant-api.js';
import { spawnKauri, type KauriProcess } from '../support/processes.js';
import { createTestDatabase, type TestDatabase } from '../support/stores.js';
import { waitFor as poll } from '../support/wait.js';

// A real `kauri sim bank` process and an in-process bridge whose clock a test can move
// (to reach an order's expiry without waiting for it), wired as `kauri start` wires them.

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface BankSimProcess {
  url: string;
  stateDir: string;
  proc: KauriProcess;
  privateKey(): KeyObject;
  control(method: string, path: string, body?: unknown): Promise<any>;
  stop(): Promise<void>;
}

export async function startBankSimProcess(env: NodeJS.ProcessEnv = {}): Promise<BankSimProcess> {
  const stateDir = mkdtempSync(join(tmpdir(), 'kauri-bank-sim-'));
  const proc = await spawnKauri(['sim', 'bank', '--port', '0', '--state', stateDir], {
    ready: /bank simulator listening on (\S+)/,
    env,
    timeoutMs: 60_000,
  });
  const url = proc.ready;
  return {
    url,
    stateDir,
    proc,
    privateKey: () => createPrivateKey(readFileSync(join(stateDir, 'bank-private.pem'), 'utf8')),
    async control(method, path, body) {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: body ? { 'content-type': 'application/json' } : {},
        body: body ? JSON.stringify(body) : undefined,
      });
      const text = await res.text();
      try {
        return { status: res.status, body: JSON.parse(text) };
      } catch {
        return { status: res.status, body: text };
      }
    },
    async stop() {
      await proc.stop();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/** Real time shortened by `scale` for durations, plus an offset a test can move. */
export function movableClock(scale: number): Clock & { advance(ms: number): void } {
  let offset = 0;
  return {
    now: () => new Date(Date.now() + offset),
    duration: (ms) => Math.max(1, Math.round(ms / scale)),
    sleep: (ms) => new Promise((r) => setTimeout(r, Math.max(1, Math.round(ms / scale)))),
    advance(ms) {
      offset += ms;
    },
  };
}

export interface BankBridge {
  bridge: Bridge;
  clock: ReturnType<typeof movableClock>;
  apiKey: string;
  merchantId: string;
  accountId: string;
  api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  stop(): Promise<void>;
}

export async function startBankBridge(
  sim: BankSimProcess,
  options: { timeScale?: number; markup?: string } = {},
): Promise<BankBridge> {
  const db: TestDatabase = await createTestDatabase('sqlite');
  const filesDir = mkdtempSync(join(tmpdir(), 'kauri-bank-files-'));
  const clock = movableClock(options.timeScale ?? 20);
  const bridge = await startBridge({
    dbUrl: db.url,
    port: 0,
    secretKey: 'e2e-bank-secret-key-0123456789abcdef',
    filesDir,
    clock,
    log: createLogger({ level: process.env.KAURI_LOG_LEVEL ?? 'warn' }),
    fx: { pullAtStart: true },
  });
  const merchant = await bridge.accounts.createMerchant({ name: 'School 学校', fxMarkup: options.markup ?? '0.02' });
  const { key } = await bridge.accounts.createApiKey(merchant.id, 'e2e');
  const demo = await bankDemoAccount({ url: sim.url, stateDir: sim.stateDir });
  const account = await bridge.accounts.createChannelAccount({
    merchantId: merchant.id,
    channel: 'bank',
    config: demo.config,
    secrets: demo.secrets,
  });
  // As a merchant does in PayEase's back office: the gateway's notifies go to this account's URL.
  const problem = await demo.afterCreate!(account.id, bridge.url);
  if (problem) throw new Error(problem);
  return {
    bridge,
    clock,
    apiKey: key,
    merchantId: merchant.id,
    accountId: account.id,
    api: merchantApi(bridge.url, key),
    async stop() {
      await bridge.close();
      await db.drop();
      rmSync(filesDir, { recursive: true, force: true });
    },
  };
}

/** Polls every 100 ms (each poll is an HTTP call) for up to 20 s. */
export const waitFor = <T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> =>
  poll(what, fn, timeoutMs, 100);

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

let seq = 0;
export const uniqueNo = (p: string) => `${p}${Date.now().toString(36)}${(seq++).toString(36)}`.slice(0, 32);
