/**
 * Fault suite, Redis side: a FlagManager (rulesets from a real nats-server, signals to a real
 * redis-server with the native backend) whose Redis is killed (SIGKILL) and restarted while its
 * togglers keep emitting. What Redis holds at the end is read back with SignalReader.
 */
import { connect, StorageType, type NatsConnection } from 'nats';
import { FlagManager, SignalReader, type FlagManagerOptions } from '../../src/index';
import { freePort, NatsServer, RedisServer } from '../support/servers';
import { expectNoExtraResources, settledResources } from '../support/handles';
import { RecordingLogger, waitFor, wireFlag } from '../support/flags';

const STREAM = 'flags_ruleset';
/** app id → its flags (title, id); each test has its own app and flag ids. */
const APPS: Record<number, Array<[string, number]>> = {
  61: [
    ['flag-a', 6101],
    ['flag-b', 6102],
  ],
  62: [['flag-c', 6201]],
  63: [['flag-d', 6301]],
};
const UNREACHABLE = /^Signals: Redis unreachable/;
const BACK = /^Signals: Redis reachable again/;

let nats: NatsServer;
let admin: NatsConnection;
let redis: RedisServer;
const managers: FlagManager[] = [];
const readers: SignalReader[] = [];

beforeAll(async () => {
  nats = await NatsServer.start();
  admin = await connect({ servers: nats.url, name: 'fault-admin' });
  await (
    await admin.jetstreamManager()
  ).streams.add({ name: STREAM, subjects: ['apps.*.update.*'], storage: StorageType.File });
  for (const [app, flags] of Object.entries(APPS)) {
    const ruleset = flags.map(([title, id]) => wireFlag({ id, app_id: Number(app), title }));
    await admin.jetstream().publish(`apps.${app}.update.manual`, new TextEncoder().encode(JSON.stringify(ruleset)));
  }
  // appendfsync always: what Redis acknowledged survives the SIGKILL, so the sums can be checked.
  redis = await RedisServer.start(['--appendonly', 'yes', '--appendfsync', 'always']);
});

afterEach(async () => {
  await Promise.all(managers.splice(0).map((m) => m.disconnect()));
  await Promise.all(readers.splice(0).map((r) => r.close()));
});

afterAll(async () => {
  await admin?.close();
  await nats?.dispose();
  await redis?.dispose();
});

function manager(
  appId: number,
  extra: Partial<FlagManagerOptions> = {},
): { manager: FlagManager; logger: RecordingLogger } {
  const logger = new RecordingLogger();
  const m = new FlagManager({
    natsServer: nats.url,
    appId,
    logger,
    signalBackend: 'native',
    redisUrl: redis.url,
    signalFlushIntervalMs: 50,
    ...extra,
  });
  managers.push(m);
  return { manager: m, logger };
}

async function countsInRedis(flagId: number, sinceMs: number): Promise<{ success: number; failure: number }> {
  const reader = new SignalReader({ redisUrl: redis.url, backend: 'native' });
  readers.push(reader);
  const { success, failure } = await reader.flagCounts(flagId, { fromMs: sinceMs, toMs: Date.now() + 1_000 });
  return { success, failure };
}

