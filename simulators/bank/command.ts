import { Command, InvalidArgumentError } from 'commander';
import { listenOptions, waitForStopSignal } from '../common/command.js';
import type { Merchant } from './gateway.js';

function merchant(v: string, prev: Merchant[]): Merchant[] {
  const fields = Object.fromEntries(
    v.split(',').map((kv) => {
      const i = kv.indexOf('=');
      return i < 0 ? [kv, ''] : [kv.slice(0, i), kv.slice(i + 1)];
    }),
  );
  if (!/^\d{1,20}$/.test(fields.v_mid ?? '') || !fields.key)
    throw new InvalidArgumentError('expected v_mid=<digits>,key=<HMAC key>[,notify_url=<URL>]');
  if (fields.notify_url) {
    try {
      new URL(fields.notify_url);
    } catch {
      throw new InvalidArgumentError(`notify_url is not a URL: ${fields.notify_url}`);
    }
  }
  return [...prev, { v_mid: fields.v_mid, key: fields.key, notifyUrl: fields.notify_url || undefined }];
}

function notifyUrl(v: string): string {
  if (!/^https?:\/\//.test(v) || !URL.canParse(v)) throw new InvalidArgumentError(`not an http(s) URL: ${v}`);
  return v;
}

export function registerBankSimCommand(sim: Command): void {
  listenOptions(sim.command('bank'), 7303)
    .description(
      'PayEase-style online-banking gateway simulator (payment page, batched notifies, query, refund, statement, rate source, /sim/ control)',
    )
    .option('--state <dir>', 'folder for state (orders, notifies, clock) and the gateway RSA keys')
    .option(
      '--merchant <spec>',
      'another merchant: v_mid=…,key=…[,notify_url=…] (repeatable)',
      merchant,
      [] as Merchant[],
    )
    .option(
      '--notify-url <url>',
      "the default merchant's (v_mid 8888) back-office notify URL; also POST /sim/merchants",
      notifyUrl,
    )
    .action(async (opts: { port: number; host: string; state?: string; merchant: Merchant[]; notifyUrl?: string }) => {
      // The gateway and its server load only when the simulator runs, not for --help.
      const [{ DEFAULT_MERCHANT }, { startBankSim }] = await Promise.all([
        import('./gateway.js'),
        import('./server.js'),
      ]);
      const merchants = opts.notifyUrl
        ? [{ ...DEFAULT_MERCHANT, notifyUrl: opts.notifyUrl }, ...opts.merchant]
        : opts.merchant;
      const sim = await startBankSim({ port: opts.port, host: opts.host, stateDir: opts.state, merchants });
      process.stdout.write(`bank simulator listening on ${sim.url}\n`);
      await waitForStopSignal();
      await sim.close().catch(() => undefined);
    });
}
