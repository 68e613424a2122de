import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { SerialPort } from 'serialport';
import { VfdScreen } from './vfd.js';

// A pole display at the far end of a serial line: FILE always holds the two lines on
// the glass (trailing blanks trimmed), replaced atomically after each update.

export interface DisplaySimOptions {
  device: string;
  outFile: string;
  log?: (line: string) => void;
}

export interface DisplaySim {
  lines(): string[];
  stop(): Promise<void>;
}

export async function startDisplaySim(opts: DisplaySimOptions): Promise<DisplaySim> {
  const screen = new VfdScreen();
  mkdirSync(dirname(opts.outFile), { recursive: true });
  const save = () => {
    const tmp = `${opts.outFile}.tmp`;
    writeFileSync(tmp, screen.lines().join('\n') + '\n');
    renameSync(tmp, opts.outFile);
  };
  save();
  const port = new SerialPort({ path: opts.device, baudRate: 9600, autoOpen: false });
  await new Promise<void>((resolve, reject) =>
    port.open((err) => (err ? reject(new Error(`cannot open ${opts.device}: ${err.message}`)) : resolve())),
  );
  port.on('data', (chunk: Buffer) => {
    screen.feed(chunk);
    save();
  });
  port.on('error', (err) => opts.log?.(`display sim: ${opts.device}: ${err.message}`));
  return {
    lines: () => screen.lines(),
    stop: () => new Promise<void>((resolve) => (port.isOpen ? port.close(() => resolve()) : resolve())),
  };
}
