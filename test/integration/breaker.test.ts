/**
 * The circuit breaker against a real nats-server and redis-server (native backend). Most tests
 * drive the breaker's injected clock and call `poll()` themselves, writing the signals straight
 * into Redis at chosen times, so that delays of seconds take no time. The last one runs in real
 * time with SDK managers.
 */
import { connect, type Msg, type NatsConnection } from 'nats';
import { Redis } from 'ioredis';
import { FlagAdmin } from '../../src/admin/flag-admin';
import { CircuitBreaker, type CircuitBreakerOptions, type CircuitTransition } from '../../src/breaker';
import { CIRCUIT_CHANGED_AT, CIRCUIT_RECOVERY_CHANGED_AT } from '../../src/breaker/decide';
import { TOWER_SUBJECTS } from '../../src/breaker/tower';
import { FlagManager } from '../../src/index';
import type { WireFlag } from '../../src/ruleset/types';
import { blockStart, nativeAppIndexKey, nativeSignalKey, secondField } from '../../src/signals/keys';
import { RecordingLogger, waitFor } from '../support/flags';
import { expectNoExtraResources, settledResources } from '../support/handles';
import { NatsServer, RedisServer } from '../support/servers';

let nats: NatsServer;
let redisServer: RedisServer;
let redis: Redis;
let admin: FlagAdmin;
let nc: NatsConnection;
const breakers: CircuitBreaker[] = [];
let nextApp = 300;
let nextFlagTitle = 0;

/** The breakers' clock: starts at real time, moved by the tests. */
let clock = Date.now();
const now = (): number => clock;

