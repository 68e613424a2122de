// A progress bar on stderr for big files; silent when stderr is not a terminal (logs,
// tests) or the files are small, so stdout stays the command's only output.

const MIN_BYTES = 8 * 1024 * 1024;

export function progressBar(
  stream: NodeJS.WriteStream,
): { update: (done: number, total: number) => void; clear: () => void } | undefined {
  if (!stream.isTTY) return undefined;
  let last = 0;
  let shown = false;
  return {
    update(done, total) {
      if (total < MIN_BYTES) return;
      const now = Date.now();
      if (now - last < 100 && done < total) return;
      last = now;
      const width = 30;
      const frac = Math.min(1, done / total);
      const fill = Math.round(frac * width);
      stream.write(
        `\rreconcile [${'#'.repeat(fill)}${'-'.repeat(width - fill)}] ${Math.round(frac * 100)}% ${(done / 1048576).toFixed(0)}/${(total / 1048576).toFixed(0)} MB`,
      );
      shown = true;
    },
    clear() {
      if (shown) stream.write('\r\x1b[K');
      shown = false;
    },
  };
}
