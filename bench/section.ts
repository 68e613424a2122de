// Every benchmark owns one section of BENCHMARKS.md, between `<!-- name:start -->` and
// `<!-- name:end -->`, and rewrites only that one, so the benchmarks can run in any order
// (or alone) without erasing each other's results.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const BENCHMARKS_FILE = join(import.meta.dirname, '..', 'BENCHMARKS.md');

const NEW_FILE =
  '# Kauri benchmarks\n\nEach section is written by its benchmark; other sections are left as they are.\n';

/**
 * Replaces (or appends) the section `name` of BENCHMARKS.md, keeping the others.
 * `section` may carry its own start/end markers; without them they are added.
 */
export function writeSection(name: string, section: string, file = BENCHMARKS_FILE): void {
  const begin = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const block = section.trimStart().startsWith(begin) ? section.trim() : `${begin}\n${section.trimEnd()}\n${end}`;
  const current = existsSync(file) ? readFileSync(file, 'utf8') : NEW_FILE;
  const i = current.indexOf(begin);
  const j = current.indexOf(end, i);
  const next =
    i >= 0 && j > i
      ? `${current.slice(0, i)}${block}${current.slice(j + end.length)}`
      : `${current.trimEnd()}\n\n${block}\n`;
  writeFileSync(file, next);
}
