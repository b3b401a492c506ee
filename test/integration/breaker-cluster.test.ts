/**
 * The breaker on a 6-node Redis Cluster (3 primaries, 3 replicas; test/support/redis-cluster.ts):
 * an SDK manager writes signals through `redisClusterNodes`, the breaker reads them through
 * `redisClusterNodes` (or an injected ioredis `Cluster`), native sums per hash slot and TimeSeries
 * `TS.MRANGE` from every primary, and trips exactly the flags above their threshold, whichever
 * shard holds their keys.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Cluster } from 'ioredis';
import { FlagAdmin } from '../../src/admin/flag-admin';
import { CircuitBreaker, type CircuitBreakerOptions, type PollReport } from '../../src/breaker';
import { FlagManager } from '../../src/index';
import { blockStart, nativeSignalKey, secondField } from '../../src/signals/keys';
import { keySlot } from '../../src/signals/slots';
import { RecordingLogger, waitFor } from '../support/flags';
import { RedisClusterSet } from '../support/redis-cluster';
import { NatsServer, timeSeriesModules } from '../support/servers';

/** The newest RedisTimeSeries build there is, loaded into every cluster node (TimeSeries case). */
const TIMESERIES = timeSeriesModules()
  .reverse()
  .find((m) => m.present);

let cluster: RedisClusterSet;
let nats: NatsServer;
let admin: FlagAdmin;
let nextApp = 1_200;

beforeAll(async () => {
  [cluster, nats] = await Promise.all([
    RedisClusterSet.start(6, 1_000, TIMESERIES ? ['--loadmodule', TIMESERIES.path] : []),
    NatsServer.start(),
  ]);
  admin = new FlagAdmin({ nats: { servers: nats.url }, logger: new RecordingLogger() });
  await admin.connect();
  await admin.ensureStream();
}, 60_000);

afterAll(async () => {
  await admin?.close();
  await Promise.all([cluster?.dispose(), nats?.dispose()]);
}, 30_000);

type Case = {
  name: string;
  backend: 'native' | 'timeseries';
  /** How the breaker reaches the cluster: its own client (`redisClusterNodes`) or an injected `Cluster`. */
  via: 'nodes' | 'injected';
};

const CASES: Case[] = [
  { name: 'native, redisClusterNodes', backend: 'native', via: 'nodes' },
  { name: 'native, an injected ioredis Cluster', backend: 'native', via: 'injected' },
  ...(TIMESERIES
    ? [{ name: 'TimeSeries (auto-detected), redisClusterNodes', backend: 'timeseries', via: 'nodes' } as Case]
    : []),
];

it.each(CASES)(
  '$name: trips the failing flags on every shard, not the healthy one',
  async ({ backend, via }) => {
    const appId = (nextApp += 1);
    const failing: Array<{ id: number; title: string }> = [];
    for (let i = 0; i < 6; i++) {
      const title = `failing-${i}`;
      const outcome = await admin.createFlag(appId, {
        title,
        is_active: true,
        rollout_percentage: 100,
        error_threshold_percentage: 50,
      });
      failing.push({ id: outcome.flag?.id ?? -1, title });
    }
    const healthy = 'healthy';
    const healthyId =
      (await admin.createFlag(appId, { title: healthy, is_active: true, error_threshold_percentage: 50 })).flag?.id ??
      -1;
    // The test means something only if the failing flags' keys live on more than one primary.
    const shards = new Set(failing.map((f) => Math.floor(keySlot(nativeSignalKey(f.id, 'failure', 0)) / 5_461)));
    expect(shards.size).toBeGreaterThan(1);

    const manager = new FlagManager({
      natsServer: nats.url,
      appId,
      redisClusterNodes: cluster.addresses,
      signalBackend: backend,
      logger: new RecordingLogger(),
    });
    const injected =
      via === 'injected'
        ? new Cluster(cluster.addresses.map((a) => ({ host: '127.0.0.1', port: Number(a.split(':')[1]) })))
        : undefined;
    injected?.on('error', () => undefined);
    const logger = new RecordingLogger();
    const options: CircuitBreakerOptions = {
      natsServer: nats.url,
      apps: [appId],
      autoPoll: false,
      logger,
      ...(injected ? { redisClient: injected } : { redisClusterNodes: cluster.addresses }),
      ...(backend === 'native' ? { signalBackend: 'native' as const } : {}),
    };
    const breaker = new CircuitBreaker(options);
    const opened: number[] = [];
    breaker.on('transition', (t) => {
      if (t.kind === 'open') opened.push(t.flagId);
    });
    try {
      await manager.initialize();
      for (const { title } of failing) {
        const toggler = manager.newToggler({ flagName: title });
        for (let i = 0; i < 25; i++) toggler.emitFailure();
        for (let i = 0; i < 5; i++) toggler.emitSuccess();
      }
      const ok = manager.newToggler({ flagName: healthy });
      for (let i = 0; i < 25; i++) ok.emitSuccess();
      for (let i = 0; i < 5; i++) ok.emitFailure();
      await manager.flushSignals(10_000);
      expect(manager.signalStats()).toMatchObject({ backend, dropped: 0 });

      await breaker.start();
      let report: PollReport | undefined;
      await waitFor(async () => {
        report = await breaker.poll();
        return report.flags > 0;
      }, 'the ruleset');
      expect(report).toMatchObject({ held: false, judged: 7 });
      expect(opened.sort((a, b) => a - b)).toEqual(failing.map((f) => f.id).sort((a, b) => a - b));
      expect(opened).not.toContain(healthyId);
      expect(logger.matching('info', new RegExp(`reading the ${backend} signal backend`))).toHaveLength(
        backend === 'timeseries' ? 1 : 0,
      );
    } finally {
      await breaker.stop();
      await manager.disconnect();
      injected?.disconnect();
    }
  },
  30_000,
);

