/**
 * The signal sink and reader against real redis-server processes (no TimeSeries module here, so
 * 'auto' must pick the native backend). Each test uses its own flag ids.
 */
import { Redis } from 'ioredis';
import { createSignalSink, SignalReader } from '../../src/signals';
import { RedisSignalSink } from '../../src/signals/sink';
import type { SignalSink } from '../../src/signals/types';
import { nativeSignalKey, blockStart, NATIVE_BLOCK_MS } from '../../src/signals/keys';
import type { Logger } from '../../src/logger';
import type { ResolvedSignalOptions } from '../../src/options';
import { RecordingLogger, waitFor } from '../support/flags';
import { RedisServer, freePort, sleep } from '../support/servers';

async function clientCount(): Promise<number> {
  return String(await admin.call('CLIENT', 'LIST'))
    .trim()
    .split('\n').length;
}

let nextFlag = 1_000;
const newFlag = (): number => (nextFlag += 1);
const APP = 9;

let server: RedisServer;
let admin: Redis;
const sinks: SignalSink[] = [];
const readers: SignalReader[] = [];

function options(
  over: Partial<Omit<ResolvedSignalOptions, 'redis'>> & { redis?: Partial<ResolvedSignalOptions['redis']> } = {},
): ResolvedSignalOptions {
  const { redis, ...rest } = over;
  return {
    backend: 'auto',
    flushIntervalMs: 60_000,
    batchSize: 1_000_000,
    bufferLimit: 100_000,
    retentionMs: 3_600_000,
    flushTimeoutMs: 5_000,
    ...rest,
    redis: { client: undefined, url: server.url, host: '127.0.0.1', port: server.port, ...redis },
  };
}

function sink(opts: ResolvedSignalOptions, logger: Logger = new RecordingLogger()): SignalSink {
  const s = createSignalSink(opts, logger);
  sinks.push(s);
  return s;
}

function reader(url = server.url): SignalReader {
  const r = new SignalReader({ redisUrl: url, backend: 'native' });
  readers.push(r);
  return r;
}

async function started(s: SignalSink): Promise<SignalSink> {
  await s.start();
  await waitFor(() => s.stats().backend !== 'pending', 'backend detection', 5_000);
  return s;
}

beforeAll(async () => {
  server = await RedisServer.start();
  admin = new Redis(server.port, '127.0.0.1', { lazyConnect: true });
  await admin.connect();
});

afterEach(async () => {
  await Promise.all(sinks.splice(0).map((s) => s.close()));
  await Promise.all(readers.splice(0).map((r) => r.close()));
});

afterAll(async () => {
  await admin.quit();
  await server.dispose();
});

describe('backend choice', () => {
  test("'auto' on a Redis without the module picks native and says so once", async () => {
    const log = new RecordingLogger();
    const s = await started(sink(options(), log));
    expect(s.stats().backend).toBe('native');
    expect(log.count('info', /native/)).toBe(1);
    s.record(newFlag(), APP, 'success', Date.now());
    await s.flush();
    expect(log.count('info', /native/)).toBe(1);
  });

  test("'off' records nothing and connects nothing", async () => {
    const before = await clientCount();
    const s = sink(options({ backend: 'off' }));
    await s.start();
    s.record(newFlag(), APP, 'success', Date.now());
    s.recordMetric(newFlag(), APP, 'x', 'on', 1, Date.now());
    await s.flush();
    expect(s.stats()).toEqual({ backend: 'off', written: 0, pending: 0, dropped: 0, unknown: 0, timeouts: 0 });
    const after = await clientCount();
    expect(after).toBe(before);
    await s.close();
  });

  test("forced 'timeseries' without the module logs an error and counts events as dropped", async () => {
    const log = new RecordingLogger();
    const s = sink(options({ backend: 'timeseries' }), log);
    const flag = newFlag();
    for (let i = 0; i < 5; i += 1) s.record(flag, APP, 'success', Date.now());
    await s.start();
    await s.flush();
    await waitFor(() => log.count('error', /no TimeSeries module/) === 1, 'the error line', 5_000);
    for (let i = 0; i < 3; i += 1) s.record(flag, APP, 'failure', Date.now());
    expect(s.stats()).toEqual({ backend: 'timeseries', written: 0, pending: 0, dropped: 8, unknown: 0, timeouts: 0 });
    expect(await admin.exists(`${flag}:success`)).toBe(0);
  });
});

