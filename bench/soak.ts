import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Agent, request } from 'undici';
import { verifyKauriWebhook } from '../cloud-bridge/webhooks/verify-signature.js';
import { freePort, spawnKauri } from '../test/support/processes.js';
import { spawnBridge } from './payments.js';
import { startPrivatePg } from './private-pg.js';
import { writeSection } from './section.js';

// The soak: two bridge instances on one PostgreSQL database of our own, the
// WeChat simulator with faults switched on, payments and refunds in flight, every request
// sent to both instances at once, one instance killed with SIGKILL and started again, and
// PostgreSQL itself stopped like a crash and started again, all mid-run. Then, once
// things settle, what the channel believes is compared with what the bridge recorded:
//   lost      paid at the channel, not paid in the bridge
//   invented  paid in the bridge, not at the channel; or an order nobody asked for
//   twice     a request that became two payments (two channel orders, two ids answered)
//   overdrawn refunded past the amount, at the channel or in the bridge
//   unheard   a paid payment whose payment.paid (or, paid late, payment.flagged) webhook never reached the merchant
// The short run is test/e2e/soak.test.ts (npm test); the long one is `npm run bench -- soak`.

export interface SoakReport {
  seconds: number;
  requested: number;
  created: number;
  paidAtChannel: number;
  paidInBridge: number;
  refundsAsked: number;
  refundedMinorChannel: number;
  refundedMinorBridge: number;
  overRefundsRefused: number;
  webhooksDelivered: number;
  lost: string[];
  invented: string[];
  twice: string[];
  overdrawn: string[];
  unheard: string[];
  mismatched: string[];
  /** Instances that died when nobody killed them (a PostgreSQL restart must not do it). */
  crashed: string[];
  events: string[];
  settleMs: number;
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

async function call(
  base: string,
  method: 'GET' | 'POST' | 'PUT',
  path: string,
  apiKey: string,
  body?: unknown,
): Promise<Answer> {
  const res = await request(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    headersTimeout: 15_000,
    bodyTimeout: 15_000,
  });
  const text = await res.body.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    /* not JSON */
  }
  return { status: res.statusCode, body: parsed };
}

/** Sends until the bridge answers something other than "try again" (5xx, no connection), or the deadline. */
async function persist(
  base: () => string,
  method: 'GET' | 'POST' | 'PUT',
  path: string,
  apiKey: string,
  body: unknown,
  deadline: number,
): Promise<Answer | undefined> {
  while (Date.now() < deadline) {
    try {
      const a = await call(base(), method, path, apiKey, body);
      if (a.status < 500) return a;
    } catch {
      /* instance down or PostgreSQL restarting: the same request again */
    }
    await wait(150);
  }
  return undefined;
}

