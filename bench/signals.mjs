// Signals: how many emits per second one process sustains into Redis, none lost.
//   node --expose-gc bench/signals.mjs [--seconds 10] [--flags 10]
// Starts its own redis-server and nats-server (a manager needs a ruleset source; offline managers
// do not write signals), loads `flags` flags, and for `seconds` calls emitSuccess()/emitFailure()
// round-robin over the flags' togglers, in chunks with a yield to the event loop between them
// (so the SDK's background writer runs, as it would between requests of a server). If the SDK's
// buffer fills past half its limit the loop waits for it to drain instead of letting it drop:
// the rate reported is one the pipeline keeps up with. Afterwards it flushes, checks
// signalStats() (written = emitted, dropped 0) and reads the counts back from Redis with
// SignalReader (native backend), flag by flag.
import { createRequire } from 'node:module';
import { setImmediate as yieldLoop } from 'node:timers/promises';
import { args, loadInternal, loadTailslide, log, quietLogger, report, sleep, wireFlag } from './lib/common.mjs';
import { NatsServer, RedisServer } from './lib/servers.mjs';

const opts = args();
const SECONDS = Number(opts.seconds ?? 10);
const FLAGS = Number(opts.flags ?? 10);
const CHUNK = Number(opts.chunk ?? 2_000);
const APP = 1;

const require = createRequire(import.meta.url);
const { connect } = require('nats');
const { FlagManager } = loadTailslide();
/** @type {typeof import('../src/signals/index.js')} */
const { SignalReader } = loadInternal('signals/index.js');

const redis = await RedisServer.start();
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
    redisUrl: redis.url,
    signalBackend: 'native',
    logger: quietLogger,
    initTimeoutMs: 10_000,
  });
  manager = m;
  await m.initialize();
  if (!manager.initialized) throw new Error('manager not ready');
  // wait for the signal backend to connect, so the run does not start by filling the buffer
  for (let i = 0; i < 100 && manager.signalStats().backend !== 'native'; i++) await sleep(50);
  if (manager.signalStats().backend !== 'native')
    throw new Error(`signal backend is ${manager.signalStats().backend}, not native`);

  const flagsUnderTest = ruleset.map((f) => ({
    id: f.id,
    toggler: m.newToggler({ flagName: f.title }),
    expected: { success: 0, failure: 0 },
  }));
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

  reader = new SignalReader({ redisUrl: redis.url, backend: 'native', logger: quietLogger });
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
  const lost = emitted - inRedis;
  const rate = emitted / totalSeconds;
  log(
    `signals: ${emitted.toLocaleString('en-US')} emits in ${emitSeconds.toFixed(2)} s + ${(totalSeconds - emitSeconds).toFixed(3)} s final flush: ` +
      `${Math.round(rate).toLocaleString('en-US')}/s; in Redis ${inRedis.toLocaleString('en-US')}, lost ${lost}, dropped ${stats.dropped}`,
  );
  report({
    bench: 'signals',
    backend: stats.backend,
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
