/**
 * The breaker on the TimeSeries backend: RedisTimeSeries 1.4 (no ALIGN, AGGREGATION before FILTER)
 * and 1.6, loaded into a test-started redis-server from `../shared/redistimeseries/<version>/`
 * (override the folder with TAILSLIDE_REDISTIMESERIES_DIR). Signals are written as the SDK writes
 * them (`TS.ADD <flagId>:<status> <ms> <n> … LABELS status … flagId … appId …`).
 */
import { Redis } from 'ioredis';
import { FlagAdmin } from '../../src/admin/flag-admin';
import { CircuitBreaker, type CircuitTransition } from '../../src/breaker';
import { LABEL_CHECK_MS } from '../../src/breaker/signals-timeseries';
import { RecordingLogger, waitFor } from '../support/flags';
import { NatsServer, RedisServer, timeSeriesModulesFor } from '../support/servers';

const MODULES = timeSeriesModulesFor('breaker-timeseries.test.ts');

let nats: NatsServer;
let admin: FlagAdmin;
let clock = Date.now();
let nextApp = 700;

beforeAll(async () => {
  nats = await NatsServer.start();
  admin = new FlagAdmin({ nats: { servers: nats.url }, logger: new RecordingLogger(), now: () => new Date(clock) });
  await admin.connect();
  await admin.ensureStream();
});

afterAll(async () => {
  await admin?.close();
  await nats?.dispose();
});

