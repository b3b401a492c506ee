/**
 * The TimeSeries backend on every RedisTimeSeries build the project tests against: 1.4.14 (the
 * oldest syntax: no ALIGN, AGGREGATION before FILTER) and 1.6.19, each loaded into a redis-server
 * this file starts (`../shared/redistimeseries/<version>/redistimeseries.so`, or
 * `$TAILSLIDE_REDISTIMESERIES_DIR/<version>/…`). A version whose file is absent is skipped with one
 * line; a file that is there but does not load fails the suite. `REDIS_TIMESERIES_URL` adds a server
 * of yours (Redis 8, Redis Stack) as one more target; its keys use random ids and are deleted after.
 */
import { Redis } from 'ioredis';
import { createSignalSink, SignalReader } from '../../src/signals';
import { TimeSeriesReader } from '../../src/signals/timeseries-reader';
import type { SignalSink } from '../../src/signals/types';
import type { Logger } from '../../src/logger';
import type { ResolvedSignalOptions } from '../../src/options';
import { RedisServer, sleep, timeSeriesModulesFor } from '../support/servers';

interface Target {
  readonly name: string;
  /** Module file to load into a server of our own, or the URL of a server of yours. */
  readonly module?: string;
  readonly url?: string;
}

const targets: Target[] = timeSeriesModulesFor('signals-timeseries.test.ts').map((m) => ({
  name: `RedisTimeSeries ${m.version}`,
  module: m.path,
}));
if (process.env.REDIS_TIMESERIES_URL)
  targets.push({ name: 'REDIS_TIMESERIES_URL', url: process.env.REDIS_TIMESERIES_URL });

// describe.each throws on an empty table: with no build, timeSeriesModulesFor registered the skip.
if (targets.length > 0)
  describe.each(targets)('signals on $name', (target) => {
    const base = 800_000_000 + Math.floor(Math.random() * 100_000_000);
    let next = 0;
    const newFlag = (): number => base + (next += 1);
    const APP = base; // an app id nobody else uses
    const RETENTION_MS = 3_600_000;

    let server: RedisServer | undefined;
    let serverUrl = '';
    let admin: Redis;
    const sinks: SignalSink[] = [];
    const readers: SignalReader[] = [];
    const lines: Array<{ level: string; message: string }> = [];
    const logger: Logger = {
      debug: (message) => lines.push({ level: 'debug', message }),
      info: (message) => lines.push({ level: 'info', message }),
      warn: (message) => lines.push({ level: 'warn', message }),
      error: (message) => lines.push({ level: 'error', message }),
    };

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

    /**
     * TS.MRANGE as Tower and the breaker send it, in the order every module version accepts
     * (AGGREGATION before FILTER; 1.4 rejects the reverse); returns key → summed values.
     */
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
        'AGGREGATION',
        'SUM',
        bucketMs,
        'FILTER',
        filter,
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
      if (target.module !== undefined) {
        server = await RedisServer.withModule(target.module);
        serverUrl = server.url;
      } else {
        serverUrl = target.url ?? '';
      }
      admin = new Redis(serverUrl, { lazyConnect: true });
      await admin.connect();
    });

    afterEach(async () => {
      await Promise.all(sinks.splice(0).map((s) => s.close()));
      await Promise.all(readers.splice(0).map((r) => r.close()));
    });

    afterAll(async () => {
      if (admin && server === undefined) {
        const keys = [
          ...((await admin.call('TS.QUERYINDEX', `appId=${APP}`)) as string[]),
          ...((await admin.call('TS.QUERYINDEX', `metricAppId=${APP}`)) as string[]),
        ];
        if (keys.length > 0) await admin.del(...keys);
      }
      await admin?.quit();
      await server?.dispose();
    });

    test('the server runs the module build named', async () => {
      if (target.module === undefined) return;
      const version = /(\d+\.\d+\.\d+)/.exec(target.name)?.[1] ?? '';
      const [major, minor, patch] = version.split('.').map(Number);
      const expected = (major ?? 0) * 10_000 + (minor ?? 0) * 100 + (patch ?? 0);
      expect(JSON.stringify(await admin.call('MODULE', 'LIST'))).toContain(`"ver",${expected}`);
    });

    test('ALIGN is detected: 1.4 ignores it (the reader adapts), 1.6 and later know it', async () => {
      const known = await new TimeSeriesReader(admin).supportsAlign();
      if (target.module === undefined) return; // a server of yours: any answer is fine
      expect(known).toBe(!target.name.includes('1.4.'));
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
      const on = { count: 10, sum: 200, mean: 20 };
      const off = { count: 4, sum: 20, mean: 5 };
      expect(summary).toEqual({ on, off, variants: { on, off } });
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

      // Buckets aligned to the window's start (as Tailslide's dashboard asks with ALIGN start):
      expect(
        await r.flagSeries(a, { fromMs: t0 + 3_000, toMs: t0 + 29_999, bucketMs: 10_000, align: 'start' }),
      ).toEqual([
        { startMs: t0 + 3_000, success: 85, failure: 1 },
        { startMs: t0 + 13_000, success: 185, failure: 1 },
        { startMs: t0 + 23_000, success: 189, failure: 0 },
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