it("native: a string at one flag's hash costs that flag only, whichever slot holds it", async () => {
  const appId = (nextApp += 1);
  const ids: number[] = [];
  for (let i = 0; i < 5; i++) {
    const outcome = await admin.createFlag(appId, {
      title: `sharded-${i}`,
      is_active: true,
      rollout_percentage: 100,
      error_threshold_percentage: 50,
    });
    ids.push(outcome.flag?.id ?? -1);
  }
  const clock = Date.now();
  const client = new Cluster(cluster.addresses.map((a) => ({ host: '127.0.0.1', port: Number(a.split(':')[1]) })));
  client.on('error', () => undefined);
  const logger = new RecordingLogger();
  const breaker = new CircuitBreaker({
    natsServer: nats.url,
    apps: [appId],
    autoPoll: false,
    logger,
    now: () => clock,
    redisClusterNodes: cluster.addresses,
    signalBackend: 'native',
  });
  const opened: number[] = [];
  breaker.on('transition', (t) => opened.push(t.flagId));
  // The bad flag sits in the middle of the list, so that its position in its slot's script
  // differs from its position in the poll.
  const badId = ids[2] ?? -1;
  const badKey = nativeSignalKey(badId, 'failure', blockStart(clock));
  try {
    for (const id of ids)
      await client.hincrby(nativeSignalKey(id, 'failure', blockStart(clock)), String(secondField(clock)), 30);
    await client.del(badKey);
    await client.set(badKey, 'oops');
    await breaker.start();
    let report: PollReport | undefined;
    await waitFor(async () => {
      report = await breaker.poll();
      return report.flags > 0;
    }, 'the ruleset');
    expect(report).toMatchObject({ held: false, badKeys: 1, judged: 5 });
    expect(opened.sort((a, b) => a - b)).toEqual(ids.filter((id) => id !== badId).sort((a, b) => a - b));
    expect(logger.matching('warn', /signal key/)).toEqual([
      expect.stringContaining(`${JSON.stringify(badKey)}: holds a string, not a hash; holding flag #${badId}`),
    ]);
  } finally {
    await breaker.stop();
    client.disconnect();
  }
}, 30_000);