beforeAll(async () => {
  [nats, redisServer] = await Promise.all([NatsServer.start(), RedisServer.start()]);
  redis = new Redis(redisServer.url, { maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  admin = new FlagAdmin({ nats: { servers: nats.url }, logger: new RecordingLogger(), now: () => new Date(clock) });
  await admin.connect();
  await admin.ensureStream();
  nc = await connect({ servers: nats.url });
});

afterEach(async () => {
  await Promise.all(breakers.splice(0).map((b) => b.stop()));
});

afterAll(async () => {
  await admin?.close();
  await nc?.close();
  redis?.disconnect();
  await Promise.all([nats?.dispose(), redisServer?.dispose()]);
});

function breaker(
  apps: CircuitBreakerOptions['apps'],
  extra: Partial<CircuitBreakerOptions> = {},
): { breaker: CircuitBreaker; transitions: CircuitTransition[]; logger: RecordingLogger } {
  const logger = new RecordingLogger();
  const b = new CircuitBreaker({
    natsServer: nats.url,
    redisUrl: redisServer.url,
    signalBackend: 'native',
    apps,
    autoPoll: false,
    now,
    logger,
    ...extra,
  });
  const transitions: CircuitTransition[] = [];
  b.on('transition', (t) => transitions.push(t));
  breakers.push(b);
  return { breaker: b, transitions, logger };
}

/** A new app with one flag under watch (threshold 50 %, recoverable, delay 10 s, steps every 5 s). */
async function newApp(fields: Partial<WireFlag> = {}): Promise<{ appId: number; flagId: number; title: string }> {
  const appId = (nextApp += 1);
  const title = `checkout-${(nextFlagTitle += 1)}`;
  const outcome = await admin.createFlag(appId, {
    title,
    is_active: true,
    rollout_percentage: 100,
    error_threshold_percentage: 50,
    is_recoverable: true,
    circuit_recovery_delay: 10_000,
    circuit_initial_recovery_percentage: 10,
    circuit_recovery_rate: 5_000,
    circuit_recovery_increment_percentage: 20,
    circuit_recovery_profile: 'linear',
    ...fields,
  });
  return { appId, flagId: outcome.flag?.id ?? -1, title };
}

/** Writes signals as the SDK's native backend does, stamped `atMs`. */
async function signals(appId: number, flagId: number, atMs: number, success: number, failure: number): Promise<void> {
  const block = blockStart(atMs);
  const field = String(secondField(atMs));
  const p = redis.pipeline();
  if (success > 0) p.hincrby(nativeSignalKey(flagId, 'success', block), field, success);
  if (failure > 0) p.hincrby(nativeSignalKey(flagId, 'failure', block), field, failure);
  p.zadd(nativeAppIndexKey(appId), atMs, String(flagId));
  await p.exec();
}

async function flagOf(appId: number, flagId: number): Promise<WireFlag> {
  return admin.getFlag(appId, flagId);
}

/** Starts the breaker and polls until it has the apps' rulesets. */
async function started(b: CircuitBreaker, flags = 1): Promise<void> {
  await b.start();
  await waitFor(async () => (await b.poll()).flags >= flags, 'the breaker to load the rulesets');
}

async function circuitMessages(appId: number): Promise<number> {
  const jsm = await nc.jetstreamManager();
  const info = await jsm.streams.info('flags_ruleset', { subjects_filter: `apps.${appId}.update.circuit` });
  return info.state.subjects?.[`apps.${appId}.update.circuit`] ?? 0;
}

/** Trips the flag: 30 failures in the current second, then a poll. */
async function trip(b: CircuitBreaker, appId: number, flagId: number): Promise<void> {
  await signals(appId, flagId, clock, 0, 30);
  await b.poll();
}

describe('trips', () => {
  it('trips above the threshold, not at it, not below; publishes on the circuit subject', async () => {
    const { appId, flagId } = await newApp();
    const { breaker: b, transitions } = breaker([appId]);
    await started(b);
    clock = Date.now();
    await signals(appId, flagId, clock, 15, 15); // 50 %: at the threshold
    expect((await b.poll()).transitions).toBe(0);
    await signals(appId, flagId, clock, 1, 0); // below
    expect((await b.poll()).transitions).toBe(0);
    await signals(appId, flagId, clock, 0, 2); // 17/33 > 50 %
    expect((await b.poll()).transitions).toBe(1);
    expect(transitions).toEqual([
      expect.objectContaining({ kind: 'open', appId, flagId, from: 'close', to: 'open', success: 16, failure: 17 }),
    ]);
    const flag = await flagOf(appId, flagId);
    expect(flag).toMatchObject({ is_active: false, circuit_status: 'open', circuit_recovery_percentage: 0 });
    expect(flag[CIRCUIT_CHANGED_AT]).toBe(new Date(clock).toISOString());
    expect(await circuitMessages(appId)).toBe(1);
    // An open circuit is not tripped again.
    await signals(appId, flagId, clock, 0, 100);
    expect((await b.poll()).transitions).toBe(0);
  });

  it('on a single Redis: one EVAL per app and poll, however many flags (no per-slot split)', async () => {
    const apps = [await newApp(), await newApp()];
    for (const { appId } of apps)
      for (let i = 0; i < 3; i++)
        await admin.createFlag(appId, { title: `more-${i}`, is_active: true, error_threshold_percentage: 50 });
    const { breaker: b } = breaker(apps.map((a) => a.appId));
    await started(b, 8);
    const evals = async (): Promise<number> =>
      Number(/cmdstat_eval:calls=(\d+)/.exec(String(await redis.info('commandstats')))?.[1] ?? 0);
    const before = await evals();
    expect(await b.poll()).toMatchObject({ judged: 8, held: false });
    expect((await evals()) - before).toBe(2);
  });

  it('minRequests: no trip below it, a trip at it', async () => {
    const { appId, flagId } = await newApp();
    const { breaker: b, transitions } = breaker([appId], { minRequests: 20 });
    await started(b);
    clock = Date.now();
    await signals(appId, flagId, clock, 0, 19);
    expect((await b.poll()).transitions).toBe(0);
    await signals(appId, flagId, clock, 0, 1);
    await b.poll();
    expect(transitions.map((t) => t.kind)).toEqual(['open']);
  });

  it('ignores inactive flags and threshold 0', async () => {
    const { appId, flagId } = await newApp({ is_active: false });
    const other = await admin.createFlag(appId, { title: 'zero', is_active: true, rollout_percentage: 100 });
    const { breaker: b, transitions } = breaker([appId]);
    await started(b, 2);
    clock = Date.now();
    await signals(appId, flagId, clock, 0, 100);
    await signals(appId, other.flag?.id ?? -1, clock, 0, 100);
    const report = await b.poll();
    expect(report).toMatchObject({ flags: 2, judged: 0, transitions: 0 });
    expect(transitions).toEqual([]);
  });

  it('watches a flag created after start, and (all apps) an app created after start', async () => {
    const { appId } = await newApp();
    const { breaker: b, transitions } = breaker('all');
    await b.start();
    const late = await admin.createFlag(appId, {
      title: 'late',
      is_active: true,
      rollout_percentage: 100,
      error_threshold_percentage: 10,
    });
    const fresh = await newApp();
    clock = Date.now();
    await signals(appId, late.flag?.id ?? -1, clock, 0, 30);
    await signals(fresh.appId, fresh.flagId, clock, 0, 30);
    const mine = (): CircuitTransition[] => transitions.filter((t) => t.appId === appId || t.appId === fresh.appId);
    await waitFor(async () => (await b.poll(), mine().length >= 2), 'the breaker to trip the new flag and app');
    expect(b.watchedApps).toContain(fresh.appId);
    expect(
      mine()
        .map((t) => [t.appId, t.flagId, t.kind])
        .sort(),
    ).toEqual(
      [
        [appId, late.flag?.id, 'open'],
        [fresh.appId, fresh.flagId, 'open'],
      ].sort(),
    );
  });
});

describe('recovery', () => {
  it('linear ramp: recovery after the delay, exact steps on the rate, then close', async () => {
    const { appId, flagId } = await newApp();
    const { breaker: b, transitions } = breaker([appId]);
    await started(b);
    clock = Date.now();
    await trip(b, appId, flagId);
    clock += 9_999;
    expect((await b.poll()).transitions).toBe(0);
    clock += 1;
    await b.poll();
    // The failures that tripped it are still in a 3 s window of a shorter delay; here they are not
    // counted anyway, since the window starts after the transition.
    for (let i = 0; i < 5; i++) {
      clock += 4_999;
      expect((await b.poll()).transitions).toBe(0);
      clock += 1;
      await signals(appId, flagId, clock - 1_500, 50, 0);
      await b.poll();
    }
    expect(transitions.map((t) => `${t.kind}:${t.percentage}`)).toEqual([
      'open:0',
      'recovery_start:10',
      'recovery_update:30',
      'recovery_update:50',
      'recovery_update:70',
      'recovery_update:90',
      'close:100',
    ]);
    expect(await flagOf(appId, flagId)).toMatchObject({
      is_active: true,
      circuit_status: 'close',
      circuit_recovery_percentage: 100,
    });
  });

  it('exponential ramp: exact percentages', async () => {
    const { appId, flagId } = await newApp({
      circuit_recovery_profile: 'exponential',
      circuit_recovery_increment_percentage: 50,
    });
    const { breaker: b, transitions } = breaker([appId]);
    await started(b);
    clock = Date.now();
    await trip(b, appId, flagId);
    clock += 10_000;
    await b.poll();
    for (let i = 0; i < 6; i++) {
      clock += 5_000;
      await b.poll();
    }
    expect(transitions.map((t) => t.percentage)).toEqual([0, 10, 15, 22.5, 33.75, 50.63, 75.95, 100]);
  });

  it('the failures that tripped it do not re-open it; new failures during recovery do', async () => {
    const { appId, flagId } = await newApp({ circuit_recovery_delay: 2_000 });
    const { breaker: b, transitions } = breaker([appId], { windowMs: 3_000 });
    await started(b);
    clock = Date.now();
    await trip(b, appId, flagId);
    clock += 2_000; // the 30 failures are still inside a plain 3 s window
    await b.poll();
    expect(transitions.map((t) => t.kind)).toEqual(['open', 'recovery_start']);
    clock += 1_000;
    await b.poll();
    expect(transitions).toHaveLength(2);
    await signals(appId, flagId, clock, 2, 25);
    await b.poll();
    expect(transitions.map((t) => `${t.from}>${t.to}`)).toEqual(['close>open', 'open>recovery', 'recovery>open']);
    expect(await flagOf(appId, flagId)).toMatchObject({ is_active: false, circuit_status: 'open' });
  });
});

describe('restarts and concurrency', () => {
  it('a restart while open recovers on schedule, and one mid-recovery steps once', async () => {
    const { appId, flagId } = await newApp();
    const first = breaker([appId]);
    await started(first.breaker);
    clock = Date.now();
    await trip(first.breaker, appId, flagId);
    await first.breaker.stop();
    const tripAt = clock;

    clock = tripAt + 60_000; // the breaker was down past the delay
    const second = breaker([appId]);
    await started(second.breaker);
    expect(second.transitions.map((t) => t.kind)).toEqual(['recovery_start']);
    await second.breaker.stop();
    const startAt = clock;

    clock = startAt + 60_000; // down for twelve intervals: one step, not twelve
    const third = breaker([appId]);
    await started(third.breaker);
    await third.breaker.poll();
    expect(third.transitions.map((t) => `${t.kind}:${t.percentage}`)).toEqual(['recovery_update:30']);
    clock += 4_999;
    await third.breaker.poll();
    expect(third.transitions).toHaveLength(1);
    clock += 1;
    await third.breaker.poll();
    expect(third.transitions.map((t) => t.percentage)).toEqual([30, 50]);
    const flag = await flagOf(appId, flagId);
    expect(flag[CIRCUIT_CHANGED_AT]).toBe(new Date(startAt).toISOString());
    expect(flag[CIRCUIT_RECOVERY_CHANGED_AT]).toBe(new Date(clock).toISOString());
  });

  it('two breakers on the same app make one transition each time, not two', async () => {
    const { appId, flagId } = await newApp();
    const a = breaker([appId]);
    const b = breaker([appId]);
    await Promise.all([started(a.breaker), started(b.breaker)]);
    clock = Date.now();
    await signals(appId, flagId, clock, 0, 30);
    await Promise.all([a.breaker.poll(), b.breaker.poll()]);
    clock += 10_000;
    await Promise.all([a.breaker.poll(), b.breaker.poll()]);
    clock += 5_000;
    await Promise.all([a.breaker.poll(), b.breaker.poll()]);
    const all = [...a.transitions, ...b.transitions].map((t) => t.kind).sort();
    expect(all).toEqual(['open', 'recovery_start', 'recovery_update']);
    expect(await circuitMessages(appId)).toBe(3);
  });

  it('a manual edit made while the breaker trips the flag survives', async () => {
    const { appId, flagId } = await newApp();
    await admin.createFlag(appId, { title: 'other', is_active: true, rollout_percentage: 20 });
    const { breaker: b, transitions } = breaker([appId]);
    await started(b, 2);
    clock = Date.now();
    await signals(appId, flagId, clock, 0, 30);
    // A human edits both flags; the breaker polls before its watch has seen the edits.
    await Promise.all([
      admin.updateFlag(appId, flagId, { description: 'edited by a human' }),
      admin.setRollout(appId, 'other', 75),
      b.poll(),
    ]);
    await waitFor(async () => transitions.length > 0 || (await b.poll()).transitions > 0, 'the trip');
    const flags = (await admin.readRuleset(appId))?.flags ?? [];
    expect(flags.find((f) => f.id === flagId)).toMatchObject({
      circuit_status: 'open',
      is_active: false,
      description: 'edited by a human',
    });
    expect(flags.find((f) => f.title === 'other')).toMatchObject({ rollout_percentage: 75 });
  });
});

describe('lifecycle', () => {
  it('stop() is idempotent and releases every handle (NATS, Redis, timers, watches)', async () => {
    const { appId } = await newApp();
    const before = await settledResources();
    const { breaker: b } = breaker([appId], { autoPoll: true, now: Date.now });
    await b.start();
    await new Promise((resolve) => b.once('poll', resolve));
    // Stopped once it follows the app (a watch stopped while its consumer is still being created
    // leaves that to the connection's close: see the admin library's watch).
    await waitFor(async () => (await b.poll()).flags > 0, 'the ruleset');
    await Promise.all([b.stop(), b.stop()]);
    await b.stop();
    await expectNoExtraResources(before, 'after stop()');
  });

  it('refuses bad options, naming the option', () => {
    expect(() => new CircuitBreaker({ natsServer: nats.url, apps: [] })).toThrow(/"apps"/);
    expect(() => new CircuitBreaker({ natsServer: nats.url, apps: [1], windowMs: 0 })).toThrow(/"windowMs"/);
    expect(() => new CircuitBreaker({ natsServer: nats.url, apps: [1], mode: 'aerobat' as 'tower' })).toThrow(/"mode"/);
  });
});

describe('outages', () => {
  it('a Redis outage holds every circuit, logs once, and resumes', async () => {
    const { appId, flagId } = await newApp();
    const { breaker: b, transitions, logger } = breaker([appId]);
    await started(b);
    clock = Date.now();
    await trip(b, appId, flagId);
    await redisServer.stop();
    try {
      clock += 60_000;
      expect(await b.poll()).toMatchObject({ held: true, transitions: 0 });
      expect(await b.poll()).toMatchObject({ held: true, transitions: 0 });
      expect(logger.matching('warn', /holding every circuit/)).toHaveLength(1);
      expect((await flagOf(appId, flagId)).circuit_status).toBe('open');
    } finally {
      await redisServer.start();
    }
    await waitFor(async () => !(await b.poll()).held, 'the breaker to read Redis again');
    expect(transitions.map((t) => t.kind)).toEqual(['open', 'recovery_start']);
    expect(logger.matching('info', /Redis answers again/)).toHaveLength(1);
  });
});

describe('native reads without scripts', () => {
  it('falls back to HMGET when Redis refuses EVAL, and still trips', async () => {
    const noScripts = await RedisServer.start(['--rename-command', 'EVAL', '']);
    const client = new Redis(noScripts.url, { maxRetriesPerRequest: 1 });
    client.on('error', () => undefined);
    try {
      const { appId, flagId } = await newApp();
      const { breaker: b, transitions, logger } = breaker([appId], { redisUrl: noScripts.url });
      await started(b);
      clock = Date.now();
      await client.hincrby(nativeSignalKey(flagId, 'failure', blockStart(clock)), String(secondField(clock)), 30);
      await b.poll();
      expect(transitions.map((t) => t.kind)).toEqual(['open']);
      expect(logger.matching('info', /reading with HMGET instead/)).toHaveLength(1);
    } finally {
      client.disconnect();
      await noScripts.dispose();
    }
  });
});

describe('one bad key costs only its own flag', () => {
  /**
   * An app of three flags: `trips` (30 failures now), `bad` (its failure hash of this block made
   * bad by `spoil`, 30 failures in its success hash), `closes` (in recovery at 90 %, its step to
   * 100 % due). Everything is in Redis before the breaker's first poll.
   */
  async function threeFlags(spoil: (key: string) => Promise<unknown>): Promise<{
    appId: number;
    trips: number;
    bad: number;
    closes: number;
    badKey: string;
  }> {
    clock = Date.now() - 10_000; // created 10 s ago: the recovery step of `closes` is due
    const { appId, flagId: trips } = await newApp();
    const more = async (fields: Partial<WireFlag>): Promise<number> =>
      (
        await admin.createFlag(appId, {
          title: `checkout-${(nextFlagTitle += 1)}`,
          is_active: true,
          rollout_percentage: 100,
          error_threshold_percentage: 50,
          is_recoverable: true,
          circuit_recovery_delay: 10_000,
          circuit_recovery_rate: 5_000,
          circuit_recovery_increment_percentage: 20,
          circuit_recovery_profile: 'linear',
          ...fields,
        })
      ).flag?.id ?? -1;
    const bad = await more({});
    const closes = await more({
      circuit_status: 'recovery',
      circuit_recovery_percentage: 90,
      rollout_percentage: 90,
    });
    clock = Date.now();
    await signals(appId, trips, clock, 0, 30);
    await signals(appId, bad, clock, 30, 0);
    const badKey = nativeSignalKey(bad, 'failure', blockStart(clock));
    await spoil(badKey);
    return { appId, trips, bad, closes, badKey };
  }

  it('a string at a flag hash: the two others trip and close, one warning names the key; fixed, the flag is judged', async () => {
    const app = await threeFlags((key) => redis.set(key, 'oops'));
    const { breaker: b, transitions, logger } = breaker([app.appId]);
    await started(b, 3);
    expect(transitions.map((t) => `${t.flagId}:${t.kind}`).sort()).toEqual(
      [`${app.trips}:open`, `${app.closes}:close`].sort(),
    );
    expect(await b.poll()).toMatchObject({ held: false, badKeys: 1, transitions: 0 });
    const warned = logger.matching('warn', /signal key/);
    expect(warned).toEqual([
      `CircuitBreaker: app ${app.appId}: signal key ${JSON.stringify(app.badKey)}: holds a string, not a hash; holding flag #${app.bad} as it is (its circuit unchanged) until the key is fixed; the other flags are judged as usual`,
    ]);
    expect(logger.matching('warn', /holding every circuit/)).toEqual([]);
    expect((await flagOf(app.appId, app.bad)).circuit_status).toBe('close');

    // Fixed: the flag is judged again (30 failures against 30 successes is 50 %: one more trips it).
    await redis.del(app.badKey);
    await signals(app.appId, app.bad, clock, 0, 31);
    expect(await b.poll()).toMatchObject({ badKeys: 0, transitions: 1 });
    expect(transitions.map((t) => t.flagId)).toContain(app.bad);
    expect(logger.matching('info', /is no longer bad/)).toEqual([
      `CircuitBreaker: app ${app.appId}: signal key ${JSON.stringify(app.badKey)} is no longer bad; judging flag #${app.bad} again`,
    ]);
    expect(logger.matching('warn', /signal key/)).toHaveLength(1);
  });

  it('a field that is no number: the same, and a later break is said again', async () => {
    const app = await threeFlags((key) => redis.hset(key, String(secondField(clock)), 'abc'));
    const { breaker: b, transitions, logger } = breaker([app.appId]);
    await started(b, 3);
    await b.poll();
    expect(transitions.map((t) => `${t.flagId}:${t.kind}`).sort()).toEqual(
      [`${app.trips}:open`, `${app.closes}:close`].sort(),
    );
    expect(logger.matching('warn', /signal key/)).toEqual([
      expect.stringContaining(
        `signal key ${JSON.stringify(app.badKey)}: field ${secondField(clock)} holds "abc", not a number; holding flag #${app.bad}`,
      ),
    ]);
    await redis.hset(app.badKey, String(secondField(clock)), '10');
    expect(await b.poll()).toMatchObject({ badKeys: 0, transitions: 0 }); // 10 of 40: judged, no trip
    await redis.hset(app.badKey, String(secondField(clock)), '1e');
    expect(await b.poll()).toMatchObject({ badKeys: 1 });
    expect(logger.matching('warn', /signal key/)).toHaveLength(2);
    await redis.hset(app.badKey, String(secondField(clock)), '31');
    await b.poll();
    expect(transitions.filter((t) => t.flagId === app.bad).map((t) => t.kind)).toEqual(['open']);
  });

  it('without scripts (HMGET fallback): a string key costs only its flag', async () => {
    const noScripts = await RedisServer.start(['--rename-command', 'EVAL', '']);
    const client = new Redis(noScripts.url, { maxRetriesPerRequest: 1 });
    client.on('error', () => undefined);
    try {
      clock = Date.now();
      const { appId, flagId: trips } = await newApp();
      const bad = (
        await admin.createFlag(appId, { title: 'more-bad', is_active: true, error_threshold_percentage: 50 })
      ).flag?.id;
      const badKey = nativeSignalKey(bad ?? -1, 'failure', blockStart(clock));
      await client.set(badKey, 'oops');
      await client.hset(nativeSignalKey(bad ?? -1, 'success', blockStart(clock)), String(secondField(clock)), 'abc');
      await client.hincrby(nativeSignalKey(trips, 'failure', blockStart(clock)), String(secondField(clock)), 30);
      const { breaker: b, transitions, logger } = breaker([appId], { redisUrl: noScripts.url });
      await started(b, 2);
      expect(await b.poll()).toMatchObject({ held: false, badKeys: 2 });
      expect(transitions.map((t) => `${t.flagId}:${t.kind}`)).toEqual([`${trips}:open`]);
      expect(logger.matching('info', /reading with HMGET instead/)).toHaveLength(1);
      expect(logger.matching('warn', /signal key/).sort()).toEqual(
        [
          expect.stringContaining(`${JSON.stringify(badKey)}: holds a string, not a hash; holding flag #${bad}`),
          expect.stringContaining(`holds "abc", not a number; holding flag #${bad}`),
        ].sort(),
      );
    } finally {
      client.disconnect();
      await noScripts.dispose();
    }
  });
});

describe('tower mode', () => {
  it('sends the four control messages byte for byte (a test subscriber plays Tower)', async () => {
    const { appId, flagId } = await newApp({
      circuit_recovery_profile: 'exponential',
      circuit_recovery_increment_percentage: 50,
    });
    const received: Array<[string, string]> = [];
    // The fake Tower applies each message as Tower does and republishes the app on the circuit subject.
    const tower = new FlagAdmin({ nats: nc, logger: new RecordingLogger(), now: () => new Date(clock) });
    await tower.connect();
    const onMessage = (_err: unknown, msg: Msg): void => {
      const payload = new TextDecoder().decode(msg.data);
      received.push([msg.subject, payload]);
      const json = payload.startsWith('{')
        ? (JSON.parse(payload) as {
            flagId: number;
            circuitInitialRecoveryPercentage?: number;
            circuitRecoveryPercentage?: number;
          })
        : undefined;
      const id = json?.flagId ?? Number(payload);
      const patch =
        msg.subject === 'circuit_open'
          ? { is_active: false, circuit_status: 'open' as const, circuit_recovery_percentage: 0 }
          : msg.subject === 'circuit_recovery_start'
            ? {
                is_active: true,
                circuit_status: 'recovery' as const,
                circuit_recovery_percentage: json?.circuitInitialRecoveryPercentage ?? -1,
              }
            : msg.subject === 'circuit_recovery_update'
              ? { circuit_recovery_percentage: json?.circuitRecoveryPercentage ?? -1 }
              : { circuit_status: 'close' as const, circuit_recovery_percentage: 100 };
      tower.updateFlag(appId, id, patch).catch((err: unknown) => received.push(['error', String(err)]));
    };
    const subs = Object.values(TOWER_SUBJECTS).map((subject) => nc.subscribe(subject, { callback: onMessage }));
    try {
      const { breaker: b, transitions } = breaker([appId], { mode: 'tower' });
      await started(b);
      /** Moves the clock, polls until the n-th transition is sent, and waits for Tower to apply it. */
      const advance = async (ms: number, n: number): Promise<void> => {
        clock += ms;
        await waitFor(async () => (await b.poll(), transitions.length >= n), `transition ${n}`, 5_000);
        const sent = transitions[n - 1];
        await waitFor(async () => {
          const flag = await flagOf(appId, flagId);
          return flag.circuit_status === sent?.to && flag.circuit_recovery_percentage === sent.percentage;
        }, `Tower to apply transition ${n}`);
      };
      clock = Date.now();
      await signals(appId, flagId, clock, 0, 30);
      await advance(0, 1);
      await advance(10_000, 2);
      for (let n = 3; n <= 8; n++) await advance(5_000, n);
      expect(transitions).toHaveLength(8);
      expect(received).toEqual([
        ['circuit_open', String(flagId)],
        ['circuit_recovery_start', `{"flagId":${flagId},"circuitInitialRecoveryPercentage":10}`],
        ['circuit_recovery_update', `{"flagId":${flagId},"circuitRecoveryPercentage":15}`],
        ['circuit_recovery_update', `{"flagId":${flagId},"circuitRecoveryPercentage":22.5}`],
        ['circuit_recovery_update', `{"flagId":${flagId},"circuitRecoveryPercentage":33.75}`],
        ['circuit_recovery_update', `{"flagId":${flagId},"circuitRecoveryPercentage":50.63}`],
        ['circuit_recovery_update', `{"flagId":${flagId},"circuitRecoveryPercentage":75.95}`],
        ['circuit_close', String(flagId)],
      ]);
      // Tower mode publishes no ruleset itself: only the fake Tower's edits are in the stream.
      expect(await circuitMessages(appId)).toBe(0);
    } finally {
      for (const sub of subs) sub.unsubscribe();
      await tower.close();
    }
  });

  it('a change Tower does not apply is not sent again before towerAckTimeoutMs, then sent again with a warning', async () => {
    const { appId, flagId } = await newApp();
    // A Tower that hears the message and applies nothing: the ruleset keeps the closed circuit.
    const received: string[] = [];
    const sub = nc.subscribe(TOWER_SUBJECTS.open, {
      callback: (_err, msg) => {
        if (new TextDecoder().decode(msg.data) === String(flagId)) received.push(msg.subject);
      },
    });
    try {
      const { breaker: b, transitions, logger } = breaker([appId], { mode: 'tower', towerAckTimeoutMs: 2_000 });
      await started(b);
      clock = Date.now();
      await signals(appId, flagId, clock, 0, 30);
      expect((await b.poll()).transitions).toBe(1);
      // Still inside the window, still failing, still closed in the ruleset: but the trip waits for Tower.
      clock += 1_000;
      expect((await b.poll()).transitions).toBe(0);
      clock += 999;
      expect((await b.poll()).transitions).toBe(0);
      expect(logger.count('warn', /Tower did not apply/)).toBe(0);
      clock += 1;
      expect((await b.poll()).transitions).toBe(1);
      expect(logger.count('warn', new RegExp(`Tower did not apply the change of flag #${flagId} within 2000 ms`))).toBe(
        1,
      );
      expect(transitions.map((t) => t.kind)).toEqual(['open', 'open']);
      await waitFor(() => received.length >= 2, 'both messages to arrive');
      expect(received).toEqual(['circuit_open', 'circuit_open']);
    } finally {
      sub.unsubscribe();
    }
  });
});

describe('real time, with SDK managers', () => {
  it('three managers see the flag off within 2.5 s of the first failure (defaults)', async () => {
    const { appId, title } = await newApp();
    const { breaker: b } = breaker([appId], { now: Date.now, autoPoll: true });
    await b.start();
    const managers = [1, 2, 3].map(
      () =>
        new FlagManager({
          natsServer: nats.url,
          appId,
          redisUrl: redisServer.url,
          signalBackend: 'native',
          logger: new RecordingLogger(),
        }),
    );
    try {
      await Promise.all(managers.map((m) => m.initialize()));
      expect(managers.every((m) => m.newToggler({ flagName: title }).isFlagActive('u'))).toBe(true);
      const began = Date.now();
      const failing = setInterval(() => {
        for (const m of managers) for (let i = 0; i < 5; i++) m.newToggler({ flagName: title }).emitFailure();
      }, 20);
      try {
        await waitFor(
          () => managers.every((m) => !m.newToggler({ flagName: title }).isFlagActive('u')),
          'every manager to see it off',
          5_000,
        );
      } finally {
        clearInterval(failing);
      }
      expect(Date.now() - began).toBeLessThan(2_500);
    } finally {
      await Promise.all(managers.map((m) => m.disconnect()));
    }
  });
});
