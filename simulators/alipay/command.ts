import { Command, InvalidArgumentError } from 'commander';
import { listenOptions, waitForStopSignal } from '../common/command.js';
import type { Merchant } from './model.js';

function merchant(v: string, prev: Merchant[]): Merchant[] {
  const f = Object.fromEntries(v.split(',').map((kv) => kv.split('=', 2) as [string, string]));
  if (!/^2088\d{12}$/.test(f.partner ?? '')) throw new InvalidArgumentError('partner must be 16 digits starting 2088');
  if (!/^[0-9a-z]{32}$/.test(f.key ?? ''))
    throw new InvalidArgumentError('key must be 32 lowercase letters and digits (the MD5 key)');
  return [...prev, { partner: f.partner!, md5Key: f.key!, name: f.name ?? `Merchant ${f.partner}` }];
}

export function registerAlipaySimCommand(sim: Command): void {
  listenOptions(sim.command('alipay'), 7302)
    .description(
      'Alipay cross-border (MAPI service=) simulator: gateway.do, cashier pages, notifies, files, /sim/ control',
    )
    .option('--state <dir>', 'folder for state (trades, notifies, clock) and its RSA keys; memory only without it')
    .option('--tls', 'serve HTTPS (CA and certificate generated into --state: ca.pem)')
    .option(
      '--merchant <spec>',
      'another merchant: partner=2088…,key=<32 chars>[,name=…] (repeatable)',
      merchant,
      [] as Merchant[],
    )
    .action(async (opts: { port: number; host: string; state?: string; tls?: boolean; merchant: Merchant[] }) => {
      // The server loads only when the simulator runs, not for --help.
      const { startAlipaySim } = await import('./server.js');
      const sim = await startAlipaySim({
        port: opts.port,
        host: opts.host,
        stateDir: opts.state,
        tls: Boolean(opts.tls),
        merchants: opts.merchant,
      });
      process.stdout.write(`alipay simulator listening on ${sim.url}\n`);
      await waitForStopSignal();
      await sim.close().catch(() => undefined);
    });
}