describe('writing', () => {
  test('10,000 emits of one flag within one ms sum to exactly 10,000', async () => {
    const s = await started(sink(options()));
    const flag = newFlag();
    const at = Date.now();
    for (let i = 0; i < 10_000; i += 1) s.record(flag, APP, 'success', at);
    expect(s.stats().pending).toBe(10_000);
    await s.flush();
    expect(s.stats()).toMatchObject({ written: 10_000, pending: 0, dropped: 0 });
    const field = String(Math.floor((at % NATIVE_BLOCK_MS) / 1000));
    expect(await admin.hget(nativeSignalKey(flag, 'success', blockStart(at)), field)).toBe('10000');
    const counts = await reader().flagCounts(flag, { fromMs: at - 1_000, toMs: at + 1_000 });
    expect(counts).toEqual({ success: 10_000, failure: 0, total: 10_000, errorRate: 0 });
  });

  test('bursts over many ms and both statuses keep exact sums', async () => {
    const s = await started(sink(options()));
    const flag = newFlag();
    const t0 = Date.now() - 5_000;
    let success = 0;
    let failure = 0;
    for (let i = 0; i < 20_000; i += 1) {
      const fail = i % 7 === 0;
      s.record(flag, APP, fail ? 'failure' : 'success', t0 + (i % 3_000));
      if (fail) failure += 1;
      else success += 1;
    }
    await s.flush();
    expect(s.stats()).toMatchObject({ written: 20_000, pending: 0, dropped: 0 });
    const counts = await reader().flagCounts(flag, { fromMs: t0, toMs: t0 + 3_000 });
    expect(counts).toMatchObject({ success, failure, total: 20_000 });
    expect(counts.errorRate).toBeCloseTo(failure / 20_000);
  });

  test('written by the interval timer without any flush() call', async () => {
    const s = await started(sink(options({ flushIntervalMs: 50 })));
    const flag = newFlag();
    for (let i = 0; i < 5; i += 1) s.record(flag, APP, 'success', Date.now());
    await waitFor(() => s.stats().written === 5, 'interval flush', 3_000);
    expect(s.stats().pending).toBe(0);
  });

  test('written early once batchSize events wait, not before', async () => {
    const s = await started(sink(options({ batchSize: 100 })));
    const flag = newFlag();
    for (let i = 0; i < 99; i += 1) s.record(flag, APP, 'success', Date.now());
    await sleep(300);
    expect(s.stats()).toMatchObject({ written: 0, pending: 99 });
    s.record(flag, APP, 'success', Date.now());
    await waitFor(() => s.stats().written === 100, 'batch flush', 3_000);
    expect(s.stats().pending).toBe(0);
  });

  test('a buffer bound smaller than a batch drops nothing while Redis is healthy', async () => {
    const flag = newFlag();
    const s = await started(sink(options({ backend: 'native', bufferLimit: 100, batchSize: 1_000 })));
    for (let tick = 0; tick < 100; tick++) {
      for (let i = 0; i < 40; i++) s.record(flag, APP, 'success', Date.now());
      await new Promise((resolve) => setImmediate(resolve));
      await waitFor(() => s.stats().pending < 60, 'the early flush to catch up', 5_000);
    }
    await s.flush();
    expect(s.stats()).toMatchObject({ written: 4_000, pending: 0, dropped: 0 });
  });

  test('every key expires: TTL > 0 and ≤ retention + one block', async () => {
    const retentionMs = 120_000;
    const s = await started(sink(options({ retentionMs })));
    const flag = newFlag();
    s.record(flag, APP, 'success', Date.now());
    s.record(flag, APP, 'failure', Date.now());
    s.recordMetric(flag, APP, 'latency', 'on', 12, Date.now());
    await s.flush();
    const keys = [
      ...(await admin.keys(`tailslide:sig:{${flag}}:*`)),
      ...(await admin.keys(`tailslide:metric:{${flag}}:*`)),
      `tailslide:sig:app:{${APP}}:flags`,
    ];
    expect(keys.length).toBe(4);
    for (const key of keys) {
      const ttl = await admin.pttl(key);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(retentionMs + NATIVE_BLOCK_MS);
    }
  });

  test('close() flushes what is pending', async () => {
    const s = await started(sink(options()));
    const flag = newFlag();
    for (let i = 0; i < 42; i += 1) s.record(flag, APP, 'failure', Date.now());
    await s.close();
    await s.close();
    expect(s.stats()).toMatchObject({ written: 42, pending: 0, dropped: 0 });
    const counts = await reader().flagCounts(flag, { fromMs: Date.now() - 60_000, toMs: Date.now() });
    expect(counts.failure).toBe(42);
    s.record(flag, APP, 'failure', Date.now()); // after close: ignored, no throw
    expect(s.stats().written).toBe(42);
  });

  test('an injected client is used, left open, usable, with its listeners', async () => {
    const client = new Redis(server.port, '127.0.0.1', { lazyConnect: true });
    await client.connect();
    const onError = (): void => undefined;
    client.on('error', onError);
    const listenersBefore = client.eventNames().map((e) => [e, client.listenerCount(e)]);
    const clientsBefore = await clientCount();
    const s = await started(sink(options({ redis: { client, url: 'redis://127.0.0.1:1' } })));
    const flag = newFlag();
    s.record(flag, APP, 'success', Date.now());
    await s.flush();
    expect(s.stats().written).toBe(1);
    expect(await clientCount()).toBe(clientsBefore);
    await s.close();
    expect(client.status).toBe('ready');
    expect(await client.ping()).toBe('PONG');
    expect(client.eventNames().map((e) => [e, client.listenerCount(e)])).toEqual(listenersBefore);
    await client.quit();
  });

  test('bad input is dropped with one warning, never thrown', async () => {
    const log = new RecordingLogger();
    const s = await started(sink(options(), log));
    const flag = newFlag();
    for (let i = 0; i < 3; i += 1) {
      expect(() => s.recordMetric(flag, APP, '   ', 'on', 1, Date.now())).not.toThrow();
      expect(() => s.recordMetric(flag, APP, 'ok', 'on', Number.NaN, Date.now())).not.toThrow();
      expect(() => s.record(-1, APP, 'success', Date.now())).not.toThrow();
      expect(() => s.recordMetric(flag, APP, undefined as unknown as string, 'off', 1, Date.now())).not.toThrow();
    }
    expect(log.count('warn', /invalid event name/)).toBe(2);
    expect(log.count('warn', /not a finite number/)).toBe(1);
    expect(log.count('warn', /flag id -1/)).toBe(1);
    expect(s.stats()).toMatchObject({ pending: 0, dropped: 0, written: 0 });
  });
});

