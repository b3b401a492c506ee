/**
 * The TimeSeries backend against a server with the module (Redis 8, Redis Stack):
 *   REDIS_TIMESERIES_URL=redis://127.0.0.1:6380 npx jest test/integration/signals-timeseries.test.ts
 * Without that variable, or when that server has no TimeSeries module, the file is skipped with
 * one test saying why. Keys use random flag ids and are deleted afterwards.
 */
import { spawnSync } from 'node:child_process';
import { Redis } from 'ioredis';
import { createSignalSink, SignalReader } from '../../src/signals';
import type { SignalSink } from '../../src/signals/types';
import type { ResolvedSignalOptions } from '../../src/options';
import { RecordingLogger } from '../support/flags';
import { sleep } from '../support/servers';

const url = process.env.REDIS_TIMESERIES_URL;

/**
 * `'present'`, or why the tests skip. Asked synchronously (a child process), since Jest decides skips
 * while collecting tests.
 */
function moduleState(): string {
  if (!url)
    return 'set REDIS_TIMESERIES_URL to a Redis with the TimeSeries module (Redis 8, Redis Stack) to run these tests';
  const script = `
    const { Redis } = require('ioredis');
    const c = new Redis(process.argv[1], { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    c.on('error', () => {});
    c.connect()
      .then(() => c.call('TS.INFO', 'tailslide:probe:no-such-series'))
      .then(() => 'present', (e) => (/unknown command/i.test(e.message) ? 'absent' : /TSDB|does not exist/i.test(e.message) ? 'present' : 'error: ' + e.message))
      .then((r) => { process.stdout.write(r); c.disconnect(); });`;
  const result = spawnSync(process.execPath, ['-e', script, url], {
    cwd: __dirname,
    encoding: 'utf8',
    timeout: 10_000,
  });
  const out = (result.stdout ?? '').trim();
  if (out === 'present') return 'present';
  if (out === 'absent') return `REDIS_TIMESERIES_URL (${url}) has no TimeSeries module`;
  return `could not ask REDIS_TIMESERIES_URL (${url}) for the TimeSeries module: ${out || result.stderr || 'no answer'}`;
}

const state = moduleState();

