import { InvalidArgumentError, type Command } from 'commander';

// What every `kauri sim …` command shares: how it listens and how it stops.

/** commander parser for --port; 0 lets the system pick a free port. */
export function portNumber(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError('must be a port number (0 picks a free one)');
  return n;
}

/** --port (default `defaultPort`) and --host, as every gateway simulator listens. */
export function listenOptions(cmd: Command, defaultPort: number): Command {
  return cmd
    .option('--port <n>', 'port to listen on (0 = any free port)', portNumber, defaultPort)
    .option('--host <addr>', 'address to listen on', '127.0.0.1');
}

/** Resolves at the first SIGINT or SIGTERM (and stops listening for them), for the command to close its server. */
export function waitForStopSignal(): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
