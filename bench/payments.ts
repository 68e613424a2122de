import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import Fastify from 'fastify';
import pg from 'pg';
import { pino } from 'pino';
import { startBridge } from '../cloud-bridge/bridge.js';
import { seedDemo } from '../cloud-bridge/demo.js';
import { demoChannelAccounts } from '../cloud-bridge/channels/index.js';
import { closeWechatAgents } from '../cloud-bridge/channels/wechat/index.js';
import { spawnKauri } from '../test/support/processes.js';
import { writeSection } from './section.js';

// Payments API benchmark (issue 3): POST /api/v1/payments (WeChat NATIVE) through the
// whole bridge — API key check, validation, the order row, the signed unifiedorder call
// over HTTPS to `kauri sim wechat --tls` on loopback, the answer verified, the state
// change and its event — at a fixed request rate and flat out, on SQLite and
// PostgreSQL, beside a bare fastify route measured in the same run.
//
// `run()` returns the markdown section; run standalone it also writes BENCHMARKS.md:
//   node --import tsx bench/payments.ts

const PG_URL = process.env.KAURI_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

interface Measure {
  target: string;
  mode: string;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  ok: number;
  bad: number;
}

async function load(label: { target: string; mode: string }, url: string, options: { rate?: number; seconds: number; connections: number; headers?: Record<string, string>; body?: () => string }): Promise<Measure> {
  let n = 0;
  const result = await autocannon({
    url,
    method: 'POST',
    connections: options.connections,
    duration: options.seconds,
    ...(options.rate ? { overallRate: options.rate } : {}),
    headers: { 'content-type': 'application/json', ...options.headers },
    requests: [{
      method: 'POST',
      setupRequest: (req) => ({ ...req, body: options.body ? options.body() : JSON.stringify({ n: n++ }) }),
    }],
  });
  const ok = result['2xx'];
  return {
    ...label,
    rps: result.requests.average,
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    max: result.latency.max,
    ok,
    bad: result.non2xx + result.errors + result.timeouts,
  };
}

async function pgReachable(): Promise<boolean> {
  const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.end();
    return true;
  } catch {
    return false;
  }
}

