import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { KauriError } from '../../protocol/errors.js';

// Where `kauri terminal` takes its one-time pairing code from. A command line is visible to
// every user of the machine (ps, /proc/PID/cmdline) for as long as the process runs; the
// environment is readable only by this user, and standard input by no one else. So:
// `KAURI_PAIRING_CODE=… kauri terminal …`, or `… --pair -` with the code on standard input.
// `--pair CODE` still works (docs/CONTRACTS.md), with a warning.

export const PAIRING_CODE_ENV = 'KAURI_PAIRING_CODE';

export async function pairingCodeFor(o: {
  pair?: string;
  dataDir: string;
  env?: NodeJS.ProcessEnv;
  stdin?: NodeJS.ReadableStream;
  warn?: (line: string) => void;
}): Promise<string | undefined> {
  const env = o.env ?? process.env;
  const fromEnv = env[PAIRING_CODE_ENV];
  // Not passed on to anything this process starts (the Electron shell).
  delete env[PAIRING_CODE_ENV];
  if (o.pair === '-') {
    const line = await firstLine(o.stdin ?? process.stdin);
    if (!line)
      throw new KauriError(
        'config_invalid',
        '--pair - reads the pairing code from standard input, and none came: e.g. echo CODE | kauri terminal … --pair -',
      );
    return line;
  }
  if (o.pair) {
    o.warn?.(
      `warning: a pairing code on the command line can be read by other users of this machine (ps); prefer ${PAIRING_CODE_ENV}=CODE or --pair - (the code on standard input)`,
    );
    return o.pair;
  }
  // From the environment only while the folder is unpaired: a code left in a service's
  // environment must not make every restart try to pair again.
  if (fromEnv?.trim() && !existsSync(join(o.dataDir, 'terminal.db'))) return fromEnv.trim();
  return undefined;
}

function firstLine(input: NodeJS.ReadableStream): Promise<string | undefined> {
  return new Promise((resolve) => {
    const rl = createInterface({ input, terminal: false });
    let done = false;
    const finish = (v: string | undefined) => {
      if (done) return;
      done = true;
      rl.close();
      resolve(v?.trim() || undefined);
    };
    rl.once('line', finish);
    rl.once('close', () => finish(undefined));
  });
}

/** How to pair, as every "not paired" refusal says it: never with the code on the command line, which ps shows. */
export const HOW_TO_PAIR =
  'pair it once with KAURI_PAIRING_CODE=CODE kauri terminal --bridge WSURL --data DIR (or --pair - to read the code from standard input)';
