import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { sql } from 'kysely';
import { openStore, type Store } from '../cloud-bridge/store/db.js';
import { AccountsRepo } from '../cloud-bridge/store/accounts.js';
import { SecretBox } from '../cloud-bridge/store/secret-box.js';
import { writeSection } from './section.js';

// The back office on a million payments: the first page of the payments list for a set of
// filters and searches (p95, target 200 ms) through the real routes over HTTP, and a month's
// CSV export of every row (target 20 s, peak RSS 256 MB), on SQLite and PostgreSQL.
// `--rows N` seeds fewer rows for a quick run; `--store sqlite|postgres` runs one store;
// `--export-only` skips the list requests. The bridge runs in a child process
// (back-office-bridge.ts), compiled as deployed (`--from-source`: the sources under tsx), so
// the export's memory is measured on the bridge alone.
// The rows are made inside the database (a recursive CTE, generate_series), a million in
// seconds, all in one month (November 2026, New Zealand time), two by two on equal timestamps.

const arg = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const ROWS = Number(arg('rows') ?? 1_000_000);
const STORES = (arg('store') ?? 'sqlite,postgres').split(',') as Array<'sqlite' | 'postgres'>;
const RUNS = Number(arg('runs') ?? 20);
const ROOT = join(import.meta.dirname, '..');
/** The bridge as `kauri bridge` runs it (`npm run build` first), or with `--from-source` the sources under tsx. */
const FROM_SOURCE = process.argv.includes('--from-source');
const COMPILED = join(ROOT, 'dist/cloud-bridge/bridge.js');
if (!FROM_SOURCE && !existsSync(COMPILED))
  throw new Error(`no ${COMPILED}: run \`npm run build\` first, or pass --from-source`);
/** `--heap`: the bridge prints its V8 heap's peaks, and what a full collection leaves, after the export. */
const HEAP = process.argv.includes('--heap');
/** `--export-only`: the export alone (no list requests, and BENCHMARKS.md is not written). */
const EXPORT_ONLY = process.argv.includes('--export-only');
const MERCHANTS = 20;
const STORES_PER_MERCHANT = 5;
// 2026-11-01 00:00 NZDT .. 2026-12-01 00:00 NZDT
const START = Date.parse('2026-10-31T11:00:00Z');
const SPAN = 30 * 86_400_000;

