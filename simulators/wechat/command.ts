import { Command, InvalidArgumentError } from 'commander';
import { listenOptions, waitForStopSignal } from '../common/command.js';
import { BILL_LAYOUTS, isBillLayout, type BillLayout } from './bill.js';
import { parseMerchantSpec, MerchantSpecError, type Merchant } from './merchants.js';

function merchant(v: string, prev: Merchant[] | undefined): Merchant[] {
  try {
    return [...(prev ?? []), parseMerchantSpec(v)];
  } catch (err) {
    if (err instanceof MerchantSpecError) throw new InvalidArgumentError(err.message);
    throw err;
  }
}

export function registerWechatSimCommand(sim: Command): void {
  listenOptions(sim.command('wechat'), 7301)
    .description(
      'WeChat Pay overseas API v2 simulator (XML, MD5/HMAC-SHA256, notifies, statements, OAuth, /sim/ control)',
    )
    .option('--state <dir>', 'folder for state (orders, notifies, clock) and, with --tls, certificates')
    .option('--tls', 'serve HTTPS and require the merchant client certificate on /secapi/*')
    .option(
      '--merchant <spec>',
      'another merchant: mch_id=…,appid=wx…,key=<32 chars>[,appsecret=…][,currency=NZD] (repeatable)',
      merchant,
    )
    .option(
      '--bill-layout <layout>',
      `statement layout for merchants that set none: ${BILL_LAYOUTS.join(', ')} (default overseas-en)`,
      (v: string): BillLayout => {
        if (!isBillLayout(v)) throw new InvalidArgumentError(`--bill-layout must be one of ${BILL_LAYOUTS.join(', ')}`);
        return v;
      },
    )
    .action(
      async (opts: {
        port: number;
        host: string;
        state?: string;
        tls?: boolean;
        merchant?: Merchant[];
        billLayout?: BillLayout;
      }) => {
        // The server loads only when the simulator runs, not for --help.
        const { startWechatSim } = await import('./server.js');
        const sim = await startWechatSim({
          port: opts.port,
          host: opts.host,
          stateDir: opts.state,
          tls: Boolean(opts.tls),
          merchants: opts.merchant ?? [],
          billLayout: opts.billLayout,
        });
        process.stdout.write(`wechat simulator listening on ${sim.url}\n`);
        if (sim.clientCerts.length > 0) {
          process.stdout.write(
            `client certificate: ${sim.clientCerts[0]!.p12} (passphrase ${sim.clientCerts[0]!.passphrase})\n`,
          );
        }
        await waitForStopSignal();
        await sim.close().catch(() => undefined);
      },
    );
}
