import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { pairingCodeFor } from './pairing-code.js';

// The pairing code need not be on the command line (ps shows it).

describe('where kauri terminal takes its pairing code from', () => {
  const fresh = () => mkdtempSync(join(tmpdir(), 'kauri-pair-'));

  it('reads `--pair -` from standard input', async () => {
    expect(
      await pairingCodeFor({
        pair: '-',
        dataDir: fresh(),
        env: {},
        stdin: Readable.from(['ABCDE-FGHJK\n', 'ignored\n']),
      }),
    ).toBe('ABCDE-FGHJK');
    await expect(
      pairingCodeFor({ pair: '-', dataDir: fresh(), env: {}, stdin: Readable.from(['']) }),
    ).rejects.toMatchObject({ code: 'config_invalid', message: expect.stringContaining('standard input') });
  });

  it('takes KAURI_PAIRING_CODE while the folder is unpaired, and keeps it from child processes', async () => {
    const env: NodeJS.ProcessEnv = { KAURI_PAIRING_CODE: ' ABCDE-FGHJK ' };
    expect(await pairingCodeFor({ dataDir: fresh(), env })).toBe('ABCDE-FGHJK');
    expect(env.KAURI_PAIRING_CODE).toBeUndefined();
    const paired = fresh();
    writeFileSync(join(paired, 'terminal.db'), '');
    expect(await pairingCodeFor({ dataDir: paired, env: { KAURI_PAIRING_CODE: 'ABCDE-FGHJK' } })).toBeUndefined();
  });

  it('still takes --pair CODE (the CLI contract), with a warning', async () => {
    const warnings: string[] = [];
    expect(
      await pairingCodeFor({ pair: 'ABCDE-FGHJK', dataDir: fresh(), env: {}, warn: (l) => warnings.push(l) }),
    ).toBe('ABCDE-FGHJK');
    expect(warnings.join()).toMatch(/other users of this machine \(ps\); prefer KAURI_PAIRING_CODE/);
  });
});
