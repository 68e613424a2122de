import { resolve } from 'node:path';
import type { Command } from 'commander';
import { waitForStopSignal } from '../common/command.js';
import { registerDisplaySimCommand } from '../display/command.js';

export function registerPrinterSimCommand(sim: Command): void {
  sim
    .command('printer')
    .description(
      'an ESC/POS receipt printer on a serial device (e.g. one end of a socat pty pair) or TCP; writes each job to OUT as NNNN.bin + NNNN.txt, answers DLE EOT with OUT/status (ok, paper-out, cover-open, offline)',
    )
    .option('--device <path>', 'serial device to read, e.g. /dev/pts/4')
    .option('--tcp <port>', 'also listen on 127.0.0.1:PORT like a network printer (0: any free port)')
    .requiredOption('--out <dir>', 'folder for the printed jobs and the status file')
    .action(async (o: { device?: string; tcp?: string; out: string }) => {
      let tcpPort: number | undefined;
      if (o.tcp !== undefined) {
        tcpPort = Number(o.tcp);
        if (!Number.isInteger(tcpPort) || tcpPort < 0 || tcpPort > 65535)
          throw new Error(`--tcp must be a port number, got "${o.tcp}"`);
      }
      if (!o.device && tcpPort === undefined) throw new Error('give --device PATH (or --tcp PORT)');
      const outDir = resolve(o.out);
      // The serial port loads only when the simulator runs, not for --help.
      const { startPrinterSim } = await import('./printer-sim.js');
      const printer = await startPrinterSim({
        device: o.device,
        tcpPort,
        outDir,
        log: (l) => process.stderr.write(`${l}\n`),
      });
      const where = [o.device, printer.tcpPort !== undefined ? `tcp:127.0.0.1:${printer.tcpPort}` : undefined]
        .filter(Boolean)
        .join(' and ');
      process.stdout.write(`printer simulator on ${where}, printing into ${outDir}\n`);
      await waitForStopSignal();
      await printer.stop();
    });
}

/** `kauri sim printer` and `kauri sim display`. */
export function registerDeviceSimCommands(sim: Command): void {
  registerPrinterSimCommand(sim);
  registerDisplaySimCommand(sim);
}
