/**
 * The breaker on the TimeSeries backend: RedisTimeSeries 1.4 (no ALIGN, AGGREGATION before FILTER)
 * and 1.6, loaded into a test-started redis-server from `../shared/redistimeseries/<version>/`
 * (override the folder with TAILSLIDE_REDISTIMESERIES_DIR). Signals are written as the SDK writes
 * them (`TS.ADD <flagId>:<status> <ms> <n> … LABELS status … flagId … appId …`).
 */
import { Redis } from 'ioredis';
import { FlagAdmin } from '../../src/admin/flag-admin';
import { CircuitBreaker, type CircuitTransition } from '../../src/breaker';
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

    async function add(appId: number, flagId: number, atMs: number, status: 'success' | 'failure', n: number) {
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
        String(flagId),
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
  });