describe('clock skew (native backend)', () => {
  const RETENTION_MS = 3_600_000;
  const BEHIND_MS = 2 * RETENTION_MS; // the host clock is two retentions behind Redis'
  const hostClock = (): number => Date.now() - BEHIND_MS;

  test('a host clock behind Redis by more than the retention: keys live for the retention, data reads back', async () => {
    const s = new RedisSignalSink(
      options({ backend: 'native', retentionMs: RETENTION_MS }),
      new RecordingLogger(),
      hostClock,
    );
    sinks.push(s);
    await started(s);
    const flag = newFlag();
    const at = hostClock();
    for (let i = 0; i < 7; i += 1) s.record(flag, APP, 'success', at);
    await s.flush();
    expect(s.stats()).toMatchObject({ written: 7, pending: 0, dropped: 0, unknown: 0 });
    const key = nativeSignalKey(flag, 'success', blockStart(at));
    // An absolute PEXPIREAT from the host clock would have expired it on arrival (PTTL -2).
    const ttl = await admin.pttl(key);
    expect(ttl).toBeGreaterThan(RETENTION_MS - 5_000);
    expect(ttl).toBeLessThanOrEqual(RETENTION_MS + NATIVE_BLOCK_MS);
    const counts = await reader().flagCounts(flag, { fromMs: at - 1_000, toMs: at + 1_000 });
    expect(counts.success).toBe(7);
  });

  test('an event older than the retention by the host clock is dropped and counted, with one error', async () => {
    const log = new RecordingLogger();
    const s = new RedisSignalSink(options({ backend: 'native', retentionMs: RETENTION_MS }), log, hostClock);
    sinks.push(s);
    await started(s);
    const flag = newFlag();
    s.record(flag, APP, 'success', hostClock() - RETENTION_MS - 2 * NATIVE_BLOCK_MS);
    s.record(flag, APP, 'success', hostClock() - RETENTION_MS - 3 * NATIVE_BLOCK_MS);
    s.record(flag, APP, 'failure', hostClock());
    await s.flush();
    expect(s.stats()).toMatchObject({ written: 1, pending: 0, dropped: 2, unknown: 0 });
    expect(log.count('error', /older than the retention/)).toBe(1);
    expect(await admin.keys(`tailslide:sig:{${flag}}:success:*`)).toEqual([]);
  });
});