if (state !== 'present') {
  // Jest lists no names of a file whose tests are all skipped, so say it once here.
  process.stderr.write(`signals-timeseries.test.ts SKIPPED: ${state}\n`);
  describe('signals on Redis TimeSeries', () => {
    test.skip(`SKIPPED: ${state}`, () => undefined);
  });
} else {
  describe('signals on Redis TimeSeries', () => {
    const serverUrl = url as string;
    const base = 800_000_000 + Math.floor(Math.random() * 100_000_000);
    let next = 0;
    const newFlag = (): number => base + (next += 1);
    const APP = base; // an app id nobody else uses
    const RETENTION_MS = 3_600_000;

    let admin: Redis;
    const sinks: SignalSink[] = [];
    const readers: SignalReader[] = [];
    const logger = new RecordingLogger();
    const { lines } = logger;

    function options(over: Partial<Omit<ResolvedSignalOptions, 'redis'>> = {}): ResolvedSignalOptions {
      return {
        backend: 'auto',
        flushIntervalMs: 60_000,
        batchSize: 1_000_000,
        bufferLimit: 100_000,
        retentionMs: RETENTION_MS,
        flushTimeoutMs: 5_000,
        ...over,
        redis: { client: undefined, url: serverUrl, host: 'localhost', port: 6379 },
      };
    }

    async function startedSink(over: Partial<Omit<ResolvedSignalOptions, 'redis'>> = {}): Promise<SignalSink> {
      const sink = createSignalSink(options(over), logger);
      sinks.push(sink);
      await sink.start();
      const deadline = Date.now() + 5_000;
      while (sink.stats().backend === 'pending' && Date.now() < deadline) await sleep(20);
      return sink;
    }

    function reader(): SignalReader {
      const r = new SignalReader({ redisUrl: serverUrl });
      readers.push(r);
      return r;
    }

    /** TS.MRANGE exactly as Tower and the breaker send it; returns key → summed values. */
    async function mrangeSums(
      filter: string,
      fromMs: number,
      toMs: number,
      bucketMs: number,
    ): Promise<Map<string, number>> {
      const reply = (await admin.call(
        'TS.MRANGE',
        fromMs,
        toMs,
        'FILTER',
        filter,
        'AGGREGATION',
        'SUM',
        bucketMs,
      )) as Array<[string, unknown, Array<[number, string]>]>;
      const out = new Map<string, number>();
      for (const [key, , samples] of reply)
        out.set(
          key,
          samples.reduce((a, [, v]) => a + Number(v), 0),
        );
      return out;
    }

    beforeAll(async () => {
      admin = new Redis(serverUrl, { lazyConnect: true });
      await admin.connect();
    });

    afterEach(async () => {
      await Promise.all(sinks.splice(0).map((s) => s.close()));
      await Promise.all(readers.splice(0).map((r) => r.close()));
    });

    afterAll(async () => {
      const keys = [
        ...((await admin.call('TS.QUERYINDEX', `appId=${APP}`)) as string[]),
        ...((await admin.call('TS.QUERYINDEX', `metricAppId=${APP}`)) as string[]),
      ];
      if (keys.length > 0) await admin.del(...keys);
      await admin.quit();
    });

    test("'auto' picks TimeSeries and says so once", async () => {
      lines.length = 0;
      const sink = await startedSink();
      expect(sink.stats().backend).toBe('timeseries');
      expect(lines.filter((l) => l.level === 'info' && /TimeSeries/.test(l.message))).toHaveLength(1);
    });

    test('series carry the spec labels, the retention and DUPLICATE_POLICY SUM', async () => {
      const sink = await startedSink();
      const flag = newFlag();
      sink.record(flag, APP, 'success', Date.now());
      sink.record(flag, APP, 'failure', Date.now());
      await sink.flush();
      expect(sink.stats()).toMatchObject({ written: 2, dropped: 0 });
      for (const status of ['success', 'failure'] as const) {
        // Read TS.INFO by field name: the package's info() reads fields by position, which moves
        // between module versions.
        const flat = (await admin.call('TS.INFO', `${flag}:${status}`)) as unknown[];
        const info = new Map<string, unknown>();
        for (let i = 0; i + 1 < flat.length; i += 2) info.set(String(flat[i]), flat[i + 1]);
        const labels = Object.fromEntries((info.get('labels') as Array<[string, string]>).map(([k, v]) => [k, v]));
        expect(labels).toEqual({ status, flagId: String(flag), appId: String(APP) });
        expect(Number(info.get('retentionTime'))).toBe(RETENTION_MS);
        expect(String(info.get('duplicatePolicy')).toLowerCase()).toBe('sum');
      }
    });

    test('10,000 emits in one ms become one sample of 10,000', async () => {
      const sink = await startedSink();
      const flag = newFlag();
      const at = Date.now();
      for (let i = 0; i < 10_000; i += 1) sink.record(flag, APP, 'success', at);
      await sink.flush();
      expect(sink.stats()).toMatchObject({ written: 10_000, pending: 0, dropped: 0 });
      const samples = (await admin.call('TS.RANGE', `${flag}:success`, '-', '+')) as Array<[number, string]>;
      expect(samples).toEqual([[at, '10000']]);
    });

    test('a series created earlier with DUPLICATE_POLICY BLOCK still sums our samples', async () => {
      const flag = newFlag();
      const at = Date.now() - 1_000;
      const key = `${flag}:success`;
      await admin.call(
        'TS.CREATE',
        key,
        'DUPLICATE_POLICY',
        'BLOCK',
        'LABELS',
        'status',
        'success',
        'flagId',
        flag,
        'appId',
        APP,
      );
      await admin.call('TS.ADD', key, at, 1); // an original SDK's sample
      const sink = await startedSink();
      for (let i = 0; i < 5; i += 1) sink.record(flag, APP, 'success', at);
      await sink.flush();
      expect(sink.stats()).toMatchObject({ written: 5, dropped: 0 });
      expect(await admin.call('TS.RANGE', key, at, at)).toEqual([[at, '6']]);
    });

    test("Tower's and the breaker's TS.MRANGE FILTER flagId= / appId= queries sum right", async () => {
      const sink = await startedSink();
      const a = newFlag();
      const b = newFlag();
      const t0 = Date.now() - 10_000;
      for (let i = 0; i < 3_000; i += 1) sink.record(a, APP, i % 10 === 0 ? 'failure' : 'success', t0 + (i % 500));
      for (let i = 0; i < 40; i += 1) sink.record(b, APP, 'failure', t0 + i);
      await sink.flush();
      const byFlag = await mrangeSums(`flagId=${a}`, t0, t0 + 1_000, 100);
      expect(Object.fromEntries(byFlag)).toEqual({ [`${a}:success`]: 2_700, [`${a}:failure`]: 300 });
      const byApp = await mrangeSums(`appId=${APP}`, t0, t0 + 1_000, 2_000);
      expect(byApp.get(`${a}:success`)).toBe(2_700);
      expect(byApp.get(`${a}:failure`)).toBe(300);
      expect(byApp.get(`${b}:failure`)).toBe(40);
    });

    test('metric series match none of the flagId= / appId= filters and read back per variant', async () => {
      const sink = await startedSink();
      const flag = newFlag();
      const now = Date.now();
      sink.record(flag, APP, 'success', now);
      for (let i = 0; i < 10; i += 1) sink.recordMetric(flag, APP, 'order value', 'on', 20, now);
      for (let i = 0; i < 4; i += 1) sink.recordMetric(flag, APP, 'order value', 'off', 5, now);
      await sink.flush();
      expect(sink.stats()).toMatchObject({ written: 15, dropped: 0 });
      expect(((await admin.call('TS.QUERYINDEX', `flagId=${flag}`)) as string[]).sort()).toEqual([`${flag}:success`]);
      const appKeys = (await admin.call('TS.QUERYINDEX', `appId=${APP}`)) as string[];
      expect(appKeys.filter((k) => k.includes('metric'))).toEqual([]);
      expect(((await admin.call('TS.QUERYINDEX', `metricFlagId=${flag}`)) as string[]).length).toBe(4);
      const summary = await reader().metricSummary(flag, 'order value', { fromMs: now - 1_000, toMs: now + 1_000 });
      expect(summary).toEqual({ on: { count: 10, sum: 200, mean: 20 }, off: { count: 4, sum: 20, mean: 5 } });
    });

    test('the reader sums what was written (counts, buckets, per app)', async () => {
      const sink = await startedSink();
      const app = APP;
      const a = newFlag();
      const t0 = Math.floor(Date.now() / 10_000) * 10_000 - 60_000;
      for (let sec = 0; sec < 30; sec += 1) {
        for (let i = 0; i < sec + 1; i += 1) sink.record(a, app, 'success', t0 + sec * 1_000 + i);
        if (sec % 10 === 0) sink.record(a, app, 'failure', t0 + sec * 1_000 + 500);
      }
      await sink.flush();
      const r = reader();
      const window = { fromMs: t0, toMs: t0 + 29_999 };
      expect(await r.flagCounts(a, window)).toEqual({ success: 465, failure: 3, total: 468, errorRate: 3 / 468 });
      expect(await r.flagSeries(a, { ...window, bucketMs: 10_000 })).toEqual([
        { startMs: t0, success: 55, failure: 1 },
        { startMs: t0 + 10_000, success: 155, failure: 1 },
        { startMs: t0 + 20_000, success: 255, failure: 1 },
      ]);
      const perApp = await r.appCounts(app, window);
      expect(perApp.find((c) => c.flagId === a)).toEqual({
        flagId: a,
        success: 465,
        failure: 3,
        total: 468,
        errorRate: 3 / 468,
      });
    });

    test('a sample the server refuses (older than the retention) is dropped and counted, not retried', async () => {
      const sink = await startedSink({ retentionMs: 1_000 });
      const flag = newFlag();
      sink.record(flag, APP, 'success', Date.now());
      await sink.flush();
      sink.record(flag, APP, 'success', Date.now() - 60_000);
      await sink.flush();
      expect(sink.stats()).toMatchObject({ written: 1, pending: 0, dropped: 1 });
    });
  });
}
