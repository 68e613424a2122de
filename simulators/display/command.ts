import { resolve } from 'node:path';
import type { Command } from 'commander';
import { startDisplaySim } from './display-sim.js';

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
      const display = await startDisplaySim({ device: o.device, outFile, log: (l) => process.stderr.write(`${l}\n`) });
      process.stdout.write(`display simulator on ${o.device}, showing in ${outFile}\n`);
      await new Promise<void>((res) => {
        process.once('SIGINT', () => res());
        process.once('SIGTERM', () => res());
      });
      await display.stop();
    });
}
