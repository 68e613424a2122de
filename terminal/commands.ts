import { resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';

// Commands of the counter app: each registers itself here. The counter, its database and the
// device drivers load only when a command runs, so `--help` costs no more than commander.
export function registerTerminalCommands(program: Command): void {
  program
    .command('print-test')
    .description(
      'print a test page (text, Chinese, a native QR code, a cut) and wait for the printer to report it printed',
    )
    .requiredOption(
      '--printer <spec>',
      'serial:/dev/ttyX?baud=9600 | usb:VID:PID | usb:/dev/usb/lp0 | tcp:HOST:PORT, optionally &profile=NAME',
    )
    .action(async (o: { printer: string }) => {
      const [{ printTestPage }, { DeviceError }] = await Promise.all([
        import('./drivers/escpos/print-test.js'),
        import('./drivers/errors.js'),
      ]);
      try {
        const r = await printTestPage(o.printer);
        process.stdout.write(`printed: test page (${r.bytes} bytes, profile ${r.profile}) on ${r.spec}\n`);
      } catch (err) {
        if (err instanceof DeviceError) throw new Error(`${err.code}: ${err.message}`);
        throw err;
      }
    });
  program
    .command('terminal')
    .description('the counter app: cashier and customer screens, linked to the bridge')
    .option(
      '--bridge <wsurl>',
      "the bridge's terminal endpoint, e.g. ws://127.0.0.1:7300/terminal (remembered after pairing)",
    )
    .requiredOption('--data <dir>', "this counter's data folder (its SQLite: outbox, sales, journal, credential)")
    .option(
      '--pair <code>',
      'pair with the bridge using a one-time code from HQ (once per data folder); "-" reads it from standard input, and KAURI_PAIRING_CODE is used when the folder is not yet paired (neither shows the code in ps)',
    )
    .option('--name <name>', 'with --pair: what HQ calls this counter')
    .option('--headless', 'serve the screens over loopback HTTP instead of opening Electron windows')
    .option(
      '--ui-port <n>',
      'port of the loopback screens (0 = any free port)',
      (v) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 0 || n > 65535)
          throw new InvalidArgumentError('a port is a whole number from 0 to 65535');
        return n;
      },
      7310,
    )
    .option(
      '--printer <spec>',
      'receipt printer: serial:/dev/ttyX?baud=9600 | usb:VID:PID | usb:/dev/usb/lpN | tcp:HOST:PORT | none',
      'none',
    )
    .option('--display <spec>', 'pole display: serial:/dev/ttyX?protocol=epson|cd5220 | none', 'none')
    .option(
      '--scanner <spec>',
      'serial payment-code scanner (keyboard-wedge scanners type into the scan field) | none',
      'none',
    )
    .action(async (o) => {
      const [{ pairingCodeFor }, { launchElectron, runTerminal }, { counterDevices }] = await Promise.all([
        import('./core/pairing-code.js'),
        import('./core/run.js'),
        import('./core/devices.js'),
      ]);
      o.pair = await pairingCodeFor({
        pair: o.pair,
        dataDir: resolve(o.data),
        warn: (l) => process.stderr.write(`${l}\n`),
      });
      if (!o.headless) {
        // Pair first (here, in plain Node), then hand the data folder to the shell.
        if (o.pair) {
          const t = await runTerminal({ ...o, headless: true, uiPort: 0 }, counterDevices);
          await t.close();
        }
        process.exit(await launchElectron({ ...o, headless: false }));
      }
      const t = await runTerminal({ ...o, headless: true }, counterDevices);
      const stop = async () => {
        await t.close().catch(() => undefined);
        process.exit(0);
      };
      process.once('SIGINT', () => void stop());
      process.once('SIGTERM', () => void stop());
      process.stdout.write('terminal ready\n');
    });
}