class Receiver {
  readonly paid = new Map<string, number>();
  secret = '';
  private server!: Server;
  url = '';
  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        try {
          const e = verifyKauriWebhook(Buffer.concat(chunks), req.headers['kauri-signature'], this.secret);
          // A payment paid after its order closed is announced as flagged (it is refunded).
          const data = e.data as { id?: string; status?: string };
          if (e.type === 'payment.paid' || (e.type === 'payment.flagged' && data.status === 'paid')) {
            const id = String(data.id);
            this.paid.set(id, (this.paid.get(id) ?? 0) + 1);
          }
          res.writeHead(200).end();
        } catch {
          res.writeHead(400).end();
        }
      });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}/kauri/webhook`;
  }
  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}

type SoakOptions = { seconds?: number; rate?: number; settleMs?: number; log?: (l: string) => void };

/** Runs the soak; whatever happens, its cluster, simulator and bridges are stopped and its folders removed. */
export async function runSoak(options: SoakOptions = {}): Promise<SoakReport> {
  const cleanup: Array<() => unknown> = [];
  try {
    return await soak(options, cleanup);
  } finally {
    for (const c of cleanup.reverse()) {
      try {
        await c();
      } catch {
        /* best effort: the rest must still go */
      }
    }
  }
}

async function soak(options: SoakOptions, cleanup: Array<() => unknown>): Promise<SoakReport> {
  const seconds = options.seconds ?? 10;
  const rate = options.rate ?? 8; // new payment requests per second
  const log = options.log ?? (() => undefined);
  const events: string[] = [];
  const note = (e: string) => {
    events.push(`${((Date.now() - t0) / 1000).toFixed(1)} s: ${e}`);
    log(e);
  };
  let t0 = Date.now();

  const pgc = await startPrivatePg();
  cleanup.push(() => pgc.stop());
  const stateDir = mkdtempSync(join(tmpdir(), 'kauri-soak-wechat-'));
  const filesDir = mkdtempSync(join(tmpdir(), 'kauri-soak-files-'));
  cleanup.push(
    () => rmSync(stateDir, { recursive: true, force: true }),
    () => rmSync(filesDir, { recursive: true, force: true }),
  );
  const receiver = new Receiver();
  await receiver.start();
  cleanup.push(() => receiver.stop());
  const sim = await spawnKauri(['sim', 'wechat', '--port', '0', '--state', stateDir, '--tls'], {
    ready: /listening on (\S+)/,
    env: { KAURI_LOG_LEVEL: 'warn' },
    timeoutMs: 60_000,
  });
  cleanup.push(() => sim.stop());
  const simUrl = sim.ready;
  const simAgent = new Agent({ connect: { ca: readFileSync(join(stateDir, 'ca.pem'), 'utf8') } });
  cleanup.push(() => simAgent.close());
  const admin = new pg.Client({ connectionString: pgc.url });
  admin.on('error', () => undefined);
  const dbUrl = pgc.url.replace(/\/postgres$/, '/kauri');
  await admin.connect();
  await admin.query('create database kauri');
  await admin.end();

  // Protocol timers 20× faster: order syncs at 250 ms, webhook retries from 0.5 s.
  const env = { KAURI_TIME_SCALE: '20', KAURI_LOG_LEVEL: 'warn' };
  const ports = [await freePort(), await freePort()];
  const start = (n: 0 | 1) =>
    spawnBridge(dbUrl, simUrl, stateDir, filesDir, {
      jobs: true,
      env: { ...env, KAURI_BENCH_BRIDGE_PORT: String(ports[n]) },
    });
  const bridges: Array<Awaited<ReturnType<typeof start>>> = [];
  cleanup.push(() => Promise.all(bridges.map((b) => b.stop())));
  bridges.push(await start(0));
  bridges.push(await start(1));
  const apiKey = bridges[0]!.apiKey;
  const base = (n: 0 | 1) => `http://127.0.0.1:${ports[n]}`;

  const simPost = async (path: string, body: unknown) => {
    const r = await request(`${simUrl}${path}`, {
      dispatcher: simAgent,
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
    });
    return { status: r.statusCode, body: (await r.body.json().catch(() => ({}))) as Record<string, unknown> };
  };
  const hook = await call(base(0), 'PUT', '/api/v1/webhook', apiKey, { url: receiver.url });
  receiver.secret = String(hook.body.secret);
  t0 = Date.now();

  const prefix = `soak${Date.now().toString(36)}`;
  const requested = new Map<string, { amount: number; ids: Set<string>; qr?: string; paid?: boolean }>();
  let refundsAsked = 0;
  let overRefundsRefused = 0;
  const overRefundsAccepted: string[] = [];
  const inflight: Promise<void>[] = [];
  const crashed: string[] = [];
  const loadEnds = t0 + seconds * 1000;
  const deadline = loadEnds + (options.settleMs ?? 15_000);

  async function refundLater(out: string, amount: number): Promise<void> {
    // Wait until the bridge knows it is paid, then the same refund to both instances at once.
    for (;;) {
      if (Date.now() > deadline) return;
      const a = await persist(() => base(0), 'GET', `/api/v1/payments/${out}`, apiKey, undefined, deadline);
      if (a?.body.status === 'paid') break;
      await wait(200);
    }
    const half = Math.floor(amount / 2);
    refundsAsked++;
    await Promise.all(
      [0, 1].map((n) =>
        persist(
          () => base(n as 0 | 1),
          'POST',
          `/api/v1/payments/${out}/refunds`,
          apiKey,
          { out_refund_no: `${out}r1`, amount_minor: half },
          deadline,
        ),
      ),
    );
    // More than what is left: must be refused wherever it lands.
    const over = await Promise.all(
      [0, 1].map((n) =>
        persist(
          () => base(n as 0 | 1),
          'POST',
          `/api/v1/payments/${out}/refunds`,
          apiKey,
          { out_refund_no: `${out}r2`, amount_minor: amount - half + 1 },
          deadline,
        ),
      ),
    );
    for (const a of over) {
      if (a && a.status >= 400) overRefundsRefused++;
      else if (a) overRefundsAccepted.push(out);
    }
  }

  async function onePayment(i: number): Promise<void> {
    const out = `${prefix}n${i}`;
    const amount = 1000 + i;
    const entry = { amount, ids: new Set<string>() } as {
      amount: number;
      ids: Set<string>;
      qr?: string;
      paid?: boolean;
    };
    requested.set(out, entry);
    const body = {
      out_trade_no: out,
      amount_minor: amount,
      currency: 'NZD',
      channel: 'wechat',
      mode: 'native',
      description: 'soak',
    };
    // The same request to both instances at once (a client retrying through a load balancer).
    const answers = await Promise.all(
      [0, 1].map((n) => persist(() => base(n as 0 | 1), 'POST', '/api/v1/payments', apiKey, body, deadline)),
    );
    for (const a of answers) {
      if (a && a.status < 300) {
        entry.ids.add(String(a.body.id));
        if (a.body.qr_code) entry.qr = String(a.body.qr_code);
      }
    }
    if (!entry.qr) {
      const a = await persist(() => base(1), 'GET', `/api/v1/payments/${out}`, apiKey, undefined, deadline);
      if (a?.body.qr_code) entry.qr = String(a.body.qr_code);
    }
    // Seven in ten customers pay; every other payer is refunded half, then asked for too much.
    if (!entry.qr || i % 10 >= 7) return;
    const paid = await simPost('/sim/pay', { code_url: entry.qr }).catch(() => ({ status: 0, body: {} }));
    entry.paid = paid.status === 200;
    if (entry.paid && i % 2 === 0) await refundLater(out, amount);
  }

  // Faults at the channel, switched on at the start (each for a few requests).
  for (const f of [
    { target: '/pay/unifiedorder', mode: 'timeout', count: 2 },
    { target: '/pay/unifiedorder', mode: 'http500', count: 2 },
    { target: '/pay/unifiedorder', mode: 'unknown', count: 2 },
    { target: 'notify', mode: 'drop-notify', count: 5 },
    { target: 'notify', mode: 'duplicate-notify', count: 5 },
    { target: '/secapi/pay/refund', mode: 'unknown', count: 2 },
    { target: '/secapi/pay/refund', mode: 'http500', count: 2 },
  ])
    await simPost('/sim/faults', f);
  note(
    'faults on: unifiedorder timeout×2, http500×2, SYSTEMERROR×2; notifies dropped×5, duplicated×5; refund SYSTEMERROR×2, http500×2',
  );

  const plan = [
    {
      at: 0.3,
      what: 'kill -9 instance B',
      run: async () => {
        bridges[1]!.kill9();
      },
    },
    {
      at: 0.45,
      what: 'instance B started again',
      run: async () => {
        bridges[1] = await start(1);
      },
    },
    { at: 0.6, what: 'PostgreSQL stopped (immediate, as a crash) and started again', run: () => pgc.restart(700) },
    {
      at: 0.75,
      what: 'both instances checked alive after the PostgreSQL restart',
      run: async () => {
        bridges.forEach((b, n) => {
          if (!b.alive()) crashed.push(`instance ${'AB'[n]} died after the PostgreSQL restart`);
        });
      },
    },
    {
      at: 0.8,
      what: 'kill -9 instance A',
      run: async () => {
        bridges[0]!.kill9();
      },
    },
    {
      at: 0.9,
      what: 'instance A started again',
      run: async () => {
        bridges[0] = await start(0);
      },
    },
  ];
  const chaos = (async () => {
    for (const step of plan) {
      const when = t0 + step.at * seconds * 1000;
      if (Date.now() < when) await wait(when - Date.now());
      await step.run();
      note(step.what);
    }
  })();

  let i = 0;
  while (Date.now() < loadEnds) {
    inflight.push(onePayment(i++));
    await wait(1000 / rate);
  }
  await chaos;
  await Promise.all(inflight);
  note(`load over: ${i} payment requests`);

  // Settle: until every payment paid at the channel is paid in the bridge and heard by the merchant.
  const db = new pg.Client({ connectionString: dbUrl });
  db.on('error', () => undefined);
  await db.connect();
  const settleStart = Date.now();
  let report: SoakReport | undefined;
  for (;;) {
    report = await compare();
    const quiet = !report.lost.length && !report.unheard.length && !report.mismatched.length;
    if (quiet || Date.now() > deadline) break;
    await wait(300);
  }
  report.settleMs = Date.now() - settleStart;
  report.events = events;
  await db.end();
  for (const [n, b] of bridges.entries())
    if (!b.alive()) crashed.push(`instance ${'AB'[n]} was not running at the end`);
  return report;

  async function compare(): Promise<SoakReport> {
    const simOrders = (
      (await (await request(`${simUrl}/sim/orders`, { dispatcher: simAgent })).body.json()) as {
        orders: Array<{ out_trade_no: string; trade_state: string; total_fee: number; refunded_fee: number }>;
      }
    ).orders;
    // Money columns are int8: read them as numbers (pg gives strings).
    const rows = (
      await db.query<{
        id: string;
        out_trade_no: string;
        channel_order_no: string | null;
        status: string;
        amount_minor: number;
        refunded_minor: number;
      }>(
        'select id, out_trade_no, channel_order_no, status, amount_minor::float8 as amount_minor, refunded_minor::float8 as refunded_minor from orders',
      )
    ).rows;
    const byChannelNo = new Map(rows.map((r) => [r.channel_order_no, r]));
    const paidish = new Set(['paid', 'partially_refunded', 'refunded']);
    const lost: string[] = [];
    const invented: string[] = [];
    const twice: string[] = [];
    const overdrawn: string[] = [];
    const unheard: string[] = [];
    const mismatched: string[] = [];
    const seenAtChannel = new Map<string, number>();
    let paidAtChannel = 0;
    let refundedMinorChannel = 0;
    for (const o of simOrders) {
      seenAtChannel.set(o.out_trade_no, (seenAtChannel.get(o.out_trade_no) ?? 0) + 1);
      const mine = byChannelNo.get(o.out_trade_no);
      const paidThere = o.trade_state === 'SUCCESS' || o.trade_state === 'REFUND';
      if (paidThere) paidAtChannel++;
      refundedMinorChannel += o.refunded_fee;
      if (o.refunded_fee > o.total_fee) overdrawn.push(`${o.out_trade_no} at the channel`);
      if (!mine) {
        invented.push(`channel order ${o.out_trade_no} unknown to the bridge`);
        continue;
      }
      if (paidThere && !paidish.has(mine.status)) lost.push(`${mine.out_trade_no} (${mine.status} in the bridge)`);
      if (!paidThere && paidish.has(mine.status))
        invented.push(`${mine.out_trade_no} paid in the bridge, ${o.trade_state} at the channel`);
      if (mine.refunded_minor !== o.refunded_fee)
        mismatched.push(
          `${mine.out_trade_no}: refunded ${mine.refunded_minor} in the bridge, ${o.refunded_fee} at the channel`,
        );
    }
    for (const [no, n] of seenAtChannel) if (n > 1) twice.push(`${no}: ${n} channel orders`);
    for (const [out, r] of requested) if (r.ids.size > 1) twice.push(`${out}: answered as ${[...r.ids].join(' and ')}`);
    let paidInBridge = 0;
    let refundedMinorBridge = 0;
    for (const r of rows) {
      if (!requested.has(r.out_trade_no)) invented.push(`${r.out_trade_no}: an order nobody asked for`);
      if (r.refunded_minor > r.amount_minor) overdrawn.push(`${r.out_trade_no} in the bridge`);
      refundedMinorBridge += r.refunded_minor;
      if (paidish.has(r.status)) {
        paidInBridge++;
        if (!receiver.paid.has(r.id)) unheard.push(r.out_trade_no);
      }
    }
    for (const out of overRefundsAccepted) overdrawn.push(`${out}: a refund past the amount was accepted`);
    return {
      seconds,
      requested: requested.size,
      created: rows.length,
      paidAtChannel,
      paidInBridge,
      refundsAsked,
      refundedMinorChannel,
      refundedMinorBridge,
      overRefundsRefused,
      webhooksDelivered: receiver.paid.size,
      lost,
      invented,
      twice,
      overdrawn,
      unheard,
      mismatched,
      crashed,
      events,
      settleMs: 0,
    };
  }
}

