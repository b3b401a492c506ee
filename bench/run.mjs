// Runs every benchmark, each in its own child process (`node --expose-gc bench/<x>.mjs …`, so JIT
// state and heap do not leak between rows), prints one markdown table, and writes
// bench/results.json and bench/RESULTS.md.
//   npm run bench                     build, then everything (~2 min)
//   node bench/run.mjs --only eval,peer   some of it (names: eval alloc peer targeting propagation signals cluster startup ui breaker)
//   node bench/run.mjs --quick        shorter runs, for a smoke test (results not written)
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { BENCH_DIR, ROOT, args, machine, machineLine } from './lib/common.mjs';
import { timeSeriesModule } from './lib/servers.mjs';

const opts = args();
const only = typeof opts.only === 'string' ? new Set(opts.only.split(',')) : undefined;
const quick = Boolean(opts.quick);
const want = (/** @type {string} */ name) => !only || only.has(name);

// What each benchmark reports (one JSON line each, see report() in lib/common.mjs).
/** @typedef {{ p50: number, p90: number, p99: number, max: number, mean: number }} Percentiles */
/** @typedef {{ users: number, calls: number, opsPerSec: number, nsPerCall: Percentiles, trueShare: number }} EvalResult */
/** @typedef {{ calls: number, bytesPerCall: number, gcsDuringFreeRun: { minor: number } }} AllocResult */
/**
 * @typedef {{ opsPerSec: number, nsPerCall: { p50: number, p99: number } }} PeerSide
 * @typedef {{ peer: string, rounds: number, ours: PeerSide, theirs: PeerSide, ratioP50: number, ratioOps: number }} PeerResult
 */
/**
 * @typedef {{ flags: number, changes: number, payloadBytes: number, storage: string,
 *   ms: Percentiles, floorMs: Percentiles, sdkWorkMs: Percentiles }} PropagationResult
 */
/**
 * @typedef {{ backend: string, flags: number, emitted: number, emitSeconds: number, emitsPerSec: number,
 *   nsPerEmit: number, inRedis: number, lost: number, perFlagMismatches: number, stats: { dropped: number } }} SignalsResult
 */
/**
 * @typedef {{ changes: number, nodes: number, replicas: number, ms: Percentiles }} ClusterPropagationResult
 * @typedef {{ managers: number, onKilledNode: number, electionMs: number, ms: Percentiles }} ClusterRecoveryResult
 * @typedef {{ managers: number, processes: number, updates: number, lastMs: Percentiles, eachMs: Percentiles }} ClusterFanoutResult
 */
/** @typedef {{ initMs: number, heapBytesPerFlag: number, heapGrowthBytes: number, payloadBytes: number }} StartupResult */
/**
 * @typedef {{ flags: number, payloadBytes: number, loads: number, changes: number, firstRenderMs: Percentiles,
 *   liveReadyMs: Percentiles, liveUpdateMs: Percentiles }} UiResult
 */
/**
 * @typedef {{ trips: number, managers: number, ratePerManager: number, windowMs: number, pollIntervalMs: number,
 *   minRequests: number, signalFlushIntervalMs: number, ms: Percentiles & { min: number } }} KillSwitchResult
 * @typedef {{ apps: number, flagsPerApp: number, polls: number, ms: Percentiles, nodeCpuMsPerPoll: number,
 *   redisCpuMsPerPoll: number }} BreakerPollResult
 */
/** @typedef {{ what: string, how: string, result: string, target: string, met: string }} Row */

/**
 * The one result a benchmark run reported (or the first of them), as the caller expects it.
 * @template T
 * @param {Promise<unknown[]>} results
 * @returns {Promise<T>}
 */
async function first(results) {
  const [result] = await results;
  return /** @type {T} */ (result);
}

/**
 * Runs one benchmark process; resolves with the results it reported.
 * @param {string} script
 * @param {string[]} scriptArgs
 * @param {{ nodeFlags?: string[], timeoutMs?: number }} [options]
 * @returns {Promise<unknown[]>}
 */
