/**
 * The package as a user gets it: `npm pack`, installed into a clean folder, then loaded with
 * CommonJS `require` and ESM `import` (main entry and `tailslide/openfeature`), types included.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '../..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
let dir: string;

function run(cmd: string, args: string[], cwd: string): string {
  return execFileSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, npm_config_loglevel: 'error' },
  });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tailslide-pack-'));
  // --ignore-scripts: dist/ is built once by jest's globalSetup; `prepare` would rebuild it under other tests.
  run(npm, ['pack', '--silent', '--ignore-scripts', '--pack-destination', dir], root);
  const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'));
  if (!tarball) throw new Error('npm pack produced no tarball');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
  run(
    npm,
    [
      'install',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--ignore-scripts',
      join(dir, tarball),
      '@openfeature/server-sdk@^1.17.0',
    ],
    dir,
  );
}, 180_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('require() gives the main entry and the OpenFeature subpath', () => {
  const out = run(
    process.execPath,
    [
      '-e',
      `
    const t = require('tailslide');
    const m = new t.FlagManager({ appId: 1, offline: true, bootstrap: [] });
    const of = require('tailslide/openfeature');
    console.log(JSON.stringify({ manager: typeof t.FlagManager, provider: typeof of.TailslideProvider, app: m.appId, bucket: t.bucket('App 1 Flag 1', '375d39e6-9c3f-4f58-80bd-e5960b710295') }));
  `,
    ],
    dir,
  );
  expect(JSON.parse(out)).toEqual({ manager: 'function', provider: 'function', app: 1, bucket: 12018 });
});

test('import gives the same classes (one copy of the code, no dual-package hazard)', () => {
  const out = run(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `
    import { FlagManager, bucket } from 'tailslide';
    import { TailslideProvider } from 'tailslide/openfeature';
    import { createRequire } from 'node:module';
    const require = createRequire(import.meta.url);
    console.log(JSON.stringify({ same: FlagManager === require('tailslide').FlagManager, provider: typeof TailslideProvider, bucket: bucket('checkout-v2', 'ü-ñicode-用户') }));
  `,
    ],
    dir,
  );
  expect(JSON.parse(out)).toEqual({ same: true, provider: 'function', bucket: 40666 });
});

test('the offline manager works from the installed package', () => {
  const out = run(
    process.execPath,
    [
      '-e',
      `
    const { FlagManager } = require('tailslide');
    const m = new FlagManager({ appId: 1, offline: true, bootstrap: [{ id: 1, app_id: 1, title: 'f', is_active: true, rollout_percentage: 100 }] });
    m.initialize().then(async () => { console.log(m.newToggler({ flagName: 'f' }).isFlagActive('u')); await m.disconnect(); });
  `,
    ],
    dir,
  );
  expect(out.trim()).toBe('true');
});

test('types resolve for both module systems and the bin is installed', () => {
  const pkg = JSON.parse(
    run(
      process.execPath,
      ['-e', 'process.stdout.write(require("fs").readFileSync(require.resolve("tailslide/package.json"), "utf8"))'],
      dir,
    ),
  ) as {
    exports: Record<string, { import: { types: string }; require: { types: string } }>;
  };
  for (const entry of Object.values(pkg.exports).filter((e) => typeof e === 'object')) {
    expect(existsSync(join(dir, 'node_modules/tailslide', entry.import.types))).toBe(true);
    expect(existsSync(join(dir, 'node_modules/tailslide', entry.require.types))).toBe(true);
  }
  expect(existsSync(join(dir, 'node_modules/.bin/tailslide'))).toBe(true);
});
