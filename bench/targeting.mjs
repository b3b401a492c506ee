// A flag with targeting (docs/targeting.md): 2 rules × 2 clauses and a weighted split, evaluated by
// tailslide and by LaunchDarkly's Node server SDK on an equivalent flag (its TestData source, no
// network, events off), in one process, rounds interleaved:
//   node --expose-gc bench/targeting.mjs
// Ours: `toggler.variation(context, default)`, synchronous. LaunchDarkly's `variation` returns a
// promise, and that is how its users call it, so each of its calls is awaited; a second figure uses
// its callback form. Every call gets a precomputed context object, so neither is charged for
// building one.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { ROOT, args, log, loadTailslide, prng, quietLogger, report, uuids, wireFlag } from './lib/common.mjs';
import { BATCH, timeBatches } from './lib/timing.mjs';
import { summarize } from './lib/common.mjs';

const opts = args();
const SAMPLES = Number(opts.samples ?? 2_000);
const PEER_SAMPLES = Number(opts['peer-samples'] ?? 200);
const ROUNDS = Number(opts.rounds ?? 3);
const WARMUP = Number(opts.warmup ?? 1_000_000);

const require = createRequire(import.meta.url);
const { FlagManager } = loadTailslide();

const FLAG = 'pricing-page';
const VARIATIONS = ['control', 'annual-first', 'monthly-first'];
const COUNTRIES = ['NL', 'BE', 'DE', 'FR', 'US', 'GB', 'ES', 'IT'];
const PLANS = ['free', 'pro', 'team', 'enterprise'];

const rand = prng(7);
const keys = uuids(100_000, 42);
const contexts = keys.map((key) => ({
  key,
  country: COUNTRIES[Math.floor(rand() * COUNTRIES.length)],
  app_version: `${1 + Math.floor(rand() * 3)}.${Math.floor(rand() * 6)}.${Math.floor(rand() * 4)}`,
  email: rand() < 0.2 ? `${key.slice(0, 8)}@example.com` : `${key.slice(0, 8)}@mail.test`,
  plan: PLANS[Math.floor(rand() * PLANS.length)],
}));
const ldContexts = contexts.map((c) => ({ kind: 'user', ...c }));

const rules = [
  {
    id: 'eu-annual',
    clauses: [
      { attribute: 'country', op: 'in', values: ['NL', 'BE', 'DE'] },
      { attribute: 'app_version', op: 'semver_gt', values: ['2.3.0'] },
    ],
    serve: { variation: 1 },
  },
  {
    id: 'staff-pro',
    clauses: [
      { attribute: 'email', op: 'ends_with', values: ['@example.com'] },
      { attribute: 'plan', op: 'in', values: ['pro', 'team'] },
    ],
    serve: {
      split: [
        { variation: 1, weight: 50000 },
        { variation: 2, weight: 50000 },
      ],
    },
  },
];
const fallthrough = {
  split: [
    { variation: 0, weight: 50000 },
    { variation: 1, weight: 50000 },
  ],
};

const manager = new FlagManager({
  offline: true,
  appId: 1,
  logger: quietLogger,
  bootstrap: [
    wireFlag(42, {
      title: FLAG,
      rollout_percentage: 100,
      variations: VARIATIONS,
      off_variation: 0,
      rules,
      fallthrough,
    }),
  ],
});
await manager.initialize();
const toggler = manager.newToggler({ flagName: FLAG });

// LaunchDarkly's equivalent flag, in its own flag format.
/** @type {typeof import('@launchdarkly/node-server-sdk')} */
const ld = require('@launchdarkly/node-server-sdk');
// its package.json is not in its exports map: read it from node_modules
const ldPkg = /** @type {{ version: string }} */ (
  JSON.parse(readFileSync(join(ROOT, 'node_modules/@launchdarkly/node-server-sdk/package.json'), 'utf8'))
);
const td = new ld.integrations.TestData();
/** @param {{ variation: number, weight: number }[]} split */
const ldWeights = (split) => ({ variations: split.map((s) => ({ variation: s.variation, weight: s.weight })) });
td.usePreconfiguredFlag({
  key: FLAG,
  version: 1,
  on: true,
  variations: VARIATIONS,
  offVariation: 0,
  targets: [],
  prerequisites: [],
  salt: FLAG,
  rules: [
    {
      id: 'eu-annual',
      clauses: [
        { attribute: 'country', op: 'in', values: ['NL', 'BE', 'DE'], negate: false },
        { attribute: 'app_version', op: 'semVerGreaterThan', values: ['2.3.0'], negate: false },
      ],
      variation: 1,
      trackEvents: false,
    },
    {
      id: 'staff-pro',
      clauses: [
        { attribute: 'email', op: 'endsWith', values: ['@example.com'], negate: false },
        { attribute: 'plan', op: 'in', values: ['pro', 'team'], negate: false },
      ],
      rollout: ldWeights(rules[1]?.serve.split ?? []),
      trackEvents: false,
    },
  ],
  fallthrough: { rollout: ldWeights(fallthrough.split) },
  trackEvents: false,
  trackEventsFallthrough: false,
  clientSide: false,
  deleted: false,
});
const client = ld.init('sdk-bench', {
  updateProcessor: td.getFactory(),
  sendEvents: false,
  diagnosticOptOut: true,
  logger: ld.basicLogger({ level: 'none' }),
});
await client.waitForInitialization({ timeout: 10 });

