/**
 * Least privilege on Redis: the ACL rules of docs/permissions.md, on real redis-servers with
 * `ACL SETUSER` users. The minimal users work (and nothing is printed past the logger); a wrong
 * password is reported once as refused credentials and recovers when the password is fixed; a
 * refused command drops its events with one error line.
 */
import { Redis } from 'ioredis';
import { createSignalSink, SignalReader } from '../../src/signals';
import type { SignalSink } from '../../src/signals/types';
import type { ResolvedSignalOptions } from '../../src/options';
import { RecordingLogger, waitFor } from '../support/flags';
import { RedisServer, timeSeriesModulesFor } from '../support/servers';

/**
 * The rules of docs/permissions.md, section Redis. Keep both in step. The writers' `+evalsha +eval
 * +set` (and TimeSeries' `~tailslide:batch:*`) run the idempotent batch script (docs/signals.md);
 * without them writes fall back to MULTI/EXEC with one warning (`WRITER_BEFORE_SCRIPTS`).
 */
export const ACL = {
  nativeWriter: '~tailslide:* +multi +exec +evalsha +eval +set +hincrby +hincrbyfloat +pexpire +zadd +zremrangebyscore',
  nativeReader: '~tailslide:* +hgetall +zrange',
  timeSeriesWriter:
    '~*:success ~*:failure ~tailslide:metric:* ~tailslide:probe:* ~tailslide:batch:* +multi +exec +evalsha +eval +set +ts.add +ts.info',
  timeSeriesReader: '~tailslide:probe:* +ts.mrange +ts.info',
} as const;

/** The native writer of before the batch script: no EVAL, so batches go as MULTI/EXEC. */
const WRITER_BEFORE_SCRIPTS = '~tailslide:* +multi +exec +hincrby +hincrbyfloat +pexpire +zadd +zremrangebyscore';

const sinks: SignalSink[] = [];
const readers: SignalReader[] = [];
let warnSpy: jest.SpyInstance;

function options(url: string, over: Partial<Omit<ResolvedSignalOptions, 'redis'>> = {}): ResolvedSignalOptions {
  return {
    backend: 'auto',
    flushIntervalMs: 60_000,
    batchSize: 1_000_000,
    bufferLimit: 100_000,
    retentionMs: 3_600_000,
    flushTimeoutMs: 5_000,
    ...over,
    redis: { client: undefined, url, host: '127.0.0.1', port: 6379 },
  };
}

async function startedSink(url: string, logger: RecordingLogger, over = {}): Promise<SignalSink> {
  const sink = createSignalSink(options(url, over), logger);
  sinks.push(sink);
  await sink.start();
  return sink;
}

function reader(url: string, backend: 'auto' | 'native' | 'timeseries' = 'auto'): SignalReader {
  const r = new SignalReader({ redisUrl: url, backend });
  readers.push(r);
  return r;
}

async function setUser(admin: Redis, name: string, password: string, rules: string): Promise<void> {
  await admin.call('ACL', 'SETUSER', name, 'reset', 'on', `>${password}`, 'resetchannels', ...rules.split(' '));
}

/** How many AUTHs the server refused for `user` since the last `ACL LOG RESET`. */
async function refusedLogins(admin: Redis, user: string): Promise<number> {
  const entries = (await admin.call('ACL', 'LOG')) as unknown[][];
  let n = 0;
  for (const entry of entries) {
    const fields = new Map<string, unknown>();
    for (let i = 0; i + 1 < entry.length; i += 2) fields.set(String(entry[i]), entry[i + 1]);
    if (fields.get('reason') === 'auth' && fields.get('username') === user) n += Number(fields.get('count'));
  }
  return n;
}

function userUrl(server: RedisServer, user: string, password: string): string {
  return `redis://${user}:${password}@127.0.0.1:${server.port}`;
}

beforeEach(() => {
  // ioredis prints some trouble with console.warn, past the logger option; none may reach it.
  warnSpy = jest.spyOn(console, 'warn');
});