async function database(kind: 'sqlite' | 'postgres'): Promise<{ url: string; drop(): Promise<void> }> {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'kauri-bench-bo-'));
    return { url: `sqlite:${join(dir, 'bridge.db')}`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const base = process.env.KAURI_TEST_PG_URL ?? process.env.KAURI_BENCH_PG_URL;
  if (!base) throw new Error('set KAURI_TEST_PG_URL for the PostgreSQL run');
  const name = `kauri_bench_bo_${process.pid}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`drop database if exists ${name} with (force)`);
  await admin.query(`create database ${name}`);
  await admin.end();
  const u = new URL(base);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

export async function seed(store: Store, rows: number): Promise<number> {
  const db = store.db;
  const now = new Date(START).toISOString();
  for (let m = 0; m < MERCHANTS; m++) {
    await db
      .insertInto('merchants')
      .values({
        id: `mch_${m}`,
        name: `Merchant ${m}`,
        allowed_domains: '[]',
        fx_markup: '0.02',
        created_at: now,
        allow_private_webhooks: 0,
        max_payment_minor: 5_000_000,
        max_payment_currency: 'NZD',
      })
      .execute();
    for (let s = 0; s < STORES_PER_MERCHANT; s++)
      await db
        .insertInto('stores')
        .values({
          id: `sto_${m}_${s}`,
          merchant_id: `mch_${m}`,
          code: `S${m}X${s}`,
          name: `Store ${m}/${s}`,
          timezone: 'Pacific/Auckland',
          max_static_amount_minor: 100_000,
          currency: 'NZD',
          created_at: now,
        })
        .execute();
    await db
      .insertInto('channel_accounts')
      .values({
        id: `acc_${m}`,
        merchant_id: `mch_${m}`,
        channel: 'wechat',
        config: '{}',
        secrets: '{}',
        active: 1,
        created_at: now,
      })
      .execute();
  }
  const step = SPAN / Math.ceil(rows / 2);
  const started = performance.now();
  // i → merchant i % 20, store (i / 20) % 5, channel i % 3; 90 % paid, 3 % refunded, 2 %
  // partially refunded, 5 % closed; one in a thousand flagged; two rows per timestamp.
  const select = (seq: string, i: string) => sql`
    select 'ord_' || ${sql.raw(i)}, 'mch_' || (${sql.raw(i)} % ${sql.lit(MERCHANTS)}),
      'sto_' || (${sql.raw(i)} % ${sql.lit(MERCHANTS)}) || '_' || ((${sql.raw(i)} / ${sql.lit(MERCHANTS)}) % ${sql.lit(STORES_PER_MERCHANT)}),
      'acc_' || (${sql.raw(i)} % ${sql.lit(MERCHANTS)}),
      'OT' || ${sql.raw(i)},
      case ${sql.raw(i)} % 3 when 0 then 'wechat' when 1 then 'alipay' else 'bank' end,
      'native', 100 + (${sql.raw(i)} * 7919) % 100000, 'NZD',
      case when ${sql.raw(i)} % 100 < 90 then 'paid' when ${sql.raw(i)} % 100 < 93 then 'refunded'
           when ${sql.raw(i)} % 100 < 95 then 'partially_refunded' else 'closed' end,
      case when ${sql.raw(i)} % 100 between 90 and 92 then 100 + (${sql.raw(i)} * 7919) % 100000
           when ${sql.raw(i)} % 100 between 93 and 94 then 50 else 0 end,
      'CO' || ${sql.raw(i)}, case when ${sql.raw(i)} % 100 < 95 then 'TX' || ${sql.raw(i)} else null end,
      (100 + (${sql.raw(i)} * 7919) % 100000) * 4, 'h',
      case when ${sql.raw(i)} % 1000 = 7 then 1 else 0 end,
      ${sql.raw(seq)}, ${sql.raw(seq)}, ${sql.raw(seq)}, 1
    `;
  const columns = sql.raw(`id, merchant_id, store_id, channel_account_id, out_trade_no, channel, mode, amount_minor,
    currency, status, refunded_minor, channel_order_no, channel_trade_no, cny_charged_minor, request_hash, flagged,
    created_at, updated_at, paid_at, version`);
  if (store.dialect === 'sqlite') {
    const at = `strftime('%Y-%m-%dT%H:%M:%fZ', (${START} + (i / 2) * ${Math.round(step)}) / 1000.0, 'unixepoch')`;
    await sql`with recursive n(i) as (select 0 union all select i + 1 from n where i + 1 < ${rows})
      insert into orders (${columns}) ${select(at, 'i')} from n`.execute(db);
    await sql`analyze`.execute(db);
  } else {
    const at = `to_char(to_timestamp((${START} + (i / 2) * ${Math.round(step)}::bigint) / 1000.0) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
    await sql`insert into orders (${columns}) ${select(at, 'i')} from generate_series(0::bigint, ${rows - 1}) as g(i)`.execute(
      db,
    );
    await sql`vacuum analyze orders`.execute(db);
  }
  return (performance.now() - started) / 1000;
}

const p = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
};

interface Row {
  what: string;
  p50: number;
  p95: number;
  max: number;
  items: number;
}

