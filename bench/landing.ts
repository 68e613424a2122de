import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { pino } from 'pino';
import { startBridge } from '../cloud-bridge/bridge.js';
import { seedDemo } from '../cloud-bridge/demo.js';
import { demoChannelAccounts } from '../cloud-bridge/channels/index.js';
import { writeSection } from './section.js';
import { createTestDatabase } from '../test/support/stores.js';

// One-code landing page benchmark: how many customers' page loads the bridge
// serves, and how slowly at the tail, beside a static file served by the same bridge in
// the same run (the floor for anything it answers); and how fast checkouts are created.
//
// `run()` returns the markdown section; run standalone it also writes BENCHMARKS.md:
//   node --import tsx bench/landing.ts

const DESKTOP = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36';

interface Measure {
  target: string;
  baseline?: boolean;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  ok: number;
  bad: number;
}

async function load(
  target: string,
  url: string,
  options: {
    seconds: number;
    connections: number;
    method?: 'GET' | 'POST';
    headers?: Record<string, string>;
    body?: () => string;
  },
): Promise<Measure> {
  const result = await autocannon({
    url,
    method: options.method ?? 'GET',
    connections: options.connections,
    duration: options.seconds,
    headers: options.headers,
    ...(options.body
      ? { requests: [{ method: options.method ?? 'POST', setupRequest: (req) => ({ ...req, body: options.body!() }) }] }
      : {}),
  });
  return {
    target,
    rps: result.requests.average,
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    max: result.latency.max,
    ok: result['2xx'],
    bad: result.non2xx + result.errors + result.timeouts,
  };
}

export async function run(
  options: { seconds?: number; connections?: number; log?: (line: string) => void } = {},
): Promise<string> {
  const seconds = options.seconds ?? Number(process.env.KAURI_BENCH_SECONDS ?? 10);
  const connections = options.connections ?? 10;
  const log = options.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const load0 = loadavg()[0]!;
  const measures: Measure[] = [];
  const db = await createTestDatabase('sqlite');
  const filesDir = mkdtempSync(join(tmpdir(), 'kauri-bench-files-'));
  // The per-client limit stays on (its hook is part of every page's cost) but high enough
  // that one load generator is never refused.
  const bridge = await startBridge({
    dbUrl: db.url,
    port: 0,
    secretKey: 'bench-secret-key-0123456789abcdef0123',
    filesDir,
    log: pino({ level: 'silent' }),
    runJobs: false,
    landingRateLimitPerMinute: 1_000_000_000,
    fx: { pullAtStart: false },
  });
  try {
    // WeChat and Alipay accounts (the chooser lists them); no channel is called by a
    // desktop browser's chooser, so the simulators are not needed.
    const seed = await seedDemo(bridge.accounts, {
      registry: bridge.channels,
      channelAccounts: await demoChannelAccounts({
        wechat: { url: 'http://127.0.0.1:9' },
        alipay: { url: 'http://127.0.0.1:9' },
      }),
    });
    const api = { authorization: `Bearer ${seed.apiKey}`, 'content-type': 'application/json' };
    const created = await fetch(`${bridge.url}/api/v1/checkouts`, {
      method: 'POST',
      headers: api,
      body: JSON.stringify({ amount_minor: 1250, currency: 'NZD', store: seed.storeCode, expires_in_s: 86_400 }),
    });
    const checkout = (await created.json()) as { url: string };
    const page = { 'user-agent': DESKTOP, 'accept-language': 'en-NZ' };
    const css = `${bridge.url}/assets/onecode/onecode.css`;
    const sticker = `${bridge.url}/s/${seed.storeCode}`;
    for (const u of [css, checkout.url, sticker])
      if ((await fetch(u, { headers: page })).status !== 200) throw new Error(`${u} does not answer 200`);

    log('warm-up…');
    await load('warm-up', css, { seconds: 3, connections: 4 });
    await load('warm-up', checkout.url, { seconds: 3, connections: 4, headers: page });
    await load('warm-up', sticker, { seconds: 2, connections: 4, headers: page });
    // Two rounds, each page right after its baseline, so a shift in the shared machine's
    // load shows up as a shift of both rather than as a difference between them.
    for (const round of [1, 2]) {
      log(`round ${round}…`);
      measures.push({
        ...(await load(`static file \`/assets/onecode/onecode.css\` (baseline), round ${round}`, css, {
          seconds,
          connections,
        })),
        baseline: true,
      });
      measures.push(
        await load(`checkout landing page \`/c/<token>\` (desktop chooser with its QR), round ${round}`, checkout.url, {
          seconds,
          connections,
          headers: page,
        }),
      );
      measures.push(
        await load(`store sticker page \`/s/<code>\` (amount form), round ${round}`, sticker, {
          seconds,
          connections,
          headers: page,
        }),
      );
    }
    log('checkout creation…');
    let i = 0;
    measures.push(
      await load('`POST /api/v1/checkouts` (checkout creation)', `${bridge.url}/api/v1/checkouts`, {
        seconds,
        connections,
        method: 'POST',
        headers: api,
        body: () => JSON.stringify({ amount_minor: 1000 + (i++ % 5000), currency: 'NZD', store: seed.storeCode }),
      }),
    );
  } finally {
    await bridge.close();
    await db.drop();
    rmSync(filesDir, { recursive: true, force: true });
  }

  const cpu = cpus();
  const f = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(1));
  // Each row against the static file of its own round.
  let base = measures[0]!.rps;
  const ratio = (m: Measure) => {
    if (m.baseline) base = m.rps;
    return m.target.startsWith('`POST') ? '' : `${((m.rps / base) * 100).toFixed(0)}%`;
  };
  return [
    '<!-- onecode-landing:start -->',
    '## One-code landing page',
    '',
    `Run: \`node --import tsx bench/landing.ts\` · ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC · ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; load average ${load0.toFixed(2)} at the start (the machine is shared with other work: compare rows of the same run, not runs).`,
    '',
    `One bridge (SQLite, background jobs off), autocannon with ${connections} connections for ${seconds} s per row, flat out, on loopback. The baseline is a static file (\`@fastify/static\`) served by the same bridge in the same run, measured right before the pages in each of two rounds. A landing page load is what a desktop browser gets for a checkout: the checkout read by its token, the merchant, store and channel accounts, the page rendered with its QR code (SVG, drawn once per checkout URL and kept), and the per-client rate limit's hook (limit raised so the single load generator is never refused). Checkout creation is \`POST /api/v1/checkouts\` with an API key: validation, merchant and store checks, one insert.`,
    '',
    '| what | throughput (req/s) | vs static file | p50 (ms) | p90 (ms) | p99 (ms) | max (ms) | 2xx | errors/non-2xx |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...measures.map(
      (m) =>
        `| ${m.target} | ${f(m.rps)} | ${ratio(m)} | ${f(m.p50)} | ${f(m.p90)} | ${f(m.p99)} | ${f(m.max)} | ${m.ok} | ${m.bad} |`,
    ),
    '',
    'A customer loads one page per scan (two with the stylesheet), so even the slowest row is far above what a shop, or a few thousand shops, produce; the p99 is the number a customer in a queue feels.',
    '<!-- onecode-landing:end -->',
  ].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const section = await run();
  process.stdout.write(`${section}\n`);
  writeSection('onecode-landing', section);
}
