import { Command, InvalidArgumentError } from 'commander';
import { parseMerchantSpec, MerchantSpecError, type Merchant } from './merchants.js';
import { startWechatSim } from './server.js';

function port(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('must be a port number (0 picks a free one)');
  return n;
}

function merchant(v: string, prev: Merchant[] | undefined): Merchant[] {
  try {
    return [...(prev ?? []), parseMerchantSpec(v)];
  } catch (err) {
    if (err instanceof MerchantSpecError) throw new InvalidArgumentError(err.message);
    throw err;
  }
}

export function registerWechatSimCommand(sim: Command): void {
  sim
    .command('wechat')
    .description('WeChat Pay overseas API v2 simulator (XML, MD5/HMAC-SHA256, notifies, statements, OAuth, /sim/ control)')
    .option('--port <n>', 'port to listen on (0 = any free port)', port, 7301)
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--state <dir>', 'folder for state (orders, notifies, clock) and, with --tls, certificates')
    .option('--tls', 'serve HTTPS and require the merchant client certificate on /secapi/*')
    .option(
      '--merchant <spec>',
      'another merchant: mch_id=…,appid=wx…,key=<32 chars>[,appsecret=…][,currency=NZD] (repeatable)',
      merchant,
    )
    .action(async (opts: { port: number; host: string; state?: string; tls?: boolean; merchant?: Merchant[] }) => {
      const sim = await startWechatSim({
        port: opts.port,
        host: opts.host,
        stateDir: opts.state,
        tls: Boolean(opts.tls),
        merchants: opts.merchant ?? [],
      });
      process.stdout.write(`wechat simulator listening on ${sim.url}\n`);
      if (sim.clientCerts.length > 0) {
        process.stdout.write(`client certificate: ${sim.clientCerts[0]!.p12} (passphrase ${sim.clientCerts[0]!.passphrase})\n`);
      }
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          void sim.close().then(resolve, resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}
