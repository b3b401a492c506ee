// The circuit breaker (tailslide/breaker), two rows:
//   node --expose-gc bench/breaker.mjs --case killswitch [--trips 25] [--rate 100] [--healthy-ms 0] [--flush-ms N]
//     Kill switch with the defaults (window 3 s, poll 500 ms, min 20 requests, the SDK's signal
//     flush interval): one app, one flag per trip; 3 FlagManagers (native backend) start failing
//     every request of the flag at `rate` requests/s each; time from the first failing request
//     to every one of the 3 managers evaluating the flag off. p50/p99 over `trips` trips. With
//     --healthy-ms, each flag first serves that long without failures (a window full of successes
//     dilutes the error rate: the trip waits until failures outweigh them).
//   node --expose-gc bench/breaker.mjs --case poll [--apps 100] [--flags 100] [--polls 30] [--backend native|timeseries]
//     Cost of one poll: `apps` apps × `flags` flags, every flag with signals in its window (no
//     trips), the breaker's clock pinned so that every poll reads the same data; poll() timed
//     (read Redis, decide) p50/p99. TimeSeries loads ../shared/redistimeseries/1.6.19 (override
//     the folder with TAILSLIDE_REDISTIMESERIES_DIR).
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  ROOT,
  args,
  loadInternal,
  loadTailslide,
  log,
  quietLogger,
  report,
  sleep,
  summarize,
  wireFlag,
} from './lib/common.mjs';
import { NatsServer, RedisServer } from './lib/servers.mjs';

const opts = args();
const CASE = String(opts.case ?? 'killswitch');
const require = createRequire(import.meta.url);
const { connect } = require('nats');
const { Redis } = require('ioredis');
const { FlagManager, DEFAULT_SIGNAL_FLUSH_INTERVAL_MS } = loadTailslide();
const { CircuitBreaker, DEFAULT_BREAKER_WINDOW_MS, DEFAULT_BREAKER_POLL_INTERVAL_MS, DEFAULT_BREAKER_MIN_REQUESTS } =
  loadInternal('breaker/index.js');
const keys = loadInternal('signals/keys.js');

class ModuleRedis extends RedisServer {
  /** @param {string} modulePath */
  constructor(modulePath) {
    super();
    this.modulePath = modulePath;
  }
  /** @override */
  command() {
    const base = super.command();
    return { bin: base.bin, args: [...base.args, '--loadmodule', this.modulePath] };
  }
}

/**
 * @param {string} natsUrl
 * @param {Array<[number, ReturnType<typeof wireFlag>[]]>} rulesets
 */
async function publishRulesets(natsUrl, rulesets) {
  const nc = await connect({ servers: natsUrl });
  const jsm = await nc.jetstreamManager();
  await jsm.streams.add({ name: 'flags_ruleset', subjects: ['apps.*.update.*'] });
  const js = nc.jetstream();
  for (const [appId, flags] of rulesets)
    await js.publish(`apps.${appId}.update.manual`, new TextEncoder().encode(JSON.stringify(flags)));
  await nc.close();
}