// sanity: both serve the same rule to the same contexts (splits hash differently, rules do not)
for (const c of contexts.slice(0, 200)) {
  const ours = toggler.variationDetail(c, 'x');
  const theirs = await client.variationDetail(FLAG, { kind: 'user', ...c }, 'x');
  const oursRule = ours.reason === 'RULE_MATCH' ? ours.ruleId : undefined;
  const theirsRule = theirs.reason.kind === 'RULE_MATCH' ? theirs.reason.ruleId : undefined;
  if (oursRule !== theirsRule) throw new Error(`rule mismatch for ${JSON.stringify(c)}: ${oursRule} vs ${theirsRule}`);
}

/** @type {import('./lib/timing.mjs').RunBatch} */
function runOurs(start, n) {
  const list = contexts;
  const len = list.length;
  let idx = start;
  let hits = 0;
  for (let i = 0; i < n; i++) {
    if (toggler.variation(list[idx], 'control') !== 'control') hits++;
    if (++idx === len) idx = 0;
  }
  return hits;
}

/** LaunchDarkly: `await client.variation(...)` per call, batches of BATCH timed like ours. */
/**
 * @param {number} samples
 * @param {{ callback?: boolean }} [options]
 */
async function timeLd(samples, { callback = false } = {}) {
  const perCall = new Float64Array(samples);
  let total = 0n;
  let idx = 0;
  let hits = 0;
  /** @type {(ctx: import('@launchdarkly/node-server-sdk').LDContext) => Promise<unknown>} */
  const one = callback
    ? (ctx) => new Promise((resolve) => void client.variation(FLAG, ctx, 'control', (_err, value) => resolve(value)))
    : (ctx) => client.variation(FLAG, ctx, 'control');
  for (let s = 0; s < samples; s++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < BATCH; i++) {
      if ((await one(/** @type {import('@launchdarkly/node-server-sdk').LDContext} */ (ldContexts[idx]))) !== 'control')
        hits++;
      if (++idx === ldContexts.length) idx = 0;
    }
    const ns = process.hrtime.bigint() - t0;
    total += ns;
    perCall[s] = Number(ns) / BATCH;
  }
  const stats = summarize(perCall);
  return {
    calls: samples * BATCH,
    opsPerSec: (samples * BATCH * 1e9) / Number(total),
    nsPerCall: { p50: stats.p50, p99: stats.p99 },
    trueShare: hits / (samples * BATCH),
  };
}

log(
  `targeting: ${SAMPLES} samples of ${BATCH} calls (ours), ${PEER_SAMPLES} (LaunchDarkly ${ldPkg.version}), ${ROUNDS} rounds`,
);
timeBatches(runOurs, { samples: 0, warmupCalls: WARMUP, usersLength: contexts.length });
await timeLd(Math.max(20, Math.floor(PEER_SAMPLES / 4)));
/** @type {ReturnType<typeof timeBatches>[]} */
const ours = [];
/** @type {Awaited<ReturnType<typeof timeLd>>[]} */
const theirs = [];
for (let r = 0; r < ROUNDS; r++) {
  ours.push(timeBatches(runOurs, { samples: SAMPLES, warmupCalls: 0, usersLength: contexts.length }));
  theirs.push(await timeLd(PEER_SAMPLES));
}
const theirsCallback = await timeLd(PEER_SAMPLES, { callback: true });
/** @param {number[]} xs */
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
/** @param {{ opsPerSec: number, nsPerCall: { p50: number, p99: number }, trueShare: number }[]} runs */
const pick = (runs) => ({
  opsPerSec: median(runs.map((x) => x.opsPerSec)),
  nsPerCall: { p50: median(runs.map((x) => x.nsPerCall.p50)), p99: median(runs.map((x) => x.nsPerCall.p99)) },
  servedShare: runs.reduce((s, x) => s + x.trueShare, 0) / runs.length,
});
const a = pick(ours);
const b = pick(theirs);
client.close();
await manager.disconnect();
report({
  bench: 'targeting',
  peer: `@launchdarkly/node-server-sdk ${ldPkg.version}`,
  ours: a,
  theirs: b,
  theirsCallback: { nsPerCall: theirsCallback.nsPerCall, opsPerSec: theirsCallback.opsPerSec },
  rounds: ROUNDS,
  ratioP50: median(ours.map((o, i) => Number(theirs[i]?.nsPerCall.p50) / o.nsPerCall.p50)),
  ratioOps: median(ours.map((o, i) => o.opsPerSec / Number(theirs[i]?.opsPerSec))),
});
