/**
 * Every document the code cites is in the repository: a comment that says `docs/wire-format.md`
 * must lead somewhere. Scans src/, test/, bench/ and scripts/ for `docs/<name>.md`.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const SCANNED = ['src', 'test', 'bench', 'scripts'];
const SOURCE = /\.(ts|js|mjs|cjs)$/;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : sourceFiles(path);
    return SOURCE.test(entry.name) ? [path] : [];
  });
}

function citations(): { file: string; doc: string }[] {
  return SCANNED.flatMap((dir) => sourceFiles(join(ROOT, dir))).flatMap((file) =>
    [...readFileSync(file, 'utf8').matchAll(/\bdocs\/([\w./-]+?\.md)\b/g)].map((match) => ({
      file: relative(ROOT, file),
      doc: `docs/${match[1] ?? ''}`,
    })),
  );
}

describe('documents cited by the code', () => {
  const cited = citations();

  it('finds the citations (the scan works)', () => {
    expect(cited.map((c) => c.doc)).toEqual(expect.arrayContaining(['docs/wire-format.md', 'docs/rollout.md']));
  });

  it('are all in the repository', () => {
    const missing = cited.filter((c) => !existsSync(join(ROOT, c.doc))).map((c) => `${c.file} cites ${c.doc}`);
    expect(missing).toEqual([]);
  });
});