async function killSwitch() {
  const TRIPS = Number(opts.trips ?? 25);
  const RATE = Number(opts.rate ?? 100);
  // A flag that served this long without failures before failing: its window is full of successes.
  const HEALTHY_MS = Number(opts['healthy-ms'] ?? 0);
  // The SDK's signalFlushIntervalMs (default: the SDK's default).
  const FLUSH_MS = opts['flush-ms'] === undefined ? DEFAULT_SIGNAL_FLUSH_INTERVAL_MS : Number(opts['flush-ms']);
  const APP = 1;
  const nats = await NatsServer.start();
  const redis = await RedisServer.start();
  const managers = [];
  let breaker;
  try {
    const flags = Array.from({ length: TRIPS }, (_, i) =>
      wireFlag(100 + i, {
        title: `kill-${i}`,
        app_id: APP,
        rollout_percentage: 100,
        error_threshold_percentage: 50,
        is_recoverable: false,
      }),
    );
    await publishRulesets(nats.url, [[APP, flags]]);
    const warn = (/** @type {string} */ message) => log(`breaker: ${message}`);
    breaker = new CircuitBreaker({
      natsServer: nats.url,
      redisUrl: redis.url,
      apps: [APP],
      logger: { ...quietLogger, warn, error: warn },
    });
    await breaker.start();
    for (let m = 0; m < 3; m++) {
      const manager = new FlagManager({
        natsServer: nats.url,
        appId: APP,
        redisUrl: redis.url,
        signalBackend: 'native',
        signalFlushIntervalMs: FLUSH_MS,
        logger: quietLogger,
      });
      managers.push(manager);
      await manager.initialize();
    }
    for (let i = 0; i < 100 && managers.some((m) => m.signalStats().backend !== 'native'); i++) await sleep(50);
    const ms = [];
    for (let t = 0; t < TRIPS; t++) {
      const title = `kill-${t}`;
      const togglers = managers.map((m) => m.newToggler({ flagName: title }));
      if (!togglers.every((tg) => tg.isFlagActive('u'))) throw new Error(`${title} is off before its trip`);
      // Start at a random phase of the flush and poll timers, as a real incident would.
      await sleep(Math.random() * 1_000);
      const every = 1_000 / RATE;
      if (HEALTHY_MS > 0) {
        const h0 = performance.now();
        let ok = 0;
        while (performance.now() - h0 < HEALTHY_MS) {
          const due = Math.floor((performance.now() - h0) / every) + 1;
          for (; ok < due; ok++) for (const tg of togglers) tg.emitSuccess();
          await sleep(1);
        }
      }
      const t0 = performance.now();
      let sent = 0;
      let off;
      while (off === undefined) {
        const due = Math.floor((performance.now() - t0) / every) + 1;
        for (; sent < due; sent++) for (const tg of togglers) if (tg.isFlagActive('u')) tg.emitFailure();
        if (togglers.every((tg) => !tg.isFlagActive('u'))) off = performance.now() - t0;
        else if (performance.now() - t0 > 10_000)
          throw new Error(
            `${title} not off after 10 s (off in ${togglers.filter((tg) => !tg.isFlagActive('u')).length} of 3 managers)`,
          );
        else await sleep(1);
      }
      ms.push(off);
      log(`trip ${t + 1}/${TRIPS}: ${off.toFixed(0)} ms`);
    }
    report({
      bench: 'breaker-killswitch',
      trips: TRIPS,
      managers: managers.length,
      ratePerManager: RATE,
      healthyMs: HEALTHY_MS,
      windowMs: DEFAULT_BREAKER_WINDOW_MS,
      pollIntervalMs: DEFAULT_BREAKER_POLL_INTERVAL_MS,
      minRequests: DEFAULT_BREAKER_MIN_REQUESTS,
      signalFlushIntervalMs: FLUSH_MS,
      ms: summarize(ms),
    });
  } finally {
    await Promise.all(managers.map((m) => m.disconnect()));
    await breaker?.stop();
    await nats.stop();
    await redis.stop();
  }
}

