/**
 * The package's public types must not pull in ioredis' (which need @types/node: 2,304 errors in a
 * project without it). Walks the declaration files reachable from the built entry points. (nats'
 * own declarations stay: they are self-contained with TypeScript's default lib, which has the web
 * globals TextEncoder and ReadableStream they use; with `lib: ["es2022"]` alone they need @types/node.)
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const root = resolve(__dirname, '../..');

/** Every module specifier imported by the declarations reachable from `entries`, by the file importing it. */
function reachableImports(entries: string[]): Map<string, string> {
  const seen = new Set<string>();
  const external = new Map<string, string>();
  const queue = entries.map((e) => join(root, e));
  while (queue.length > 0) {
    const file = queue.pop() as string;
    if (seen.has(file) || !existsSync(file)) continue;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/(?:from|import\()\s*['"]([^'"]+)['"]|reference types="([^"]+)"/g)) {
      const spec = match[1] ?? match[2] ?? '';
      if (spec.startsWith('.')) {
        const base = join(dirname(file), spec.replace(/\.js$/, ''));
        queue.push(`${base}.d.ts`, join(base, 'index.d.ts'));
      } else if (!external.has(spec)) external.set(spec, file.slice(root.length + 1));
    }
  }
  return external;
}

test('dist/cjs/index.d.ts and the openfeature entry reach no ioredis types (a structural RedisClient instead)', () => {
  expect(existsSync(join(root, 'dist/cjs/index.d.ts'))).toBe(true);
  const external = reachableImports(['dist/cjs/index.d.ts', 'dist/cjs/openfeature/index.d.ts']);
  expect([...external.keys()].filter((spec) => /ioredis|redis-time-series|^node:|^node$/.test(spec))).toEqual([]);
});
