import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startDisplaySim } from '../simulators/display/display-sim.js';
import { startPrinterSim } from '../simulators/printer/printer-sim.js';

// Simulated counter hardware for `kauri start` and the tests: a socat pty pair per
// device, the simulator on one end, the terminal's driver on the other.

export class SocatMissingError extends Error {
  readonly code = 'socat_missing';
  constructor() {
    super('socat is not installed (apt-get install socat): the printer and display simulators are not started');
  }
}

export function socatAvailable(): boolean {
  const r = spawnSync('socat', ['-V'], { stdio: 'ignore' });
  return r.error === undefined && r.status === 0;
}

export interface PtyPair {
  /** Link for one side (the terminal's driver). */
  a: string;
  /** Link for the other side (the simulator). */
  b: string;
  process: ChildProcess;
  /** Kills socat; it removes both links. */
  stop(): Promise<void>;
}

/**
 * `socat -d -d pty,raw,echo=0,link=A pty,raw,echo=0,link=B`, resolved once both links
 * exist (socat makes them about a second after start).
 */
export async function createPtyPair(a: string, b: string, timeoutMs = 10_000): Promise<PtyPair> {
  if (!socatAvailable()) throw new SocatMissingError();
  for (const l of [a, b]) rmSync(l, { force: true });
  const proc = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-2000);
  });
  const exited = new Promise<void>((res) => proc.once('exit', () => res()));
  const deadline = Date.now() + timeoutMs;
  while (!(existsSync(a) && existsSync(b))) {
    if (proc.exitCode !== null)
      throw new Error(`socat exited (${proc.exitCode}): ${stderr.trim().split('\n').at(-1) ?? ''}`);
    if (Date.now() > deadline) {
      proc.kill('SIGTERM');
      throw new Error(`socat made no ptys within ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return {
    a,
    b,
    process: proc,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        await exited;
      }
    },
  };
}

export interface DeviceSimulators {
  /** What to give the terminal: `--printer serial:<printerDevice>`. */
  printerDevice: string;
  displayDevice: string;
  printerSpec: string;
  displaySpec: string;
  /** Where the printer simulator writes jobs (and reads `status`). */
  printerOut: string;
  /** The file holding the display's two lines. */
  displayOut: string;
  stop(): Promise<void>;
}

/**
 * Starts socat pairs and the printer and display simulators under DATA/devices.
 * Throws SocatMissingError when socat is absent (kauri start then runs without them
 * and says so).
 */
export async function startDeviceSimulators(opts: {
  dataDir: string;
  log?: (line: string) => void;
}): Promise<DeviceSimulators> {
  const data = resolve(opts.dataDir);
  const dir = join(data, 'devices');
  mkdirSync(dir, { recursive: true });
  const printerOut = join(data, 'printer');
  const displayOut = join(data, 'display.txt');
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  try {
    const printerPair = await createPtyPair(join(dir, 'printer'), join(dir, 'printer-sim'));
    stops.push(printerPair.stop);
    const displayPair = await createPtyPair(join(dir, 'display'), join(dir, 'display-sim'));
    stops.push(displayPair.stop);
    const printer = await startPrinterSim({ device: printerPair.b, outDir: printerOut, log: opts.log });
    stops.push(printer.stop);
    const display = await startDisplaySim({ device: displayPair.b, outFile: displayOut, log: opts.log });
    stops.push(display.stop);
    return {
      printerDevice: printerPair.a,
      displayDevice: displayPair.a,
      printerSpec: `serial:${printerPair.a}`,
      displaySpec: `serial:${displayPair.a}`,
      printerOut,
      displayOut,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
