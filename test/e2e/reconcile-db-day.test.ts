import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import iconv from 'iconv-lite';
import { startBridge, type Bridge } from '../../cloud-bridge/bridge.js';
import { seedDemo } from '../../cloud-bridge/demo.js';
import { demoChannelAccounts } from '../../cloud-bridge/channels/index.js';
import { closeWechatAgents } from '../../cloud-bridge/channels/wechat/index.js';
import type { Channel as PaymentChannel, StatementResult } from '../../cloud-bridge/channels/channel.js';
import { systemClock, type Clock } from '../../protocol/clock.js';
import { createTestDatabase, storeKinds, type TestDatabase } from '../support/stores.js';
import { runKauri } from '../support/processes.js';
import { startWechatSimProcess, uniqueNo, type WechatSimProcess } from './wechat-support.js';

// A day of WeChat traffic through `kauri sim wechat`, with these anomalies
// injected: a lost notify (pending here, paid at WeChat), an amount changed in the
// statement (summary recomputed, so the file stays well-formed), a refund the next day,
// an order two minutes before the cut-off that WeChat books on the next day (suspense,
// cleared by the next day's statement), a duplicated statement row, and an order only the
// platform has. The simulator's clock makes the day's statement; the bridge downloads it
// through the channel, keeps it in the file store, and finds exactly those differences.

const CHINA = 8 * 3600_000;
const DAY = 86_400_000;
/** A China-time day five days back: within WeChat's 92 days, long over. */
const D = new Date(Date.now() + CHINA - 5 * DAY).toISOString().slice(0, 10);
const D1 = new Date(Date.parse(`${D}T00:00:00Z`) + DAY).toISOString().slice(0, 10);
const D2 = new Date(Date.parse(`${D}T00:00:00Z`) + 2 * DAY).toISOString().slice(0, 10);
const at = (day: string, hhmm: string) => Date.parse(`${day}T${hhmm}:00+08:00`);
const SECRET = 'e2e-reconcile-secret-key-0123456789abcdef';

const kauri = (args: string[], env: NodeJS.ProcessEnv) => runKauri(args, { env });

/** Statement surgery: rows keyed by Vendor order number (field 6), summary recomputed. */
interface Tamper {
  amount?: { outTradeNo: string; minor: number };
  duplicate?: string;
  remove?: string[];
  append?: string[];
}
const minorOf = (f: string) => Number(f.replace(/^`/, '').replace('.', ''));
const majorOf = (m: number) => `${Math.trunc(m / 100)}.${String(m % 100).padStart(2, '0')}`;
function tamperWechat(text: string, t: Tamper): { text: string; removed: string[] } {
  const lines = text.split('\r\n');
  const header = lines[0]!;
  const summaryHeader = lines[lines.length - 3]!;
  let rows = lines.slice(1, lines.length - 3);
  const removed: string[] = [];
  const no = (row: string) => row.split(',')[6]!.replace(/^`/, '');
  rows = rows.filter((r) => {
    if (t.remove?.includes(no(r))) {
      removed.push(r);
      return false;
    }
    return true;
  });
  if (t.amount) {
    rows = rows.map((r) => {
      if (no(r) !== t.amount!.outTradeNo) return r;
      const f = r.split(',');
      f[12] = `\`${majorOf(t.amount!.minor)}`;
      f[27] = `\`${majorOf(t.amount!.minor)}`;
      return f.join(',');
    });
  }
  if (t.duplicate) rows.push(rows.find((r) => no(r) === t.duplicate)!);
  rows.push(...(t.append ?? []));
  let paid = 0;
  let refunded = 0;
  for (const r of rows) {
    const f = r.split(',');
    if (f[9] === '`SUCCESS') paid += minorOf(f[12]!);
    refunded += minorOf(f[16]!);
  }
  const summary = [String(rows.length), majorOf(paid), majorOf(refunded), '0.00', '0.00']
    .map((v) => `\`${v}`)
    .join(',');
  return { text: [header, ...rows, summaryHeader, summary, ''].join('\r\n'), removed };
}

