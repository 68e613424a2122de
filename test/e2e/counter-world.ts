import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { systemClock, type Clock } from '../../protocol/clock.js';
import { Counter, pairTerminal, type CounterDevices } from '../../terminal/core/counter.js';
import {
  startBridgeForSim,
  startWechatSimProcess,
  type BridgeUnderTest,
  type WechatSimProcess,
} from './wechat-support.js';

// A counter against the real thing: a real `kauri sim wechat --tls` process, a real bridge in this process on
// SQLite whose demo merchant pays through it, a paired counter (real SQLite folder), and a
// TCP proxy between counter and bridge that can lose the bridge's answers and cut the link.

export const PIN = '246813';

export interface World {
  sim: WechatSimProcess;
  b: BridgeUnderTest;
  storeId: string;
  wsUrl: string;
  stop(): Promise<void>;
}

export async function startWorld(timeScale = 20): Promise<World> {
  const sim = await startWechatSimProcess({ KAURI_TIME_SCALE: String(timeScale) });
  const b = await startBridgeForSim(sim, 'sqlite', { timeScale });
  const [store] = await b.bridge.accounts.listStores(b.merchantId);
  await b.bridge.terminals.repo.setManagerPin(store!.id, PIN);
  return {
    sim,
    b,
    storeId: store!.id,
    wsUrl: `${b.bridge.url.replace('http', 'ws')}/terminal`,
    async stop() {
      await b.stop();
      await sim.stop();
    },
  };
}

export async function pairedDir(w: World): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'kauri-counter-world-'));
  const { code } = await w.b.bridge.terminals.createPairingCode(w.storeId);
  await pairTerminal(dir, w.wsUrl, code, 'world till');
  return dir;
}

export function openCounter(dir: string, o: { clock?: Clock; devices?: CounterDevices } = {}): Counter {
  return new Counter({
    dataDir: dir,
    clock: o.clock ?? systemClock(1),
    log: pino({ level: process.env.KAURI_LOG_LEVEL ?? 'silent' }),
    devices: o.devices,
  });
}

export async function until<T>(what: string, f: () => T | Promise<T>, ms = 20_000): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function paymentCode(w: World, behaviour = 'success'): Promise<string> {
  const { body } = await w.sim.control('/sim/paycode', { behaviour });
  return body.auth_code as string;
}

/** A TCP proxy in front of the bridge: `loseAnswers()` drops what the bridge sends, `cut()` drops every link. */
export interface Proxy {
  url: string;
  loseAnswers(on: boolean): void;
  cut(): void;
  close(): Promise<void>;
}

export async function startProxy(target: string): Promise<Proxy> {
  const t = new URL(target);
  const sockets = new Set<Socket>();
  let lose = false;
  const server: Server = createServer((down) => {
    const up = connect(Number(t.port), t.hostname);
    sockets.add(down);
    sockets.add(up);
    down.on('data', (d) => up.write(d));
    up.on('data', (d) => {
      if (!lose) down.write(d);
    });
    const end = () => {
      down.destroy();
      up.destroy();
      sockets.delete(down);
      sockets.delete(up);
    };
    down.on('close', end);
    up.on('close', end);
    down.on('error', end);
    up.on('error', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    url: `ws://127.0.0.1:${port}${t.pathname}`,
    loseAnswers(on) {
      lose = on;
    },
    cut() {
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

export function cleanupDir(dir: string | undefined): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}
