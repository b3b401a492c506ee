// Signals: how many emits per second one process sustains into Redis, none lost.
//   node --expose-gc bench/signals.mjs [--seconds 10] [--flags 10] [--backend native|timeseries] [--module 1.6.19] [--cluster]
// --cluster writes into a 6-node Redis Cluster (3 primaries, 3 replicas; bench/lib/redis-cluster.mjs)
// through `redisClusterNodes` (one MULTI per hash slot), native backend.
// --backend timeseries loads RedisTimeSeries <module> (../shared/redistimeseries/<module>/) into the
// redis-server it starts and writes and reads with the TimeSeries backend.
// Starts its own redis-server and nats-server (a manager needs a ruleset source; offline managers
// do not write signals), loads `flags` flags, and for `seconds` calls emitSuccess()/emitFailure()
// round-robin over the flags' togglers, in chunks with a yield to the event loop between them
// (so the SDK's background writer runs, as it would between requests of a server). If the SDK's
// buffer fills past half its limit the loop waits for it to drain instead of letting it drop:
// the rate reported is one the pipeline keeps up with. Afterwards it flushes, checks
// signalStats() (written = emitted, dropped 0) and reads the counts back from Redis with
// SignalReader (same backend), flag by flag.
import { createRequire } from 'node:module';
import { setImmediate as yieldLoop } from 'node:timers/promises';
import {
  args,
  loadInternal,
  loadTailslide,
  log,
  percentile,
  quietLogger,
  report,
  sleep,
  wireFlag,
} from './lib/common.mjs';
import { NatsServer, RedisServer, timeSeriesModule } from './lib/servers.mjs';
import { RedisCluster } from './lib/redis-cluster.mjs';

const opts = args();
const SECONDS = Number(opts.seconds ?? 10);
const FLAGS = Number(opts.flags ?? 10);
const CHUNK = Number(opts.chunk ?? 2_000);
const APP = 1;
const BACKEND = opts.backend === 'timeseries' ? 'timeseries' : 'native';
const MODULE_VERSION = String(opts.module ?? '1.6.19');

const require = createRequire(import.meta.url);
const { connect } = require('nats');
const { FlagManager } = loadTailslide();
/** @type {typeof import('../src/signals/index.js')} */
const { SignalReader, createSignalSink } = loadInternal('signals/index.js');
const BATCHES = Number(opts.batches ?? 200);