function runChild(script, scriptArgs, { nodeFlags = [], timeoutMs = 180_000 } = {}) {
  return new Promise((resolve, reject) => {
    const argv = ['--expose-gc', ...nodeFlags, join(BENCH_DIR, script), ...scriptArgs];
    process.stderr.write(`> node ${argv.map((a) => a.replace(`${ROOT}/`, '')).join(' ')}\n`);
    const child = spawn(process.execPath, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    /** @type {unknown[]} */
    const results = [];
    let out = '';
    child.stdout.on('data', (/** @type {Buffer} */ d) => {
      out += d.toString();
      let nl;
      while ((nl = out.indexOf('\n')) >= 0) {
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        if (line.startsWith('@@RESULT ')) results.push(JSON.parse(line.slice(9)));
        else if (line.trim() !== '') process.stderr.write(`  ${line}\n`);
      }
    });
    // SIGTERM first: the child's handlers stop the servers it started
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
    }, timeoutMs);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0 && results.length > 0) resolve(results);
      else reject(new Error(`${script} ${scriptArgs.join(' ')} failed (${signal ?? `exit ${code}`})`));
    });
  });
}

function cpuPressure() {
  try {
    const line = readFileSync('/proc/pressure/cpu', 'utf8').split('\n')[0] ?? '';
    return Number(/avg10=([\d.]+)/.exec(line)?.[1]);
  } catch {
    return undefined;
  }
}

/** @param {number[]} xs */
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
/** @param {number} ns */
const fmtNs = (ns) => `${ns.toFixed(0)} ns`;
/** @param {number} ms */
const fmtMs = (ms) => (ms < 10 ? `${ms.toFixed(2)} ms` : `${ms.toFixed(0)} ms`);
/** @param {number} n */
const fmtInt = (n) => Math.round(n).toLocaleString('en-US');
/** @param {number} ops */
const fmtOps = (ops) => (ops >= 1e6 ? `${(ops / 1e6).toFixed(1)} M/s` : `${(ops / 1e3).toFixed(0)} k/s`);
/** @param {boolean | undefined} ok */
const mark = (ok) => (ok === undefined ? '' : ok ? '✅' : '❌');

const dist = process.env.TAILSLIDE_DIST ? resolve(process.env.TAILSLIDE_DIST) : join(ROOT, 'dist/cjs');
if (!existsSync(join(dist, 'index.js'))) {
  process.stderr.write(`no build at ${dist}: run \`npm run bench\` (it builds first)\n`);
  process.exit(1);
}

const m = machine();
const startedAt = new Date();
/** @type {{ loadavgStart: number[], cpuPressureStart: number | undefined, loadavgEnd?: number[], cpuPressureEnd?: number | undefined }} */
const conditions = { loadavgStart: loadavg(), cpuPressureStart: cpuPressure() };
let commit = 'unknown';
try {
  commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  // the build is of the working tree: say so when src differs from the commit
  const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT, encoding: 'utf8' }).trim();
  if (dirty !== '') commit += ' + uncommitted changes in src/';
} catch {
  // not a git checkout
}

/**
 * Every result, as written to results.json.
 * @type {{
 *   eval?: Record<string, EvalResult>,
 *   alloc?: { off?: AllocResult, whitelist?: AllocResult, rolloutRuns?: AllocResult[] },
 *   peer?: PeerResult,
 *   targeting?: PeerResult & { theirsCallback: PeerSide },
 *   propagation?: Record<string, PropagationResult>,
 *   signals?: SignalsResult,
 *   'signals-cluster'?: SignalsResult,
 *   'signals-ts-1.4.14'?: SignalsResult,
 *   'signals-ts-1.6.19'?: SignalsResult,
 *   clusterPropagation?: ClusterPropagationResult,
 *   clusterRecovery?: ClusterRecoveryResult,
 *   clusterFanout?: ClusterFanoutResult,
 *   startup?: Record<string, StartupResult & { runs: StartupResult[] }>,
 *   ui?: UiResult,
 *   breaker?: { killswitch?: KillSwitchResult, native?: BreakerPollResult, timeseries?: BreakerPollResult },
 * }}
 */
const raw = {};
/** @type {Row[]} */
const rows = [];
/** @type {string[]} */
const failures = [];
/**
 * @param {string} name
 * @param {() => Promise<void>} fn
 */
async function step(name, fn) {
  if (!want(name)) return;
  try {
    await fn();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    failures.push(`${name}: ${message}`);
    process.stderr.write(`! ${name}: ${message}\n`);
  }
}