it('`tailslide breaker` with comma-separated --redis-url nodes reads the cluster', async () => {
  const appId = (nextApp += 1);
  const title = 'cli-failing';
  const flagId =
    (await admin.createFlag(appId, { title, is_active: true, rollout_percentage: 100, error_threshold_percentage: 50 }))
      .flag?.id ?? -1;
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('TAILSLIDE_')) env[key] = value;
  const urls = cluster.addresses
    .slice(0, 2)
    .map((a) => `redis://${a}`)
    .join(',');
  const child = spawn(
    process.execPath,
    [
      join(__dirname, '..', '..', 'dist', 'cjs', 'cli', 'main.js'),
      'breaker',
      '--nats-server',
      nats.url,
      '--redis-url',
      urls,
      '--signal-backend',
      'native',
      '--app-id',
      String(appId),
      '--json',
    ],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const io = { stdout: '', stderr: '' };
  child.stdout.on('data', (d: Buffer) => (io.stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (io.stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
  const manager = new FlagManager({
    natsServer: nats.url,
    appId,
    redisClusterNodes: cluster.addresses,
    signalBackend: 'native',
    logger: new RecordingLogger(),
  });
  try {
    await manager.initialize();
    await waitFor(() => new RegExp(`watching app ${appId}`).test(io.stderr), 'the breaker to start', 10_000);
    const toggler = manager.newToggler({ flagName: title });
    for (let i = 0; i < 30; i++) toggler.emitFailure();
    await manager.flushSignals(10_000);
    await waitFor(() => /"kind":"open"/.test(io.stdout), 'a JSON line for the trip', 10_000);
    expect(JSON.parse(io.stdout.trim().split('\n')[0] ?? '{}')).toMatchObject({ kind: 'open', appId, flagId });
    expect(io.stderr).not.toMatch(/cannot read signals/);
  } finally {
    await manager.disconnect();
    child.kill('SIGTERM');
    await exited;
  }
}, 30_000);

// Last: it kills a primary (the replica takes over; the cluster stays at 3 primaries).
it('a primary SIGKILLed: no decision on part of the shards; trips once the cluster has failed over', async () => {
  const backend = TIMESERIES ? 'timeseries' : 'native';
  const appId = (nextApp += 1);
  const failing: number[] = [];
  for (let i = 0; i < 4; i++) {
    const outcome = await admin.createFlag(appId, {
      title: `failover-${i}`,
      is_active: true,
      rollout_percentage: 100,
      error_threshold_percentage: 50,
    });
    failing.push(outcome.flag?.id ?? -1);
  }
  const manager = new FlagManager({
    natsServer: nats.url,
    appId,
    redisClusterNodes: cluster.addresses,
    signalBackend: backend,
    logger: new RecordingLogger(),
  });
  const logger = new RecordingLogger();
  const breaker = new CircuitBreaker({
    natsServer: nats.url,
    redisClusterNodes: cluster.addresses,
    signalBackend: backend,
    apps: [appId],
    autoPoll: false,
    windowMs: 60_000,
    logger,
  });
  const opened: number[] = [];
  breaker.on('transition', (t) => {
    if (t.kind === 'open') opened.push(t.flagId);
  });
  try {
    await Promise.all([manager.initialize(), breaker.start()]);
    await waitFor(async () => (await breaker.poll()).flags === 4, 'the ruleset');
    for (let i = 0; i < 4; i++) {
      const toggler = manager.newToggler({ flagName: `failover-${i}` });
      for (let n = 0; n < 25; n++) toggler.emitFailure();
    }
    await manager.flushSignals(10_000);
    await cluster.waitReplicasSynced();
    const key = backend === 'timeseries' ? `${failing[0]}:failure` : nativeSignalKey(failing[0] ?? 0, 'failure', 0);
    const slot = keySlot(key);
    const victim = await cluster.primaryOf(slot);
    await victim.kill();
    const during = await breaker.poll();
    // TS.MRANGE goes to every primary: the dead one fails the poll. Native: the slots' EVALs may
    // wait out the failover, but no flag is decided on partial sums either way.
    if (backend === 'timeseries') expect(during).toMatchObject({ held: true, transitions: 0 });
    await cluster.waitFailover(slot, victim);
    await waitFor(async () => !(await breaker.poll()).held, 'a poll that reads every shard', {
      timeoutMs: 15_000,
      details: () => JSON.stringify(logger.lines.filter((l) => l.level !== 'debug').slice(-5)),
    });
    expect([...opened].sort((a, b) => a - b)).toEqual([...failing].sort((a, b) => a - b));
    expect(logger.matching('warn', /cannot read signals/).length).toBeLessThanOrEqual(1);
  } finally {
    await breaker.stop();
    await manager.disconnect();
  }
}, 40_000);
