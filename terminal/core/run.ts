import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { systemClock } from '../../protocol/clock.js';
import { KauriError } from '../../protocol/errors.js';
import { parseDeviceSpec } from '../drivers/device-spec.js';
import { Counter, pairTerminal, type CounterDevices } from './counter.js';
import { HOW_TO_PAIR } from './pairing-code.js';
import { startUiServer } from './ui-server.js';

// `kauri terminal`: the counter core, with its screens served on loopback (headless) or
// shown in Electron's two windows.

export interface TerminalRunOptions {
  bridge?: string;
  data: string;
  pair?: string;
  name?: string;
  headless?: boolean;
  uiPort: number;
  printer: string;
  display: string;
  scanner: string;
}

export type DeviceFactory = (o: {
  printer: string;
  display: string;
  scanner: string;
  dataDir: string;
  counter: () => Counter;
}) => Promise<CounterDevices | undefined>;

export async function runTerminal(
  o: TerminalRunOptions,
  devices?: DeviceFactory,
): Promise<{ counter: Counter; url: string; close(): Promise<void> }> {
  for (const [flag, spec] of [
    ['--printer', o.printer],
    ['--display', o.display],
    ['--scanner', o.scanner],
  ] as const) {
    try {
      parseDeviceSpec(spec);
    } catch (err) {
      throw new KauriError('config_invalid', `${flag} ${(err as Error).message}`);
    }
  }
  const dataDir = resolve(o.data);
  if (o.bridge && !/^wss?:\/\//.test(o.bridge))
    throw new KauriError(
      'config_invalid',
      `--bridge must be a ws:// or wss:// URL, e.g. ws://127.0.0.1:7300/terminal (got "${o.bridge}")`,
    );
  if (o.pair) {
    if (!o.bridge) throw new KauriError('config_invalid', '--pair needs --bridge (the bridge that issued the code)');
    const paired = await pairTerminal(dataDir, o.bridge, o.pair, o.name);
    process.stdout.write(`paired as ${paired.terminalId} (${paired.name})\n`);
  }
  if (!existsSync(join(dataDir, 'terminal.db'))) {
    // Checked before anything is created: an unpaired run leaves no half-made data folder.
    throw new KauriError('unauthenticated', `The terminal in ${dataDir} is not paired: ${HOW_TO_PAIR}`);
  }
  const log = pino({ level: process.env.KAURI_LOG_LEVEL ?? 'info' }, pino.destination(2));
  const holder: { counter?: Counter } = {};
  const devs = devices
    ? await devices({
        printer: o.printer,
        display: o.display,
        scanner: o.scanner,
        dataDir,
        counter: () => holder.counter!,
      })
    : undefined;
  const counter = new Counter({ dataDir, clock: systemClock(), log, devices: devs });
  holder.counter = counter;
  if (!counter.paired) {
    counter.db.close();
    throw new KauriError('unauthenticated', `The terminal in ${dataDir} is not paired: ${HOW_TO_PAIR}`);
  }
  counter.start(o.bridge);
  const ui = await startUiServer(counter, { port: o.uiPort });
  process.stdout.write(`cashier ${ui.url}/cashier\ncustomer ${ui.url}/customer\n`);
  return {
    counter,
    url: ui.url,
    async close() {
      await ui.app.close();
      counter.stop();
    },
  };
}

/**
 * Opens the Electron shell, which runs the counter core in its main process (the
 * compiled one: Electron does not run TypeScript). Needs Electron's binary, which these
 * machines cannot download: say so plainly.
 */
export function launchElectron(o: TerminalRunOptions): Promise<number> {
  const require = createRequire(import.meta.url);
  let electron: string;
  try {
    electron = require('electron') as unknown as string;
  } catch {
    throw new KauriError(
      'config_invalid',
      "Electron's binary is not installed here (node node_modules/electron/install.js fetches it where the network allows): use --headless and open the printed URLs",
    );
  }
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const main = [join(root, 'terminal', 'main', 'main.js'), join(root, 'dist', 'terminal', 'main', 'main.js')].find(
    (f) => existsSync(f),
  );
  if (!main) throw new KauriError('config_invalid', 'The Electron shell is not built: run npm run build');
  const child = spawn(electron, [main], {
    stdio: 'inherit',
    env: { ...process.env, KAURI_TERMINAL_OPTIONS: JSON.stringify({ ...o, pair: undefined, data: resolve(o.data) }) },
  });
  return new Promise((res) => child.once('exit', (code) => res(code ?? 0)));
}
