// The counter link under load. Writes the "Terminal" section of BENCHMARKS.md.
//   node --expose-gc --import tsx bench/terminal.ts
//
// - notify → PAID: with N counters of one store connected (simulated, in another process),
//   a payment event appended to the log (what applying a channel notify does) reaches
//   every counter: time from append to arrival, p50/p90/p99/max.
// - Outbox drain: 10,000 commands queued in a counter's SQLite while offline, sent on
//   reconnect; time until the bridge answered all of them.
// - Memory: the bridge's heap and RSS before and after 10,000 counters connect.
// With `--drain-only` it runs the outbox drain alone and prints its row (BENCHMARKS.md is
// left as it is): a quick look on a shared machine without pairing 11,000 counters.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import pino from 'pino';
import { startBridge } from '../cloud-bridge/bridge.js';
import { ChannelRegistry } from '../cloud-bridge/channels/channel.js';
import { systemClock } from '../protocol/clock.js';
import { newId } from '../protocol/ids.js';
import { Counter, pairTerminal } from '../terminal/core/counter.js';
import { TerminalDb } from '../terminal/core/db.js';

const dir = mkdtempSync(join(tmpdir(), 'kauri-bench-terminal-'));
const silent = pino({ level: 'silent' });
const bridge = await startBridge({
  dbUrl: `sqlite:${join(dir, 'bridge.db')}`,
  port: 0,
  secretKey: 'bench-terminal-secret-0123456789',
  log: silent,
  filesDir: join(dir, 'files'),
  channels: new ChannelRegistry(),
  runJobs: false,
});
const merchant = (await bridge.accounts.createMerchant({ name: 'Bench' })).id;
const store = (await bridge.accounts.createStore({ merchantId: merchant, name: 'Bench store', code: 'bench-store' }))
  .id;
const wsUrl = `${bridge.url.replace('http', 'ws')}/terminal`;
const gc = (globalThis as { gc?: () => void }).gc;
const mem = () => {
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return { heapMb: m.heapUsed / 2 ** 20, rssMb: m.rss / 2 ** 20 };
};

async function pairMany(n: number): Promise<string> {
  const creds: Array<{ terminalId: string; secret: string }> = [];
  for (let i = 0; i < n; i++) {
    const { code } = await bridge.terminals.createPairingCode(store);
    const { terminal, secret } = await bridge.terminals.repo.pair(code);
    creds.push({ terminalId: terminal.id, secret });
  }
  const file = join(dir, `creds-${n}.json`);
  writeFileSync(file, JSON.stringify(creds));
  return file;
}

function clients(file: string, head: number) {
  // Each simulated counter is a socket: give the client process the most descriptors allowed.
  const child = spawn(
    'sh',
    [
      '-c',
      `ulimit -n $(ulimit -Hn); exec "${process.execPath}" --import tsx bench/terminal-clients.ts "$0" "$1"`,
      wsUrl,
      file,
    ],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: { ...process.env, BENCH_HEAD: String(head) },
    },
  );
  const lines = createInterface({ input: child.stdout! });
  const waiting: Array<(m: any) => void> = [];
  lines.on('line', (l) => {
    let m: any;
    try {
      m = JSON.parse(l);
    } catch {
      process.stderr.write(`client: ${l}\n`);
      return;
    }
    waiting.shift()?.(m);
  });
  return {
    next: () => new Promise<any>((r) => waiting.push(r)),
    stop: () => {
      child.stdin!.end();
      return new Promise((r) => child.once('exit', r));
    },
  };
}

const rows: string[] = [];
const drainOnly = process.argv.includes('--drain-only');

// 1. notify → PAID fan-out to 1,000 counters
if (!drainOnly) {
  const c = clients(await pairMany(1000), await bridge.events.head());
  const connected = await c.next();
  const lat: any[] = [];
  for (let i = 0; i < 5; i++) {
    await new Promise((r) => setTimeout(r, 300));
    const wait = c.next();
    await bridge.events.append({
      type: 'payment.paid',
      merchantId: merchant,
      storeId: store,
      payload: { out_trade_no: `BENCH${i}`, status: 'paid', t0: Date.now() },
    });
    lat.push(await wait);
  }
  await c.stop();
  const best = lat.sort((a, b) => a.p99 - b.p99)[Math.floor(lat.length / 2)];
  rows.push(
    `| payment event → all 1,000 connected counters (median of 5 events) | p50 ${best.p50} ms · p90 ${best.p90} ms · p99 ${best.p99} ms · max ${best.max} ms | 1,000 counters connected in ${(connected.ms / 1000).toFixed(1)} s |`,
  );
}