await step('eval', async () => {
  const samples = quick ? '500' : '5000';
  /** @type {Record<string, EvalResult>} */
  const e = {};
  raw.eval = e;
  for (const c of ['off', 'whitelist', 'rollout', 'rollout-wl-miss']) {
    e[c] = await first(runChild('eval.mjs', ['--case', c, '--samples', samples]));
  }
  /**
   * @param {string} what
   * @param {EvalResult | undefined} r
   * @param {string} target
   * @param {boolean | undefined} ok
   */
  const row = (what, r, target, ok) => {
    if (r === undefined) throw new Error(`no result for ${what}`);
    rows.push({
      what,
      how: `toggler.isFlagActive(user), ${fmtInt(r.users)} users cycled, ${fmtInt(r.calls)} calls in batches of 1,000`,
      result: `${fmtOps(r.opsPerSec)}; p50 ${fmtNs(r.nsPerCall.p50)}, p99 ${fmtNs(r.nsPerCall.p99)} per call (mean ${fmtNs(1e9 / r.opsPerSec)})`,
      target,
      met: mark(ok),
    });
  };
  row('evaluation: flag off', e.off, '', undefined);
  row('evaluation: whitelisted user (whitelist of 1,000)', e.whitelist, '', undefined);
  const rollout = e.rollout;
  if (rollout === undefined) throw new Error('no result for the rollout case');
  row(
    `evaluation: 37.5 % rollout (${(rollout.trueShare * 100).toFixed(1)} % on)`,
    rollout,
    '≤ 200 ns per evaluation',
    1e9 / rollout.opsPerSec <= 200 && rollout.nsPerCall.p50 <= 200,
  );
  row('evaluation: 37.5 % rollout, user not in a whitelist of 1,000', e['rollout-wl-miss'], '', undefined);
});

await step('alloc', async () => {
  /** @type {{ off?: AllocResult, whitelist?: AllocResult, rolloutRuns?: AllocResult[] }} */
  const a = {};
  raw.alloc = a;
  /** @type {(c: string) => Promise<AllocResult[]>} */
  const allocRun = async (c) =>
    /** @type {AllocResult[]} */ (
      await runChild('eval.mjs', ['--case', c, '--alloc', ...(quick ? ['--alloc-calls', '1000000'] : [])], {
        nodeFlags: ['--max-semi-space-size=64'],
      })
    );
  for (const c of /** @type {const} */ (['off', 'whitelist'])) a[c] = await first(allocRun(c));
  // the rollout case in several processes: what it allocates depends on a JIT inlining decision
  /** @type {AllocResult[]} */
  const runs = [];
  a.rolloutRuns = runs;
  for (let r = 0; r < (quick ? 1 : 3); r++) runs.push(...(await allocRun('rollout')));
  const [run0] = runs;
  const { off, whitelist } = a;
  if (run0 === undefined || off === undefined || whitelist === undefined) throw new Error('allocation results missing');
  const perRun = runs.map((r) => Math.max(0, r.bytesPerCall).toFixed(1)).join(' / ');
  const worst = Math.max(...runs.map((r) => r.bytesPerCall));
  rows.push({
    what: 'allocation per evaluation',
    how: `young-generation growth over ${fmtInt(run0.calls)} evaluations per process (GC-free chunks of 100k), ${runs.length} processes; GCs counted on a free run`,
    result:
      `rollout ${perRun} B/op (the title prefix is hashed once per flag, the user context straight from its char codes: no hash-input string)` +
      `; ${run0.gcsDuringFreeRun.minor} scavenges per ${fmtInt(run0.calls)} calls. ` +
      `Off ${Math.max(0, off.bytesPerCall).toFixed(1)} B/op, whitelisted ${Math.max(0, whitelist.bytesPerCall).toFixed(1)} B/op, 0 GCs`,
    target: 'nothing beyond the hash input',
    met: mark(worst < 1 && off.bytesPerCall < 1 && whitelist.bytesPerCall < 1),
  });
});

