// The 37.5 % rollout evaluation through tailslide and through unleash-client, in one process,
// rounds interleaved (ours, theirs, ours, theirs, …) so both see the same machine state:
//   node --expose-gc bench/peer.mjs
// unleash-client is set up with no network: `bootstrap.data`, `refreshInterval: 0` (its poller
// never fetches), `disableMetrics: true`, an in-memory storage provider (no backup file), and a
// loopback URL it requires but never contacts. Its flexibleRollout strategy with stickiness
// userId is the same operation as ours: murmur3 of `groupId:userId`, compared to a percentage.
// Each call gets a precomputed context object, so unleash is not charged for building one.
import { createRequire } from 'node:module';
import { args, loadTailslide, log, quietLogger, report, uuids, wireFlag } from './lib/common.mjs';
import { BATCH, timeBatches } from './lib/timing.mjs';

const opts = args();
const SAMPLES = Number(opts.samples ?? 1_000);
const ROUNDS = Number(opts.rounds ?? 5);
const WARMUP = Number(opts.warmup ?? 2_000_000);

const require = createRequire(import.meta.url);
const unleashPkg = /** @type {{ version: string }} */ (require('unleash-client/package.json'));
/** @type {typeof import('unleash-client')} */
const { Unleash, InMemStorageProvider } = require('unleash-client');
const { FlagManager } = loadTailslide();

const users = uuids(100_000, 42);
const contexts = users.map((userId) => ({ userId }));

const manager = new FlagManager({
  offline: true,
  appId: 1,
  bootstrap: [wireFlag(3, { title: 'checkout-v2', rollout_percentage: 37.5 })],
  logger: quietLogger,
});
await manager.initialize();
const toggler = manager.newToggler({ flagName: 'checkout-v2' });

const unleash = new Unleash({
  appName: 'tailslide-bench',
  url: 'http://127.0.0.1:9/api/',
  refreshInterval: 0,
  disableMetrics: true,
  skipInstanceCountWarning: true,
  storageProvider: new InMemStorageProvider(),
  bootstrap: {
    data: [
      {
        name: 'checkout-v2',
        enabled: true,
        type: 'release',
        project: 'default',
        stale: false,
        variants: [],
        strategies: [
          {
            name: 'flexibleRollout',
            constraints: [],
            parameters: { rollout: '37.5', stickiness: 'userId', groupId: 'checkout-v2' },
          },
        ],
      },
    ],
  },
});
unleash.on('error', (err) => log(`unleash error: ${err?.message ?? err}`));
await new Promise((/** @type {(value?: undefined) => void} */ resolve, reject) => {
  const timer = setTimeout(() => reject(new Error('unleash-client not ready after 5 s')), 5_000);
  unleash.once('ready', () => {
    clearTimeout(timer);
    resolve();
  });
});

/** @type {import('./lib/timing.mjs').RunBatch} */
function runOurs(start, n) {
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

/** @type {import('./lib/timing.mjs').RunBatch} */
function runUnleash(start, n) {
  const list = contexts;
  const len = list.length;
  let idx = start;
  let on = 0;
  for (let i = 0; i < n; i++) {
    if (unleash.isEnabled('checkout-v2', list[idx])) on++;
    if (++idx === len) idx = 0;
  }
  return on;
}

log(
  `peer: unleash-client ${unleashPkg.version}, ${ROUNDS} interleaved rounds of ${SAMPLES} samples of ${BATCH} calls each`,
);
timeBatches(runOurs, { samples: 0, warmupCalls: WARMUP, usersLength: users.length });
timeBatches(runUnleash, { samples: 0, warmupCalls: WARMUP, usersLength: users.length });
/** @typedef {ReturnType<typeof timeBatches>} Timing */
/** @type {Timing[]} */
const ours = [];
/** @type {Timing[]} */
const theirs = [];
for (let r = 0; r < ROUNDS; r++) {
  ours.push(timeBatches(runOurs, { samples: SAMPLES, warmupCalls: 0, usersLength: users.length }));
  theirs.push(timeBatches(runUnleash, { samples: SAMPLES, warmupCalls: 0, usersLength: users.length }));
}
/** @param {number[]} xs */
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
/** @param {Timing[]} runs */
const pick = (runs) => ({
  opsPerSec: median(runs.map((x) => x.opsPerSec)),
  nsPerCall: { p50: median(runs.map((x) => x.nsPerCall.p50)), p99: median(runs.map((x) => x.nsPerCall.p99)) },
  trueShare: runs.reduce((s, x) => s + x.trueShare, 0) / runs.length,
});
const a = pick(ours);
const b = pick(theirs);
report({
  bench: 'peer',
  peer: `unleash-client ${unleashPkg.version}`,
  ours: a,
  theirs: b,
  // per round, then the median: how many times faster ours is
  ratioP50: median(ours.map((x, i) => (theirs[i]?.nsPerCall.p50 ?? NaN) / x.nsPerCall.p50)),
  ratioOps: median(ours.map((x, i) => x.opsPerSec / (theirs[i]?.opsPerSec ?? NaN))),
  rounds: ROUNDS,
});
unleash.destroy();
await manager.disconnect();
