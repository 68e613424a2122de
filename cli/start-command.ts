import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';

// `kauri start` and `kauri demo-bridge`: what they take, and the outage switch. What starts the
// system lives in start.ts and loads only when `kauri start` runs.

function port(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1024 || n > 65_000)
    throw new InvalidArgumentError('the port base is a whole number from 1024 to 65000');
  return n;
}

export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description('run the whole system on this machine: bridge, channel simulators, devices, a paired terminal')
    .option('--data <dir>', 'data folder (databases, simulator state, printer output)', './data')
    .option('--port-base <n>', 'ports: base+0 bridge, +1 wechat, +2 alipay, +3 bank, +10 terminal screens', port, 7300)
    .action(async (opts: { data: string; portBase: number }) => {
      // The bridge, the channels and the device simulators load only when the system starts.
      const { runStart } = await import('./start.js');
      await runStart(resolve(opts.data), opts.portBase);
    });
}

/** What `kauri demo-bridge` asks of a running `kauri start`, written into its data folder. */
export const WANTED_FILE = 'bridge-wanted';

/** `kauri demo-bridge stop|start`: the outage switch of a running `kauri start`, from another shell. */
export function registerDemoBridgeCommand(program: Command): void {
  program
    .command('demo-bridge')
    .description(
      'take the bridge of a running `kauri start` down (stop) or bring it back (start), to watch the counter work offline',
    )
    .argument('<action>', 'stop | start', (v) => {
      if (v !== 'stop' && v !== 'start') throw new InvalidArgumentError('say stop or start');
      return v as 'stop' | 'start';
    })
    .option('--data <dir>', 'the data folder `kauri start` was given', './data')
    .action(async (action: 'stop' | 'start', opts: { data: string }) => {
      const file = join(resolve(opts.data), 'endpoints.json');
      if (!existsSync(file))
        throw new Error(`${file} does not exist: is kauri start running with --data ${opts.data}?`);
      const ep = JSON.parse(readFileSync(file, 'utf8')) as { pid?: number; bridge: string };
      if (!ep.pid) throw new Error(`${file} names no kauri start process`);
      try {
        process.kill(ep.pid, 0);
        writeFileSync(join(resolve(opts.data), WANTED_FILE), `${action}\n`);
        process.kill(ep.pid, 'SIGUSR2');
      } catch {
        throw new Error(`kauri start (pid ${ep.pid}) is not running`);
      }
      const want = action === 'start';
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        const up = await fetch(new URL('/healthz', ep.bridge)).then(
          (r) => r.ok,
          () => false,
        );
        if (up === want) {
          process.stdout.write(want ? `bridge running at ${ep.bridge}\n` : 'bridge stopped: the counter is offline\n');
          return;
        }
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error(`the bridge did not ${action} within 30 s (see the logs in ${join(resolve(opts.data), 'logs')})`);
    });
}