let module;
if (BACKEND === 'timeseries') {
  module = timeSeriesModule(MODULE_VERSION);
  if (module === undefined)
    throw new Error(`no RedisTimeSeries ${MODULE_VERSION} (see bench/lib/servers.mjs, timeSeriesModule)`);
}
const CLUSTER = Boolean(opts.cluster);
if (CLUSTER && BACKEND !== 'native') throw new Error('--cluster runs the native backend only (docs/clusters.md)');
const redis = CLUSTER ? await RedisCluster.start() : await RedisServer.start({ module });
const redisOptions = redis instanceof RedisCluster ? { redisClusterNodes: redis.addresses } : { redisUrl: redis.url };
const nats = await NatsServer.start();
/** @type {import('../src/index.js').FlagManager | undefined} */
let manager;
/** @type {import('../src/signals/index.js').SignalReader | undefined} */
let reader;
try {
  const nc = await connect({ servers: nats.url });
  const jsm = await nc.jetstreamManager();
  await jsm.streams.add({ name: 'flags_ruleset', subjects: ['apps.*.update.*'] });
  const ruleset = Array.from({ length: FLAGS }, (_, i) => wireFlag(1000 + i, { title: `signal-flag-${i}` }));
  await nc.jetstream().publish(`apps.${APP}.update.manual`, new TextEncoder().encode(JSON.stringify(ruleset)));
  await nc.close();

  const m = new FlagManager({
    natsServer: nats.url,
    appId: APP,
    ...redisOptions,
    signalBackend: BACKEND,
    logger: quietLogger,
    initTimeoutMs: 10_000,
  });
  manager = m;
  await m.initialize();
  if (!manager.initialized) throw new Error('manager not ready');
  // wait for the signal backend to connect, so the run does not start by filling the buffer
  // (a forced backend is named at once; write one event to see it work before timing)
  m.newToggler({ flagName: String(ruleset[0]?.title) }).emitSuccess();
  await manager.flushSignals(5_000);
  if (manager.signalStats().written !== 1)
    throw new Error(`the ${BACKEND} backend wrote nothing: ${JSON.stringify(manager.signalStats())}`);
  const warmup = 1;

  const flagsUnderTest = ruleset.map((f) => ({
    id: f.id,
    toggler: m.newToggler({ flagName: f.title }),
    expected: { success: 0, failure: 0 },
  }));
  const firstFlag = flagsUnderTest[0];
  if (firstFlag) firstFlag.expected.success += warmup; // the write that checked the backend
  const BUFFER_LIMIT = 100_000; // the default signalBufferLimit
  let emitted = 0;
  let waits = 0;
  const startMs = Date.now();
  const t0 = process.hrtime.bigint();
  const endAt = t0 + BigInt(SECONDS * 1e9);
  let i = 0;
  let inEmitNs = 0n;
  while (process.hrtime.bigint() < endAt) {
    const c0 = process.hrtime.bigint();
    for (let c = 0; c < CHUNK; c++) {
      const { toggler, expected } = /** @type {(typeof flagsUnderTest)[number]} */ (flagsUnderTest[i % FLAGS]);
      // one failure in 16, as a service with some errors would report
      if ((i & 15) === 15) {
        toggler.emitFailure();
        expected.failure++;
      } else {
        toggler.emitSuccess();
        expected.success++;
      }
      i++;
    }
    inEmitNs += process.hrtime.bigint() - c0;
    emitted += CHUNK;
    await yieldLoop();
    while (manager.signalStats().pending > BUFFER_LIMIT / 2) {
      waits++;
      await sleep(1);
    }
  }
  const t1 = process.hrtime.bigint();
  await manager.flushSignals(30_000);
  const t2 = process.hrtime.bigint();
  const stats = manager.signalStats();
  const emitSeconds = Number(t1 - t0) / 1e9;
  const totalSeconds = Number(t2 - t0) / 1e9;

  reader = new SignalReader({ ...redisOptions, backend: BACKEND, logger: quietLogger });
  const window = { fromMs: startMs - 60_000, toMs: Date.now() + 60_000 };
  let inRedis = 0;
  let mismatches = 0;
  for (const { id, expected } of flagsUnderTest) {
    const counts = await reader.flagCounts(id, window);
    inRedis += counts.total;
    if (counts.success !== expected.success || counts.failure !== expected.failure) {
      mismatches++;
      log(`flag ${id}: Redis has ${counts.success}/${counts.failure}, emitted ${expected.success}/${expected.failure}`);
    }
  }
  const lost = emitted + warmup - inRedis;
  const rate = emitted / totalSeconds;
  log(
    `signals: ${emitted.toLocaleString('en-US')} emits in ${emitSeconds.toFixed(2)} s + ${(totalSeconds - emitSeconds).toFixed(3)} s final flush: ` +
      `${Math.round(rate).toLocaleString('en-US')}/s; in Redis ${inRedis.toLocaleString('en-US')}, lost ${lost}, dropped ${stats.dropped}`,
  );
  const batchCost = await measureBatchCost();
  log(
    `signals: one batch of 1,000 entries written in ${batchCost.p50Ms.toFixed(2)} ms (median of ${BATCHES}, p90 ` +
      `${batchCost.p90Ms.toFixed(2)} ms), ${((batchCost.p50Ms * 1e6) / 1_000).toFixed(0)} ns per entry`,
  );
  report({
    bench: 'signals',
    batchOf1000Ms: batchCost,
    backend: stats.backend,
    module: BACKEND === 'timeseries' ? `RedisTimeSeries ${MODULE_VERSION}` : undefined,
    cluster: CLUSTER ? '6-node Redis Cluster (3 primaries, 3 replicas)' : undefined,
    flags: FLAGS,
    emitted,
    emitSeconds,
    totalSeconds,
    emitsPerSec: rate,
    inRedis,
    lost,
    perFlagMismatches: mismatches,
    stats,
    backpressureWaits: waits,
    // time inside the emit calls per emit; the rest of the run went to the writer and the loop
    nsPerEmit: Number(inEmitNs) / emitted,
  });
} finally {
  await reader?.close();
  await manager?.disconnect();
  await nats.stop();
  await redis.stop();
}

/**
 * The writer's cost of one full batch (1,000 folded entries, the sink's MAX_ENTRIES_PER_WRITE):
 * a sink of its own records 1,000 events of distinct milliseconds (no folding), then one flush is
 * timed, `BATCHES` times. What it measures is the round trip of one batch write as the sink sends it
 * (MULTI/EXEC or the batch script), Redis' work included.
 */
async function measureBatchCost() {
  const sink = createSignalSink(
    {
      backend: BACKEND,
      flushIntervalMs: 3_600_000,
      batchSize: 1_000_000,
      bufferLimit: 1_000_000,
      retentionMs: 7 * 24 * 3_600_000,
      flushTimeoutMs: 10_000,
      redis:
        redis instanceof RedisCluster
          ? {
              client: undefined,
              url: undefined,
              host: 'localhost',
              port: 6379,
              clusterNodes: redis.addresses.map((a) => ({ host: '127.0.0.1', port: Number(a.split(':')[1]) })),
            }
          : { client: undefined, url: redis.url, host: 'localhost', port: 6379 },
    },
    quietLogger,
  );
  await sink.start();
  const base = Date.now() - 60_000;
  sink.record(999_999, APP, 'success', base);
  await sink.flush(10_000);
  const times = [];
  for (let b = 0; b < BATCHES; b++) {
    for (let e = 0; e < 1_000; e++)
      sink.record(999_000 + (e % 10), APP, e % 16 === 15 ? 'failure' : 'success', base + b * 1_000 + e);
    const t = process.hrtime.bigint();
    await sink.flush(10_000);
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  const stats = sink.stats();
  await sink.close();
  if (stats.written !== 1 + BATCHES * 1_000) throw new Error(`batch cost: ${JSON.stringify(stats)}`);
  times.sort((x, y) => x - y);
  return { p50Ms: percentile(times, 50), p90Ms: percentile(times, 90), batches: BATCHES };
}
