import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { skipUnless } from './support/skip.js';

// No test is skipped without a printed reason: every conditional skip goes through
// skipUnless (which prints why), and nothing is skipped or left to do unconditionally.

const root = join(import.meta.dirname, '..');
const IGNORED = new Set(['node_modules', 'dist', '.git', 'data']);

function testFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (IGNORED.has(e.name)) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...testFiles(p));
    else if (/\.test\.tsx?$/.test(e.name)) out.push(p);
  }
  return out;
}

/** Every skip in a test file's text that does not say why through skipUnless. */
export function silentSkips(text: string): string[] {
  const found: string[] = [];
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    const at = `line ${i + 1}: ${line.trim()}`;
    if (/\.(skipIf|runIf)\(/.test(line) && !/\.skipIf\(\s*$|\.skipIf\(skipUnless\(/.test(line)) found.push(at);
    else if (/\.skipIf\(\s*$/.test(line) && !/^\s*skipUnless\(/.test(lines[i + 1] ?? '')) found.push(at);
    else if (/\b(describe|it|test|suite)\.(skip|todo)\b|\bit\.todo\(|\.todo\(/.test(line)) found.push(at);
    else if (/\bctx\.skip\(|\bcontext\.skip\(/.test(line) && !/skipUnless\(/.test(line)) found.push(at);
  });
  return found;
}

describe('skipped tests say why', () => {
  it('skipUnless prints the reason once when it skips, and nothing when the condition holds', () => {
    const said: string[] = [];
    const warn = (l: string) => said.push(l);
    expect(skipUnless(true, 'never shown', warn)).toBe(false);
    expect(skipUnless('postgres://x', 'never shown', warn)).toBe(false);
    expect(said).toEqual([]);
    expect(skipUnless(false, 'Chromium is missing: the page tests are skipped', warn)).toBe(true);
    expect(skipUnless(undefined, 'Chromium is missing: the page tests are skipped', warn)).toBe(true);
    expect(said).toEqual(['skipped: Chromium is missing: the page tests are skipped']);
  });

  it('finds a silent skip', () => {
    expect(silentSkips("describe.skipIf(!existsSync(CHROMIUM))('x', () => {")).toHaveLength(1);
    expect(silentSkips("describe.runIf(pgUrl)('x', () => {")).toHaveLength(1);
    expect(silentSkips("it.skip('later', () => {})")).toHaveLength(1);
    expect(silentSkips("it.todo('later')")).toHaveLength(1);
    expect(silentSkips('if (!ok) return ctx.skip();')).toHaveLength(1);
    expect(silentSkips("describe.skipIf(skipUnless(ok, 'why'))('x', () => {")).toEqual([]);
    expect(silentSkips("describe.skipIf(\n  skipUnless(ok, 'why'),\n)('x', () => {")).toEqual([]);
    expect(silentSkips("describe.skipIf(\n  !ok,\n)('x', () => {")).toHaveLength(1);
    expect(silentSkips("if (skipUnless(ok, 'why')) return ctx.skip();")).toEqual([]);
  });

  it('every test file skips only through skipUnless', () => {
    const self = join(import.meta.dirname, 'skips.test.ts');
    const silent = testFiles(root)
      .filter((f) => f !== self)
      .flatMap((f) => silentSkips(readFileSync(f, 'utf8')).map((s) => `${relative(root, f)} ${s}`));
    expect(silent).toEqual([]);
  });
});