async function runStore(kind: 'sqlite' | 'postgres') {
  const target = await database(kind);
  const store = await openStore(target.url);
  try {
    process.stdout.write(`${kind}: seeding ${ROWS} payments…\n`);
    const seedS = await seed(store, ROWS);
    process.stdout.write(`${kind}: seeded in ${seedS.toFixed(1)} s\n`);
    // The real bridge, in a child process (its memory is measured apart from this client's),
    // and real users: each signs in, and its session's scope (role, merchant, store
    // assignments, refund limit) is the one the routes read from the user's rows.
    const files = mkdtempSync(join(tmpdir(), 'kauri-bench-bo-files-'));
    const secretKey = 'bench-back-office-secret-key-0123456789';
    const password = 'bench password 0123';
    const accounts = new AccountsRepo(store, new SecretBox(secretKey));
    await accounts.createUser({ username: 'hq', password, role: 'hq_admin' });
    await accounts.createUser({ username: 'ma', password, role: 'merchant_admin', merchantId: 'mch_3' });
    await accounts.createUser({
      username: 'sm',
      password,
      role: 'store_manager',
      merchantId: 'mch_3',
      storeIds: ['sto_3_1'],
      refundLimitMinor: 5000,
    });
    const script = join(import.meta.dirname, 'back-office-bridge.ts');
    const child = spawn(
      process.execPath,
      FROM_SOURCE
        ? ['--import', 'tsx', script, join(ROOT, 'cloud-bridge/bridge.ts'), target.url, files, secretKey]
        : [...(HEAP ? ['--expose-gc'] : []), script, COMPILED, target.url, files, secretKey],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const stop = () => child.kill('SIGTERM');
    process.once('exit', stop);
    const url = await new Promise<string>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`the bridge exited (${code}) before it listened`)));
      createInterface({ input: child.stdout! }).once('line', (line) =>
        resolve((JSON.parse(line) as { url: string }).url),
      );
    });
    const cookies: Record<string, string> = {};
    for (const [who, username] of [
      ['hq', 'hq'],
      ['merchant', 'ma'],
      ['store', 'sm'],
    ]) {
      const res = await fetch(`${url}/hq/api/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username, password }),
      });
      if (res.status !== 200) throw new Error(`login ${username}: ${res.status} ${await res.text()}`);
      cookies[who!] = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
    }
    const as = (who: string) => ({ cookie: cookies[who]! });
    const mid = Math.floor(ROWS / 2);
    const cases: Array<[string, string, string]> = [
      ['HQ, no filter', 'hq', ''],
      ['HQ, one week', 'hq', 'from=2026-11-10&to=2026-11-16'],
      ['HQ, channel + status refunded', 'hq', 'channel=alipay&status=refunded'],
      ['HQ, flagged', 'hq', 'flagged=true'],
      ['HQ, status paid or refunded', 'hq', 'status=paid,refunded'],
      ['merchant, status refunded', 'merchant', 'status=refunded'],
      ['HQ, amount 500.00–501.00', 'hq', 'min=50000&max=50100'],
      ['merchant, no filter', 'merchant', ''],
      ['merchant, one day, wechat', 'merchant', 'from=2026-11-20&to=2026-11-20&channel=wechat'],
      ['store manager, no filter', 'store', ''],
      ['HQ, search out_trade_no', 'hq', `q=OT${mid}`],
      ['HQ, search channel transaction no', 'hq', `q=TX${mid + 1}`],
      ['HQ, search Kauri id', 'hq', `q=ord_${mid + 2}`],
      ['merchant, search out_trade_no', 'merchant', `q=OT${Math.floor(mid / 20) * 20 + 3}`],
      ['HQ, second page (cursor)', 'hq', 'cursor='],
      ['totals: HQ, no filter', 'hq', 'TOTALS'],
      ['totals: HQ, one week', 'hq', 'TOTALS from=2026-11-10&to=2026-11-16'],
      ['totals: merchant, no filter', 'merchant', 'TOTALS'],
      ['totals: merchant, one day, wechat', 'merchant', 'TOTALS from=2026-11-20&to=2026-11-20&channel=wechat'],
      ['totals: store manager, no filter', 'store', 'TOTALS'],
    ];
    const rows: Row[] = [];
    for (const [what, who, query] of EXPORT_ONLY ? [] : cases) {
      let q = query;
      if (q === 'cursor=') {
        const first = (await (await fetch(`${url}/hq/api/payments`, { headers: as('hq') })).json()) as {
          nextCursor: string;
        };
        q = `cursor=${first.nextCursor}`;
      }
      const times: number[] = [];
      let items = 0;
      for (let r = 0; r < RUNS + 2; r++) {
        const t0 = performance.now();
        const path = q.startsWith('TOTALS')
          ? `/hq/api/payments/totals?${q.slice(7)}`
          : `/hq/api/payments?totals=false&${q}`;
        const res = await fetch(`${url}${path}`, { headers: as(who) });
        const body = (await res.json()) as { items?: unknown[]; totals?: Array<{ count: number }> };
        if (res.status !== 200) throw new Error(`${what}: ${res.status} ${JSON.stringify(body)}`);
        items = body.items ? body.items.length : (body.totals ?? []).reduce((n, t) => n + t.count, 0);
        if (r >= 2) times.push(performance.now() - t0); // two warm-up requests
      }
      rows.push({ what, p50: p(times, 0.5), p95: p(times, 0.95), max: Math.max(...times), items });
      process.stdout.write(`${kind}: ${what}: p95 ${p(times, 0.95).toFixed(0)} ms (${items} rows)\n`);
    }

    // The month's export, every row, read as a client would. The bridge's memory: its RSS
    // (/proc/<pid>/status) sampled every 20 ms, and its high-water mark, reset just before
    // (clear_refs 5) so it is the export's. This client's own RSS is beside it.
    const status = (field: 'VmRSS' | 'VmHWM') =>
      Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1]) *
      1024;
    const rssBefore = status('VmRSS');
    try {
      writeFileSync(`/proc/${child.pid}/clear_refs`, '5');
    } catch {
      // Not allowed here: the high-water mark then includes the start, and the samples decide.
    }
    child.kill('SIGUSR2');
    let peak = rssBefore;
    let clientPeak = process.memoryUsage().rss;
    const timer = setInterval(() => {
      peak = Math.max(peak, status('VmRSS'));
      clientPeak = Math.max(clientPeak, process.memoryUsage().rss);
    }, 20);
    const t0 = performance.now();
    const res = await fetch(`${url}/hq/api/exports/payments.csv?from=2026-11-01&to=2026-11-30`, {
      headers: as('hq'),
    });
    let bytes = 0;
    let lines = 0;
    let firstByteMs = 0;
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      if (!bytes) firstByteMs = performance.now() - t0;
      bytes += chunk.length;
      for (const b of chunk) if (b === 10) lines++;
    }
    const exportS = (performance.now() - t0) / 1000;
    clearInterval(timer);
    peak = Math.max(peak, status('VmRSS'), status('VmHWM'));
    if (HEAP) {
      child.kill('SIGUSR1');
      await new Promise((r) => setTimeout(r, 100));
    }
    process.stdout.write(
      `${kind}: export ${lines - 1} rows, ${(bytes / 1e6).toFixed(0)} MB in ${exportS.toFixed(1)} s, first byte ${firstByteMs.toFixed(0)} ms, bridge RSS ${(rssBefore / 2 ** 20).toFixed(0)} MB before, peak ${(peak / 2 ** 20).toFixed(0)} MB (client peak ${(clientPeak / 2 ** 20).toFixed(0)} MB)\n`,
    );
    child.kill('SIGTERM');
    await exited;
    rmSync(files, { recursive: true, force: true });
    return {
      kind,
      seedS,
      rows,
      export: {
        rows: lines - 1,
        mb: bytes / 1e6,
        seconds: exportS,
        firstByteMs,
        peakMb: peak / 2 ** 20,
        beforeMb: rssBefore / 2 ** 20,
        clientPeakMb: clientPeak / 2 ** 20,
      },
    };
  } finally {
    await store.close();
    await target.drop();
  }
}

async function main() {
  const load0 = loadavg()[0]!;
  const started = new Date();
  const results = [];
  for (const kind of STORES) results.push(await runStore(kind));
  const cpu = cpus();
  const name = (k: string) => (k === 'sqlite' ? 'SQLite' : 'PostgreSQL');
  const lines = [
    '## Back office: payments list and exports',
    '',
    `Run: \`node --expose-gc --import tsx bench/back-office.ts --rows ${ROWS}\` · ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC · ${cpu[0]?.model.split(' ').slice(0, 2).join(' ') ?? 'cpu'}, ${cpu.length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; load average ${load0.toFixed(2)} at the start, ${loadavg()[0]!.toFixed(2)} at the end (a shared machine: other work runs beside it).`,
    '',
    `${ROWS.toLocaleString('en')} payments of ${MERCHANTS} merchants and ${MERCHANTS * STORES_PER_MERCHANT} stores, all in November 2026 (New Zealand time), seeded inside the database. Each row is ${RUNS} requests over HTTP to the real routes, after two warm-up requests: the first page (50 rows) of \`GET /hq/api/payments?totals=false&…\`, or for the totals rows \`GET /hq/api/payments/totals?…\` (count and sum per currency of everything the filter matches; the rows column is then that count). The export is \`GET /hq/api/exports/payments.csv\` of the whole month, read to the end by this process's client from the bridge running in a child process (\`bench/back-office-bridge.ts\`, the compiled bridge of \`dist/\` as \`kauri bridge\` runs it); the bridge's peak RSS is the child's alone (its \`VmRSS\` sampled every 20 ms and its \`VmHWM\`, reset just before the export), and the client's is beside it. Targets: first page p95 ≤ 200 ms; the export ≤ 20 s and ≤ 256 MB.`,
    '',
    '| store | request | rows | p50 (ms) | p95 (ms) | max (ms) |',
    '|---|---|---:|---:|---:|---:|',
    ...results.flatMap((r) =>
      r.rows.map(
        (x) =>
          `| ${name(r.kind)} | ${x.what} | ${x.items} | ${x.p50.toFixed(0)} | ${x.p95.toFixed(0)} | ${x.max.toFixed(0)} |`,
      ),
    ),
    '',
    '| store | seed (s) | export rows | export MB | export (s) | first byte (ms) | bridge RSS before (MB) | bridge peak RSS (MB) | client peak RSS (MB) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...results.map(
      (r) =>
        `| ${name(r.kind)} | ${r.seedS.toFixed(1)} | ${r.export.rows} | ${r.export.mb.toFixed(0)} | ${r.export.seconds.toFixed(1)} | ${r.export.firstByteMs.toFixed(0)} | ${r.export.beforeMb.toFixed(0)} | ${r.export.peakMb.toFixed(0)} | ${r.export.clientPeakMb.toFixed(0)} |`,
    ),
  ];
  const section = lines.join('\n');
  process.stdout.write(`\n${section}\n`);
  if (!EXPORT_ONLY && (process.argv.includes('--write') || ROWS >= 1_000_000)) writeSection('back-office', section);
}

if (process.argv[1]?.endsWith('back-office.ts')) await main();