describe('reading', () => {
  test('flagCounts, flagSeries and appCounts match what was written', async () => {
    const s = await started(sink(options()));
    const app = 4_242;
    const a = newFlag();
    const b = newFlag();
    const t0 = Math.floor(Date.now() / 10_000) * 10_000 - 60_000; // a whole 10 s boundary, in the past
    for (let sec = 0; sec < 30; sec += 1) {
      for (let i = 0; i < sec + 1; i += 1) s.record(a, app, 'success', t0 + sec * 1_000 + i);
      if (sec % 10 === 0) s.record(a, app, 'failure', t0 + sec * 1_000 + 500);
      s.record(b, app, sec < 15 ? 'success' : 'failure', t0 + sec * 1_000);
    }
    await s.flush();
    const r = reader();
    const window = { fromMs: t0, toMs: t0 + 29_999 };
    expect(await r.flagCounts(a, window)).toEqual({ success: 465, failure: 3, total: 468, errorRate: 3 / 468 });
    const series = await r.flagSeries(a, { ...window, bucketMs: 10_000 });
    expect(series).toEqual([
      { startMs: t0, success: 55, failure: 1 },
      { startMs: t0 + 10_000, success: 155, failure: 1 },
      { startMs: t0 + 20_000, success: 255, failure: 1 },
    ]);

    // Buckets aligned to the window's start (as Tailslide's dashboard asks with ALIGN start):
    expect(await r.flagSeries(a, { fromMs: t0 + 3_000, toMs: t0 + 29_999, bucketMs: 10_000, align: 'start' })).toEqual([
      { startMs: t0 + 3_000, success: 85, failure: 1 },
      { startMs: t0 + 13_000, success: 185, failure: 1 },
      { startMs: t0 + 23_000, success: 189, failure: 0 },
    ]);
    const part = await r.flagCounts(a, { fromMs: t0 + 10_000, toMs: t0 + 19_999 });
    expect(part.success).toBe(155);
    expect(await r.appCounts(app, window)).toEqual([
      { flagId: a, success: 465, failure: 3, total: 468, errorRate: 3 / 468 },
      { flagId: b, success: 15, failure: 15, total: 30, errorRate: 0.5 },
    ]);
    expect(await r.flagCounts(newFlag(), window)).toEqual({ success: 0, failure: 0, total: 0, errorRate: 0 });
  });

  test('custom metrics per variant: count, sum, mean', async () => {
    const s = await started(sink(options()));
    const flag = newFlag();
    const now = Date.now();
    for (let i = 0; i < 100; i += 1) s.recordMetric(flag, APP, 'checkout value', 'on', 10 + (i % 5), now);
    for (let i = 0; i < 50; i += 1) s.recordMetric(flag, APP, 'checkout value', 'off', 8, now - 1_000);
    s.recordMetric(flag, APP, 'other', 'on', 1_000, now);
    await s.flush();
    expect(s.stats()).toMatchObject({ written: 151, pending: 0 });
    const summary = await reader().metricSummary(flag, 'checkout value', { fromMs: now - 60_000, toMs: now + 1 });
    expect(summary.on).toEqual({ count: 100, sum: 1_200, mean: 12 });
    expect(summary.off).toEqual({ count: 50, sum: 400, mean: 8 });
    // metric keys never look like the signal keys
    expect(await reader().flagCounts(flag, { fromMs: now - 60_000, toMs: now + 1 })).toMatchObject({ total: 0 });
  });

  test('custom metrics of a flag with variations: per variation index; bad variants refused', async () => {
    const log = new RecordingLogger();
    const s = await started(sink(options(), log));
    const flag = newFlag();
    const now = Date.now();
    for (let i = 0; i < 6; i += 1) s.recordMetric(flag, APP, 'plan value', '0', 10, now);
    for (let i = 0; i < 3; i += 1) s.recordMetric(flag, APP, 'plan value', '2', 30, now);
    s.recordMetric(flag, APP, 'plan value', '64', 1, now); // past the 64 variations a flag can have
    s.recordMetric(flag, APP, 'plan value', 'maybe', 1, now);
    await s.flush();
    expect(s.stats()).toMatchObject({ written: 9, pending: 0 });
    expect(log.count('warn', /ignored a metric/)).toBe(2);
    const summary = await reader().metricSummary(
      flag,
      'plan value',
      { fromMs: now - 60_000, toMs: now + 1 },
      { variants: ['0', '1', '2'] },
    );
    expect(summary.variants).toEqual({
      '0': { count: 6, sum: 60, mean: 10 },
      '1': { count: 0, sum: 0, mean: 0 },
      '2': { count: 3, sum: 90, mean: 30 },
    });
    await expect(
      reader().metricSummary(flag, 'plan value', { fromMs: 0, toMs: 1 }, { variants: ['a b'] }),
    ).rejects.toThrow(/variants/);
  });

  test("the reader's 'auto' finds the native data; bad arguments reject clearly", async () => {
    const s = await started(sink(options()));
    const flag = newFlag();
    s.record(flag, APP, 'success', Date.now());
    await s.flush();
    const r = new SignalReader({ redisHost: '127.0.0.1', redisPort: server.port });
    readers.push(r);
    expect((await r.flagCounts(flag, { fromMs: Date.now() - 10_000, toMs: Date.now() })).success).toBe(1);
    await expect(r.flagCounts(flag, { fromMs: 10, toMs: 5 })).rejects.toThrow(/window.toMs/);
    await expect(r.flagSeries(flag, { fromMs: 0, toMs: Date.now(), bucketMs: 1 })).rejects.toThrow(/at most/);
    await expect(
      r.flagSeries(flag, { fromMs: 0, toMs: 1, bucketMs: 1, align: 'end' as unknown as 'start' }),
    ).rejects.toThrow(/window.align/);
    await expect(r.metricSummary(flag, ' ', { fromMs: 0, toMs: 1 })).rejects.toThrow(/eventName/);
    expect(() => new SignalReader({ redisUrl: 'http://x' })).toThrow(/redisUrl/);
  });

  test('a reader with nothing to connect to fails fast: a ConnectionError naming the refusal, well before the 5 s connect timeout', async () => {
    const r = new SignalReader({ redisHost: '127.0.0.1', redisPort: await freePort(), backend: 'native' });
    readers.push(r);
    const started = Date.now();
    await expect(r.flagCounts(1, { fromMs: 0, toMs: 1 })).rejects.toMatchObject({
      name: 'ConnectionError',
      message: expect.stringMatching(/ECONNREFUSED/) as unknown,
    });
    expect(Date.now() - started).toBeLessThan(1_000);
    // and again on the next query (the client is reconnecting by then)
    const again = Date.now();
    await expect(r.flagCounts(1, { fromMs: 0, toMs: 1 })).rejects.toMatchObject({ name: 'ConnectionError' });
    expect(Date.now() - again).toBeLessThan(3_000);
  });
});

