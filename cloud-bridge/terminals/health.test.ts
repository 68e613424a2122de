import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import WebSocket from 'ws';
import { startBridge, type Bridge } from '../bridge.js';
import { ChannelRegistry } from '../channels/channel.js';
import { createTestDatabase, storeKinds, type TestDatabase } from '../../test/support/stores.js';
import { kauriBin, repoRoot } from '../../test/support/processes.js';
import { LINK_SUBPROTOCOL, terminalAuthorization, type BridgeMessage } from '../../protocol/link.js';

// A counter's device health, over the real link into the bridge's database, and out again
// to the people who run the shops: `kauri admin terminal list` and the HQ API, where a
// merchant's users see their own counters and never another merchant's.

const run = promisify(execFile);

interface Client {
  ws: WebSocket;
  next(pred: (m: BridgeMessage) => boolean): Promise<BridgeMessage>;
  closed: Promise<number>;
}

function connect(url: string, auth: string): Promise<Client> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, LINK_SUBPROTOCOL, { headers: { authorization: auth } });
    const messages: BridgeMessage[] = [];
    const waiters = new Set<() => void>();
    const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
    ws.on('message', (d) => {
      messages.push(JSON.parse(d.toString()));
      for (const w of waiters) w();
    });
    ws.on('error', reject);
    ws.on('open', () =>
      resolve({
        ws,
        closed,
        next: (pred) =>
          new Promise((res, rej) => {
            const check = () => {
              const i = messages.findIndex(pred);
              if (i >= 0) {
                waiters.delete(check);
                clearTimeout(t);
                res(messages.splice(i, 1)[0]!);
              }
            };
            const t = setTimeout(() => {
              waiters.delete(check);
              rej(new Error('timed out waiting for a message'));
            }, 10_000);
            waiters.add(check);
            check();
          }),
      }),
    );
  });
}

const PAPER_OUT = [
  { kind: 'printer', state: 'held', detail: 'paper out' },
  { kind: 'display', state: 'connected', detail: '/dev/ttyUSB1' },
  { kind: 'scanner', state: 'keyboard' },
];

