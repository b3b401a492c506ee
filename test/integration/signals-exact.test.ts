/**
 * Signals stay exact when Redis dies (issue 18 §5): a sink emitting steadily into a redis-server with
 * AOF (`appendfsync always`, so what Redis acknowledged, and what it applied before a kill, survives)
 * that is SIGKILLed four times mid-stream and restarted on the same port and dir; and a Redis that
 * hangs (SIGSTOP) while the sink runs. What Redis holds at the end is read back and compared with
 * signalStats(): written ≤ stored ≤ written + unknown, per flag and status. Before idempotent batches
 * the kill run stored about 0.5 % of the events twice (a batch applied whose reply was lost, resent).
 * Both backends: native on a plain redis-server, TimeSeries on every module build present.
 */
import { createSignalSink, SignalReader } from '../../src/signals';
import type { SignalSink, SignalStatus } from '../../src/signals/types';
import type { ResolvedSignalOptions } from '../../src/options';
import { RecordingLogger, waitFor } from '../support/flags';
import { RedisServer, sleep, timeSeriesModulesFor } from '../support/servers';

const AOF = ['--appendonly', 'yes', '--appendfsync', 'always'];
const FLAGS = [7101, 7102];
const APP = 71;
const UNREACHABLE = /^Signals: Redis unreachable/;
const BACK = /^Signals: Redis reachable again/;

type Backend = 'native' | 'timeseries';
const targets: Array<{ name: string; backend: Backend; module?: string }> = [
  { name: 'native', backend: 'native' },
  ...timeSeriesModulesFor('signals-exact.test.ts').map((m) => ({
    name: `TimeSeries ${m.version}`,
    backend: 'timeseries' as const,
    module: m.path,
  })),
];

const sinks: SignalSink[] = [];
const readers: SignalReader[] = [];
const servers: RedisServer[] = [];

afterEach(async () => {
  await Promise.all(sinks.splice(0).map((s) => s.close()));
  await Promise.all(readers.splice(0).map((r) => r.close()));
  for (const server of servers.splice(0)) {
    server.thaw();
    await server.dispose();
  }
});

async function server(module: string | undefined): Promise<RedisServer> {
  const s = await new RedisServer(module ? ['--loadmodule', module, ...AOF] : AOF).start();
  servers.push(s);
  return s;
}

async function startedSink(url: string, backend: Backend, logger: RecordingLogger): Promise<SignalSink> {
  const options: ResolvedSignalOptions = {
    backend,
    flushIntervalMs: 50,
    batchSize: 1_000,
    bufferLimit: 1_000_000,
    retentionMs: 3_600_000,
    flushTimeoutMs: 10_000,
    redis: { client: undefined, url, host: 'localhost', port: 6379 },
  };
  const sink = createSignalSink(options, logger);
  sinks.push(sink);
  await sink.start();
  return sink;
}

/** A steady stream of ~5,000 events/s over two flags, both statuses; counts what it emitted per field. */
function stream(sink: SignalSink): { stop(): void; emitted: Map<string, number>; total(): number } {
  const emitted = new Map<string, number>();
  let total = 0;
  const timer = setInterval(() => {
    for (let i = 0; i < 10; i += 1) {
      const flag = FLAGS[i % 2] ?? 0;
      const status: SignalStatus = i % 5 === 4 ? 'failure' : 'success';
      sink.record(flag, APP, status, Date.now());
      emitted.set(`${flag}:${status}`, (emitted.get(`${flag}:${status}`) ?? 0) + 1);
      total += 1;
    }
  }, 2);
  return { stop: () => clearInterval(timer), emitted, total: () => total };
}

async function stored(url: string, backend: Backend, sinceMs: number): Promise<Map<string, number>> {
  const reader = new SignalReader({ redisUrl: url, backend });
  readers.push(reader);
  const out = new Map<string, number>();
  for (const flag of FLAGS) {
    const counts = await reader.flagCounts(flag, { fromMs: sinceMs, toMs: Date.now() + 1_000 });
    out.set(`${flag}:success`, counts.success);
    out.set(`${flag}:failure`, counts.failure);
  }
  return out;
}

const sum = (m: Map<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0);