async function pollCost() {
  const APPS = Number(opts.apps ?? 100);
  const FLAGS = Number(opts.flags ?? 100);
  const POLLS = Number(opts.polls ?? 30);
  const BACKEND = String(opts.backend ?? 'native');
  let redisServer;
  if (BACKEND === 'timeseries') {
    const dir = process.env.TAILSLIDE_REDISTIMESERIES_DIR ?? resolve(ROOT, '../shared/redistimeseries');
    const so = join(dir, '1.6.19', 'redistimeseries.so');
    if (!existsSync(so)) throw new Error(`no RedisTimeSeries module at ${so}`);
    redisServer = await new ModuleRedis(so).start();
  } else redisServer = await RedisServer.start();
  const nats = await NatsServer.start();
  const redis = new Redis(redisServer.url);
  let breaker;
  try {
    const now = Date.now();
    /** @type {Array<[number, ReturnType<typeof wireFlag>[]]>} */
    const rulesets = [];
    let id = 1;
    for (let a = 1; a <= APPS; a++) {
      rulesets.push([
        a,
        Array.from({ length: FLAGS }, () => {
          const flagId = id++;
          return wireFlag(flagId, { title: `f-${flagId}`, app_id: a, error_threshold_percentage: 50 });
        }),
      ]);
    }
    await publishRulesets(nats.url, rulesets);
    // Signals: 100 successes and 1 failure per flag in each of the last 10 seconds (busy flags:
    // native hashes hold many seconds, as they do under steady traffic).
    for (const [appId, flags] of rulesets) {
      const p = redis.pipeline();
      for (const flag of flags) {
        for (let s = 0; s < 10; s++) {
          const at = now - s * 1_000;
          if (BACKEND === 'timeseries') {
            for (const [status, n] of /** @type {const} */ ([
              ['success', 100],
              ['failure', 1],
            ])) {
              p.call(
                'TS.ADD',
                `${flag.id}:${status}`,
                String(at),
                String(n),
                'ON_DUPLICATE',
                'SUM',
                'LABELS',
                'status',
                status,
                'flagId',
                String(flag.id),
                'appId',
                String(appId),
              );
            }
          } else {
            const block = keys.blockStart(at);
            const field = String(keys.secondField(at));
            p.hincrby(keys.nativeSignalKey(flag.id, 'success', block), field, 100);
            p.hincrby(keys.nativeSignalKey(flag.id, 'failure', block), field, 1);
          }
        }
        if (BACKEND !== 'timeseries') p.zadd(keys.nativeAppIndexKey(appId), now, String(flag.id));
      }
      await p.exec();
    }
    breaker = new CircuitBreaker({
      natsServer: nats.url,
      redisUrl: redisServer.url,
      signalBackend: BACKEND,
      apps: 'all',
      autoPoll: false,
      now: () => now,
      logger: quietLogger,
    });
    await breaker.start();
    const deadline = Date.now() + 60_000;
    let first;
    while ((first = await breaker.poll()).flags < APPS * FLAGS) {
      if (Date.now() > deadline) throw new Error(`breaker loaded ${first.flags} flags`);
      await sleep(100);
    }
    const durations = [];
    let judged = 0;
    // CPU time as well as wall time: on a shared machine the wall time is mostly waiting for a core.
    const redisCpu = async () => {
      const info = await redis.info('cpu');
      const sys = Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1] ?? NaN);
      const user = Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1] ?? NaN);
      return (sys + user) * 1_000;
    };
    for (let i = 0; i < 3; i++) await breaker.poll();
    const cpu0 = process.cpuUsage();
    const redis0 = await redisCpu();
    for (let i = 0; i < POLLS; i++) {
      const r = await breaker.poll();
      if (r.transitions > 0 || r.held) throw new Error(`unexpected poll: ${JSON.stringify(r)}`);
      durations.push(r.durationMs);
      judged = r.judged;
    }
    const cpu = process.cpuUsage(cpu0);
    const nodeCpuMs = (cpu.user + cpu.system) / 1_000 / POLLS;
    const redisCpuMs = ((await redisCpu()) - redis0) / POLLS;
    const s = summarize(durations);
    log(
      `poll of ${APPS * FLAGS} flags (${BACKEND}): p50 ${s.p50.toFixed(1)} ms, p99 ${s.p99.toFixed(1)} ms; CPU per poll: node ${nodeCpuMs.toFixed(1)} ms, redis ${redisCpuMs.toFixed(1)} ms`,
    );
    report({
      bench: 'breaker-poll',
      backend: BACKEND,
      apps: APPS,
      flagsPerApp: FLAGS,
      judged,
      polls: POLLS,
      ms: s,
      nodeCpuMsPerPoll: nodeCpuMs,
      redisCpuMsPerPoll: redisCpuMs,
    });
  } finally {
    await breaker?.stop();
    redis.disconnect();
    await nats.stop();
    await redisServer.stop();
  }
}

if (CASE === 'killswitch') await killSwitch();
else if (CASE === 'poll') await pollCost();
else throw new Error(`unknown --case ${CASE}`);
