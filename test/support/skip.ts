// A test that does not run must say why: a suite skipped for a missing Chromium or database
// looks, in a passing run, like a suite that passed. Every conditional skip goes through
// here (test/skips.test.ts checks that), so the reason is printed whenever it skips.

const said = new Set<string>();

/**
 * True when the tests needing `condition` must be skipped, and then prints `reason` (once per
 * test file: vitest gives each file its own copy of this module). When the condition holds it
 * prints nothing and answers false, so `describe.skipIf(skipUnless(ok, why))` runs as before.
 */
export function skipUnless(condition: unknown, reason: string, warn: (line: string) => void = console.warn): boolean {
  if (condition) return false;
  if (!said.has(reason)) {
    said.add(reason);
    warn(`skipped: ${reason}`);
  }
  return true;
}
