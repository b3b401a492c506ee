// Propagation: a ruleset change published to JetStream, until the manager's `update` event.
//   node --expose-gc bench/propagation.mjs [--changes 1000] [--flags 100] [--storage file|memory]
//
// Starts its own nats-server (free loopback port, temp store), creates the stream, publishes an
// initial ruleset, initializes a manager on it, then publishes `changes` rulesets one at a time,
// each changing one flag's rollout, and times publish → `update` (the changed title checked).
// Publisher and manager share this process and its clock; each change waits for the previous
// one's event and publish ack, so no change queues behind another.
//
// Two controls, interleaved change by change so they see the same machine and server state:
//   floor  the same payload published to a second stream, read by a bare consumer configured as
//          the SDK's (ephemeral, no acks, pull batches of 64), timed publish → message callback:
//          what JetStream and the nats client cost before the SDK sees anything;
//   sdk    the manager's own work on a message (decode, validate, compile, diff, emit), timed
//          on an offline manager fed the same payload bytes the way the JetStream source feeds
//          them (its source's push(), the offline twin of a consumer callback).
import { createRequire } from 'node:module';
import { args, loadTailslide, log, quietLogger, report, summarize, wireRuleset } from './lib/common.mjs';
import { NatsServer } from './lib/servers.mjs';

const opts = args();
const CHANGES = Number(opts.changes ?? 1_000);
const WARMUP = Number(opts.warmup ?? 50);
const FLAGS = Number(opts.flags ?? 100);
const STORAGE = /** @type {import('nats').StorageType} */ (opts.storage ?? 'file');
const APP = 1;
const SUBJECT = `apps.${APP}.update.manual`;
const TIMEOUT_MS = 5_000;

const require = createRequire(import.meta.url);
const { connect, AckPolicy, DeliverPolicy } = require('nats');
const { FlagManager } = loadTailslide();