// 2. Outbox drain of 10,000 queued commands after reconnect
{
  const counterDir = join(dir, 'counter');
  const { code } = await bridge.terminals.createPairingCode(store);
  await pairTerminal(counterDir, wsUrl, code);
  const db = new TerminalDb(counterDir);
  db.tx(() => {
    for (let i = 0; i < 10_000; i++)
      db.enqueue(newId(), 'payment.query', { outTradeNo: `Q${String(i).padStart(8, '0')}` });
  });
  db.close();
  const counter = new Counter({ dataDir: counterDir, clock: systemClock(), log: silent });
  const t0 = performance.now();
  counter.start();
  await new Promise<void>((resolve) => {
    const check = () => {
      if (counter.db.outboxCount() === 0) {
        counter.off('change', check);
        resolve();
      }
    };
    counter.on('change', check);
  });
  const ms = performance.now() - t0;
  counter.stop();
  rows.push(
    `| outbox drain: 10,000 commands queued offline, sent on reconnect, each answered and removed | ${(ms / 1000).toFixed(1)} s (${Math.round(10_000 / (ms / 1000))} commands/s) | a burst of commands looked up in one read and recorded in one commit on the bridge, each answered once recorded; answers arriving together are applied in one counter SQLite transaction (synchronous=FULL) |`,
  );
}

// 3. Memory of one bridge with 10,000 connected counters
if (!drainOnly) {
  const file = await pairMany(10_000);
  const before = mem();
  const c = clients(file, await bridge.events.head());
  const connected = await c.next();
  await new Promise((r) => setTimeout(r, 1000));
  const after = mem();
  rows.push(
    `| bridge memory with 10,000 connected counters | heap +${(after.heapMb - before.heapMb).toFixed(0)} MiB, RSS +${(after.rssMb - before.rssMb).toFixed(0)} MiB (RSS ${after.rssMb.toFixed(0)} MiB; ≈ ${(((after.rssMb - before.rssMb) * 1024) / 10_000).toFixed(1)} KiB per counter) | 10,000 connected in ${(connected.ms / 1000).toFixed(1)} s; ${bridge.terminals.hub.connectionCount} links open |`,
  );
  await c.stop();
}

await bridge.close();
rmSync(dir, { recursive: true, force: true });
if (drainOnly) {
  process.stdout.write(`${rows.join('\n')}\n`);
  process.exit(0);
}

const section = `<!-- terminal:start -->
## Terminal

Run: \`node --expose-gc --import tsx bench/terminal.ts\` · ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC · ${cpus()[0]?.model ?? 'cpu'}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}. The bridge runs in the benchmark's process on SQLite; the simulated counters (plain WebSocket clients speaking kauri-link v1) run in a second process. The machine is shared with other work: compare rows of one run.

| what | result | notes |
|---|---|---|
${rows.join('\n')}

"notify → PAID" here starts at the event append (what applying a verified channel notify ends with) and ends when the counter's socket has the event; the channel round trip before it is the channel benchmarks' business, and the counter's own SQLite apply adds about a millisecond. Charge → QR on the customer screen, and notify → PAID on the real cashier screen, are measured in Chromium by \`bench/terminal-screens.ts\` ("Terminal screens" below).
<!-- terminal:end -->`;

const bench = join(import.meta.dirname, '..', 'BENCHMARKS.md');
const current = existsSync(bench) ? readFileSync(bench, 'utf8') : '# Kauri benchmarks\n';
const re = /<!-- terminal:start -->[\s\S]*?<!-- terminal:end -->/;
writeFileSync(bench, re.test(current) ? current.replace(re, section) : `${current.trimEnd()}\n\n${section}\n`);
process.stdout.write(`${section}\n`);
process.exit(0);
