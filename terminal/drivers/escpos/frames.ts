// Where commands begin in an ESC/POS job, so the driver can pause between chunks to
// ask for status (DLE EOT) without putting the request inside another command's
// parameters, where a printer would read it as data (docs/protocols/escpos-printer.md). Only lengths
// are known here, from the command tables; anything unknown ends the search and the
// rest of the job goes as one piece.

function commandLength(b: Uint8Array, i: number): number | undefined {
  const c = b[i]!;
  const at = (k: number) => b[i + k];
  const word = (k: number) => (b[i + k] ?? 0) + 256 * (b[i + k + 1] ?? 0);
  if (c >= 0x20 || c === 0x0a || c === 0x0d || c === 0x09 || c === 0x00) return 1;
  const cmd = at(1);
  if (cmd === undefined) return undefined;
  if (c === 0x1b) {
    if (cmd === 0x40 || cmd === 0x32 || cmd === 0x69 || cmd === 0x6d) return 2;
    if (cmd === 0x70) return 5;
    if (cmd === 0x24 || cmd === 0x5c || cmd === 0x63) return 4;
    if (cmd === 0x2a) return 5 + word(3) * ((at(2) ?? 0) >= 32 ? 3 : 1);
    if ('E-!aMtdJ3RGV{ Ue=4r%'.includes(String.fromCharCode(cmd))) return 3;
    return undefined;
  }
  if (c === 0x1d) {
    if (cmd === 0x56) return [0, 1, 48, 49].includes(at(2) ?? 0) ? 3 : 4;
    if (cmd === 0x76) return 8 + word(4) * word(6);
    if (cmd === 0x28) return 5 + word(3);
    if (cmd === 0x4c || cmd === 0x57 || cmd === 0x50 || cmd === 0x24) return 4;
    if (cmd === 0x6b) {
      const m = at(2) ?? 0;
      if (m > 6) return 4 + (at(3) ?? 0);
      for (let j = i + 3; j < b.length; j++) if (b[j] === 0) return j + 1 - i;
      return undefined;
    }
    if ('!BhwHfarIb/'.includes(String.fromCharCode(cmd))) return 3;
    return undefined;
  }
  if (c === 0x1c) {
    if (cmd === 0x26 || cmd === 0x2e) return 2;
    if (cmd === 0x53 || cmd === 0x70) return 4;
    if (cmd === 0x28) return 5 + word(3);
    if ('!-WC'.includes(String.fromCharCode(cmd))) return 3;
    return undefined;
  }
  if (c === 0x10) return cmd === 0x14 ? 5 : 3;
  return undefined;
}

/** Offsets (ascending, excluding 0) at which a command starts; the job length is always last. */
export function commandBoundaries(job: Uint8Array): number[] {
  const out: number[] = [];
  let i = 0;
  while (i < job.length) {
    const len = commandLength(job, i);
    if (len === undefined) break;
    i += len;
    if (i < job.length && job[i - 1] === 0x0a)
      out.push(i); // after a line feed: a natural pause
    else if (i < job.length && len > 1) out.push(i);
  }
  out.push(job.length);
  return [...new Set(out.filter((o) => o > 0 && o <= job.length))];
}

/** Cuts a job into pieces of about `size` bytes, each ending where a command ends. */
export function chunkJob(job: Uint8Array, size: number): Uint8Array[] {
  const bounds = commandBoundaries(job);
  const chunks: Uint8Array[] = [];
  let start = 0;
  let last = 0;
  for (const b of bounds) {
    if (b - start > size && last > start) {
      chunks.push(job.subarray(start, last));
      start = last;
    }
    last = b;
  }
  if (start < job.length) chunks.push(job.subarray(start));
  return chunks;
}