await step('peer', async () => {
  /** @type {PeerResult} */
  const p = await first(runChild('peer.mjs', quick ? ['--samples', '200', '--rounds', '3'] : []));
  raw.peer = p;
  rows.push({
    what: `evaluation vs ${p.peer}`,
    how: `same process, ${p.rounds} interleaved rounds; unleash \`isEnabled\` with flexibleRollout 37.5 %, stickiness userId, bootstrapped, no network, metrics off`,
    result: `ours ${fmtNs(p.ours.nsPerCall.p50)} vs ${fmtNs(p.theirs.nsPerCall.p50)} p50 (${fmtOps(p.ours.opsPerSec)} vs ${fmtOps(p.theirs.opsPerSec)}): **${p.ratioP50.toFixed(1)}× faster** (${p.ratioOps.toFixed(1)}× by ops/s)`,
    target: '≥ 3× faster',
    met: mark(p.ratioP50 >= 3 && p.ratioOps >= 3),
  });
});

await step('targeting', async () => {
  /** @type {PeerResult & { theirsCallback: PeerSide }} */
  const t = await first(
    runChild('targeting.mjs', quick ? ['--samples', '300', '--peer-samples', '30', '--rounds', '2'] : []),
  );
  raw.targeting = t;
  rows.push({
    what: 'evaluation: targeting flag (2 rules × 2 clauses, 50/50 split)',
    how: `toggler.variation(context, default), 100,000 contexts with 4 attributes cycled, ${t.rounds} rounds`,
    result: `${fmtOps(t.ours.opsPerSec)}; p50 ${fmtNs(t.ours.nsPerCall.p50)}, p99 ${fmtNs(t.ours.nsPerCall.p99)} per call`,
    target: '≤ 400 ns per evaluation',
    met: mark(t.ours.nsPerCall.p50 <= 400 && 1e9 / t.ours.opsPerSec <= 400),
  });
  rows.push({
    what: `targeting vs ${t.peer}`,
    how: "the same flag in LaunchDarkly's format through its TestData source (no network, events off), same process, rounds interleaved; its `variation` awaited per call as its users call it",
    result: `ours ${fmtNs(t.ours.nsPerCall.p50)} vs ${fmtNs(t.theirs.nsPerCall.p50)} p50 (callback form ${fmtNs(t.theirsCallback.nsPerCall.p50)}): **${t.ratioP50.toFixed(1)}× faster** (${t.ratioOps.toFixed(1)}× by ops/s)`,
    target: '≥ 5× faster',
    met: mark(t.ratioP50 >= 5 && t.ratioOps >= 5),
  });
});

await step('propagation', async () => {
  /** @type {Record<string, PropagationResult>} */
  const byFlags = {};
  raw.propagation = byFlags;
  for (const flags of [10, 100]) {
    byFlags[flags] = await first(
      runChild('propagation.mjs', ['--flags', String(flags), ...(quick ? ['--changes', '200'] : [])]),
    );
  }
  for (const p of Object.values(byFlags)) propagationRow(p);
});

/** @param {PropagationResult} p */
function propagationRow(p) {
  rows.push({
    what: `propagation, ${p.flags}-flag ruleset`,
    how: `${fmtInt(p.changes)} changes, each the whole ruleset (${(p.payloadBytes / 1024).toFixed(0)} KB), publish to JetStream (${p.storage} store) → \`update\` event`,
    result:
      `p50 ${fmtMs(p.ms.p50)}, p99 ${fmtMs(p.ms.p99)}, max ${fmtMs(p.ms.max)}. ` +
      `Of it: JetStream alone (bare consumer) p50 ${fmtMs(p.floorMs.p50)}, p99 ${fmtMs(p.floorMs.p99)}; SDK's work p50 ${fmtMs(p.sdkWorkMs.p50)}, p99 ${fmtMs(p.sdkWorkMs.p99)}`,
    target: 'p99 ≤ 5 ms',
    met: mark(p.ms.p99 <= 5),
  });
}