export async function run(options: { seconds?: number; rate?: number; connections?: number; log?: (line: string) => void } = {}): Promise<string> {
  const seconds = options.seconds ?? Number(process.env.KAURI_BENCH_SECONDS ?? 10);
  const rate = options.rate ?? Number(process.env.KAURI_BENCH_RATE ?? 25);
  const connections = options.connections ?? 10;
  const log = options.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const load0 = loadavg()[0]!;
  const measures: Measure[] = [];

  const stateDir = mkdtempSync(join(tmpdir(), 'kauri-bench-wechat-'));
  const sim = await spawnKauri(['sim', 'wechat', '--port', '0', '--state', stateDir, '--tls'], {
    ready: /listening on (\S+)/, env: { KAURI_LOG_LEVEL: 'warn' }, timeoutMs: 60_000,
  });

  // The baseline: a bare fastify route answering a small JSON body, same load generator.
  const bare = Fastify();
  bare.post('/baseline', async (req) => ({ id: 'pay_x', status: 'pending', echo: req.body }));
  await bare.listen({ port: 0, host: '127.0.0.1' });
  const bareUrl = `http://127.0.0.1:${(bare.server.address() as { port: number }).port}/baseline`;

  // stores.ts reads KAURI_TEST_PG_URL when it loads, hence the late import.
  process.env.KAURI_TEST_PG_URL ??= PG_URL;
  const { createTestDatabase } = await import('../test/support/stores.js');
  const kinds: Array<'sqlite' | 'postgres'> = ['sqlite'];
  if (await pgReachable()) kinds.push('postgres');
  else log(`PostgreSQL at ${PG_URL.replace(/\/\/[^@]*@/, '//…@')} is not reachable: measuring SQLite only`);

  try {
    for (const kind of kinds) {
      const db = await createTestDatabase(kind);
      const filesDir = mkdtempSync(join(tmpdir(), 'kauri-bench-files-'));
      // No background jobs: each pending order would otherwise be queried every 5 s, and
      // that polling load is not what this measures.
      const bridge = await startBridge({ dbUrl: db.url, port: 0, secretKey: 'bench-secret-key-0123456789abcdef0123', filesDir, log: pino({ level: 'silent' }), runJobs: false });
      try {
        const seed = await seedDemo(bridge.accounts, {
          registry: bridge.channels,
          channelAccounts: await demoChannelAccounts({ wechat: { url: sim.ready, stateDir } }),
        });
        const prefix = `b${Date.now().toString(36)}`;
        let i = 0;
        const body = () => JSON.stringify({ out_trade_no: `${prefix}${kind[0]}${(i++).toString(36)}`, amount_minor: 888, currency: 'NZD', channel: 'wechat', mode: 'native', description: 'bench' });
        const headers = { authorization: `Bearer ${seed.apiKey}` };
        const url = `${bridge.url}/api/v1/payments`;
        // Warm-up: connections, prepared statements, JIT.
        await load({ target: 'warm-up', mode: '' }, url, { seconds: 2, connections: 4, headers, body });
        await load({ target: 'warm-up', mode: '' }, bareUrl, { seconds: 1, connections: 4 });
        for (const [mode, r] of [[`fixed ${rate} req/s`, rate], ['flat out', undefined]] as const) {
          log(`payments API on ${kind}: ${mode}…`);
          measures.push(await load({ target: `bare fastify route (baseline)`, mode }, bareUrl, { seconds, connections, rate: r }));
          measures.push(await load({ target: `POST /api/v1/payments, WeChat NATIVE, ${kind === 'sqlite' ? 'SQLite' : 'PostgreSQL'}`, mode }, url, { seconds, connections, rate: r, headers, body }));
        }
      } finally {
        await bridge.close();
        await closeWechatAgents();
        await db.drop();
        rmSync(filesDir, { recursive: true, force: true });
      }
    }
  } finally {
    await bare.close();
    await sim.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }

  const cpu = cpus();
  const f = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(1));
  const lines = [
    '<!-- payments-api:start -->',
    '## Payments API',
    '',
    `Run: \`node --import tsx bench/payments.ts\` · ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC · ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; load average ${load0.toFixed(2)} at the start (the machine is shared with other work, so absolute numbers are noisy; compare rows of the same run).`,
    '',
    `Each payment is \`POST /api/v1/payments\` (channel \`wechat\`, mode \`native\`, a new \`out_trade_no\` each time) through the whole bridge: API key lookup, validation, the order row, the MD5-signed \`/pay/unifiedorder\` to \`kauri sim wechat --tls\` over HTTPS on loopback (keep-alive pool), the answer's signature verified, the pending transition and its event. autocannon, ${connections} connections, ${seconds} s per row, the bridge and the simulator in separate processes on the same machine; background jobs off. The baseline is a bare fastify route returning a small JSON body, measured in the same run with the same load.`,
    '',
    '| what | load | throughput (req/s) | p50 (ms) | p90 (ms) | p99 (ms) | max (ms) | 2xx | errors/non-2xx |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|',
    ...measures.map((m) => `| ${m.target} | ${m.mode} | ${f(m.rps)} | ${f(m.p50)} | ${f(m.p90)} | ${f(m.p99)} | ${f(m.max)} | ${m.ok} | ${m.bad} |`),
    '',
    'At the fixed rate, throughput equal to the rate means the bridge kept up; below it, requests queued and the latencies grew. Flat out shows where each store saturates on this machine.',
    '',
    'Where the time goes (a CPU profile of the bridge during the SQLite flat-out run, 2026-11-22): about half of the samples are in better-sqlite3\'s synchronous `Statement.run`. The store opens SQLite with `synchronous = FULL` (a commit is on disk before anyone is answered), and creating one payment commits several times (the order and its first event, the raw unifiedorder request and response kept by the recorder, the pending transition, the sync task), each an fsync on the event loop; a single-row commit costs about 6 ms on this machine\'s disk, with SQLite (`synchronous = FULL`) and PostgreSQL alike, so a handful of sequential commits per payment caps both stores at a few dozen payments per second here. The simulator alone answers unifiedorder at a few hundred per second on this machine once its connections are warm, so it is not the limit. Fewer commits per payment (recording the two raw messages in the transition\'s transaction, say) is the lever, not the channel client.',
    '<!-- payments-api:end -->',
  ];
  return lines.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const section = await run();
  process.stdout.write(`${section}\n`);
  writeSection('payments-api', section);
}