describe.each(storeKinds())('reconciliation of a WeChat day from the database (%s)', (kind) => {
  // A simulator per store kind: its statement is the whole merchant's day.
  let sim: WechatSimProcess;
  let bridge: Bridge;
  let db: TestDatabase;
  let filesDir: string;
  let apiKey: string;
  let offsetMs = 0;
  const tampers = new Map<string, Tamper>();
  let movedRow = '';

  async function setTime(ms: number): Promise<void> {
    offsetMs = ms - Date.now();
    await sim.control('/sim/clock', { now: new Date(ms).toISOString() });
  }
  async function api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const res = await fetch(bridge.url + path, {
      method,
      headers: { authorization: `Bearer ${apiKey}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, body: await res.json() };
  }
  async function waitFor(no: string, until: (p: any) => boolean): Promise<any> {
    const deadline = Date.now() + 20_000;
    let last: any;
    while (Date.now() < deadline) {
      last = (await api('GET', `/api/v1/payments/${no}`)).body;
      if (until(last)) return last;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`${no}: ${JSON.stringify(last)}`);
  }
  async function channelNo(no: string): Promise<string> {
    const r = await bridge.store.db
      .selectFrom('orders')
      .select('channel_order_no')
      .where('out_trade_no', '=', no)
      .executeTakeFirstOrThrow();
    return r.channel_order_no;
  }
  async function sale(amount: number, opts: { loseNotify?: boolean } = {}): Promise<{ no: string; cno: string }> {
    const no = uniqueNo('rc');
    const created = await api('POST', '/api/v1/payments', {
      out_trade_no: no,
      amount_minor: amount,
      currency: 'NZD',
      channel: 'wechat',
      mode: 'native',
      description: 'Kiwifruit 奇异果',
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    if (opts.loseNotify) await sim.control('/sim/faults', { target: 'notify', mode: 'drop-notify', count: 1 });
    expect((await sim.control('/sim/pay', { code_url: created.body.qr_code })).status).toBe(200);
    if (!opts.loseNotify) await waitFor(no, (p) => p.status === 'paid');
    return { no, cno: await channelNo(no) };
  }

  beforeAll(async () => {
    sim = await startWechatSimProcess({ KAURI_TIME_SCALE: '10' });
    db = await createTestDatabase(kind);
    filesDir = mkdtempSync(join(tmpdir(), 'kauri-recon-files-'));
    const base = systemClock(20);
    const clock: Clock = { now: () => new Date(Date.now() + offsetMs), duration: base.duration, sleep: base.sleep };
    bridge = await startBridge({
      dbUrl: db.url,
      port: 0,
      secretKey: SECRET,
      filesDir,
      clock,
      log: pino({ level: process.env.KAURI_LOG_LEVEL ?? 'silent' }),
      // The test runs each day itself; the schedule looks at no day.
      reconcile: { lookbackDays: 0 },
    });
    const seed = await seedDemo(bridge.accounts, {
      registry: bridge.channels,
      channelAccounts: await demoChannelAccounts({ wechat: { url: sim.url, stateDir: sim.stateDir } }),
    });
    apiKey = seed.apiKey;
    // The statement WeChat publishes, with this test's surgery applied.
    const real = bridge.channels.get('wechat')!;
    const fetchStatement = async (
      ctx: Parameters<NonNullable<PaymentChannel['fetchStatement']>>[0],
      day: string,
    ): Promise<StatementResult> => {
      const r = await real.fetchStatement!(ctx, day);
      const t = tampers.get(day);
      if (r.state !== 'ready' || !t) return r;
      const out = tamperWechat(r.body.toString('utf8'), t);
      if (t.remove && out.removed.length !== t.remove.length)
        throw new Error(`statement of ${day} lacks rows to remove`);
      if (day === D) movedRow = out.removed.find((row) => row.includes(tampers.get('moved')!.remove![0]!))!;
      return { ...r, body: Buffer.from(out.text, 'utf8') };
    };
    bridge.channels.register(
      new Proxy(real, {
        get(target, p) {
          if (p === 'fetchStatement') return fetchStatement;
          const v = Reflect.get(target, p, target) as unknown;
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      }),
    );
  }, 60_000);

  afterAll(async () => {
    await sim?.control('/sim/clock', { now: new Date().toISOString() });
    await sim?.control('/sim/faults', {}).catch(() => undefined);
    await bridge?.close();
    await closeWechatAgents();
    await db?.drop();
    rmSync(filesDir, { recursive: true, force: true });
    await sim?.stop();
  });

  it('finds exactly the injected differences, keeps the raw file, runs idempotently, and clears the suspense the next day', async () => {
    // Day D, China time. The bridge must not learn of the lost-notify payment by asking.
    await setTime(at(D, '11:00'));
    await sim.control('/sim/faults', { target: '/pay/orderquery', mode: 'http500', count: 10_000 });
    const a = await sale(1000);
    const b = await sale(2000);
    const c = await sale(3000, { loseNotify: true });
    const f = await sale(4000);
    const g = await sale(5000);
    const h = await sale(6000);
    await setTime(at(D, '23:58'));
    const e = await sale(7000);
    expect((await waitFor(c.no, () => true)).status).toBe('pending');

    // WeChat's statement of D: B's amount changed, G twice, H missing (platform only),
    // and E booked by WeChat on D+1 at 00:00:30 (so it is missing from D).
    tampers.set(D, { amount: { outTradeNo: b.cno, minor: 2100 }, duplicate: g.cno, remove: [h.cno, e.cno] });
    tampers.set('moved', { remove: [e.cno] });

    // Before it is published: "not yet available", told apart from an empty day.
    await setTime(at(D1, '08:00'));
    const early = await bridge.reconcile.reconcileDay('wechat', D);
    expect(early.downloads.map((x) => x.state)).toEqual(['not_ready']);
    expect(early.merchants[0]!.state).toBe('no_statement');
    const empty = await bridge.reconcile.reconcileDay(
      'wechat',
      new Date(Date.parse(`${D}T00:00:00Z`) - 3 * DAY).toISOString().slice(0, 10),
    );
    expect(empty.downloads.map((x) => x.state)).toEqual(['empty']);
    expect(empty.differences).toEqual([]);

    await setTime(at(D1, '10:30'));
    const run = await bridge.reconcile.reconcileDay('wechat', D);
    expect(run.downloads[0]!.state).toBe('ready');
    expect(run.summary).toEqual({
      channel: 'wechat',
      date: D,
      statementRows: 6,
      platformRows: 7,
      matched: 3,
      amountMismatch: 1,
      currencyMismatch: 0,
      statusMismatch: 1,
      channelOnly: 0,
      platformOnly: 1,
      duplicates: 1,
      suspense: 1,
      totals: {
        channelMinor: 1000 + 2100 + 3000 + 4000 + 5000 + 5000,
        platformMinor: 1000 + 2000 + 4000 + 5000 + 6000 + 7000,
        currency: 'NZD',
      },
    });
    const found = (await bridge.reconcile.differences({ channel: 'wechat', day: D }))
      .map((d) => [d.category, d.id, d.state])
      .sort();
    expect(found).toEqual(
      [
        ['amountMismatch', b.cno, 'open'],
        ['duplicates', g.cno, 'open'],
        ['platformOnly', h.cno, 'open'],
        ['statusMismatch', c.cno, 'open'],
        ['suspense', e.cno, 'open'],
      ].sort(),
    );
    expect(found.map((x) => x[1])).not.toContain(a.cno);
    const amount = (await bridge.reconcile.differences({ channel: 'wechat', day: D })).find(
      (d) => d.category === 'amountMismatch',
    )!;
    expect(amount.data).toMatchObject({
      channelAmountMinor: 2100,
      platformAmountMinor: 2000,
      channelCurrency: 'NZD',
      channelStatus: 'paid',
      platformStatus: 'paid',
    });
    expect(amount.data.channelTradeNo).toMatch(/^\d+$/);

    // The raw (as downloaded) file is in the file store under its SHA-256.
    const sha = run.downloads[0]!.sha256!;
    const raw = await bridge.files.read(sha);
    expect(raw.toString('utf8')).toContain(`\`${b.cno}`);
    expect((await bridge.files.info(sha))!).toMatchObject({ kind: 'statement', channel: 'wechat', day: D });

    // Settlement: WeChat's rows (the repeated row once), per merchant.
    const st = await bridge.reconcile.settlement({ from: D, to: D });
    expect(st).toMatchObject([
      {
        channel: 'wechat',
        day: D,
        currency: 'NZD',
        payments: 5,
        grossMinor: 1000 + 2100 + 3000 + 4000 + 5000,
        refundsMinor: 0,
        netMinor: 15100,
      },
    ]);

    // The same day again: the same result, nothing new recorded.
    const versions = async () =>
      (
        await bridge.store.db
          .selectFrom('recon_differences')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow()
      ).n;
    const before = Number(await versions());
    const again = await bridge.reconcile.reconcileDay('wechat', D);
    expect(again.summary).toEqual(run.summary);
    expect(Number(await versions())).toBe(before);

    // D+1: the refund of F lands; WeChat books E (paid 23:58 D by its notify) at 00:00:30.
    const refund = await api('POST', `/api/v1/payments/${f.no}/refunds`, {
      out_refund_no: `${f.no}-r`,
      amount_minor: 1500,
      reason: 'bruised',
    });
    expect(refund.status, JSON.stringify(refund.body)).toBe(201);
    const deadline = Date.now() + 20_000;
    while ((await api('GET', `/api/v1/payments/${f.no}/refunds`)).body.data[0].status !== 'succeeded') {
      if (Date.now() > deadline) throw new Error('refund did not settle');
      await new Promise((r) => setTimeout(r, 100));
    }
    const eLine = movedRow.split(',');
    eLine[0] = `\`${D1} 00:00:30`;
    tampers.set(D1, { append: [eLine.join(',')] });
    await setTime(at(D2, '10:30'));
    const next = await bridge.reconcile.reconcileDay('wechat', D1);
    expect(next.summary).toMatchObject({
      statementRows: 2,
      platformRows: 2,
      matched: 2,
      amountMismatch: 0,
      statusMismatch: 0,
      channelOnly: 0,
      platformOnly: 0,
      duplicates: 0,
      suspense: 0,
    });
    expect(next.differences).toEqual([]);
    const suspense = (await bridge.reconcile.differences({ channel: 'wechat', day: D })).find(
      (d) => d.category === 'suspense',
    )!;
    expect(suspense).toMatchObject({ state: 'cleared', version: 2, actor: 'system' });
    expect(suspense.note).toContain(`found on ${D1}'s statement`);
    expect((await bridge.reconcile.settlement({ from: D1, to: D1 }))[0]).toMatchObject({
      payments: 1,
      grossMinor: 7000,
      refunds: 1,
      refundsMinor: 1500,
      netMinor: 5500,
    });
  }, 180_000);

  it('resolves with a note as new versions, signs off, and refuses any change to a signed-off day', async () => {
    const svc = bridge.reconcile;
    await expect(svc.signOff('wechat', D, 'fin')).rejects.toMatchObject({
      code: 'conflict',
      message: expect.stringContaining('4 open differences'),
    });
    const open = (await svc.differences({ channel: 'wechat', day: D })).filter((d) => d.state === 'open');
    await expect(svc.resolve(open[0]!.key, { action: 'accept', note: '  ', actor: 'fin' })).rejects.toMatchObject({
      code: 'bad_argument',
    });
    await expect(
      svc.resolve(open[0]!.key, { action: 'link', note: 'x', linkedOrder: 'nope', actor: 'fin' }),
    ).rejects.toMatchObject({ code: 'bad_argument' });
    const status = open.find((d) => d.category === 'statusMismatch')!;
    const linked = await svc.resolve(status.key, {
      action: 'link',
      note: 'notify lost; WeChat has it paid',
      linkedOrder: status.id,
      actor: 'fin',
    });
    expect(linked).toMatchObject({ state: 'resolved', action: 'link', actor: 'fin', version: 2 });
    const amount = open.find((d) => d.category === 'amountMismatch')!;
    await svc.resolve(amount.key, {
      action: 'adjust',
      note: 'WeChat settled 1.00 more',
      adjustMinor: 100,
      actor: 'fin',
    });
    for (const d of open.filter((x) => x !== status && x !== amount))
      await svc.resolve(d.key, { action: 'accept', note: 'checked', actor: 'fin' });
    expect((await svc.history(status.key)).map((v) => [v.version, v.state, v.actor])).toEqual([
      [1, 'open', 'system'],
      [2, 'resolved', 'fin'],
    ]);

    await svc.signOff('wechat', D, 'fin', 'all explained');
    await expect(
      svc.resolve(amount.key, { action: 'accept', note: 'changed my mind', actor: 'fin' }),
    ).rejects.toMatchObject({ code: 'day_signed_off' });
    await expect(svc.reconcileDay('wechat', D)).rejects.toMatchObject({ code: 'day_signed_off' });
    await expect(
      svc.addAdjustment({
        channel: 'wechat',
        day: D,
        merchantId: 'mch_demo',
        currency: 'NZD',
        amountMinor: -100,
        note: 'late',
        actor: 'fin',
      }),
    ).rejects.toMatchObject({ code: 'day_signed_off' });
    // A later correction is an adjustment on a later, open day.
    await svc.addAdjustment({
      channel: 'wechat',
      day: D2,
      merchantId: 'mch_demo',
      currency: 'NZD',
      amountMinor: -100,
      note: 'reverses the 1.00 of ' + D,
      refersTo: amount.key,
      actor: 'fin',
    });
    const st = await svc.settlement({ from: D, to: D2 });
    expect(st.find((r) => r.day === D)).toMatchObject({ adjustmentsMinor: 100, netMinor: 15200, signedOff: true });
    expect(st.find((r) => r.day === D2)).toMatchObject({ adjustmentsMinor: -100, netMinor: -100, signedOff: false });
  }, 60_000);

  it('rejects a malformed statement whole, keeps the raw file, and records nothing', async () => {
    const sha = (
      await bridge.store.db
        .selectFrom('recon_downloads')
        .select('file_sha256')
        .where('day', '=', D)
        .executeTakeFirstOrThrow()
    ).file_sha256!;
    const good = (await bridge.files.read(sha)).toString('utf8');
    const day = new Date(Date.parse(`${D}T00:00:00Z`) - DAY).toISOString().slice(0, 10);
    const lines = good.split('\r\n');
    const name = Buffer.from('奇异果', 'utf8');
    const utf8 = Buffer.from(good, 'utf8');
    const cut = utf8.indexOf(name);
    // A row's product name in GBK, as a statement saved by the wrong program would have it.
    const gbk = Buffer.concat([utf8.subarray(0, cut), iconv.encode('奇异果', 'gbk'), utf8.subarray(cut + name.length)]);
    const cases: [string, Buffer, RegExp][] = [
      [
        'truncated',
        Buffer.from(lines.slice(0, 3).join('\r\n'), 'utf8'),
        /^truncated_file: .* line 3: the file ends without its summary rows/,
      ],
      [
        'wrong header',
        Buffer.from(good.replace('Transaction time', 'When'), 'utf8'),
        /^wrong_header: .* line 1: not a WeChat Pay statement header/,
      ],
      ['wrong encoding', gbk, /^wrong_encoding: .* line 2: /],
      [
        'summary not matching',
        Buffer.from(lines.map((l, i) => (i === lines.length - 2 ? l.replace(/^`\d+/, '`99') : l)).join('\r\n'), 'utf8'),
        /^summary_mismatch: .* line \d+: summary Total transaction count says 99 but the file has 6 rows/,
      ],
    ];
    for (const [what, body, message] of cases) {
      const err = await bridge.reconcile
        .reconcileDay('wechat', day, { statement: { body, fileName: `${what}.csv` } })
        .catch((x: unknown) => x);
      expect(err, what).toMatchObject({ code: 'statement_rejected', message: expect.stringMatching(message) });
    }
    expect(await bridge.reconcile.differences({ channel: 'wechat', day })).toEqual([]);
    expect(await bridge.reconcile.settlement({ from: day, to: day })).toEqual([]);
    const runs = await bridge.store.db
      .selectFrom('recon_runs')
      .select(['state', 'file_sha256'])
      .where('day', '=', day)
      .execute();
    expect(runs.map((r) => r.state)).toEqual(['failed', 'failed', 'failed', 'failed']);
    for (const r of runs) expect((await bridge.files.read(r.file_sha256!)).length).toBeGreaterThan(0);
  }, 60_000);

  it("kauri reconcile --db: downloads through the channel, matches against the database, and the run is the HQ page's", async () => {
    // A sale on D-2 whose notify is lost, and one that is fine; then WeChat's clock is today's.
    const day = new Date(Date.parse(`${D}T00:00:00Z`) - 2 * DAY).toISOString().slice(0, 10);
    await setTime(at(day, '15:00'));
    const ok = await sale(1234);
    const lost = await sale(4321, { loseNotify: true });
    await setTime(Date.now());
    const dir = mkdtempSync(join(tmpdir(), 'kauri-recon-cli-'));
    try {
      const out = join(dir, 'differences.jsonl');
      const env = { KAURI_SECRET_KEY: SECRET, KAURI_FILES_DIR: filesDir };
      const r = await kauri(
        ['reconcile', '--channel', 'wechat', '--date', day, '--db', db.url, '--json', '--differences-out', out],
        env,
      );
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({
        channel: 'wechat',
        date: day,
        statementRows: 2,
        platformRows: 2,
        matched: 1,
        amountMismatch: 0,
        currencyMismatch: 0,
        statusMismatch: 1,
        channelOnly: 0,
        platformOnly: 0,
        duplicates: 0,
        suspense: 0,
        totals: { channelMinor: 1234 + 4321, platformMinor: 1234, currency: 'NZD' },
      });
      const diffs = readFileSync(out, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(diffs).toMatchObject([
        { category: 'statusMismatch', id: lost.cno, channelStatus: 'paid', platformStatus: 'pending' },
      ]);
      expect(diffs[0].id).not.toBe(ok.cno);
      // Recorded where the HQ page looks: the day's cell, its difference, the raw file.
      const [cell] = await bridge.reconcile.overview(day, day);
      expect(cell).toMatchObject({
        channel: 'wechat',
        day,
        state: 'reconciled',
        statementRows: 2,
        matched: 1,
        open: 1,
        download: 'ready',
      });
      const files = await bridge.reconcile.files();
      const f = files.find((x) => x.day === day)!;
      expect(f).toMatchObject({ state: 'ready', runState: 'done' });
      expect((await bridge.files.read(f.sha256!)).toString('utf8')).toContain(lost.cno);
      // Twice is once; a day not over yet is "not available", with a one-line reason.
      const again = await kauri(['reconcile', '--channel', 'wechat', '--date', day, '--db', db.url, '--json'], env);
      expect(again.stdout).toBe(r.stdout);
      const today = new Date(Date.now() + CHINA).toISOString().slice(0, 10);
      const early = await kauri(['reconcile', '--channel', 'wechat', '--date', today, '--db', db.url, '--json'], env);
      expect(early.code).not.toBe(0);
      expect(early.stdout).toBe('');
      expect(early.stderr.trim().split('\n')).toHaveLength(1);
      expect(early.stderr).toMatch(/the statement is not available yet/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