describe.each(storeKinds())('counter device health (%s)', (kind) => {
  let tdb: TestDatabase;
  let bridge: Bridge;
  let filesDir: string;
  let wsUrl: string;
  const t = { a: { terminalId: '', secret: '' }, b: { terminalId: '', secret: '' } };

  async function pairAt(store: string) {
    const { code } = await bridge.terminals.createPairingCode(store, { terminalName: `Counter ${store}` });
    const res = await fetch(`${bridge.url}/terminal/pair`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code }),
    });
    expect(res.status).toBe(201);
    return (await res.json()) as { terminalId: string; secret: string };
  }

  async function hqGet(
    user: string,
    password: string,
    path: string,
  ): Promise<{ status: number; body: { terminals: Array<Record<string, unknown>> } }> {
    const login = await fetch(`${bridge.url}/hq/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: user, password }),
    });
    expect(login.status).toBe(200);
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const res = await fetch(`${bridge.url}${path}`, { headers: { cookie } });
    return { status: res.status, body: (await res.json()) as { terminals: Array<Record<string, unknown>> } };
  }

  beforeAll(async () => {
    tdb = await createTestDatabase(kind);
    filesDir = mkdtempSync(join(tmpdir(), 'kauri-files-'));
    bridge = await startBridge({
      dbUrl: tdb.url,
      port: 0,
      secretKey: 'test-secret-key-0123456789',
      log: pino({ level: 'silent' }),
      filesDir,
      channels: new ChannelRegistry(),
      fx: { pullAtStart: false },
    });
    const acc = bridge.accounts;
    const a = await acc.createMerchant({ name: 'Tui Tea' });
    const b = await acc.createMerchant({ name: 'Kea Kiwi' });
    await acc.createStore({ merchantId: a.id, name: 'Cuba St', code: 'tui-cuba' });
    await acc.createStore({ merchantId: b.id, name: 'Lambton Quay', code: 'kea-lambton' });
    await acc.createUser({ username: 'fin', password: 'finance-pass-1', role: 'hq_finance' });
    await acc.createUser({ username: 'tui', password: 'tui-pass-1', role: 'merchant_user', merchantId: a.id });
    await acc.createUser({ username: 'kea', password: 'kea-pass-1', role: 'merchant_admin', merchantId: b.id });
    t.a = await pairAt('tui-cuba');
    t.b = await pairAt('kea-lambton');
    wsUrl = `${bridge.url.replace('http', 'ws')}/terminal`;
  }, 60_000);
  afterAll(async () => {
    await bridge?.close();
    await tdb?.drop();
    rmSync(filesDir, { recursive: true, force: true });
  });

  it('keeps the latest report of a linked counter, and HQ and the admin CLI show it (a merchant only its own)', async () => {
    expect(await bridge.terminals.repo.get(t.a.terminalId)).toMatchObject({
      health: null,
      healthAt: null,
      lastSeenAt: null,
    });
    const c = await connect(wsUrl, terminalAuthorization(t.a.terminalId, t.a.secret));
    c.ws.send(JSON.stringify({ v: 1, type: 'hello', lastSeq: await bridge.events.head() }));
    await c.next((m) => m.type === 'welcome');
    const report = (key: string, devices: unknown) =>
      c.ws.send(JSON.stringify({ v: 1, type: 'command', key, name: 'device.health', args: { devices } }));
    report('health-0001', [
      { kind: 'printer', state: 'ready' },
      { kind: 'display', state: 'connected' },
      { kind: 'scanner', state: 'keyboard' },
    ]);
    expect(await c.next((m) => m.type === 'result')).toMatchObject({ ok: true, data: { recorded: true } });
    // Paper runs out: the next report replaces the last one whole.
    report('health-0002', PAPER_OUT);
    expect(await c.next((m) => m.type === 'result')).toMatchObject({ ok: true });
    const kept = await bridge.terminals.repo.get(t.a.terminalId);
    expect(kept!.health).toEqual(PAPER_OUT);
    expect(Date.parse(kept!.healthAt!)).toBeGreaterThan(Date.now() - 60_000);
    expect(kept!.lastSeenAt).not.toBeNull();
    // Nonsense is refused by the link and changes nothing.
    report('health-0003', [{ kind: 'printer', state: 'x'.repeat(41) }]);
    expect(await c.next((m) => m.type === 'result')).toMatchObject({ ok: false, error: { code: 'invalid_request' } });
    expect((await bridge.terminals.repo.get(t.a.terminalId))!.health).toEqual(PAPER_OUT);

    // HQ sees both merchants' counters; A's is linked, with its paper-out printer.
    const hq = await hqGet('fin', 'finance-pass-1', '/hq/api/terminals');
    expect(hq.status).toBe(200);
    expect(hq.body.terminals.map((x) => x.id).sort()).toEqual([t.a.terminalId, t.b.terminalId].sort());
    expect(hq.body.terminals.find((x) => x.id === t.a.terminalId)).toMatchObject({
      store: 'Cuba St',
      storeCode: 'tui-cuba',
      merchant: 'Tui Tea',
      connected: true,
      health: PAPER_OUT,
    });
    expect(hq.body.terminals.find((x) => x.id === t.b.terminalId)).toMatchObject({
      merchant: 'Kea Kiwi',
      connected: false,
      health: null,
    });
    // A merchant's user sees only their own merchant's counters, whatever the role.
    const tui = await hqGet('tui', 'tui-pass-1', '/hq/api/terminals');
    expect(tui.body.terminals.map((x) => x.id)).toEqual([t.a.terminalId]);
    const kea = await hqGet('kea', 'kea-pass-1', '/hq/api/terminals?merchant=ignored');
    expect(kea.body.terminals.map((x) => x.id)).toEqual([t.b.terminalId]);
    expect(JSON.stringify(kea.body)).not.toContain(t.a.terminalId);
    expect(JSON.stringify(kea.body)).not.toContain('paper out');
    expect((await fetch(`${bridge.url}/hq/api/terminals`)).status).toBe(401);

    // The admin CLI, from the same database.
    const env = { ...process.env, KAURI_FROM_SOURCE: '1', KAURI_LOG_LEVEL: 'warn' };
    const text = (
      await run(process.execPath, [kauriBin, 'admin', 'terminal', 'list', '--db', tdb.url], { cwd: repoRoot, env })
    ).stdout;
    const line = text.split('\n').find((l) => l.startsWith(t.a.terminalId))!;
    expect(line).toContain('\tactive\t');
    expect(line).toMatch(/\tprinter:held\(paper out\) display:connected scanner:keyboard \(at \d{4}-\d\d-\d\dT/);
    expect(text.split('\n').find((l) => l.startsWith(t.b.terminalId))).toMatch(/\tseen never\tno health report$/);
    const json = JSON.parse(
      (
        await run(process.execPath, [kauriBin, 'admin', 'terminal', 'list', '--json', '--db', tdb.url], {
          cwd: repoRoot,
          env,
        })
      ).stdout,
    ) as Array<Record<string, unknown>>;
    expect(json.find((x) => x.id === t.a.terminalId)).toMatchObject({ health: PAPER_OUT, healthAt: kept!.healthAt });

    // Gone: no longer linked, last seen at the moment it went; its last report stays.
    const before = (await bridge.terminals.repo.get(t.a.terminalId))!.lastSeenAt!;
    await new Promise((r) => setTimeout(r, 20));
    c.ws.close();
    await c.closed;
    await expect
      .poll(async () => (await bridge.terminals.repo.get(t.a.terminalId))!.lastSeenAt! > before, { timeout: 5000 })
      .toBe(true);
    const after = await hqGet('tui', 'tui-pass-1', '/hq/api/terminals');
    expect(after.body.terminals[0]).toMatchObject({ connected: false, health: PAPER_OUT });
  }, 90_000);
});