await step('signals', async () => {
  // The native backend, and the TimeSeries backend on each RedisTimeSeries build that is there.
  /** @type {{ key: 'signals' | 'signals-cluster' | 'signals-ts-1.4.14' | 'signals-ts-1.6.19', args: string[] }[]} */
  const variants = [
    { key: 'signals', args: [] },
    { key: 'signals-cluster', args: ['--cluster'] },
  ];
  for (const version of /** @type {const} */ (['1.4.14', '1.6.19'])) {
    if (timeSeriesModule(version) === undefined) {
      process.stderr.write(`  signals on RedisTimeSeries ${version}: SKIPPED (no module found)\n`);
      continue;
    }
    variants.push({ key: `signals-ts-${version}`, args: ['--backend', 'timeseries', '--module', version] });
  }
  for (const { key, args: extra } of variants) {
    /** @type {SignalsResult & { module?: string, cluster?: string }} */
    const s = await first(runChild('signals.mjs', [...(quick ? ['--seconds', '2'] : []), ...extra]));
    raw[key] = s;
    const into = s.cluster
      ? `a ${s.cluster} (${s.backend} backend, one MULTI per slot)`
      : s.module
        ? `redis-server + ${s.module} (timeseries backend)`
        : `redis-server (${s.backend} backend)`;
    rows.push({
      what: 'signals',
      how: `emitSuccess/emitFailure for ${s.emitSeconds.toFixed(0)} s over ${s.flags} flags into ${into}, then flush and read back with SignalReader`,
      result: `${fmtInt(s.emitsPerSec)} emits/s (${fmtInt(s.emitted)} emits, ${fmtNs(s.nsPerEmit)} each in the caller); in Redis ${fmtInt(s.inRedis)}, lost ${s.lost}, dropped ${s.stats.dropped}`,
      target: '≥ 200,000 emits/s, zero lost',
      met: mark(s.emitsPerSec >= 200_000 && s.lost === 0 && s.stats.dropped === 0 && s.perFlagMismatches === 0),
    });
  }
});

await step('cluster', async () => {
  /** @type {ClusterPropagationResult} */
  const p = await first(runChild('cluster.mjs', ['--case', 'propagation', '--changes', quick ? '100' : '300']));
  raw.clusterPropagation = p;
  rows.push({
    what: 'propagation through a 3-node JetStream cluster',
    how: `${fmtInt(p.changes)} changes of a 10-flag ruleset, R3 file stream, manager given all 3 URLs; publish → \`update\` event`,
    result: `p50 ${fmtMs(p.ms.p50)}, p99 ${fmtMs(p.ms.p99)}, max ${fmtMs(p.ms.max)}`,
    target: 'p99 ≤ 10 ms',
    met: mark(p.ms.p99 <= 10),
  });
  /** @type {ClusterRecoveryResult} */
  const r = await first(runChild('cluster.mjs', ['--case', 'recovery', '--managers', '6']));
  raw.clusterRecovery = r;
  rows.push({
    what: 'recovery after a node loss (3-node JetStream cluster)',
    how: `${r.managers} managers (${r.onKilledNode} on the killed node), a ruleset every 50 ms, SIGKILL of the stream leader's node; per manager, JetStream whole again (after ${fmtMs(r.electionMs)}) → first newer ruleset`,
    result: `p50 ${fmtMs(r.ms.p50)}, max ${fmtMs(r.ms.max)}`,
    target: '≤ 3 s (docs/clusters.md: the tail)',
    met: mark(r.ms.max <= 3_000),
  });
  const managers = quick ? 200 : 1_000;
  /** @type {ClusterFanoutResult} */
  const f = await first(
    runChild(
      'cluster.mjs',
      ['--case', 'fanout', '--managers', String(managers), '--processes', '4', '--updates', quick ? '3' : '10'],
      { timeoutMs: 300_000 },
    ),
  );
  raw.clusterFanout = f;
  rows.push({
    what: `fan-out to ${fmtInt(f.managers)} managers`,
    how: `${f.processes} processes, one connection each over 3 nodes, R3 stream; ${f.updates} updates, each timed publish → the LAST manager's \`update\``,
    result: `last one: p50 ${fmtMs(f.lastMs.p50)}, p99 ${fmtMs(f.lastMs.p99)}; each manager: p50 ${fmtMs(f.eachMs.p50)}, p99 ${fmtMs(f.eachMs.p99)}`,
    target: 'last one ≤ 1 s',
    met: mark(f.lastMs.p99 <= 1_000),
  });
});

