/**
 * The package as a user gets it: `npm pack`, installed into a fresh `npm init -y` project (with
 * `"type": "commonjs"`, as npm 11 writes it), then loaded with CommonJS `require` and ESM `import`
 * (main entry and `tailslide/openfeature`), types included; and the README's examples
 * (docs/examples/, the single source the README copies) type-checked with the `tsc --init` defaults
 * of the TypeScript the README tells a new user to install (`npm i -D typescript`: 7 today) and of
 * 5.9, the oldest supported, and run against test-started servers.
 */
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { NatsServer, RedisServer } from '../support/servers';

const root = resolve(__dirname, '../..');
const examples = join(root, 'docs/examples');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';
let dir: string;
let manifestBefore: string;
let packOutput: string;

/**
 * What the README's TypeScript note tells a new user to install (`npm i -D typescript @types/node`),
 * as npm specs: unpinned on purpose, so that this test sees what a new user gets today.
 */
const README_TYPESCRIPT_INSTALL = ((): string[] => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const specs = /For TypeScript: `npm i -D ([^`]+)`/.exec(readme)?.[1]?.split(/\s+/);
  if (specs === undefined || !specs.some((spec) => /^typescript(@|$)/.test(spec)))
    throw new Error('README.md no longer says "For TypeScript: `npm i -D typescript …`"; update this test');
  return specs;
})();

/** The repository's own TypeScript: 5.9, the oldest the README supports. */
const OLDEST_TSC = join(root, 'node_modules/typescript/bin/tsc');

/**
 * Whether the registry answers for the TypeScript the README names: it is installed as a new user
 * gets it, from the registry's metadata of today, not from npm's cache.
 */
const TYPESCRIPT_FROM_REGISTRY = ((): { ok: true } | { ok: false; why: string } => {
  const spec = README_TYPESCRIPT_INSTALL.find((s) => /^typescript(@|$)/.test(s)) ?? 'typescript';
  try {
    // No retries: npm's (2, with back-off) take over a minute when nothing answers.
    execFileSync(npm, ['view', spec, 'version', '--fetch-retries=0', '--fetch-timeout=20000'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 30_000,
      env: { ...process.env, npm_config_update_notifier: 'false' },
    });
    return { ok: true };
  } catch (err) {
    const { stderr } = err as { stderr?: string };
    return { ok: false, why: (stderr ?? String(err)).trim().split('\n')[0] ?? 'no answer' };
  }
})();

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): string {
  try {
    return execFileSync(cmd, args, {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, npm_config_loglevel: 'error', npm_config_update_notifier: 'false', ...env },
    });
  } catch (err) {
    const { stdout, stderr } = err as { stdout?: string; stderr?: string };
    throw new Error(`${cmd} ${args.join(' ')} failed:\n${stdout ?? ''}\n${stderr ?? ''}`, { cause: err });
  }
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tailslide-pack-'));
  manifestBefore = readFileSync(join(root, 'package.json'), 'utf8');
  // With its prepack/postpack scripts (they leave `prepare` out of the tarball), but without a
  // rebuild: dist/ is built once by jest's globalSetup, and other suites are using it.
  packOutput = run(npm, ['pack', '--pack-destination', dir], root, { TAILSLIDE_PACK_NO_BUILD: '1' });
  const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'));
  if (!tarball) throw new Error('npm pack produced no tarball');
  run(npm, ['init', '-y'], dir);
  // npm 11 writes "type": "commonjs"; older npm writes no "type", which Node reads the same way.
  // Made explicit, so that the examples are checked in the project npm 11 makes.
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { type?: string };
  if (manifest.type === undefined) run(npm, ['pkg', 'set', 'type=commonjs'], dir);
  run(
    npm,
    ['install', '--prefer-offline', '--no-audit', '--no-fund', join(dir, tarball), '@openfeature/server-sdk@^1.17.0'],
    dir,
  );
  // As a new user runs it: fresh metadata (no --prefer-offline), so "typescript" is today's latest.
  const specs = TYPESCRIPT_FROM_REGISTRY.ok
    ? README_TYPESCRIPT_INSTALL
    : README_TYPESCRIPT_INSTALL.filter((spec) => !/^typescript(@|$)/.test(spec));
  run(npm, ['install', '-D', '--no-audit', '--no-fund', ...specs], dir);
}, 240_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function installed(path: string): string {
  return join(dir, 'node_modules/tailslide', path);
}

describe('the published manifest and files', () => {
  test('names the repository, bugs and homepage, and ships the MIT license', () => {
    const pkg = JSON.parse(readFileSync(installed('package.json'), 'utf8')) as Record<string, unknown>;
    expect(pkg).toMatchObject({
      license: 'MIT',
      repository: { type: 'git', url: expect.stringMatching(/^git\+https:\/\/github\.com\/.+\.git$/) as unknown },
      bugs: { url: expect.stringMatching(/^https:\/\/github\.com\/.+\/issues$/) as unknown },
      homepage: expect.stringMatching(/^https:\/\/github\.com\//) as unknown,
    });
    expect(readFileSync(installed('LICENSE'), 'utf8')).toMatch(
      /^MIT License\n\nCopyright \(c\) 2026 The tailslide authors\n/,
    );
  });

  test('has no scripts that need files outside the tarball; the repository keeps `prepare` for git installs', () => {
    const pkg = JSON.parse(readFileSync(installed('package.json'), 'utf8')) as { scripts?: Record<string, string> };
    for (const name of ['prepare', 'prepack', 'postpack', 'preinstall', 'install', 'postinstall'])
      expect(pkg.scripts?.[name]).toBeUndefined();
    expect(existsSync(installed('scripts'))).toBe(false);
    // npm 11 lists a dependency's `prepare` among the install scripts to approve: none here.
    expect(packOutput).not.toMatch(/prepare/);
    const repo = readFileSync(join(root, 'package.json'), 'utf8');
    expect(repo).toBe(manifestBefore);
    expect(JSON.parse(repo)).toMatchObject({ scripts: { prepare: 'node scripts/build.mjs' } });
    expect(existsSync(join(root, '.package.json.packing'))).toBe(false);
  });

  test('source maps carry their sources (src/ is not shipped), and no declaration maps point at it', () => {
    const files = readdirSync(installed('dist'), { recursive: true }).map(String);
    const maps = files.filter((f) => f.endsWith('.js.map'));
    expect(maps.length).toBeGreaterThan(10);
    for (const map of maps) {
      const parsed = JSON.parse(readFileSync(installed(join('dist', map)), 'utf8')) as {
        sources: string[];
        sourcesContent?: (string | null)[];
      };
      expect(parsed.sourcesContent).toHaveLength(parsed.sources.length);
      expect(parsed.sourcesContent?.every((content) => typeof content === 'string' && content.length > 0)).toBe(true);
    }
    expect(files.filter((f) => f.endsWith('.d.ts.map'))).toEqual([]);
    expect(existsSync(installed('src'))).toBe(false);
  });
});

describe('the README examples (docs/examples), in a fresh project', () => {
  let nats: NatsServer;
  let redis: RedisServer;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    [nats, redis] = await Promise.all([NatsServer.start(), RedisServer.start()]);
    env = { TAILSLIDE_NATS_SERVER: nats.url, TAILSLIDE_REDIS_URL: redis.url };
    for (const file of ['first-flag.sh', 'quickstart.mts', 'quickstart.cts', 'quickstart.cjs'])
      copyFileSync(join(examples, file), join(dir, file));
  }, 60_000);

  afterAll(async () => {
    await Promise.all([nats?.dispose(), redis?.dispose()]);
  });

  test('"create your first flag" runs as written, with the installed tailslide command', () => {
    const out = run('sh', ['-e', 'first-flag.sh'], dir, env);
    expect(out).toMatch(/created stream "flags_ruleset"/);
    expect(out).toMatch(/created "checkout-v2" \(id 1\) in app 1/);
  });

  test('the project is the one `npm init -y` makes with npm 11: "type": "commonjs"', () => {
    expect(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))).toMatchObject({ type: 'commonjs' });
  });

  (TYPESCRIPT_FROM_REGISTRY.ok ? test : test.skip)(
    `with the TypeScript the README installs (npm i -D ${README_TYPESCRIPT_INSTALL.join(' ')}) and the defaults of ` +
      '`tsc --init --types node`, the .mts and .cts examples type-check and run' +
      (TYPESCRIPT_FROM_REGISTRY.ok
        ? ''
        : ` (SKIPPED: npm cannot fetch TypeScript from the registry: ${TYPESCRIPT_FROM_REGISTRY.why})`),
    () => {
      const version = run(npx, ['tsc', '--version'], dir);
      // The README says "TypeScript 7 today": what `npm i -D typescript` gave when it was written.
      expect(Number(/^Version (\d+)\./.exec(version)?.[1])).toBeGreaterThanOrEqual(7);
      // The installed one, not the repository's: `npx` finds the project's node_modules/.bin first.
      expect(readFileSync(join(dir, 'node_modules/typescript/package.json'), 'utf8')).toContain(
        `"version": "${version.replace(/^Version /, '').trim()}"`,
      );
      run(npx, ['tsc', '--init', '--types', 'node', '--outDir', 'out'], dir);
      expect(readFileSync(join(dir, 'tsconfig.json'), 'utf8')).toMatch(/"module": "nodenext"/);
      run(npx, ['tsc', '-p', '.'], dir); // type errors fail here, with tsc's output in the message
      expect(run(process.execPath, ['out/quickstart.mjs'], dir, env)).toBe(
        'new checkout for user-42\nwhy: FULL_ROLLOUT\n',
      );
      expect(run(process.execPath, ['out/quickstart.cjs'], dir, env)).toBe(
        'checkout-v2 is on for user-42\nwhy: FULL_ROLLOUT\n',
      );
      // The signal of the ES module example reached Redis.
      const stats = JSON.parse(
        run(npx, ['tailslide', 'stats', 'checkout-v2', '--app-id', '1', '--json'], dir, env),
      ) as {
        flags: { success: number; failure: number }[];
      };
      expect(stats.flags[0]).toMatchObject({ success: 1, failure: 0 });

      // What the README's note warns of: in this project a .ts file is CommonJS, so the ES module
      // example does not compile as one, and does after `npm pkg set type=module`.
      const asTs = join(dir, 'as-ts');
      mkdirSync(asTs);
      copyFileSync(join(examples, 'quickstart.mts'), join(asTs, 'index.ts'));
      const tsc = join(dir, 'node_modules/typescript/bin/tsc');
      run(process.execPath, [tsc, '--init', '--types', 'node', '--noEmit'], asTs);
      expect(() => run(process.execPath, [tsc, '-p', '.'], asTs)).toThrow(
        /TS1309: The current file is a CommonJS module and cannot use 'await' at the top level/,
      );
      writeFileSync(join(asTs, 'package.json'), '{ "type": "module" }\n');
      run(process.execPath, [tsc, '-p', '.'], asTs);
    },
    120_000,
  );

  test('with TypeScript 5.9 (the oldest supported) and its `tsc --init --types node`, they type-check', () => {
    const old = join(dir, 'ts59');
    mkdirSync(old);
    for (const file of ['quickstart.mts', 'quickstart.cts']) copyFileSync(join(examples, file), join(old, file));
    expect(run(process.execPath, [OLDEST_TSC, '--version'], old)).toMatch(/^Version 5\.9\./);
    run(process.execPath, [OLDEST_TSC, '--init', '--types', 'node', '--noEmit'], old);
    run(process.execPath, [OLDEST_TSC, '-p', '.'], old);
  }, 60_000);

  test('the plain JavaScript CommonJS example runs', () => {
    expect(run(process.execPath, ['quickstart.cjs'], dir, env)).toBe('checkout-v2 is on for user-42\n');
  });
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

test('the admin library and the breaker are subpaths of their own, for require() and import', () => {
  const cjs = run(
    process.execPath,
    [
      '-e',
      `
    const admin = require('tailslide/admin');
    const breaker = require('tailslide/breaker');
    console.log(JSON.stringify({ admin: typeof admin.FlagAdmin, breaker: typeof breaker.CircuitBreaker }));
  `,
    ],
    dir,
  );
  expect(JSON.parse(cjs)).toEqual({ admin: 'function', breaker: 'function' });
  const esm = run(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `
    import { FlagAdmin } from 'tailslide/admin';
    import { createRequire } from 'node:module';
    const require = createRequire(import.meta.url);
    console.log(JSON.stringify({ same: FlagAdmin === require('tailslide/admin').FlagAdmin }));
  `,
    ],
    dir,
  );
  expect(JSON.parse(esm)).toEqual({ same: true });
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