// describe.each throws on an empty table: with no build, timeSeriesModulesFor registered the skip.
if (MODULES.length > 0)
  describe.each(MODULES)('RedisTimeSeries $version', ({ version, path: modulePath }) => {
    let server: RedisServer;
    let redis: Redis;
    let breaker: CircuitBreaker;
    const transitions: CircuitTransition[] = [];

    beforeAll(async () => {
      server = await RedisServer.start(['--loadmodule', modulePath]);
      redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
      redis.on('error', () => undefined);
    });

    afterAll(async () => {
      await breaker?.stop();
      redis?.disconnect();
      await server?.dispose();
    });

    /** `labelFlagId`: a series whose labels name another flag than its key (a bad key). */
    async function add(
      appId: number,
      flagId: number,
      atMs: number,
      status: 'success' | 'failure',
      n: number,
      labelFlagId = flagId,
    ) {
      await redis.call(
        'TS.ADD',
        `${flagId}:${status}`,
        String(atMs),
        String(n),
        'ON_DUPLICATE',
        'SUM',
        'LABELS',
        'status',
        status,
        'flagId',
        String(labelFlagId),
        'appId',
        String(appId),
      );
    }

    it('auto-detects the module, trips above the threshold only, and cuts windows at the transition', async () => {
      const appId = (nextApp += 1);
      const created = await admin.createFlag(appId, {
        title: `ts-${version}`,
        is_active: true,
        rollout_percentage: 100,
        error_threshold_percentage: 50,
        is_recoverable: true,
        circuit_recovery_delay: 2_000,
        circuit_recovery_rate: 60_000,
      });
      const flagId = created.flag?.id ?? -1;
      const logger = new RecordingLogger();
      breaker = new CircuitBreaker({
        natsServer: nats.url,
        redisUrl: server.url,
        apps: [appId],
        autoPoll: false,
        now: () => clock,
        logger,
      });
      breaker.on('transition', (t) => transitions.push(t));
      await breaker.start();
      await waitFor(async () => (await breaker.poll()).flags > 0, 'the ruleset');
      expect(logger.matching('info', /reading the timeseries signal backend/)).toHaveLength(1);

      clock = Date.now();
      await add(appId, flagId, clock - 1_000, 'success', 15);
      await add(appId, flagId, clock, 'failure', 15);
      expect((await breaker.poll()).transitions).toBe(0); // 50 %: at the threshold
      await add(appId, flagId, clock - 10_000, 'failure', 100); // outside the window
      expect((await breaker.poll()).transitions).toBe(0);
      await add(appId, flagId, clock, 'failure', 1);
      await breaker.poll();
      expect(transitions.map((t) => `${t.kind}:${t.success}/${t.failure}`)).toEqual(['open:15/16']);

      clock += 2_000; // the 31 failures are still in a plain 3 s window
      await breaker.poll();
      clock += 1_500;
      await breaker.poll();
      expect(transitions.map((t) => t.kind)).toEqual(['open', 'recovery_start']);
      await add(appId, flagId, clock, 'failure', 25);
      await breaker.poll();
      expect(transitions.map((t) => t.kind)).toEqual(['open', 'recovery_start', 'open']);
    });

    it('a series labelled with another flag than its key is said once and counted for neither; the others are judged', async () => {
      const appId = (nextApp += 1);
      clock = Date.now();
      const ids: number[] = [];
      for (const name of ['mislabelled', 'named', 'healthy']) {
        const created = await admin.createFlag(appId, {
          title: `${name}-${version}`,
          is_active: true,
          rollout_percentage: 100,
          error_threshold_percentage: 50,
        });
        ids.push(created.flag?.id ?? -1);
      }
      const [mislabelled = -1, named = -1, healthy = -1] = ids;
      // 30 failures under the key of `mislabelled` but labelled as `named`'s: counted for
      // `mislabelled` (by key) they would trip it, for `named` (by label) they would trip it too.
      await add(appId, mislabelled, clock, 'failure', 30, named);
      await add(appId, named, clock, 'success', 10);
      await add(appId, healthy, clock, 'failure', 30);
      const logger = new RecordingLogger();
      const bad = new CircuitBreaker({
        natsServer: nats.url,
        redisUrl: server.url,
        apps: [appId],
        autoPoll: false,
        now: () => clock,
        logger,
      });
      const seen: CircuitTransition[] = [];
      bad.on('transition', (t) => seen.push(t));
      try {
        await bad.start();
        await waitFor(async () => (await bad.poll()).flags === 3, 'the ruleset');
        expect(await bad.poll()).toMatchObject({ held: false, badKeys: 1 });
        expect(seen.map((t) => `${t.flagId}:${t.kind}`)).toEqual([`${healthy}:open`]);
        expect(logger.matching('warn', /signal key/)).toEqual([
          `CircuitBreaker: app ${appId}: signal key "${mislabelled}:failure": its name says flag ${mislabelled} failure but its labels say flagId ${named}; counted for neither; holding flag #${mislabelled} as it is (its circuit unchanged) until the key is fixed; the other flags are judged as usual`,
        ]);

        // Fixed (the series made again with its own labels): judged again, and it trips.
        await redis.del(`${mislabelled}:failure`);
        await add(appId, mislabelled, clock, 'failure', 30);
        expect(await bad.poll()).toMatchObject({ badKeys: 0 });
        expect(seen.map((t) => `${t.flagId}:${t.kind}`)).toEqual([`${healthy}:open`, `${mislabelled}:open`]);
        expect(logger.matching('info', /no longer bad; judging flag/)).toHaveLength(1);
        expect(logger.matching('warn', /signal key/)).toHaveLength(1);

        // Labels changed in place (TS.ALTER) on a series already checked: seen at the next check.
        await redis.call(
          'TS.ALTER',
          `${named}:success`,
          'LABELS',
          'status',
          'success',
          'flagId',
          String(healthy),
          'appId',
          String(appId),
        );
        clock += LABEL_CHECK_MS;
        expect(await bad.poll()).toMatchObject({ badKeys: 1 });
        expect(logger.matching('warn', /signal key/)[1]).toContain(
          `signal key "${named}:success": its name says flag ${named} success but its labels say flagId ${healthy}; counted for neither; holding flag #${named}`,
        );
      } finally {
        await bad.stop();
      }
    });
  });
