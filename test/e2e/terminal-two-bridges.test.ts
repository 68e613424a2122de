import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, spawnKauri, type KauriProcess } from '../support/processes.js';
import { createTestDatabase, pgUrl, type TestDatabase } from '../support/stores.js';
import { counterAction, counterState, simControl, waitFor } from './terminal-support.js';
import { UA, type Sim } from './onecode-support.js';
import { skipUnless } from '../support/skip.js';

// Two bridge processes on one PostgreSQL. The counter is connected to bridge B; the
// customer's checkout and the channel's notify go to bridge A (B's public URL is A's, as
// behind a load balancer). The payment is settled on A, and B hears of it through
// LISTEN/NOTIFY and tells the counter: PAID.

describe.skipIf(
  skipUnless(pgUrl, 'KAURI_TEST_PG_URL is not set: the two-bridge counter test is skipped (.ci/run sets it)'),
)('counter with two bridges on one PostgreSQL', () => {
  let dir: string;
  let tdb: TestDatabase;
  let alipayProc: KauriProcess;
  let alipay: Sim;
  let a: KauriProcess;
  let b: KauriProcess;
  let terminal: KauriProcess;
  let portA: number;
  const env = { KAURI_SECRET_KEY: 'two-bridges-secret-key-0123456789' };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kauri-two-bridges-'));
    tdb = await createTestDatabase('postgres');
    alipayProc = await spawnKauri(['sim', 'alipay', '--port', '0', '--state', join(dir, 'alipay')], {
      ready: /listening on (\S+)/,
      timeoutMs: 60_000,
    });
    alipay = simControl('alipay', alipayProc.ready, join(dir, 'alipay'));
    portA = await freePort();
    a = await spawnKauri(
      [
        'bridge',
        '--port',
        String(portA),
        '--db',
        tdb.url,
        '--demo',
        '--alipay-sim',
        alipay.url,
        '--alipay-sim-state',
        join(dir, 'alipay'),
        '--files',
        join(dir, 'files-a'),
      ],
      { ready: /bridge listening on (\S+)/, env, timeoutMs: 60_000 },
    );
    b = await spawnKauri(
      [
        'bridge',
        '--port',
        '0',
        '--db',
        tdb.url,
        '--public-url',
        `http://127.0.0.1:${portA}`,
        '--files',
        join(dir, 'files-b'),
      ],
      { ready: /bridge listening on (\S+)/, env, timeoutMs: 60_000 },
    );
    const admin = await spawnKauri(
      ['admin', 'pairing-code', 'create', '--store', 'demo-queen-st', '--db', tdb.url, '--json'],
      { env },
    );
    await admin.finished();
    const code = JSON.parse(admin.stdout()).code as string;
    terminal = await spawnKauri(
      [
        'terminal',
        '--bridge',
        `${b.ready.replace('http', 'ws')}/terminal`,
        '--data',
        join(dir, 'counter'),
        '--headless',
        '--ui-port',
        '0',
      ],
      { ready: /cashier (\S+)/, timeoutMs: 60_000, env: { KAURI_PAIRING_CODE: code } },
    );
    await waitFor(
      () => counterState(terminal.ready),
      (s) => s.connection === 'ONLINE',
      30_000,
      'online',
    );
  }, 180_000);

  afterAll(async () => {
    await terminal?.stop();
    await b?.stop();
    await a?.stop();
    await alipay?.stop();
    await alipayProc?.stop();
    await tdb?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a notify received by bridge A reaches the counter connected to bridge B', async () => {
    const cashier = terminal.ready;
    const r = await counterAction(cashier, 'charge', { amount: '5.00' });
    expect(r.status).toBe(200);
    const waiting = await waitFor(
      () => counterState(cashier),
      (s) => s.current?.status === 'WAITING',
      20_000,
      'the checkout',
    );
    const url = waiting.current.url as string;
    expect(url.startsWith(`http://127.0.0.1:${portA}/c/`)).toBe(true);
    // The customer's Alipay opens the code (at A), which sends it to Alipay's QR page.
    const landing = await fetch(url, { headers: { 'user-agent': UA.alipay }, redirect: 'manual' });
    expect(landing.status).toBeGreaterThanOrEqual(300);
    const qr = landing.headers.get('location')!;
    expect(qr.startsWith(alipay.url)).toBe(true);
    const paid = await alipay.control('/sim/pay', { qr_code: qr });
    expect(paid.status).toBe(200);
    const done = await waitFor(
      () => counterState(cashier),
      (s) => s.current?.status === 'PAID',
      30_000,
      'PAID on the counter',
    );
    expect(done.current).toMatchObject({ amountMinor: 500, channel: 'alipay' });
  });
});