describe.each(targets)('exact signals on $name', ({ name, backend, module }) => {
  test('AOF + SIGKILL four times mid-stream: written ≤ stored ≤ written + unknown, per flag and status; nothing counted twice', async () => {
    const redis = await server(module);
    const since = Date.now() - 1_000;
    const logger = new RecordingLogger();
    const sink = await startedSink(redis.url, backend, logger);
    const s = stream(sink);
    try {
      for (let kill = 1; kill <= 4; kill += 1) {
        const before = sink.stats().written;
        await waitFor(() => sink.stats().written >= before + 1_000, `kill ${kill}: events written while Redis is up`);
        await redis.kill();
        await sleep(200); // events buffer meanwhile
        await redis.start();
        await waitFor(() => logger.matching('info', BACK).length === kill, `kill ${kill}: the recovery line`, 20_000);
      }
      const before = sink.stats().written;
      await waitFor(() => sink.stats().written >= before + 1_000, 'events written after the last kill');
    } finally {
      s.stop();
    }
    await sink.flush(10_000);
    const stats = sink.stats();
    const inRedis = await stored(redis.url, backend, since);
    const total = sum(inRedis);
    process.stderr.write(
      `signals-exact [${name}] 4 × SIGKILL: emitted ${s.total()}, written ${stats.written}, unknown ${stats.unknown}, ` +
        `dropped ${stats.dropped}, stored ${total}, counted twice ${Math.max(0, total - stats.written - stats.unknown)}\n`,
    );
    expect(stats).toMatchObject({ pending: 0, dropped: 0 });
    expect(stats.written + stats.unknown).toBe(s.total());
    expect(total).toBeGreaterThanOrEqual(stats.written);
    expect(total).toBeLessThanOrEqual(stats.written + stats.unknown);
    // unknown is 0 while the sink runs within the resend horizon: each field holds exactly what was emitted.
    expect(stats.unknown).toBe(0);
    expect(Object.fromEntries(inRedis)).toEqual(Object.fromEntries(s.emitted));
    expect(logger.matching('warn', UNREACHABLE).length).toBeGreaterThanOrEqual(1);
    expect(logger.matching('warn', /not idempotent/)).toEqual([]);
  }, 90_000);
});

test('Redis hangs (SIGSTOP) while running: noticed within seconds (one warning, timeouts > 0); SIGCONT → caught up, nothing twice', async () => {
  const redis = await server(undefined);
  const since = Date.now() - 1_000;
  const logger = new RecordingLogger();
  const sink = await startedSink(redis.url, 'native', logger);
  const s = stream(sink);
  try {
    await waitFor(() => sink.stats().written >= 1_000, 'events written while Redis is up');
    redis.freeze();
    const frozenAt = Date.now();
    await waitFor(
      () => sink.stats().timeouts > 0 && logger.matching('warn', UNREACHABLE).length === 1,
      'the hang noticed',
      15_000,
    );
    process.stderr.write(`signals-exact SIGSTOP: noticed after ${Date.now() - frozenAt} ms\n`);
    expect(logger.matching('warn', UNREACHABLE)[0]).toMatch(/command timeout/);
    await sleep(4_000); // a few more flush rounds against the hung server: still one warning
    expect(logger.matching('warn', UNREACHABLE)).toHaveLength(1);
    redis.thaw();
    await waitFor(() => logger.matching('info', BACK).length === 1, 'the recovery line', 15_000);
    const before = sink.stats().written;
    await waitFor(() => sink.stats().written >= before + 1_000, 'events written after the hang');
  } finally {
    redis.thaw();
    s.stop();
  }
  await sink.flush(10_000);
  const stats = sink.stats();
  const inRedis = await stored(redis.url, 'native', since);
  process.stderr.write(
    `signals-exact SIGSTOP: emitted ${s.total()}, written ${stats.written}, unknown ${stats.unknown}, ` +
      `timeouts ${stats.timeouts}, stored ${sum(inRedis)}\n`,
  );
  expect(stats).toMatchObject({ pending: 0, dropped: 0, unknown: 0, written: s.total() });
  expect(stats.timeouts).toBeGreaterThan(0);
  expect(Object.fromEntries(inRedis)).toEqual(Object.fromEntries(s.emitted));
}, 60_000);
