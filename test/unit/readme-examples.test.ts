import { expect } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

// The README's quick start is docs/examples/ (type-checked and run in a fresh project by
// test/integration/package.test.ts): the two must not drift apart.
const root = join(__dirname, '..', '..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const example = (name: string): string => readFileSync(join(root, 'docs', 'examples', name), 'utf8').trimEnd();

test('the README shows docs/examples/first-flag.sh verbatim, in a sh block', () => {
  expect(readme).toContain(['```sh', example('first-flag.sh'), '```'].join('\n'));
});

test('the README shows docs/examples/quickstart.mts verbatim, in a ts block', () => {
  expect(readme).toContain(['```ts', example('quickstart.mts'), '```'].join('\n'));
});

test('every docs/ page the README links exists', () => {
  const links = [...readme.matchAll(/\]\((docs\/[^)#\s]+)/g)].map((m) => m[1] as string);
  expect(links.length).toBeGreaterThan(10);
  const missing = links.filter((link) => !existsSync(join(root, link)));
  expect(missing).toEqual([]);
});
