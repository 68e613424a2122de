import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPtyPair, socatAvailable, type PtyPair } from '../../cli/devices.js';
import { freePort, spawnKauri, type KauriProcess } from '../support/processes.js';
import type { Sim } from '../support/sim-control.js';
import { counterAction, counterState, paymentCode, simControl, waitFor } from './terminal-support.js';
import { skipUnless } from '../support/skip.js';

// A serial payment-code scanner at the counter, end to end: the scanner hardware is the
// far end of a socat pty pair, `kauri terminal --headless --scanner serial:…` the counter,
// paired with a bridge running as its own process against the WeChat simulator. The
// cashier keys the amount (the screen tells the counter as it changes), the customer's
// code arrives from the scanner as a scanner sends it (digits + CR), and the sale is paid;
// garbage from the scanner is refused on the screen and starts no payment.

const ENV = { KAURI_TIME_SCALE: '2' };

describe.skipIf(
  skipUnless(socatAvailable(), 'socat is missing (apt-get install socat): the serial scanner test is skipped'),
)('serial scanner → counter → bridge', () => {
  let dir: string;
  let wechatProc: KauriProcess;
  let wechat: Sim;
  let bridge: KauriProcess;
  let terminal: KauriProcess;
  let pty: PtyPair;
  let scanner: SerialPort;
  let cashier: string;
  let port: number;
  let apiKey: string;
  const db = () => `sqlite:${join(dir, 'bridge', 'bridge.db')}`;
  const state = () => counterState(cashier);
  /** What a scanner sends: the code, then CR (its factory setting). */
  const scan = (text: string) => new Promise<void>((r) => scanner.write(`${text}\r`, () => scanner.drain(() => r())));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kauri-serial-scan-'));
    wechatProc = await spawnKauri(['sim', 'wechat', '--port', '0', '--state', join(dir, 'wechat'), '--tls'], {
      ready: /listening on (\S+)/,
      env: ENV,
      timeoutMs: 60_000,
    });
    wechat = simControl('wechat', wechatProc.ready, join(dir, 'wechat'));
    port = await freePort();
    bridge = await spawnKauri(
      [
        'bridge',
        '--port',
        String(port),
        '--db',
        db(),
        '--demo',
        '--wechat-sim',
        wechat.url,
        '--wechat-sim-state',
        join(dir, 'wechat'),
      ],
      { ready: /bridge listening on (\S+)/, env: ENV, timeoutMs: 60_000 },
    );
    apiKey = /demo API key: (\S+)/.exec(bridge.stdout())![1]!;
    const admin = await spawnKauri([
      'admin',
      'pairing-code',
      'create',
      '--store',
      'demo-queen-st',
      '--db',
      db(),
      '--json',
    ]);
    await admin.finished();
    const code = JSON.parse(admin.stdout()).code as string;

    pty = await createPtyPair(join(dir, 'scanner'), join(dir, 'scanner-device'));
    terminal = await spawnKauri(
      [
        'terminal',
        '--bridge',
        `ws://127.0.0.1:${port}/terminal`,
        '--data',
        join(dir, 'counter'),
        '--headless',
        '--ui-port',
        '0',
        '--pair',
        code,
        '--scanner',
        `serial:${pty.a}`,
      ],
      { ready: /cashier (\S+)/, env: ENV, timeoutMs: 60_000 },
    );
    cashier = terminal.ready;
    await waitFor(state, (s) => s.connection === 'ONLINE', 30_000, 'online');
    await waitFor(
      state,
      (s) => s.devices.some((d: { kind: string; state: string }) => d.kind === 'scanner' && d.state === 'connected'),
      30_000,
      'the scanner connected',
    );
    scanner = new SerialPort({ path: pty.b, baudRate: 9600 });
    await new Promise<void>((r) => scanner.once('open', () => r()));
  }, 180_000);

  afterAll(async () => {
    if (scanner?.isOpen) await new Promise<void>((r) => scanner.close(() => r()));
    await terminal?.stop();
    await pty?.stop();
    await bridge?.stop();
    await wechat?.stop();
    await wechatProc?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a code from the scanner is charged for the keyed amount and paid', async () => {
    expect((await counterAction(cashier, 'amount', { amount: '7.40' })).status).toBe(200);
    await scan(await paymentCode(wechat, 'success'));
    const s = await waitFor(state, (x) => x.current?.status === 'PAID', 30_000, 'the scanned sale paid');
    expect(s.current).toMatchObject({
      kind: 'scan',
      channel: 'wechat',
      amountMinor: 740,
      currency: 'NZD',
      active: false,
    });
    expect(s.scanError).toBeNull();
    expect(s.today.filter((x: { status: string }) => x.status === 'PAID')).toHaveLength(1);
    // The bridge has it as paid too: the code went all the way to the channel.
    const pay = await (
      await fetch(`http://127.0.0.1:${port}/api/v1/payments/${s.current.outTradeNo}`, {
        headers: { authorization: `Bearer ${apiKey}` },
      })
    ).json();
    expect(pay).toMatchObject({ status: 'paid', amount_minor: 740, channel: 'wechat', mode: 'micropay' });
  });

  it('garbage from the scanner is refused on the screen and starts no payment', async () => {
    const before = await state();
    await counterAction(cashier, 'dismiss');
    await scan('hello-123');
    const refused = await waitFor(state, (x) => x.scanError !== null, 15_000, 'the scan refused');
    expect(refused.scanError.en).toContain('not digits only');
    expect(refused.scanError.en).toContain('hello-123');
    expect(refused.scanError.zh).toBe('付款码无效');
    // A number too short to be any wallet's code: refused too, with the reason.
    await scan('1345678');
    const short = await waitFor(state, (x) => x.scanError?.en.includes('18 digits'), 15_000, 'the short code refused');
    expect(short.current).toBeNull();
    expect(short.today).toHaveLength(before.today.length);
    expect(short.outboxCount).toBe(0);
  });
});