test('Redis killed and restarted twice during a steady stream of emits: Redis ends with every event emitted exactly once, one warning per outage', async () => {
  const startedAt = Date.now() - 1_000;
  const { manager: m, logger } = manager(61, { signalBufferLimit: 1_000_000 });
  await m.initialize();
  const a = m.newToggler({ flagName: 'flag-a' });
  const b = m.newToggler({ flagName: 'flag-b' });
  const emitted = { aSuccess: 0, aFailure: 0, bSuccess: 0 };
  const total = (): number => emitted.aSuccess + emitted.aFailure + emitted.bSuccess;
  const stream = setInterval(() => {
    for (let i = 0; i < 10; i += 1) {
      a.emitSuccess();
      emitted.aSuccess += 1;
      if (i % 3 === 0) {
        a.emitFailure();
        emitted.aFailure += 1;
      }
      b.emitSuccess();
      emitted.bSuccess += 1;
    }
  }, 2);
  try {
    for (let outage = 1; outage <= 2; outage += 1) {
      const writtenBefore = m.signalStats().written;
      await waitFor(
        () => m.signalStats().written >= writtenBefore + 500,
        `outage ${outage}: events written while Redis is up`,
      );
      await redis.kill();
      await waitFor(() => logger.matching('warn', UNREACHABLE).length === outage, `outage ${outage}: the warning`);
      const pendingAtWarning = m.signalStats().pending;
      await waitFor(
        () => m.signalStats().pending >= pendingAtWarning + 1_000,
        `outage ${outage}: events buffered meanwhile`,
      );
      await redis.start();
      await waitFor(() => logger.matching('info', BACK).length === outage, `outage ${outage}: the recovery line`);
    }
    const writtenBefore = m.signalStats().written;
    await waitFor(() => m.signalStats().written >= writtenBefore + 500, 'events written after the last outage');
  } finally {
    clearInterval(stream);
  }
  await m.flushSignals(10_000);

  expect(m.signalStats()).toEqual({
    backend: 'native',
    written: total(),
    pending: 0,
    dropped: 0,
    unknown: 0,
    timeouts: 0,
  });
  // Nothing lost, nothing twice: a batch Redis applied (and fsynced) right before a SIGKILL, with its
  // reply lost, is resent with its id and answered 'duplicate' (docs/signals.md, "Idempotent batches").
  const inA = await countsInRedis(6101, startedAt);
  const inB = await countsInRedis(6102, startedAt);
  const extra = inA.success + inA.failure + inB.success + inB.failure - total();
  expect(inA.success).toBeGreaterThanOrEqual(emitted.aSuccess);
  expect(inA.failure).toBeGreaterThanOrEqual(emitted.aFailure);
  expect(inB).toMatchObject({ failure: 0 });
  expect(inB.success).toBeGreaterThanOrEqual(emitted.bSuccess);
  expect(extra).toBe(0);
  expect(logger.matching('warn', UNREACHABLE)).toHaveLength(2);
  expect(logger.matching('info', BACK)).toHaveLength(2);
  expect(m.state).toBe('ready');
}, 60_000);

test('with a small signalBufferLimit: written + dropped === emitted, Redis holds what was written, drops counted, one warning', async () => {
  const startedAt = Date.now() - 1_000;
  const limit = 300;
  const { manager: m, logger } = manager(62, { signalBufferLimit: limit });
  await m.initialize();
  const c = m.newToggler({ flagName: 'flag-c' });
  let emitted = 0;
  const emit = (n: number): void => {
    for (let i = 0; i < n; i += 1) {
      if (i % 4 === 0) c.emitFailure();
      else c.emitSuccess();
      emitted += 1;
    }
  };
  emit(100);
  await m.flushSignals();
  expect(m.signalStats()).toMatchObject({ written: 100, dropped: 0 });

  await redis.kill();
  // A steady stream through the outage, ten times what the buffer holds.
  const stream = setInterval(() => emit(20), 2);
  try {
    await waitFor(() => logger.matching('warn', UNREACHABLE).length === 1, 'the outage warning');
    await waitFor(() => emitted >= 100 + 10 * limit, 'ten buffers worth of events during the outage');
  } finally {
    clearInterval(stream);
  }
  const during = m.signalStats();
  expect(during.pending).toBeLessThanOrEqual(limit);
  expect(during.dropped).toBe(emitted - during.written - during.pending);
  expect(during.dropped).toBeGreaterThanOrEqual(emitted - 100 - limit);

  await redis.start();
  await waitFor(() => logger.matching('info', BACK).length === 1, 'the recovery line');
  emit(50);
  await m.flushSignals(10_000);

  const stats = m.signalStats();
  expect(stats.pending).toBe(0);
  expect(stats.written + stats.dropped).toBe(emitted);
  expect(stats.dropped).toBe(during.dropped);
  expect(stats.written).toBe(100 + limit + 50);
  const inRedis = await countsInRedis(6201, startedAt);
  expect(inRedis.success + inRedis.failure).toBe(stats.written);
  expect(logger.matching('warn', UNREACHABLE)).toHaveLength(1);
  expect(logger.matching('info', BACK)[0]).toContain(`${stats.dropped} dropped during the outage`);
}, 60_000);

