// Runs every benchmark, each in its own child process (`node --expose-gc bench/<x>.mjs …`, so JIT
// state and heap do not leak between rows), prints one markdown table, and writes
// bench/results.json and bench/RESULTS.md.
//   npm run bench                     build, then everything (~2 min)
//   node bench/run.mjs --only eval,peer   some of it (names: eval alloc peer propagation signals cluster startup)
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
const want = (name) => !only || only.has(name);

/** Runs one benchmark process; resolves with the results it reported. */
function runChild(script, scriptArgs, { nodeFlags = [], timeoutMs = 180_000 } = {}) {
  return new Promise((resolve, reject) => {
    const argv = ['--expose-gc', ...nodeFlags, join(BENCH_DIR, script), ...scriptArgs];
    process.stderr.write(`> node ${argv.map((a) => a.replace(`${ROOT}/`, '')).join(' ')}\n`);
    const child = spawn(process.execPath, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    const results = [];
    let out = '';
    child.stdout.on('data', (d) => {
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
    const line = readFileSync('/proc/pressure/cpu', 'utf8').split('\n')[0];
    return Number(/avg10=([\d.]+)/.exec(line)?.[1]);
  } catch {
    return undefined;
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmtNs = (ns) => `${ns.toFixed(0)} ns`;
const fmtMs = (ms) => (ms < 10 ? `${ms.toFixed(2)} ms` : `${ms.toFixed(0)} ms`);
const fmtInt = (n) => Math.round(n).toLocaleString('en-US');
const fmtOps = (ops) => (ops >= 1e6 ? `${(ops / 1e6).toFixed(1)} M/s` : `${(ops / 1e3).toFixed(0)} k/s`);
const mark = (ok) => (ok === undefined ? '' : ok ? '✅' : '❌');

const dist = process.env.TAILSLIDE_DIST ? resolve(process.env.TAILSLIDE_DIST) : join(ROOT, 'dist/cjs');
if (!existsSync(join(dist, 'index.js'))) {
  process.stderr.write(`no build at ${dist}: run \`npm run bench\` (it builds first)\n`);
  process.exit(1);
}

const m = machine();
const startedAt = new Date();
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

const raw = {};
const rows = [];
const failures = [];
async function step(name, fn) {
  if (!want(name)) return;
  try {
    await fn();
  } catch (err) {
    failures.push(`${name}: ${err.message}`);
    process.stderr.write(`! ${name}: ${err.message}\n`);
  }
}

await step('eval', async () => {
  const samples = quick ? '500' : '5000';
  raw.eval = {};
  for (const c of ['off', 'whitelist', 'rollout', 'rollout-wl-miss']) {
    [raw.eval[c]] = await runChild('eval.mjs', ['--case', c, '--samples', samples]);
  }
  const row = (what, r, target, ok) =>
    rows.push({
      what,
      how: `toggler.isFlagActive(user), ${fmtInt(r.users)} users cycled, ${fmtInt(r.calls)} calls in batches of 1,000`,
      result: `${fmtOps(r.opsPerSec)}; p50 ${fmtNs(r.nsPerCall.p50)}, p99 ${fmtNs(r.nsPerCall.p99)} per call (mean ${fmtNs(1e9 / r.opsPerSec)})`,
      target,
      met: mark(ok),
    });
  const e = raw.eval;
  row('evaluation: flag off', e.off, '', undefined);
  row('evaluation: whitelisted user (whitelist of 1,000)', e.whitelist, '', undefined);
  const rollout = e.rollout;
  row(
    `evaluation: 37.5 % rollout (${(rollout.trueShare * 100).toFixed(1)} % on)`,
    rollout,
    '≤ 200 ns per evaluation',
    1e9 / rollout.opsPerSec <= 200 && rollout.nsPerCall.p50 <= 200,
  );
  row('evaluation: 37.5 % rollout, user not in a whitelist of 1,000', e['rollout-wl-miss'], '', undefined);
});

await step('alloc', async () => {
  raw.alloc = {};
  const allocRun = (c) =>
    runChild('eval.mjs', ['--case', c, '--alloc', ...(quick ? ['--alloc-calls', '1000000'] : [])], {
      nodeFlags: ['--max-semi-space-size=64'],
    });
  for (const c of ['off', 'whitelist']) [raw.alloc[c]] = await allocRun(c);
  // the rollout case in several processes: what it allocates depends on a JIT inlining decision
  raw.alloc.rolloutRuns = [];
  for (let r = 0; r < (quick ? 1 : 3); r++) raw.alloc.rolloutRuns.push(...(await allocRun('rollout')));
  const a = raw.alloc;
  const runs = a.rolloutRuns;
  const perRun = runs.map((r) => Math.max(0, r.bytesPerCall).toFixed(1)).join(' / ');
  const worst = Math.max(...runs.map((r) => r.bytesPerCall));
  rows.push({
    what: 'allocation per evaluation',
    how: `young-generation growth over ${fmtInt(runs[0].calls)} evaluations per process (GC-free chunks of 100k), ${runs.length} processes; GCs counted on a free run`,
    result:
      `rollout ${perRun} B/op (the title prefix is hashed once per flag, the user context straight from its char codes: no hash-input string)` +
      `; ${runs[0].gcsDuringFreeRun.minor} scavenges per ${fmtInt(runs[0].calls)} calls. ` +
      `Off ${Math.max(0, a.off.bytesPerCall).toFixed(1)} B/op, whitelisted ${Math.max(0, a.whitelist.bytesPerCall).toFixed(1)} B/op, 0 GCs`,
    target: 'nothing beyond the hash input',
    met: mark(worst < 1 && a.off.bytesPerCall < 1 && a.whitelist.bytesPerCall < 1),
  });
});

await step('peer', async () => {
  [raw.peer] = await runChild('peer.mjs', quick ? ['--samples', '200', '--rounds', '3'] : []);
  const p = raw.peer;
  rows.push({
    what: `evaluation vs ${p.peer}`,
    how: `same process, ${p.rounds} interleaved rounds; unleash \`isEnabled\` with flexibleRollout 37.5 %, stickiness userId, bootstrapped, no network, metrics off`,
    result: `ours ${fmtNs(p.ours.nsPerCall.p50)} vs ${fmtNs(p.theirs.nsPerCall.p50)} p50 (${fmtOps(p.ours.opsPerSec)} vs ${fmtOps(p.theirs.opsPerSec)}): **${p.ratioP50.toFixed(1)}× faster** (${p.ratioOps.toFixed(1)}× by ops/s)`,
    target: '≥ 3× faster',
    met: mark(p.ratioP50 >= 3 && p.ratioOps >= 3),
  });
});

await step('propagation', async () => {
  raw.propagation = {};
  for (const flags of [10, 100]) {
    [raw.propagation[flags]] = await runChild('propagation.mjs', [
      '--flags',
      String(flags),
      ...(quick ? ['--changes', '200'] : []),
    ]);
  }
  for (const p of Object.values(raw.propagation)) propagationRow(p);
});

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
  const variants = [
    { key: 'signals', args: [] },
    { key: 'signals-cluster', args: ['--cluster'] },
  ];
  for (const version of ['1.4.14', '1.6.19']) {
    if (timeSeriesModule(version) === undefined) {
      process.stderr.write(`  signals on RedisTimeSeries ${version}: SKIPPED (no module found)\n`);
      continue;
    }
    variants.push({ key: `signals-ts-${version}`, args: ['--backend', 'timeseries', '--module', version] });
  }
  for (const { key, args: extra } of variants) {
    [raw[key]] = await runChild('signals.mjs', [...(quick ? ['--seconds', '2'] : []), ...extra]);
    const s = raw[key];
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
  [raw.clusterPropagation] = await runChild('cluster.mjs', [
    '--case',
    'propagation',
    '--changes',
    quick ? '100' : '300',
  ]);
  const p = raw.clusterPropagation;
  rows.push({
    what: 'propagation through a 3-node JetStream cluster',
    how: `${fmtInt(p.changes)} changes of a 10-flag ruleset, R3 file stream, manager given all 3 URLs; publish → \`update\` event`,
    result: `p50 ${fmtMs(p.ms.p50)}, p99 ${fmtMs(p.ms.p99)}, max ${fmtMs(p.ms.max)}`,
    target: 'p99 ≤ 10 ms',
    met: mark(p.ms.p99 <= 10),
  });
  [raw.clusterRecovery] = await runChild('cluster.mjs', ['--case', 'recovery', '--managers', '6']);
  const r = raw.clusterRecovery;
  rows.push({
    what: 'recovery after a node loss (3-node JetStream cluster)',
    how: `${r.managers} managers (${r.onKilledNode} on the killed node), a ruleset every 50 ms, SIGKILL of the stream leader's node; per manager, JetStream whole again (after ${fmtMs(r.electionMs)}) → first newer ruleset`,
    result: `p50 ${fmtMs(r.ms.p50)}, max ${fmtMs(r.ms.max)}`,
    target: '≤ 3 s (docs/clusters.md: the tail)',
    met: mark(r.ms.max <= 3_000),
  });
  const managers = quick ? 200 : 1_000;
  [raw.clusterFanout] = await runChild(
    'cluster.mjs',
    ['--case', 'fanout', '--managers', String(managers), '--processes', '4', '--updates', quick ? '3' : '10'],
    { timeoutMs: 300_000 },
  );
  const f = raw.clusterFanout;
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
  raw.startup = {};
  for (const mode of ['jetstream', 'offline']) {
    for (const flags of [1_000, 10_000]) {
      const runs = [];
      for (let r = 0; r < repeats; r++)
        runs.push(...(await runChild('startup.mjs', ['--mode', mode, '--flags', String(flags)])));
      raw.startup[`${mode}-${flags}`] = {
        runs,
        initMs: median(runs.map((x) => x.initMs)),
        heapBytesPerFlag: median(runs.map((x) => x.heapBytesPerFlag)),
        heapGrowthBytes: median(runs.map((x) => x.heapGrowthBytes)),
        payloadBytes: runs[0].payloadBytes,
      };
    }
  }
  for (const mode of ['jetstream', 'offline']) {
    for (const flags of [1_000, 10_000]) {
      const s = raw.startup[`${mode}-${flags}`];
      const small = raw.startup[`${mode}-1000`];
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

conditions.loadavgEnd = loadavg();
conditions.cpuPressureEnd = cpuPressure();
const durationS = (Date.now() - startedAt.getTime()) / 1000;

const escape = (s) => String(s).replace(/\|/g, '\\|');
const table = [
  '| what | how | result | target | met |',
  '|---|---|---|---|---|',
  ...rows.map((r) => `| ${escape(r.what)} | ${escape(r.how)} | ${escape(r.result)} | ${escape(r.target)} | ${r.met} |`),
].join('\n');
const conditionsLine =
  `load average ${conditions.loadavgStart.map((x) => x.toFixed(2)).join(' ')} at start, ` +
  `${conditions.loadavgEnd.map((x) => x.toFixed(2)).join(' ')} at end` +
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