const server = await NatsServer.start({ maxPayload: 8 * 1024 * 1024 });
/** @typedef {import('../src/index.js').FlagManager} FlagManager */
/** @type {FlagManager | undefined} */
let manager;
/** @type {FlagManager | undefined} */
let offline;
/** @type {import('nats').ConsumerMessages | undefined} */
let floorMessages;
/** @type {import('nats').NatsConnection | undefined} */
let nc;
try {
  nc = await connect({ servers: server.url });
  const jsm = await nc.jetstreamManager();
  await jsm.streams.add({ name: 'flags_ruleset', subjects: ['apps.*.update.*'], storage: STORAGE });
  await jsm.streams.add({ name: 'floor', subjects: ['floor.>'], storage: STORAGE });
  const js = nc.jetstream();
  const encoder = new TextEncoder();

  const flags = wireRuleset(FLAGS);
  await js.publish(SUBJECT, encoder.encode(JSON.stringify(flags)));

  manager = new FlagManager({
    natsServer: server.url,
    appId: APP,
    signalBackend: 'off',
    logger: quietLogger,
    initTimeoutMs: 10_000,
  });
  await manager.initialize();
  if (!manager.initialized) throw new Error('manager not ready after 10 s');
  const offlineManager = new FlagManager({ offline: true, appId: APP, bootstrap: flags, logger: quietLogger });
  offline = offlineManager;
  await offlineManager.initialize();

  /** @type {{ title: string, resolve: (at: bigint) => void } | undefined} */
  let pending;
  manager.on('update', (event) => {
    const at = process.hrtime.bigint();
    if (pending && event.changed.includes(pending.title)) pending.resolve(at);
  });
  manager.on('error', (err) => log(`manager error: ${err.message}`));
  // `source` is internal: reaching for it keeps setRuleset's extra validation out of the timing.
  // If it is not there (renamed), fall back to setRuleset, which validates once more (an upper bound).
  const offlineSource = /** @type {{ source?: { push?: (payload: Uint8Array) => void } }} */ (
    /** @type {unknown} */ (offlineManager)
  ).source;
  const push = offlineSource?.push?.bind(offlineSource);
  /** @type {(bytes: Uint8Array, text: string) => void} */
  const feedOffline = push ? (bytes) => push(bytes) : (_bytes, text) => offlineManager.setRuleset(JSON.parse(text));
  let offlineAt = 0n;
  offlineManager.on('update', () => {
    offlineAt = process.hrtime.bigint();
  });

  // the floor: a bare consumer as the SDK configures its own
  const info = await jsm.consumers.add('floor', {
    filter_subject: 'floor.>',
    deliver_policy: DeliverPolicy.New,
    ack_policy: AckPolicy.None,
    max_deliver: 1,
    mem_storage: true,
    num_replicas: 1,
  });
  /** @type {((at: bigint) => void) | undefined} */
  let floorPending;
  floorMessages = await (
    await js.consumers.get('floor', info.name)
  ).consume({
    max_messages: 64,
    expires: 10_000,
    callback: () => floorPending?.(process.hrtime.bigint()),
  });

  /**
   * @param {string} what
   * @param {number} i
   * @param {(resolve: (at: bigint) => void) => void} arm
   * @returns {Promise<bigint>}
   */
  const waitFor = (what, i, arm) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`change ${i}: no ${what} after ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
      arm((at) => {
        clearTimeout(timer);
        resolve(at);
      });
    });

  /** @type {number[]} */
  const latencies = [];
  /** @type {number[]} */
  const floor = [];
  /** @type {number[]} */
  const sdkWork = [];
  let payloadBytes = 0;
  for (let i = 0; i < WARMUP + CHANGES; i++) {
    const flag = flags[i % flags.length];
    if (flag === undefined) throw new Error('an empty ruleset');
    flag.rollout_percentage = flag.rollout_percentage >= 99 ? 1 : Math.round(flag.rollout_percentage * 10 + 7) / 10;
    flag.updated_at = new Date().toISOString();
    const text = JSON.stringify(flags);
    const payload = encoder.encode(text);
    payloadBytes = payload.byteLength;

    // through the SDK
    const seen = waitFor('update event', i, (resolve) => {
      pending = { title: flag.title, resolve };
    });
    const t0 = process.hrtime.bigint();
    const [at] = await Promise.all([seen, js.publish(SUBJECT, payload)]);

    // the floor, same payload
    const got = waitFor('floor message', i, (resolve) => {
      floorPending = resolve;
    });
    const f0 = process.hrtime.bigint();
    const [fAt] = await Promise.all([got, js.publish('floor.x', payload)]);

    // the SDK's own work on the same bytes
    const s0 = process.hrtime.bigint();
    feedOffline(payload, text);
    const sAt = offlineAt;
    if (sAt < s0) throw new Error(`change ${i}: the offline manager emitted no update`);

    if (i >= WARMUP) {
      latencies.push(Number(at - t0) / 1e6);
      floor.push(Number(fAt - f0) / 1e6);
      sdkWork.push(Number(sAt - s0) / 1e6);
    }
  }
  const s = summarize(latencies);
  const f = summarize(floor);
  const w = summarize(sdkWork);
  log(
    `propagation: ${CHANGES} changes of a ${FLAGS}-flag ruleset (${payloadBytes} bytes, ${STORAGE} store): ` +
      `p50 ${s.p50.toFixed(3)} ms, p99 ${s.p99.toFixed(3)} ms; floor p99 ${f.p99.toFixed(3)} ms; SDK work p99 ${w.p99.toFixed(3)} ms`,
  );
  report({
    bench: 'propagation',
    flags: FLAGS,
    changes: CHANGES,
    storage: STORAGE,
    payloadBytes,
    ms: s,
    floorMs: f,
    sdkWorkMs: w,
  });
} finally {
  floorMessages?.stop();
  await manager?.disconnect();
  await offline?.disconnect();
  await nc?.close();
  await server.stop();
}
