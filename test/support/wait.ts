// Polling for a condition in end-to-end tests: a real process, file or socket gets there
// in its own time, and a test that fails should say what it was waiting for.

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Calls `fn` every `everyMs` until it returns something truthy (returned), or throws after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  fn: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 15_000,
  everyMs = 25,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}
