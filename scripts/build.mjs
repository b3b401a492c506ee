// Builds the package: CommonJS + declarations with tsc, then thin ESM wrappers that
// re-export the CommonJS build by name. One copy of the code serves `import` and
// `require`, so there is no dual-package hazard (one FlagManager class, one state).
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { chmodSync, copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

rmSync(join(root, 'dist'), { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], {
  stdio: 'inherit',
});

const entries = [
  { name: 'index', cjs: './index.js', types: '../cjs/index' },
  { name: 'openfeature', cjs: './openfeature/index.js', types: '../cjs/openfeature/index' },
  { name: 'breaker', cjs: './breaker/index.js', types: '../cjs/breaker/index' },
  { name: 'admin', cjs: './admin/index.js', types: '../cjs/admin/index' },
];
mkdirSync(join(root, 'dist/esm'), { recursive: true });
for (const entry of entries) {
  const cjsPath = join(root, 'dist/cjs', entry.cjs);
  let names;
  try {
    names = Object.keys(require(cjsPath)).filter((n) => n !== 'default' && n !== '__esModule');
  } catch (err) {
    const { code, message } = /** @type {{ code?: unknown, message?: unknown }} */ (err ?? {});
    if (code === 'MODULE_NOT_FOUND' && String(message).includes(cjsPath)) continue;
    throw err;
  }
  const rel = `../cjs/${entry.cjs.slice(2)}`;
  writeFileSync(
    join(root, 'dist/esm', `${entry.name}.mjs`),
    `import cjs from '${rel}';\nexport const { ${names.join(', ')} } = cjs;\nexport default cjs;\n`,
  );
  writeFileSync(join(root, 'dist/esm', `${entry.name}.d.mts`), `export * from '${entry.types}.js';\n`);
}
// The dashboard's page (web/): bundled with esbuild (uPlot included) into dist/ui, no CDN.
await buildDashboard();

try {
  chmodSync(join(root, 'dist/cjs/cli/main.js'), 0o755);
} catch {
  // the CLI is optional while it is being built
}

async function buildDashboard() {
  const web = join(root, 'web');
  const out = join(root, 'dist/ui');
  mkdirSync(out, { recursive: true });
  const { build } = await import('esbuild');
  await build({
    entryPoints: { app: join(web, 'main.ts') },
    bundle: true,
    format: 'iife',
    target: 'es2020',
    minify: true,
    legalComments: 'eof',
    outdir: out,
    logLevel: 'warning',
  });
  await build({
    entryPoints: { app: join(web, 'app.css') },
    bundle: true,
    minify: true,
    outdir: out,
    logLevel: 'warning',
  });
  for (const file of ['index.html', 'favicon.svg']) copyFileSync(join(web, file), join(out, file));
}