describe('outages', () => {
  test('Redis down at start: events wait, one warning, flush and close return promptly', async () => {
    const log = new RecordingLogger();
    const s = sink(options({ redis: { url: `redis://127.0.0.1:${await freePort()}` }, flushIntervalMs: 50 }), log);
    await s.start();
    const flag = newFlag();
    for (let i = 0; i < 10; i += 1) s.record(flag, APP, 'success', Date.now());
    await sleep(500);
    const t = Date.now();
    await s.flush(2_000);
    expect(Date.now() - t).toBeLessThan(1_000);
    expect(s.stats()).toEqual({ backend: 'pending', written: 0, pending: 10, dropped: 0, unknown: 0, timeouts: 0 });
    expect(log.count('warn', /unreachable/)).toBe(1);
    await s.close();
    expect(s.stats()).toMatchObject({ written: 0, pending: 0, dropped: 10 });
  });

  describe('with a Redis that is killed and restarted', () => {
    let durable: RedisServer;

    beforeAll(async () => {
      // appendfsync always: what Redis acknowledged survives the SIGKILL, so sums can be checked.
      durable = await RedisServer.start(['--appendonly', 'yes', '--appendfsync', 'always']);
    });
    afterAll(async () => {
      await durable.dispose();
    });

    test('a steady stream survives kill + restart: nothing lost within the bound, one warning, one recovery line', async () => {
      const log = new RecordingLogger();
      const s = await started(sink(options({ redis: { url: durable.url }, flushIntervalMs: 25, batchSize: 200 }), log));
      const flag = newFlag();
      let emitted = 0;
      const stream = setInterval(() => {
        for (let i = 0; i < 20; i += 1) {
          s.record(flag, APP, i % 4 === 0 ? 'failure' : 'success', Date.now());
          emitted += 1;
        }
      }, 2);
      try {
        await sleep(700);
        await durable.kill();
        await waitFor(() => log.count('warn', /unreachable/) === 1, 'the outage warning', 5_000);
        await sleep(700);
        expect(s.stats().pending).toBeGreaterThan(0);
        await durable.start();
        await waitFor(() => log.count('info', /reachable again/) === 1, 'the recovery line', 10_000);
        await sleep(500);
      } finally {
        clearInterval(stream);
      }
      await s.flush();
      const stats = s.stats();
      expect(stats).toEqual({ backend: 'native', written: emitted, pending: 0, dropped: 0, unknown: 0, timeouts: 0 });
      expect(log.count('warn', /unreachable/)).toBe(1);
      expect(log.count('info', /reachable again/)).toBe(1);
      const r = reader(durable.url);
      const counts = await r.flagCounts(flag, { fromMs: Date.now() - 60_000, toMs: Date.now() });
      // Nothing lost. At most one batch more: when Redis applied a batch (and fsynced it) and was
      // killed before its reply left, the SDK cannot know and writes it again (at least once; seen
      // about once in four runs, before and after the unknown counter).
      expect(counts.total).toBeGreaterThanOrEqual(emitted);
      expect(counts.total - emitted).toBeLessThanOrEqual(200); // batchSize
    }, 30_000);

    test('with a tiny bound the oldest events are dropped and counted exactly', async () => {
      const log = new RecordingLogger();
      const s = await started(
        sink(options({ redis: { url: durable.url }, flushIntervalMs: 25, bufferLimit: 100 }), log),
      );
      const flag = newFlag();
      await durable.kill();
      await waitFor(() => log.count('warn', /unreachable/) === 1, 'the outage warning', 5_000);
      const t0 = Date.now();
      for (let i = 0; i < 1_000; i += 1) s.record(flag, APP, 'success', t0 - 1_000 + i);
      expect(s.stats()).toMatchObject({ written: 0, pending: 100, dropped: 900 });
      await durable.start();
      await waitFor(() => s.stats().written === 100, 'the backlog to be written', 10_000);
      expect(s.stats()).toEqual({ backend: 'native', written: 100, pending: 0, dropped: 900, unknown: 0, timeouts: 0 });
      expect(log.count('info', /reachable again/)).toBe(1);
      // the newest 100 were kept: ms t0-100 … t0-1
      const r = reader(durable.url);
      expect((await r.flagCounts(flag, { fromMs: t0 - 2_000, toMs: t0 })).success).toBe(100);
      expect(log.count('warn', /unreachable/)).toBe(1);
    }, 30_000);
  });
});