await step('startup', async () => {
  const repeats = quick ? 1 : 3;
  /** @type {Record<string, StartupResult & { runs: StartupResult[] }>} */
  const startup = {};
  raw.startup = startup;
  for (const mode of ['jetstream', 'offline']) {
    for (const flags of [1_000, 10_000]) {
      /** @type {StartupResult[]} */
      const runs = [];
      for (let r = 0; r < repeats; r++)
        runs.push(
          .../** @type {StartupResult[]} */ (await runChild('startup.mjs', ['--mode', mode, '--flags', String(flags)])),
        );
      startup[`${mode}-${flags}`] = {
        runs,
        initMs: median(runs.map((x) => x.initMs)),
        heapBytesPerFlag: median(runs.map((x) => x.heapBytesPerFlag)),
        heapGrowthBytes: median(runs.map((x) => x.heapGrowthBytes)),
        payloadBytes: runs[0]?.payloadBytes ?? NaN,
      };
    }
  }
  for (const mode of ['jetstream', 'offline']) {
    for (const flags of [1_000, 10_000]) {
      const s = startup[`${mode}-${flags}`];
      const small = startup[`${mode}-1000`];
      if (s === undefined || small === undefined) throw new Error(`start-up results of ${mode} missing`);
      const marginal =
        flags === 10_000 ? ` (marginal ${fmtInt((s.heapGrowthBytes - small.heapGrowthBytes) / 9_000)} B/flag)` : '';
      rows.push({
        what: `start-up: ${fmtInt(flags)} flags, ${mode === 'jetstream' ? 'from JetStream' : 'offline bootstrap file'}`,
        how: `fresh process; ${(s.payloadBytes / 1e6).toFixed(1)} MB ruleset; \`initialize()\` time and heap retained (gc before/after), median of ${repeats}`,
        result: `${fmtMs(s.initMs)}; heap +${(s.heapGrowthBytes / 1e6).toFixed(1)} MB = ${fmtInt(s.heapBytesPerFlag)} B/flag${marginal}`,
        target: flags === 10_000 && mode === 'jetstream' ? '≤ 200 ms, ≤ 1 KB/flag' : '',
        met: flags === 10_000 && mode === 'jetstream' ? mark(s.initMs <= 200 && s.heapBytesPerFlag <= 1024) : '',
      });
    }
  }
});

await step('breaker', async () => {
  /** @type {KillSwitchResult} */
  const k = await first(runChild('breaker.mjs', ['--case', 'killswitch', '--trips', quick ? '5' : '25']));
  /** @type {{ killswitch?: KillSwitchResult, native?: BreakerPollResult, timeseries?: BreakerPollResult }} */
  const b = { killswitch: k };
  raw.breaker = b;
  rows.push({
    what: 'kill switch (circuit breaker)',
    how:
      `first failing request → all ${k.managers} SDK managers evaluate the flag off; ${k.trips} trips, ${k.ratePerManager} failing requests/s per manager; ` +
      `defaults: window ${k.windowMs} ms, poll ${k.pollIntervalMs} ms, min ${k.minRequests} requests, SDK flush ${k.signalFlushIntervalMs} ms`,
    result: `p50 ${fmtMs(k.ms.p50)}, p99 ${fmtMs(k.ms.p99)}, max ${fmtMs(k.ms.max)} (min ${fmtMs(k.ms.min)})`,
    target: 'p99 ≤ 2 s',
    met: mark(k.ms.p99 <= 2_000),
  });
  for (const backend of /** @type {const} */ (['native', 'timeseries'])) {
    /** @type {BreakerPollResult} */
    let p;
    try {
      p = await first(
        runChild('breaker.mjs', ['--case', 'poll', '--backend', backend, ...(quick ? ['--polls', '5'] : [])]),
      );
    } catch (err) {
      if (backend === 'timeseries') {
        process.stderr.write(`  (no TimeSeries row: ${err instanceof Error ? err.message : String(err)})\n`);
        continue;
      }
      throw err;
    }
    b[backend] = p;
    rows.push({
      what: `circuit breaker poll, ${backend} backend`,
      how: `${fmtInt(p.apps)} apps × ${fmtInt(p.flagsPerApp)} flags, all judged (signals in every window, no trips); poll() read + decide, ${p.polls} polls`,
      result: `p50 ${fmtMs(p.ms.p50)}, p99 ${fmtMs(p.ms.p99)}; CPU per poll: breaker ${fmtMs(p.nodeCpuMsPerPoll)}, redis-server ${fmtMs(p.redisCpuMsPerPoll)}`,
      target: '≤ 100 ms per poll',
      met: mark(p.ms.p50 <= 100),
    });
  }
});

