import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, extname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

// The repository carries its own design: docs/ (architecture, contracts, conventions, wire
// protocols) and the folder READMEs. This test keeps it that way: nothing may point at a
// design document outside the repository, no code comment may lean on an issue number
// instead of saying what the code guarantees, and every reference to a file in docs/ must
// name one that exists.

const ROOT = join(import.meta.dirname, '..');
const CODE = new Set(['.ts', '.tsx', '.cts', '.mts', '.js', '.mjs', '.cjs']);
const TEXT = new Set([...CODE, '.md', '.json', '.yml', '.yaml', '.html', '.css', '.txt', '']);
// This file names the patterns it looks for; its last test shows they are caught.
const SKIP = [
  /^package-lock\.json$/,
  /^test\/fixtures\/.*(?<!\.md)$/,
  /(^|\/)golden\//,
  /^test\/docs-references\.test\.ts$/,
];

/** Places outside the repository that the design used to live in. */
const OUTSIDE = [
  /\.\.\/shared\b/,
  /\/work\/shared\b/,
  /(^|[^\w/])shared\/protocols\//,
  // The outside protocol notes' numbered sections ("protocols A2"), which docs/protocols/ does not have.
  /\bprotocols [A-Z]\d\b/,
];
/** The old design documents' names, which outside docs/ must be written as a docs/ path. */
const BARE_DOC = /(?<![\w./-])(CONTRACTS|ARCHITECTURE|STYLE|CONVENTIONS)\.md/;
/** An issue or ticket number, e.g. "issue 14" or "issue #8". */
const ISSUE_NUMBER = /\bissues?\s*#?\d+/i;
/** The comment part of a line of code (a line comment, or a block comment's line). */
const COMMENT = /(?:^|\s|[;,)({}])\/\/(.*)$|\/\*+(.*)$|^\s*\*(?!\/)(.*)$/;

export interface Problem {
  file: string;
  line: number;
  what: string;
}

/** What is wrong with one file's references; `exists` answers for paths relative to the repository root. */
export function referenceProblems(file: string, text: string, exists: (path: string) => boolean): Problem[] {
  const problems: Problem[] = [];
  const ext = extname(file);
  const inDocs = file.startsWith('docs/');
  text.split('\n').forEach((line, i) => {
    const at = (what: string) => problems.push({ file, line: i + 1, what });
    for (const re of OUTSIDE) if (re.test(line)) at(`refers outside the repository: ${line.trim()}`);
    if (!inDocs && BARE_DOC.test(line)) at(`names a design document without its docs/ path: ${line.trim()}`);
    if (CODE.has(ext)) {
      const m = COMMENT.exec(line);
      const comment = m ? (m[1] ?? m[2] ?? m[3] ?? '') : '';
      if (ISSUE_NUMBER.test(comment)) at(`a comment names an issue number: ${line.trim()}`);
    }
    // docs/… written from the repository root (comments, READMEs, help texts).
    for (const m of line.matchAll(/(?<![\w./-])docs\/[\w./-]*\w/g)) {
      const path = m[0];
      if (!exists(path)) at(`refers to ${path}, which does not exist`);
    }
    // Markdown links, relative to the file, that land in docs/.
    if (ext === '.md') {
      for (const m of line.matchAll(/\]\(([^)\s#]+)(?:#[^)]*)?\)/g)) {
        const target = m[1]!;
        if (/^[a-z]+:/i.test(target)) continue;
        const path = normalize(join(dirname(file), target));
        if (path.startsWith('docs/') && !exists(path)) at(`links to ${path}, which does not exist`);
      }
    }
  });
  return problems;
}

function trackedTextFiles(): string[] {
  const out = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  return out
    .split('\n')
    .filter((f) => f && TEXT.has(extname(f)) && !SKIP.some((re) => re.test(f)) && existsSync(join(ROOT, f)));
}

describe('the repository refers only to itself', () => {
  it('has no reference outside it, no issue number in a comment, and no link to a missing docs/ file', () => {
    const files = trackedTextFiles();
    expect(files.length).toBeGreaterThan(100);
    expect(files).toContain('docs/CONTRACTS.md');
    const exists = (path: string) => existsSync(join(ROOT, path));
    const problems = files.flatMap((f) => referenceProblems(f, readFileSync(join(ROOT, f), 'utf8'), exists));
    expect(problems.map((p) => `${p.file}:${p.line}: ${p.what}`)).toEqual([]);
  });

  it('docs/ holds the design: architecture, contracts, conventions and each wire protocol', () => {
    for (const f of [
      'ARCHITECTURE.md',
      'CONTRACTS.md',
      'CONVENTIONS.md',
      'protocols/wechat.md',
      'protocols/alipay.md',
      'protocols/payease-bank.md',
      'protocols/fx-rates.md',
      'protocols/escpos-printer.md',
      'protocols/pole-display.md',
      'protocols/scanner.md',
      'protocols/counter-link.md',
    ]) {
      expect(existsSync(join(ROOT, 'docs', f)), f).toBe(true);
    }
  });

  it('catches each kind of wrong reference', () => {
    const exists = (path: string) => path === 'docs/CONTRACTS.md';
    const issue = 'iss' + 'ue';
    const found = (file: string, text: string) => referenceProblems(file, text, exists).map((p) => p.what);
    expect(found('a/b.ts', `// see ../shared/${'CONTRACTS'}.md`)).toHaveLength(1);
    expect(found('a/b.ts', `// the wire facts (/work/shared/protocols/x.md)`)).toHaveLength(1);
    expect(found('a/b.ts', `// the captured reply (${'protocols'} A2)`)).toHaveLength(1);
    expect(found('a/b.ts', `// as ${'STYLE'}.md says`)).toHaveLength(1);
    expect(found('a/b.ts', `const x = 1; // fixed in ${issue} 14`)).toHaveLength(1);
    expect(found('a/b.ts', ` * (${issue} #8: receipts)`)).toHaveLength(1);
    expect(found('a/b.ts', `/** ${issue} 15 item 3 */`)).toHaveLength(1);
    expect(found('a/b.ts', `const s = '${issue} 14 is a string, not a comment';`)).toEqual([]);
    expect(found('a/b.ts', '// the fields of docs/CONTRACTS.md')).toEqual([]);
    expect(found('a/b.ts', '// the fields of docs/NOPE.md')).toHaveLength(1);
    expect(found('a/README.md', 'See [contracts](../docs/CONTRACTS.md#merchant-api).')).toEqual([]);
    expect(found('a/README.md', 'See [it](../docs/protocols/nope.md).')).toHaveLength(1);
    expect(found('docs/ARCHITECTURE.md', '[CONTRACTS.md](CONTRACTS.md), [gone](GONE.md)')).toHaveLength(1);
    expect(relative(ROOT, join(ROOT, 'docs'))).toBe('docs');
  });
});
