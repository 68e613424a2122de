import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The jobs the printer simulator wrote to `dir` (0001.txt + 0001.bin, …), in order. */
export const printedJobs = (dir: string) =>
  readdirSync(dir)
    .filter((f) => /^\d{4}\.txt$/.test(f))
    .sort()
    .map((f) => ({
      name: f,
      text: readFileSync(join(dir, f), 'utf8'),
      bin: readFileSync(join(dir, f.replace('.txt', '.bin'))),
    }));
