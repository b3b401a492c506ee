// Shared helpers of the benchmarks: loading the built package, machine description, result
// reporting to the orchestrator, percentiles, deterministic test data.
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const ROOT = resolve(BENCH_DIR, '..');
const require = createRequire(import.meta.url);

/**
 * The built package (dist/cjs). `TAILSLIDE_DIST` points at another build of the same layout,
 * e.g. a temporary tsc output while the tree does not build yet.
 * @returns {typeof import('../../src/index.js')}
 */
export function loadTailslide() {
  const dist = process.env.TAILSLIDE_DIST ? resolve(process.env.TAILSLIDE_DIST) : join(ROOT, 'dist/cjs');
  return require(join(dist, 'index.js'));
}

/**
 * A module of the build that the public entry does not export (e.g. `signals/index.js`).
 * @param {string} relPath
 */
export function loadInternal(relPath) {
  const dist = process.env.TAILSLIDE_DIST ? resolve(process.env.TAILSLIDE_DIST) : join(ROOT, 'dist/cjs');
  return require(join(dist, relPath));
}

export function machine() {
  const list = cpus();
  return {
    cores: list.length,
    cpuModel: (list[0]?.model ?? 'unknown').trim(),
    node: process.version,
    v8: process.versions.v8,
    platform: `${process.platform} ${process.arch}`,
  };
}

/** @param {ReturnType<typeof machine>} m */
export function machineLine(m = machine()) {
  return `${m.cores} cores, ${m.cpuModel}, Node ${m.node} (V8 ${m.v8}), ${m.platform}`;
}

/**
 * Reports a benchmark's result to run.mjs (one JSON line on stdout, marked).
 * @param {unknown} result
 */
export function report(result) {
  process.stdout.write(`@@RESULT ${JSON.stringify(result)}\n`);
}

/**
 * Progress for humans, on stderr (run.mjs passes it through).
 * @param {string} message
 */
export function log(message) {
  process.stderr.write(`  ${message}\n`);
}

/**
 * Percentile (nearest rank) of an ascending-sorted numeric array.
 * @param {ArrayLike<number>} sorted
 * @param {number} p
 * @returns {number}
 */
export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] ?? NaN;
}

/** @param {Iterable<number>} values */
export function summarize(values) {
  const sorted = Float64Array.from(values).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    n: sorted.length,
    min: sorted[0] ?? NaN,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? NaN,
    mean: sum / sorted.length,
  };
}

/**
 * A small seeded PRNG (mulberry32): the same users every run.
 * @param {number} seed
 * @returns {() => number}
 */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `n` distinct version-4-shaped UUID strings, deterministic for a seed. They are returned as flat
 * (sequential) strings, as a user id read from a request or a JSON body is: a string built by
 * concatenation is a V8 ConsString, and measuring with those would charge the SDK for flattening
 * and for the indirection on every access.
 * @param {number} n
 * @returns {string[]}
 */
export function uuids(n, seed = 1) {
  const rand = prng(seed);
  const hex = (/** @type {number} */ digits) => {
    let s = '';
    for (let i = 0; i < digits; i++) s += Math.floor(rand() * 16).toString(16);
    return s;
  };
  /** @type {string[]} */
  const out = new Array(n);
  const seen = new Set();
  for (let i = 0; i < n;) {
    const id = `${hex(8)}-${hex(4)}-4${hex(3)}-${'89ab'[Math.floor(rand() * 4)]}${hex(3)}-${hex(12)}`;
    if (seen.has(id)) continue;
    seen.add(id);
    out[i++] = flat(id);
  }
  return out;
}

/**
 * A fresh sequential copy of an ASCII string.
 * @param {string} s
 */
export function flat(s) {
  return Buffer.from(s, 'latin1').toString('latin1');
}

/**
 * A complete wire-format flag (docs/wire-format.md).
 * @param {number} id
 * @param {Record<string, unknown>} overrides
 */
export function wireFlag(id, overrides = {}) {
  return {
    id,
    app_id: 1,
    title: `bench-flag-${id}`,
    description: `benchmark flag number ${id}`,
    is_active: true,
    rollout_percentage: 50,
    white_listed_users: '',
    error_threshold_percentage: 40,
    circuit_status: 'close',
    is_recoverable: true,
    circuit_recovery_percentage: 100,
    circuit_recovery_delay: 8000,
    circuit_initial_recovery_percentage: 10,
    circuit_recovery_rate: 400,
    circuit_recovery_increment_percentage: 10,
    circuit_recovery_profile: 'linear',
    webhooks: '',
    created_at: '2024-05-01T10:00:00.000Z',
    updated_at: '2024-05-01T10:00:00.000Z',
    ...overrides,
  };
}

/**
 * A ruleset of `n` flags as an admin server would publish it: a mix of rollouts, a fifth off, a
 * fifth with a small whitelist, every flag with its own timestamps (identical strings would be
 * deduplicated by V8 and make the ruleset look smaller in memory than a real one).
 * @param {number} n
 */
export function wireRuleset(n, seed = 7) {
  const rand = prng(seed);
  const users = uuids(8, seed + 1);
  const epoch = Date.UTC(2024, 0, 1);
  /** @type {ReturnType<typeof wireFlag>[]} */
  const flags = new Array(n);
  for (let i = 0; i < n; i++) {
    const created = epoch + Math.floor(rand() * 3e10);
    flags[i] = wireFlag(i + 1, {
      is_active: rand() < 0.8,
      rollout_percentage: Math.round(rand() * 1000) / 10,
      white_listed_users: rand() < 0.2 ? users.slice(0, 1 + Math.floor(rand() * 8)).join(',') : '',
      created_at: new Date(created).toISOString(),
      updated_at: new Date(created + Math.floor(rand() * 1e9)).toISOString(),
    });
  }
  return flags;
}

/** A logger that drops everything (the SDK's info/debug would only add noise and time). */
export const quietLogger = {
  debug() {},
  info() {},
  /** @param {string} message */
  warn(message) {
    process.stderr.write(`  [tailslide warn] ${message}\n`);
  },
  /** @param {string} message */
  error(message) {
    process.stderr.write(`  [tailslide error] ${message}\n`);
  },
};

/**
 * `--name value`, `--name=value` and bare `--flag` (the string `'true'`) options.
 * @returns {Record<string, string | undefined>}
 */
export function args(argv = process.argv.slice(2)) {
  /** @type {Record<string, string>} */
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (!a.startsWith('--')) continue;
    const eq = a.indexOf('=');
    const next = argv[i + 1];
    if (eq > 0) out[a.slice(2, eq)] = a.slice(eq + 1);
    else if (next !== undefined && !next.startsWith('--')) {
      out[a.slice(2)] = next;
      i += 1;
    } else out[a.slice(2)] = 'true';
  }
  return out;
}

/** @type {(ms: number) => Promise<void>} */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** @returns {() => void} */
export function requireGc() {
  if (typeof globalThis.gc !== 'function') {
    throw new Error('run with node --expose-gc (bench/run.mjs does)');
  }
  return globalThis.gc;
}

/** A full GC, twice (the second collects what the first's finalizers freed). */
export function fullGc() {
  const gc = requireGc();
  gc();
  gc();
}
