import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import { EscPosDecoder } from './decoder.js';
import { JobRenderer } from './render.js';

// A receipt printer at the far end of a serial line (one end of a socat pty pair) or
// of a TCP 9100 socket. It prints into OUT: each job (everything up to a cut) as
// NNNN.bin (the print bytes) and NNNN.txt (decoded). It answers DLE EOT with what
// OUT/status says at that moment: ok | paper-out | cover-open | offline.
//
// While the status is not ok it prints nothing: bytes that arrive are read (so status
// queries are still answered, as a real printer answers them in real time) and thrown
// away. A job that was under way when the paper ran out is written as it stood, marked
// [INTERRUPTED: …], like the torn half-slip a cashier finds on a real printer.

export type SimStatus = 'ok' | 'paper-out' | 'cover-open' | 'offline';

/** DLE EOT n = 1..4 replies (docs/protocols/escpos-printer.md). */
const REPLIES: Record<SimStatus, [number, number, number, number]> = {
  ok: [0x12, 0x12, 0x12, 0x12],
  'paper-out': [0x1a, 0x32, 0x12, 0x7e],
  'cover-open': [0x1a, 0x16, 0x12, 0x12],
  offline: [0x1a, 0x12, 0x12, 0x12],
};

export interface PrinterSimOptions {
  outDir: string;
  /** Serial device path (a pty). */
  device?: string;
  /** Listen on TCP (port 0: any free port) on 127.0.0.1. */
  tcpPort?: number;
  log?: (line: string) => void;
}

export interface PrinterSim {
  /** The TCP port, when listening. */
  tcpPort?: number;
  /** Jobs written so far. */
  jobs(): number;
  stop(): Promise<void>;
}

export function readSimStatus(outDir: string): SimStatus {
  try {
    const s = readFileSync(join(outDir, 'status'), 'utf8').trim();
    return s in REPLIES ? (s as SimStatus) : 'ok';
  } catch {
    return 'ok';
  }
}

class Session {
  private readonly decoder = new EscPosDecoder();
  private renderer = new JobRenderer();
  private bin: Buffer[] = [];
  private lastStatus: SimStatus = 'ok';

  constructor(
    private readonly sim: Output,
    private readonly reply: (b: Buffer) => void,
  ) {}

  data(chunk: Buffer): void {
    const status = readSimStatus(this.sim.outDir);
    if (status !== 'ok' && this.lastStatus === 'ok') this.interrupt(status);
    this.lastStatus = status;
    for (const cmd of this.decoder.feed(chunk)) {
      const e = cmd.event;
      if (cmd.realtime) {
        if (e?.t === 'status-query' && e.n >= 1 && e.n <= 4) {
          const now = readSimStatus(this.sim.outDir);
          this.reply(Buffer.from([REPLIES[now][e.n - 1]!]));
        }
        continue;
      }
      if (status !== 'ok') continue;
      this.bin.push(cmd.raw);
      if (e) this.renderer.add(e);
      if (e?.t === 'cut') this.finish();
    }
  }

  private interrupt(status: SimStatus): void {
    if (this.renderer.printed) {
      const text = this.renderer.text() + `[INTERRUPTED: ${status}]\n`;
      this.sim.write(Buffer.concat(this.bin), text);
    }
    this.renderer = new JobRenderer();
    this.bin = [];
  }

  private finish(): void {
    this.sim.write(Buffer.concat(this.bin), this.renderer.text());
    this.renderer = new JobRenderer();
    this.bin = [];
  }
}

class Output {
  private next: number;
  count = 0;

  constructor(
    readonly outDir: string,
    private readonly log: (line: string) => void,
  ) {
    mkdirSync(outDir, { recursive: true });
    const used = readdirSync(outDir)
      .map((f) => /^(\d{4,})\.bin$/.exec(f)?.[1])
      .filter((n): n is string => n !== undefined)
      .map(Number);
    this.next = used.length > 0 ? Math.max(...used) + 1 : 1;
  }

  write(bin: Buffer, text: string): void {
    const name = String(this.next++).padStart(4, '0');
    // .txt last, and each by rename, so a reader that sees NNNN.txt sees the whole job.
    for (const [ext, body] of [
      ['bin', bin],
      ['txt', text],
    ] as const) {
      const tmp = join(this.outDir, `.${name}.${ext}.tmp`);
      writeFileSync(tmp, body);
      renameSync(tmp, join(this.outDir, `${name}.${ext}`));
    }
    this.count += 1;
    this.log(`printer sim: job ${name} (${bin.length} bytes)`);
  }
}

export async function startPrinterSim(opts: PrinterSimOptions): Promise<PrinterSim> {
  if (!opts.device && opts.tcpPort === undefined)
    throw new Error('printer simulator needs --device PATH or --tcp PORT');
  const log = opts.log ?? (() => undefined);
  const out = new Output(opts.outDir, log);
  const closers: (() => Promise<void>)[] = [];
  let tcpPort: number | undefined;

  if (opts.device) {
    const device = opts.device;
    const port = new SerialPort({ path: device, baudRate: 9600, autoOpen: false });
    await new Promise<void>((resolve, reject) =>
      port.open((err) => (err ? reject(new Error(`cannot open ${device}: ${err.message}`)) : resolve())),
    );
    const session = new Session(out, (b) => port.write(b));
    port.on('data', (chunk: Buffer) => session.data(chunk));
    port.on('error', (err) => log(`printer sim: ${device}: ${err.message}`));
    closers.push(() => new Promise<void>((resolve) => (port.isOpen ? port.close(() => resolve()) : resolve())));
  }

  if (opts.tcpPort !== undefined) {
    const sockets = new Set<net.Socket>();
    const server = net.createServer((socket) => {
      sockets.add(socket);
      const session = new Session(out, (b) => socket.write(b));
      socket.on('data', (chunk: Buffer) => session.data(chunk));
      socket.on('error', () => undefined);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.tcpPort, '127.0.0.1', () => resolve());
    });
    tcpPort = (server.address() as net.AddressInfo).port;
    closers.push(
      () =>
        new Promise<void>((resolve) => {
          for (const s of sockets) s.destroy();
          server.close(() => resolve());
        }),
    );
  }

  return {
    tcpPort,
    jobs: () => out.count,
    stop: async () => {
      for (const c of closers) await c();
    },
  };
}
