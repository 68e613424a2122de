import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import QRCode from 'qrcode';
import { startBridge, type Bridge, type BridgeOptions } from '../cloud-bridge/bridge.js';
import { resolveSecretKey } from '../cloud-bridge/secret-key.js';
import { seedDemo } from '../cloud-bridge/demo.js';
import { demoChannelAccounts } from '../cloud-bridge/channels/index.js';
import { createLogger } from '../cloud-bridge/logger.js';
import { socatAvailable, startDeviceSimulators, type DeviceSimulators } from './devices.js';
import { pullRatesBeforeReady } from '../cloud-bridge/fx/index.js';
import { newManagerPin, weakPinReason } from '../cloud-bridge/terminals/pin-policy.js';
import { privateDir, writePrivateFile } from '../protocol/private-files.js';
import { WANTED_FILE } from './start-command.js';

// `kauri start`: the whole system on one machine. Simulators run as child processes (they
// are outside systems, reached only over the wire); the bridge runs in this process, and
// can be taken down and brought back from the keyboard (`bridge stop`, `bridge start`),
// so anyone can watch the counter go offline, queue, and catch up.

const KAURI = fileURLToPath(new URL('../bin/kauri', import.meta.url).href.replace('/dist/bin/', '/bin/'));

interface Child {
  name: string;
  proc: ChildProcess;
}

/** Channel simulators `kauri start` runs (name, port offset, extra flags). */
const SIMULATORS: Array<{ name: 'wechat' | 'alipay' | 'bank'; offset: number; flags: string[]; scheme: string }> = [
  { name: 'wechat', offset: 1, flags: ['--tls'], scheme: 'https' },
  { name: 'alipay', offset: 2, flags: [], scheme: 'http' },
  { name: 'bank', offset: 3, flags: [], scheme: 'http' },
];