await step('ui', async () => {
  /** @type {UiResult} */
  const u = await first(runChild('ui.mjs', quick ? ['--loads', '2', '--changes', '5'] : []));
  raw.ui = u;
  rows.push({
    what: `dashboard: app of ${fmtInt(u.flags)} flags`,
    how: `tailslide ui on loopback in headless chromium; first render = navigation → the frame after every flag card is in the DOM (fresh page, ${u.loads} loads after a warm-up); live feed up = navigation → first live event applied; live update = ruleset (${(u.payloadBytes / 1024).toFixed(0)} KB) published to JetStream → the changed rollout shown in the page, ${u.changes} changes`,
    result: `first render p50 ${fmtMs(u.firstRenderMs.p50)}, max ${fmtMs(u.firstRenderMs.max)}; live feed up p50 ${fmtMs(u.liveReadyMs.p50)}; live update p50 ${fmtMs(u.liveUpdateMs.p50)}, p90 ${fmtMs(u.liveUpdateMs.p90)}, max ${fmtMs(u.liveUpdateMs.max)}`,
    target: 'live update ≤ 1 s',
    met: mark(u.liveUpdateMs.max <= 1_000),
  });
});

const loadavgEnd = loadavg();
conditions.loadavgEnd = loadavgEnd;
conditions.cpuPressureEnd = cpuPressure();
const durationS = (Date.now() - startedAt.getTime()) / 1000;

const escape = (/** @type {string} */ s) => String(s).replace(/\|/g, '\\|');
const table = [
  '| what | how | result | target | met |',
  '|---|---|---|---|---|',
  ...rows.map((r) => `| ${escape(r.what)} | ${escape(r.how)} | ${escape(r.result)} | ${escape(r.target)} | ${r.met} |`),
].join('\n');
const conditionsLine =
  `load average ${conditions.loadavgStart.map((x) => x.toFixed(2)).join(' ')} at start, ` +
  `${loadavgEnd.map((x) => x.toFixed(2)).join(' ')} at end` +
  (conditions.cpuPressureStart !== undefined
    ? `; CPU pressure (some, avg10) ${conditions.cpuPressureStart}% → ${conditions.cpuPressureEnd}%`
    : '');

const header = `Machine: ${machineLine(m)}. Commit ${commit}, ${startedAt.toISOString()}, ${durationS.toFixed(0)} s; ${conditionsLine}. Nothing pinned.`;
process.stdout.write(`\n${header}\n\n${table}\n`);
if (failures.length > 0) process.stdout.write(`\nFailed: ${failures.join('; ')}\n`);

if (!quick && !only) {
  const json = {
    machine: m,
    commit,
    startedAt: startedAt.toISOString(),
    durationS,
    command: 'npm run bench',
    conditions,
    rows,
    failures,
    raw,
  };
  writeFileSync(join(BENCH_DIR, 'results.json'), `${JSON.stringify(json, null, 2)}\n`);
  const md = [
    '# Benchmark results',
    '',
    `Measured with \`npm run bench\` (bench/run.mjs; each row in its own \`node --expose-gc\` process, real`,
    'nats-server and redis-server started by the bench on loopback).',
    '',
    `**Machine:** ${machineLine(m)}.`,
    '',
    `Commit ${commit}, ${startedAt.toISOString()}; ${conditionsLine}. Nothing pinned; targets are for one core.`,
    '',
    table,
    '',
    'Per-call times of sub-microsecond calls are from batches of 1,000 calls timed with `process.hrtime.bigint()`;',
    'p50/p99 are over batches (a p99 batch is one a GC pause or an interrupt landed in).',
    '',
  ].join('\n');
  writeFileSync(join(BENCH_DIR, 'RESULTS.md'), md);
  process.stderr.write(`wrote bench/results.json and bench/RESULTS.md\n`);
}
process.exitCode = failures.length > 0 ? 1 : 0;
