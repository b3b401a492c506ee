// Measures proposed changes to src/evaluation against the shipped code, one variant per process:
//   node --expose-gc bench/alt/eval-alt.mjs --impl shipped|prefixed|prefixed-flatwl --case rollout|rollout-wl-miss|whitelist [--alloc]
//
// All variants evaluate the same CompiledFlag built by the shipped compileFlag, through a
// toggler-shaped wrapper (store lookup, decide, isOnReason, try/catch), so the only difference
// is the one under test:
//   shipped          the build's own `decide` (evaluation/evaluator.js)
//   prefixed         `decide` with murmur3 resumed from a per-flag prefix state (alt/murmur-prefixed.mjs):
//                    no `title + ":" + user` string per call
//   prefixed-flatwl  the same, and whitelist entries copied into flat strings at compile time
//                    (split() yields SlicedStrings, slower to compare in Set.has)
import { args, flat, loadInternal, loadTailslide, log, report, uuids, wireFlag } from '../lib/common.mjs';
import { BATCH, bytesPerCall, countGcs, timeBatches } from '../lib/timing.mjs';
import { bucketPrefixed, prefixState } from './murmur-prefixed.mjs';

const opts = args();
const IMPL = opts.impl ?? 'shipped';
const CASE = opts.case ?? 'rollout';
const SAMPLES = Number(opts.samples ?? 5_000);
const WARMUP = Number(opts.warmup ?? 2_000_000);

const { parseRuleset } = loadTailslide();
const { compileFlag, decide, isOnReason } = loadInternal('evaluation/evaluator.js');

const population = uuids(100_000, 42);
const whitelist = uuids(1_000, 4242);
const wire = {
  rollout: wireFlag(3, { title: 'checkout-v2', rollout_percentage: 37.5 }),
  'rollout-wl-miss': wireFlag(4, { title: 'checkout-v2-wl', rollout_percentage: 37.5, white_listed_users: whitelist.join(',') }),
  whitelist: wireFlag(2, { title: 'checkout-v2-whitelist', rollout_percentage: 0, white_listed_users: whitelist.join(',') }),
}[CASE];
if (!wire) throw new Error(`unknown --case ${CASE}`);
const parsed = parseRuleset([wire], 'bench', { appId: 1 });
if (!parsed.ok) throw parsed.error;
const shippedCompiled = compileFlag(parsed.flags[0]);
const users = CASE === 'whitelist' ? whitelist : population;

const BUCKETS = 100_000;

/** The shipped `decide`, with the hash resumed from the flag's prefix state (murmur3 mode only). */
function decidePrefixed(compiled, userContext) {
  if (!compiled.flag.isActive) return 'FLAG_OFF';
  if (userContext !== '' && compiled.whitelist.size > 0 && compiled.whitelist.has(userContext)) return 'WHITELISTED';
  const threshold = compiled.threshold;
  if (threshold >= BUCKETS) return 'FULL_ROLLOUT';
  if (threshold <= 0) return 'ROLLOUT_OUT';
  if (userContext === '') return 'NO_USER_CONTEXT';
  return bucketPrefixed(compiled.prefixState, userContext) < threshold ? 'ROLLOUT_IN' : 'ROLLOUT_OUT';
}

let compiled;
let decideFn;
if (IMPL === 'shipped') {
  compiled = shippedCompiled;
  decideFn = (c, u) => decide(c, u, 'murmur3');
} else if (IMPL === 'prefixed' || IMPL === 'prefixed-flatwl') {
  const wl = IMPL === 'prefixed-flatwl' ? new Set([...shippedCompiled.whitelist].map(flat)) : shippedCompiled.whitelist;
  compiled = { ...shippedCompiled, whitelist: wl, prefixState: prefixState(shippedCompiled.hashPrefix) };
  decideFn = decidePrefixed;
} else {
  throw new Error(`unknown --impl ${IMPL}`);
}

// toggler-shaped: the same steps Toggler.isFlagActive takes around decide
const store = new Map([[compiled.flag.title, compiled]]);
const title = compiled.flag.title;
function isFlagActive(userContext) {
  try {
    const c = store.get(title);
    if (c === undefined) return false;
    return isOnReason(decideFn(c, typeof userContext === 'string' ? userContext : ''));
  } catch {
    return false;
  }
}

// all variants must agree with the shipped decide on every user
for (const u of users) {
  if (isOnReason(decide(shippedCompiled, u, 'murmur3')) !== isFlagActive(u)) throw new Error(`${IMPL} disagrees with shipped decide for ${u}`);
}

function run(start, n) {
  const list = users;
  const len = list.length;
  let idx = start;
  let on = 0;
  for (let i = 0; i < n; i++) {
    if (isFlagActive(list[idx])) on++;
    if (++idx === len) idx = 0;
  }
  return on;
}

if (opts.alloc) {
  timeBatches(run, { samples: 0, warmupCalls: WARMUP, usersLength: users.length });
  const m = bytesPerCall(run, { totalCalls: 10_000_000, chunkCalls: 100_000, usersLength: users.length });
  report({ bench: 'alt-alloc', impl: IMPL, case: CASE, bytesPerCall: m.bytesPerCall, calls: m.calls, discardedChunks: m.discardedChunks });
} else {
  log(`alt ${IMPL} ${CASE}: ${SAMPLES} samples of ${BATCH}`);
  const { result: r, gcs } = await countGcs(() => timeBatches(run, { samples: SAMPLES, warmupCalls: WARMUP, usersLength: users.length }));
  report({ bench: 'alt', impl: IMPL, case: CASE, opsPerSec: r.opsPerSec, nsPerCall: r.nsPerCall, trueShare: r.trueShare, gcsDuringRun: gcs });
}