export async function runStart(dataDir: string, base: number): Promise<void> {
  // endpoints.json (API key, HQ password, manager PIN), bridge.db, secret.key, the
  // counter's database and the simulators' keys all live under it: this user's only.
  privateDir(dataDir);
  const endpointsPath = join(dataDir, 'endpoints.json');
  rmSync(endpointsPath, { force: true });
  const logsDir = join(dataDir, 'logs');
  mkdirSync(logsDir, { recursive: true });
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const children: Child[] = [];
  let bridge: Bridge | undefined;
  let devices: DeviceSimulators | undefined;
  let stopping = false;

  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    await bridge?.close().catch(() => undefined);
    await Promise.all(children.map((c) => stopChild(c)));
    await devices?.stop().catch(() => undefined);
    process.exit(code);
  };
  process.once('SIGINT', () => void stopAll(0));
  process.once('SIGTERM', () => void stopAll(0));

  try {
    const secretKey = resolveSecretKey(dataDir, say);
    const sims: Record<string, { url: string; stateDir: string }> = {};
    await Promise.all(
      SIMULATORS.map(async (s) => {
        const stateDir = join(dataDir, 'sims', s.name);
        const child = spawnChild(
          s.name,
          ['sim', s.name, '--port', String(base + s.offset), '--state', stateDir, ...s.flags],
          logsDir,
        );
        children.push(child);
        const url = await waitForLine(child, /listening on (\S+)/, 60_000);
        sims[s.name] = { url, stateDir };
      }),
    );

    const bridgeOptions: BridgeOptions = {
      dbUrl: `sqlite:${join(dataDir, 'bridge.db')}`,
      port: base,
      secretKey,
      filesDir: join(dataDir, 'files'),
      log: createLogger({
        destination: (await import('pino')).default.destination({
          dest: join(logsDir, 'bridge.log'),
          mkdir: true,
          sync: false,
        }),
      }),
    };
    bridge = await startBridge(bridgeOptions);
    const demoSecretsPath = join(dataDir, 'demo-secrets.json');
    const demoSecrets = existsSync(demoSecretsPath)
      ? (JSON.parse(readFileSync(demoSecretsPath, 'utf8')) as { hqPassword: string; managerPin: string })
      : { hqPassword: randomBytes(9).toString('base64url'), managerPin: newManagerPin() };
    // A demo folder from before PINs had six digits keeps its password but gets a new PIN.
    if (weakPinReason(demoSecrets.managerPin)) demoSecrets.managerPin = newManagerPin();
    writePrivateFile(demoSecretsPath, JSON.stringify(demoSecrets));
    const seed = await seedDemo(bridge.accounts, {
      registry: bridge.channels,
      hqPassword: demoSecrets.hqPassword,
      channelAccounts: await demoChannelAccounts(sims),
      bridgeUrl: bridge.url,
    });
    for (const p of seed.problems) say(`  warning: ${p}`);

    // Rates for quotes and the customer screen's CNY estimates, now that the channel
    // accounts exist: endpoints.json is written after the first pull, or we say what failed.
    const { problems } = await pullRatesBeforeReady(bridge.fx);
    for (const p of problems) say(`  warning: ${p}`);
    if (socatAvailable()) {
      devices = await startDeviceSimulators({ dataDir }).catch((err: Error) => {
        say(`  (the simulated printer and pole display did not start: ${err.message})`);
        return undefined;
      });
    }
    const terminal = await startTerminal({
      bridge,
      storeId: seed.storeId,
      managerPin: demoSecrets.managerPin,
      dataDir,
      base,
      logsDir,
      children,
      printer: devices?.printerSpec ?? 'none',
      display: devices?.displaySpec ?? 'none',
    });

    // The demo store's printed code: any wallet (or browser) that opens it can pay the store.
    const staticCode = new URL(`/s/${encodeURIComponent(seed.storeCode)}`, bridge.url).toString();
    const endpoints: Record<string, unknown> = {
      bridge: bridge.url,
      hq: new URL('/hq', bridge.url).toString(),
      bridgeWs: terminal.bridgeWs,
      cashier: terminal.cashier,
      customer: terminal.customer,
      ...(devices ? { printerOut: devices.printerOut, displayOut: devices.displayOut } : {}),
      // `kauri demo-bridge stop|start` signals this process to take its bridge down or up.
      pid: process.pid,
      sims: Object.fromEntries(Object.entries(sims).map(([k, v]) => [k, v.url])),
      staticCode: staticCode,
      demo: {
        merchantId: seed.merchantId,
        apiKey: seed.apiKey,
        storeCode: seed.storeCode,
        managerPin: demoSecrets.managerPin,
        hqUser: seed.hqUser,
        hqPassword: demoSecrets.hqPassword,
      },
    };
    writePrivateFile(endpointsPath, `${JSON.stringify(endpoints, null, 2)}\n`);

    say(`Kauri is running (data in ${dataDir}, logs in ${logsDir})`);
    say(`  bridge        ${bridge.url}`);
    say(`  HQ            ${new URL('/hq', bridge.url).toString()}`);
    for (const [name, s] of Object.entries(sims)) say(`  ${name.padEnd(13)} ${s.url}`);
    say(`  cashier       ${terminal.cashier}`);
    say(`  customer      ${terminal.customer}`);
    say(`  manager PIN   ${demoSecrets.managerPin}`);
    say(`  demo API key  ${seed.apiKey}`);
    say(`  HQ login      ${seed.hqUser} / ${demoSecrets.hqPassword}`);
    say(`  endpoints     ${endpointsPath}`);
    say(`  store code    ${staticCode}  (its sticker: kauri sticker --store ${seed.storeCode} --out sticker.pdf)`);
    say((await QRCode.toString(staticCode, { type: 'terminal', small: true })).trimEnd());
    if (spawnSync('which', ['socat']).status !== 0)
      say('  (socat is not installed: running without the simulated printer and pole display)');
    say('Take the bridge down and bring it back: type "bridge stop" / "bridge start" here, or run');
    say(`  npx kauri demo-bridge stop --data ${dataDir}   (and: demo-bridge start)`);
    say('Press Ctrl-C to stop.');
    listenForCommands(say, dataDir, {
      stop: async () => {
        const running = bridge;
        if (!running) return 'the bridge is already stopped';
        bridge = undefined;
        await running.close();
        return 'bridge stopped: the counter is offline (no new payment can start; refunds wait in its outbox)';
      },
      start: async () => {
        if (bridge) return `the bridge is already running at ${bridge.url}`;
        bridge = await startBridge(bridgeOptions);
        return `bridge running again at ${bridge.url}: the counter reconnects and catches up`;
      },
    });

    for (const c of children) {
      c.proc.once('exit', (code) => {
        if (!stopping) {
          process.stderr.write(
            `kauri: the ${c.name} process stopped unexpectedly (exit ${code}); see ${join(logsDir, `${c.name}.log`)}\n`,
          );
          void stopAll(1);
        }
      });
    }
  } catch (err) {
    process.stderr.write(`kauri: start failed: ${(err as Error).message.split('\n')[0]}\n`);
    await stopAll(1);
  }
}

/**
 * The bridge's outage switch: `kauri demo-bridge stop|start` writes what it wants into
 * the data folder and sends SIGUSR2 (SIGUSR1 belongs to Node's inspector); the same can be
 * typed as "bridge stop" / "bridge start" when this runs in the foreground of a terminal.
 */
