import { resolve } from 'node:path';
import type { Command } from 'commander';

export function registerDisplaySimCommand(sim: Command): void {
  sim
    .command('display')
    .description(
      'a 2x20 VFD pole display (Epson and CD5220 command sets) on a serial device; FILE holds the two lines shown',
    )
    .requiredOption('--device <path>', 'serial device to read, e.g. /dev/pts/5')
    .requiredOption('--out <file>', 'file that holds the two lines on the display')
    .action(async (o: { device: string; out: string }) => {
      const outFile = resolve(o.out);
      // The serial port loads only when the simulator runs, not for --help.
      const { startDisplaySim } = await import('./display-sim.js');
      const display = await startDisplaySim({ device: o.device, outFile, log: (l) => process.stderr.write(`${l}\n`) });
      process.stdout.write(`display simulator on ${o.device}, showing in ${outFile}\n`);
      await new Promise<void>((res) => {
        process.once('SIGINT', () => res());
        process.once('SIGTERM', () => res());
      });
      await display.stop();
    });
}