export function soakSection(r: SoakReport, load0: number): string {
  const cpu = cpus();
  const list = (xs: string[]) =>
    xs.length ? `${xs.length}: ${xs.slice(0, 5).join('; ')}${xs.length > 5 ? '; …' : ''}` : '0';
  return [
    '<!-- soak:start -->',
    '## Soak: faults, kill -9 and a PostgreSQL restart',
    '',
    `Run: \`npm run bench -- soak\` · ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC · ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, Node ${process.version}; load average ${load0.toFixed(2)} at the start.`,
    '',
    `Two bridge instances (own processes, jobs on, KAURI_TIME_SCALE=20) on one database of a private PostgreSQL cluster, the WeChat simulator over HTTPS with faults, ${r.seconds} s of new payment requests (each sent to both instances at once, retried through outages), seven in ten paid by the customer, every other paid one refunded half and then asked for more than is left (on both instances at once). Mid-run: ${r.events
      .filter((e) => !e.includes('faults on') && !e.includes('load over') && !e.includes('checked alive'))
      .map((e) => e.replace(/^[\d.]+ s: /, ''))
      .join(', ')}.`,
    '',
    '| what | count |',
    '|---|---:|',
    `| payment requests | ${r.requested} |`,
    `| orders in the bridge | ${r.created} |`,
    `| paid at the channel / in the bridge | ${r.paidAtChannel} / ${r.paidInBridge} |`,
    `| refunds asked (each sent twice) / refunded at the channel / in the bridge (minor units) | ${r.refundsAsked} / ${r.refundedMinorChannel} / ${r.refundedMinorBridge} |`,
    `| refunds past the amount refused | ${r.overRefundsRefused} |`,
    `| payment.paid webhooks delivered (distinct payments) | ${r.webhooksDelivered} |`,
    `| lost | ${list(r.lost)} |`,
    `| invented | ${list(r.invented)} |`,
    `| one request, two payments | ${list(r.twice)} |`,
    `| refunded past the amount | ${list(r.overdrawn)} |`,
    `| paid, webhook never delivered | ${list(r.unheard)} |`,
    `| refund totals differing between channel and bridge | ${list(r.mismatched)} |`,
    `| instances that died unkilled (PostgreSQL restart) | ${list(r.crashed)} |`,
    '',
    `Settled ${(r.settleMs / 1000).toFixed(1)} s after the load ended. Timeline: ${r.events.join('; ')}.`,
    '<!-- soak:end -->',
  ].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const load0 = loadavg()[0]!;
  const report = await runSoak({
    seconds: Number(process.env.KAURI_SOAK_SECONDS ?? 60),
    rate: Number(process.env.KAURI_SOAK_RATE ?? 10),
    settleMs: 60_000,
    log: (l) => process.stderr.write(`${l}\n`),
  });
  const section = soakSection(report, load0);
  process.stdout.write(`${section}\n`);
  writeSection('soak', section);
  const bad =
    report.lost.length +
    report.invented.length +
    report.twice.length +
    report.overdrawn.length +
    report.unheard.length +
    report.mismatched.length +
    report.crashed.length;
  process.exit(bad ? 1 : 0);
}