afterEach(async () => {
  await Promise.all(sinks.splice(0).map((s) => s.close()));
  await Promise.all(readers.splice(0).map((r) => r.close()));
  expect(warnSpy).not.toHaveBeenCalled();
  warnSpy.mockRestore();
});

describe('native backend', () => {
  let server: RedisServer;
  let admin: Redis;

  beforeAll(async () => {
    server = await RedisServer.start();
    admin = new Redis(server.port, '127.0.0.1', { lazyConnect: true });
    await admin.connect();
    await setUser(admin, 'writer', 'w-pass', ACL.nativeWriter);
    await setUser(admin, 'reader', 'r-pass', ACL.nativeReader);
  });

  afterAll(async () => {
    await admin.quit();
    await server.dispose();
  });

  test('the minimal writer writes signals and metrics, the minimal reader reads them; no warning anywhere', async () => {
    const logger = new RecordingLogger();
    const sink = await startedSink(userUrl(server, 'writer', 'w-pass'), logger);
    const now = Date.now();
    for (let i = 0; i < 10; i += 1) sink.record(501, 50, i < 3 ? 'failure' : 'success', now);
    sink.recordMetric(501, 50, 'latency', 'on', 12, now);
    await sink.flush();
    expect(sink.stats()).toEqual({ backend: 'native', written: 11, pending: 0, dropped: 0, unknown: 0, timeouts: 0 });
    expect(logger.lines.filter((l) => l.level === 'warn' || l.level === 'error')).toEqual([]);
    expect(await admin.pttl(`tailslide:sig:app:{50}:flags`)).toBeGreaterThan(0);

    const r = reader(userUrl(server, 'reader', 'r-pass'));
    const window = { fromMs: now - 1_000, toMs: now + 1_000 };
    expect(await r.flagCounts(501, window)).toMatchObject({ success: 7, failure: 3 });
    expect(await r.appCounts(50, window)).toMatchObject([{ flagId: 501, total: 10 }]);
    expect((await r.metricSummary(501, 'latency', window)).on).toEqual({ count: 1, sum: 12, mean: 12 });
  });

  test('a wrong password: one error naming refused credentials, no outage warning, events kept; fixed → written', async () => {
    await setUser(admin, 'late', 'right', ACL.nativeWriter);
    await admin.call('ACL', 'LOG', 'RESET');
    const logger = new RecordingLogger();
    const sink = await startedSink(userUrl(server, 'late', 'wrong'), logger, { flushIntervalMs: 50 });
    for (let i = 0; i < 5; i += 1) sink.record(502, 50, 'success', Date.now());
    await waitFor(() => logger.matching('error', /refused the credentials/).length > 0, 'the credentials error');
    // Give the retry a few attempts: still one line, and no "unreachable" warning.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(logger.matching('error', /refused the credentials/)).toHaveLength(1);
    expect(logger.matching('error', /WRONGPASS/)).toHaveLength(1);
    expect(logger.matching('warn', /unreachable/)).toEqual([]);
    expect(sink.stats()).toMatchObject({ written: 0, pending: 5, dropped: 0 });
    // No retry storm: attempts back off from 1 s (the server's ACL LOG counts the refused AUTHs).
    expect(await refusedLogins(admin, 'late')).toBeLessThanOrEqual(4);

    await admin.call('ACL', 'SETUSER', 'late', '>wrong'); // the operator fixes it on the server side
    await waitFor(() => sink.stats().written === 5, 'the events written once the password works', 20_000);
    expect(logger.matching('info', /reachable again/)).toHaveLength(1);
  }, 30_000);

  test('a writer without EVAL: one warning that batches are not idempotent, then written with MULTI/EXEC', async () => {
    await setUser(admin, 'noeval', 'pw', WRITER_BEFORE_SCRIPTS);
    const logger = new RecordingLogger();
    const sink = await startedSink(userUrl(server, 'noeval', 'pw'), logger, { backend: 'native' });
    for (let round = 0; round < 3; round += 1) {
      sink.record(504, 50, 'success', Date.now());
      sink.recordMetric(504, 50, 'latency', 'on', 2, Date.now());
      await sink.flush();
    }
    expect(sink.stats()).toMatchObject({ written: 6, pending: 0, dropped: 0, unknown: 0 });
    const warnings = logger.lines.filter((l) => l.level === 'warn' || l.level === 'error');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.message).toMatch(/refused the batch script \(NOPERM.*not idempotent/);
  });

  test('a refused command (NOPERM) drops its events and says so once, at error level', async () => {
    await setUser(admin, 'nometric', 'pw', ACL.nativeWriter.replace(' +hincrbyfloat', ''));
    const logger = new RecordingLogger();
    const sink = await startedSink(userUrl(server, 'nometric', 'pw'), logger, { backend: 'native' });
    for (let round = 0; round < 3; round += 1) {
      sink.recordMetric(503, 50, 'latency', 'on', 1, Date.now());
      await sink.flush();
    }
    sink.record(503, 50, 'success', Date.now());
    await sink.flush();
    expect(sink.stats()).toMatchObject({ written: 1, pending: 0, dropped: 3, unknown: 0 });
    const errors = logger.matching('error', /NOPERM/);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/dropped.*permissions\.md/);
    expect(logger.matching('warn', /NOPERM/)).toEqual([]);
  });

  test('a reader with a wrong password fails fast with an AuthorizationError', async () => {
    const r = reader(userUrl(server, 'reader', 'nope'), 'native');
    const started = Date.now();
    await expect(r.flagCounts(1, { fromMs: 0, toMs: 1 })).rejects.toMatchObject({
      name: 'AuthorizationError',
      message: expect.stringMatching(/refused the credentials/) as unknown,
    });
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});

const modules = timeSeriesModulesFor('signals-permissions.test.ts');

// describe.each throws on an empty table: with no build, timeSeriesModulesFor registered the skip.
if (modules.length > 0)
  describe.each(modules.map((m) => ({ ...m, name: `TimeSeries backend, RedisTimeSeries ${m.version}` })))(
    '$name',
    (module) => {
      let server: RedisServer;
      let admin: Redis;

      beforeAll(async () => {
        server = await RedisServer.withModule(module.path);
        admin = new Redis(server.port, '127.0.0.1', { lazyConnect: true });
        await admin.connect();
        await setUser(admin, 'writer', 'w-pass', ACL.timeSeriesWriter);
        await setUser(admin, 'reader', 'r-pass', ACL.timeSeriesReader);
      });

      afterAll(async () => {
        await admin.quit();
        await server.dispose();
      });

      test("the minimal writer ('auto' finds the module) and reader work; no warning anywhere", async () => {
        const logger = new RecordingLogger();
        const sink = await startedSink(userUrl(server, 'writer', 'w-pass'), logger);
        const now = Date.now();
        for (let i = 0; i < 10; i += 1) sink.record(601, 60, i < 4 ? 'failure' : 'success', now - i);
        sink.recordMetric(601, 60, 'latency', 'off', 5, now);
        await sink.flush();
        expect(sink.stats()).toEqual({
          backend: 'timeseries',
          written: 11,
          pending: 0,
          dropped: 0,
          unknown: 0,
          timeouts: 0,
        });
        expect(logger.lines.filter((l) => l.level === 'warn' || l.level === 'error')).toEqual([]);

        const r = reader(userUrl(server, 'reader', 'r-pass'));
        const window = { fromMs: now - 1_000, toMs: now + 1_000 };
        expect(await r.flagCounts(601, window)).toMatchObject({ success: 6, failure: 4 });
        expect(await r.appCounts(60, window)).toMatchObject([{ flagId: 601, total: 10 }]);
        expect((await r.metricSummary(601, 'latency', window)).off).toEqual({ count: 1, sum: 5, mean: 5 });
      });
    },
  );