test('disconnect() while Redis hangs (SIGSTOP) with a batch in flight: counted as unknown, not dropped; Redis stores it when it resumes', async () => {
  const hung = await RedisServer.start();
  try {
    const startedAt = Date.now() - 1_000;
    const { manager: m, logger } = manager(63, { redisUrl: hung.url, signalFlushTimeoutMs: 500 });
    await m.initialize();
    const d = m.newToggler({ flagName: 'flag-d' });
    for (let i = 0; i < 100; i += 1) d.emitSuccess();
    await m.flushSignals();
    expect(m.signalStats()).toMatchObject({ written: 100, pending: 0 });

    hung.freeze();
    for (let i = 0; i < 40; i += 1) d.emitFailure();
    await m.flushSignals(300); // sends the batch; no answer comes
    expect(m.signalStats()).toMatchObject({ written: 100, pending: 40, dropped: 0, unknown: 0 });
    for (let i = 0; i < 5; i += 1) d.emitFailure(); // buffered behind the batch in flight

    const t = Date.now();
    await m.disconnect();
    expect(Date.now() - t).toBeLessThan(500 + 1_000 + 1_000); // flush timeout + QUIT timeout + slack
    const stats = m.signalStats();
    expect(stats).toEqual({ backend: 'native', written: 100, pending: 0, dropped: 5, unknown: 40, timeouts: 0 });
    expect(stats.written + stats.pending + stats.dropped + stats.unknown).toBe(145);
    expect(logger.matching('warn', /40 events were sent to Redis and not acknowledged/)).toHaveLength(1);

    hung.thaw();
    // Redis reads the MULTI … EXEC that was in its socket before our close: the unknown events are stored.
    const reader = new SignalReader({ redisUrl: hung.url, backend: 'native' });
    readers.push(reader);
    const counts = await reader.flagCounts(6301, { fromMs: startedAt, toMs: Date.now() + 1_000 });
    expect(counts).toMatchObject({ success: 100, failure: 40 });
  } finally {
    hung.thaw();
    await hung.dispose();
  }
}, 30_000);

describe('after disconnect() nothing of the SDK keeps the process alive', () => {
  test('with NATS and Redis up: sockets and timers all gone', async () => {
    const before = await settledResources();
    const { manager: m } = manager(63);
    await m.initialize();
    const d = m.newToggler({ flagName: 'flag-d' });
    for (let i = 0; i < 100; i += 1) d.emitSuccess();
    await m.flushSignals();
    expect(m.signalStats().written).toBe(100);
    await m.disconnect();
    await expectNoExtraResources(before, 'resources of a disconnected manager');
  });

  test('with NATS and Redis unreachable (reconnect timers running): all gone too', async () => {
    const before = await settledResources();
    const { manager: m } = manager(63, {
      natsServer: `nats://127.0.0.1:${await freePort()}`,
      redisUrl: `redis://127.0.0.1:${await freePort()}`,
      reconnectWaitMs: 100,
      initTimeoutMs: 500,
    });
    await m.initialize();
    expect(m.initialized).toBe(false);
    const d = m.newToggler({ flagName: 'flag-d' });
    d.emitSuccess();
    const started = Date.now();
    await m.disconnect();
    expect(Date.now() - started).toBeLessThan(3_000);
    await expectNoExtraResources(before, 'resources of a manager disconnected during outages');
  });
});