function listenForCommands(
  say: (line: string) => void,
  dataDir: string,
  bridge: { stop(): Promise<string>; start(): Promise<string> },
): void {
  let busy = Promise.resolve();
  const run = (line: string) => {
    busy = busy.then(async () => {
      try {
        if (line === 'bridge stop') say(await bridge.stop());
        else if (line === 'bridge start') say(await bridge.start());
        else say('commands: "bridge stop", "bridge start" (Ctrl-C stops everything)');
      } catch (err) {
        say(`kauri: ${line} failed: ${(err as Error).message.split('\n')[0]}`);
      }
    });
  };
  process.on('SIGUSR2', () => {
    let wanted = '';
    try {
      wanted = readFileSync(join(dataDir, WANTED_FILE), 'utf8').trim();
    } catch {
      return; // nothing was asked
    }
    if (wanted === 'stop' || wanted === 'start') run(`bridge ${wanted}`);
  });
  // A background job that reads its terminal is stopped by the kernel (SIGTTIN): read
  // typed lines only when we own the terminal's foreground.
  if (!process.stdin.isTTY || !inForeground()) return;
  const rl = createInterface({ input: process.stdin, terminal: false });
  rl.on('line', (raw) => {
    const line = raw.trim().toLowerCase().replace(/\s+/g, ' ');
    if (line) run(line);
  });
}

function inForeground(): boolean {
  const r = spawnSync('ps', ['-o', 'tpgid=,pgid=', '-p', String(process.pid)], { encoding: 'utf8' });
  const [tpgid, pgid] = (r.stdout ?? '').trim().split(/\s+/);
  return r.status === 0 && !!tpgid && tpgid === pgid;
}

function spawnChild(name: string, args: string[], logsDir: string, env: NodeJS.ProcessEnv = {}): Child {
  const proc = spawn(process.execPath, [KAURI, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    // Children exit when this process goes, even if it is killed outright (stdin closes).
    env: { ...process.env, KAURI_EXIT_WITH_PARENT: '1', ...env },
  });
  const log = join(logsDir, `${name}.log`);
  writeFileSync(log, '');
  const append = (d: Buffer) => {
    try {
      writeFileSync(log, d, { flag: 'a' });
    } catch {
      /* the log is best effort */
    }
  };
  proc.stdout!.on('data', append);
  proc.stderr!.on('data', append);
  return { name, proc };
}

function waitForLine(child: Child, pattern: RegExp, timeoutMs: number): Promise<string> {
  return new Promise((resolveLine, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = pattern.exec(out);
      if (m) {
        cleanup();
        resolveLine(m[1]!);
      }
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(
        new Error(
          `the ${child.name} simulator exited (${code}) before it was ready: ${out.trim().split('\n').pop() ?? ''}`,
        ),
      );
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`the ${child.name} simulator was not ready within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      child.proc.stdout!.off('data', onData);
      child.proc.stderr!.off('data', onData);
      child.proc.off('exit', onExit);
    };
    child.proc.stdout!.on('data', onData);
    child.proc.stderr!.on('data', onData);
    child.proc.once('exit', onExit);
  });
}

async function stopChild(c: Child): Promise<void> {
  if (c.proc.exitCode !== null || c.proc.signalCode !== null) return;
  await new Promise<void>((done) => {
    const timer = setTimeout(() => c.proc.kill('SIGKILL'), 5000);
    c.proc.once('exit', () => {
      clearTimeout(timer);
      done();
    });
    c.proc.kill('SIGTERM');
  });
}

/**
 * The demo counter: a headless terminal paired with the demo store (once per data folder),
 * its refunds approved by the demo manager PIN.
 */
async function startTerminal(o: {
  bridge: Bridge;
  storeId: string;
  managerPin: string;
  dataDir: string;
  base: number;
  logsDir: string;
  children: Child[];
  printer: string;
  display: string;
}): Promise<{ bridgeWs: string; cashier: string; customer: string }> {
  await o.bridge.terminals.repo.setManagerPin(o.storeId, o.managerPin);
  const bridgeWs = `${o.bridge.url.replace(/^http/, 'ws')}/terminal`;
  const termDir = join(o.dataDir, 'terminal');
  const args = [
    'terminal',
    '--bridge',
    bridgeWs,
    '--data',
    termDir,
    '--headless',
    '--ui-port',
    String(o.base + 10),
    '--printer',
    o.printer,
    '--display',
    o.display,
  ];
  const env: NodeJS.ProcessEnv = {};
  if (!existsSync(join(termDir, 'terminal.db'))) {
    // In the counter's environment, not on its command line, where ps would show it.
    const { code } = await o.bridge.terminals.createPairingCode(o.storeId, { terminalName: 'Demo counter 1' });
    env.KAURI_PAIRING_CODE = code;
  }
  const child = spawnChild('terminal', args, o.logsDir, env);
  o.children.push(child);
  const cashier = await waitForLine(child, /cashier (\S+)/, 60_000);
  const customer = cashier.replace(/\/cashier$/, '/customer');
  return { bridgeWs, cashier, customer };
}
