// Evaluation throughput and latency of `toggler.isFlagActive(user)`, one case per process:
//   node --expose-gc bench/eval.mjs --case off|whitelist|rollout|rollout-wl-miss [--alloc]
// Without --alloc: batch timing (ns per call p50/p99, ops/s), with a harness-only control loop.
// With --alloc (start node with a large semi-space, run.mjs does): bytes allocated per call over
// 10M evaluations, and the GCs they cause.
import { args, loadTailslide, log, quietLogger, report, uuids, wireFlag } from './lib/common.mjs';
import { BATCH, bytesPerCall, countGcs, timeBatches } from './lib/timing.mjs';

const opts = args();
const CASE = /** @type {keyof typeof FLAG_TITLES} */ (opts.case ?? 'rollout');
const USERS = Number(opts.users ?? 100_000);
const SAMPLES = Number(opts.samples ?? 5_000);
const WARMUP = Number(opts.warmup ?? 2_000_000);
const ALLOC_CALLS = Number(opts['alloc-calls'] ?? 10_000_000);

const { FlagManager } = loadTailslide();

const population = uuids(USERS, 42);
const whitelist = uuids(1_000, 4242);

const FLAG_TITLES = {
  off: 'checkout-v2-off',
  whitelist: 'checkout-v2-whitelist',
  rollout: 'checkout-v2',
  'rollout-wl-miss': 'checkout-v2-wl',
};
const ruleset = [
  wireFlag(1, { title: FLAG_TITLES.off, is_active: false, rollout_percentage: 37.5 }),
  wireFlag(2, { title: FLAG_TITLES.whitelist, rollout_percentage: 0, white_listed_users: whitelist.join(',') }),
  wireFlag(3, { title: FLAG_TITLES.rollout, rollout_percentage: 37.5 }),
  wireFlag(4, {
    title: FLAG_TITLES['rollout-wl-miss'],
    rollout_percentage: 37.5,
    white_listed_users: whitelist.join(','),
  }),
];
// a realistic app has more flags than the one being asked about
for (let i = 5; i <= 200; i++) ruleset.push(wireFlag(i));

if (!(CASE in FLAG_TITLES)) throw new Error(`unknown --case ${CASE}`);
const users = CASE === 'whitelist' ? whitelist : population;

const manager = new FlagManager({ offline: true, appId: 1, bootstrap: ruleset, logger: quietLogger });
await manager.initialize();
const toggler = manager.newToggler({ flagName: FLAG_TITLES[CASE] });

// the measured loop: one isFlagActive per user, users cycled
/** @type {import('./lib/timing.mjs').RunBatch} */
function runToggler(start, n) {
  const list = users;
  const len = list.length;
  let idx = start;
  let on = 0;
  for (let i = 0; i < n; i++) {
    if (toggler.isFlagActive(list[idx])) on++;
    if (++idx === len) idx = 0;
  }
  return on;
}

// the same loop with the call replaced by a trivial read of the user: the harness's own cost
/** @type {import('./lib/timing.mjs').RunBatch} */
function runControl(start, n) {
  const list = users;
  const len = list.length;
  let idx = start;
  let on = 0;
  for (let i = 0; i < n; i++) {
    if ((list[idx] ?? '').charCodeAt(0) > 0x60) on++;
    if (++idx === len) idx = 0;
  }
  return on;
}

// sanity: the evaluation decides what the spec says
const detail = toggler.evaluate(users[0]);
const expected = { off: 'FLAG_OFF', whitelist: 'WHITELISTED', rollout: 'ROLLOUT', 'rollout-wl-miss': 'ROLLOUT' }[CASE];
if (!detail.reason.startsWith(expected)) throw new Error(`${CASE}: unexpected reason ${detail.reason}`);

if (opts.alloc) {
  log(`eval ${CASE}: allocation over ${ALLOC_CALLS.toLocaleString('en-US')} calls`);
  timeBatches(runToggler, { samples: 0, warmupCalls: WARMUP, usersLength: users.length });
  timeBatches(runControl, { samples: 0, warmupCalls: WARMUP, usersLength: users.length });
  const control = bytesPerCall(runControl, { totalCalls: 1_000_000, chunkCalls: 100_000, usersLength: users.length });
  const measured = bytesPerCall(runToggler, {
    totalCalls: ALLOC_CALLS,
    chunkCalls: 100_000,
    usersLength: users.length,
  });
  // and the GCs a free-running 10M cause (no forced GCs)
  const { gcs } = await countGcs(() => {
    let sink = 0;
    for (let done = 0, idx = 0; done < ALLOC_CALLS; done += BATCH, idx = (idx + BATCH) % users.length)
      sink += runToggler(idx, BATCH);
    return sink;
  });
  report({
    bench: 'eval-alloc',
    case: CASE,
    calls: measured.calls,
    bytesPerCall: measured.bytesPerCall,
    controlBytesPerCall: control.bytesPerCall,
    discardedChunks: measured.discardedChunks,
    hashInputChars: FLAG_TITLES[CASE].length + 1 + (users[0] ?? '').length,
    gcsDuringFreeRun: gcs,
  });
} else {
  log(`eval ${CASE}: ${SAMPLES} samples of ${BATCH} calls, ${users.length} users`);
  const control = timeBatches(runControl, {
    samples: Math.min(SAMPLES, 2_000),
    warmupCalls: 200_000,
    usersLength: users.length,
  });
  const { result: r, gcs } = await countGcs(() =>
    timeBatches(runToggler, { samples: SAMPLES, warmupCalls: WARMUP, usersLength: users.length }),
  );
  report({
    bench: 'eval',
    case: CASE,
    users: users.length,
    calls: r.calls,
    opsPerSec: r.opsPerSec,
    nsPerCall: r.nsPerCall,
    trueShare: r.trueShare,
    harnessNsPerCall: control.nsPerCall.p50,
    gcsDuringRun: gcs,
  });
}
await manager.disconnect();
