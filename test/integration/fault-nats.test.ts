/**
 * Fault suite, NATS side: FlagManagers end to end against a real nats-server that is killed
 * (SIGKILL) and restarted again and again, kept down far past any default reconnect budget, or
 * loses the managers' consumers. Each test has its own server.
 */
import { connect, StorageType, type JetStreamManager, type NatsConnection } from 'nats';
import { ConnectionError, FlagManager, type FlagManagerOptions, type TailslideError } from '../../src/index';
import { CONNECTION_NAME } from '../../src/nats/connect';
import { NatsServer } from '../support/servers';
import { connectionsNamed } from '../support/nats-monitor';
import { expectNoExtraResources, settledResources } from '../support/handles';
import { RecordingLogger, waitFor, wireFlag } from '../support/flags';

const STREAM = 'flags_ruleset';
const FLAG = 'fault-flag';
const KINDS = ['manual', 'circuit'] as const;

/** A ruleset whose only flag carries `version` in its description, so a test can tell rulesets apart. */
function ruleset(appId: number, version: number): string {
  return JSON.stringify([wireFlag({ id: appId * 100 + 1, app_id: appId, title: FLAG, description: `v${version}` })]);
}

function versionOf(manager: FlagManager): number {
  const description = manager.getFlag(FLAG)?.description;
  return description === undefined ? 0 : Number(description.slice(1));
}

interface Watched {
  readonly manager: FlagManager;
  readonly logger: RecordingLogger;
  /** `stale`, `reconnected` and `failed` events, in order. */
  readonly events: string[];
  readonly errors: TailslideError[];
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

async function startNats(
  options: { monitor?: boolean } = {},
): Promise<{ server: NatsServer; admin: NatsConnection; jsm: JetStreamManager }> {
  const server = await NatsServer.start(options.monitor === true ? { monitorPort: 0 } : {});
  cleanups.push(() => server.dispose());
  // The test's own connection: reconnects forever and fast, named apart from the SDK's.
  const admin = await connect({
    servers: server.url,
    name: 'fault-admin',
    maxReconnectAttempts: -1,
    reconnectTimeWait: 50,
  });
  cleanups.push(() => admin.close());
  const jsm = await admin.jetstreamManager();
  await jsm.streams.add({ name: STREAM, subjects: ['apps.*.update.*'], storage: StorageType.File });
  return { server, admin, jsm };
}

function watchedManager(server: NatsServer, appId: number, extra: Partial<FlagManagerOptions> = {}): Watched {
  const logger = new RecordingLogger();
  const manager = new FlagManager({
    natsServer: server.url,
    appId,
    logger,
    signalBackend: 'off',
    initTimeoutMs: 10_000,
    ...extra,
  });
  cleanups.push(() => manager.disconnect());
  const events: string[] = [];
  const errors: TailslideError[] = [];
  manager.on('stale', () => events.push('stale'));
  manager.on('reconnected', () => events.push('reconnected'));
  manager.on('failed', () => events.push('failed'));
  manager.on('error', (error) => errors.push(error));
  return { manager, logger, events, errors };
}

const count = (events: readonly string[], name: string): number => events.filter((e) => e === name).length;

/** Publishes rulesets with growing versions; remembers the last one acknowledged per app. */
class Publisher {
  private version = 0;
  private running: Promise<void> | undefined;
  private stopped = false;
  readonly acked = new Map<number, number>();
  ackedTotal = 0;
  failures = 0;

  constructor(private readonly nc: NatsConnection) {}

  /** One publish; false when it was not acknowledged (server down, JetStream not back yet). */
  async publish(appId: number): Promise<boolean> {
    this.version += 1;
    const version = this.version;
    const subject = `apps.${appId}.update.${KINDS[version % 2] ?? 'manual'}`;
    try {
      await this.nc.jetstream({ timeout: 1_000 }).publish(subject, new TextEncoder().encode(ruleset(appId, version)));
    } catch {
      this.failures += 1;
      return false;
    }
    this.ackedTotal += 1;
    if (version > (this.acked.get(appId) ?? 0)) this.acked.set(appId, version);
    return true;
  }

  /** Publishes until one is acknowledged (at most `timeoutMs`); returns its version. */
  async publishAcked(appId: number, timeoutMs = 15_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (!(await this.publish(appId))) {
      if (Date.now() > deadline) throw new Error(`no publish to app ${appId} acknowledged within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return this.acked.get(appId) ?? 0;
  }

  /** Keeps publishing to every app, one after the other, until stop(). */
  start(appIds: readonly number[], pauseMs: number): void {
    this.running = (async () => {
      while (!this.stopped) {
        for (const appId of appIds) await this.publish(appId);
        await new Promise((resolve) => setTimeout(resolve, pauseMs));
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }
}

/** The newest ruleset version of the app in the stream (the last message of its subjects). */
async function newestInStream(jsm: JetStreamManager, appId: number): Promise<{ seq: number; version: number }> {
  let newest = { seq: 0, version: 0 };
  for (const kind of KINDS) {
    try {
      const msg = await jsm.streams.getMessage(STREAM, { last_by_subj: `apps.${appId}.update.${kind}` });
      if (msg.seq > newest.seq) {
        const [flag] = msg.json<{ description: string }[]>();
        newest = { seq: msg.seq, version: Number(flag?.description.slice(1)) };
      }
    } catch {
      // nothing on this subject
    }
  }
  return newest;
}

test('NATS killed and restarted 5 times while rulesets keep coming: every manager ends on its newest ruleset, with one connection each', async () => {
  const { server, admin, jsm } = await startNats({ monitor: true });
  const publisher = new Publisher(admin);
  // Two apps; app 32 is shared by two managers. Slow reconnects make sure some rulesets are
  // published while a manager is still away.
  const setup: Array<[number, number]> = [
    [31, 1_000],
    [32, 100],
    [32, 1_500],
  ];
  const apps = [...new Set(setup.map(([appId]) => appId))];
  for (const appId of apps) await publisher.publishAcked(appId);
  const resourcesBefore = await settledResources();
  const watched = setup.map(([appId, reconnectWaitMs]) => ({
    appId,
    ...watchedManager(server, appId, { reconnectWaitMs }),
  }));
  await Promise.all(watched.map((w) => w.manager.initialize()));
  expect(watched.map((w) => w.manager.state)).toEqual(['ready', 'ready', 'ready']);
  expect(await connectionsNamed(server, CONNECTION_NAME)).toBe(3);

  publisher.start(apps, 25);
  const fast = watched[1];
  let publishedWhileAway = 0;
  try {
    for (let cycle = 1; cycle <= 5; cycle += 1) {
      const ackedBefore = publisher.ackedTotal;
      await waitFor(() => publisher.ackedTotal >= ackedBefore + 4, `cycle ${cycle}: rulesets flowing before the kill`);
      await server.kill();
      await waitFor(() => watched.every((w) => w.manager.state === 'stale'), `cycle ${cycle}: every manager stale`);
      await server.start();
      // Published as soon as JetStream takes it: before at least the slow managers are back.
      const afterRestart = new Map<number, number>();
      for (const appId of apps) {
        afterRestart.set(appId, await publisher.publishAcked(appId));
        publishedWhileAway += watched.filter((w) => w.appId === appId && w.manager.state === 'stale').length;
      }
      const current = (w: Watched & { appId: number }): boolean =>
        w.manager.state === 'ready' && versionOf(w.manager) >= (afterRestart.get(w.appId) ?? Infinity);
      if (cycle % 2 === 0) {
        // An early kill: as soon as the fast manager is back, while the slow ones may still be
        // reconnecting or replacing their consumers.
        await waitFor(() => fast !== undefined && current(fast), `cycle ${cycle}: the fast manager back`, 20_000);
        continue;
      }
      await waitFor(
        () => watched.every(current),
        `cycle ${cycle}: every manager back with the ruleset published right after the restart`,
        20_000,
      );
      expect(await connectionsNamed(server, CONNECTION_NAME)).toBe(3);
    }
  } finally {
    await publisher.stop();
  }

  // The truth is the stream: a publish cut off by a kill may be stored without its ack.
  for (const w of watched) {
    const newest = await newestInStream(jsm, w.appId);
    expect(newest.version).toBeGreaterThanOrEqual(publisher.acked.get(w.appId) ?? Infinity);
    await waitFor(
      () => versionOf(w.manager) === newest.version,
      `manager of app ${w.appId} on version ${newest.version} (has ${versionOf(w.manager)})`,
      20_000,
    );
  }
  expect(publishedWhileAway).toBeGreaterThan(0);
  expect(await connectionsNamed(server, CONNECTION_NAME)).toBe(watched.length);
  for (const w of watched) {
    expect(w.manager.state).toBe('ready');
    // One stale and one reconnected per outage it saw (an early kill may hit a manager still away).
    const outages = count(w.events, 'stale');
    expect(w.events).toEqual(Array.from({ length: outages }, () => ['stale', 'reconnected']).flat());
    expect(outages).toBeGreaterThanOrEqual(3);
    expect(w.logger.matching('error', /./)).toEqual([]);
  }
  // No consumer left behind: one per manager.
  await waitFor(
    async () => (await jsm.consumers.list(STREAM).next()).length === watched.length,
    'one consumer per manager',
    10_000,
  );
  expect(count(fast?.events ?? [], 'stale')).toBe(5);
  // After five crashes and reconnects, disconnect() still leaves nothing running.
  await Promise.all(watched.map((w) => w.manager.disconnect()));
  await expectNoExtraResources(resourcesBefore, 'resources of the managers after disconnect()');
}, 80_000);

test('NATS down for 25 s (far past a 10-attempt budget): the manager reconnects, applies the next ruleset, stale and reconnected once each', async () => {
  const { server, admin } = await startNats();
  const publisher = new Publisher(admin);
  const first = await publisher.publishAcked(41);
  const resourcesBefore = await settledResources();
  const w = watchedManager(server, 41, { reconnectWaitMs: 100 });
  await w.manager.initialize();
  expect(versionOf(w.manager)).toBe(first);

  await server.kill();
  const downAt = Date.now();
  const attempts = (): number => w.logger.matching('debug', /^reconnecting to NATS/).length;
  await waitFor(
    () => Date.now() - downAt >= 25_000 && attempts() >= 100,
    '25 s of outage and 100 reconnect attempts',
    40_000,
  );
  // Still serving the last ruleset, still trying.
  expect(w.manager.state).toBe('stale');
  expect(w.manager.initialized).toBe(true);
  expect(versionOf(w.manager)).toBe(first);
  expect(w.events).toEqual(['stale']);

  await server.start();
  await waitFor(() => w.events.includes('reconnected'), 'the reconnected event', 10_000);
  const next = await publisher.publishAcked(41);
  await waitFor(() => versionOf(w.manager) === next, 'the ruleset published after the outage', 10_000);
  expect(w.events).toEqual(['stale', 'reconnected']);
  expect(w.manager.state).toBe('ready');
  // One warning for the whole outage, not one per attempt; nothing reported as an error.
  expect(w.logger.matching('warn', /./)).toEqual([
    expect.stringMatching(/^disconnected from NATS .*; serving the last ruleset while reconnecting$/),
  ]);
  expect(w.errors).toEqual([]);
  await w.manager.disconnect();
  await expectNoExtraResources(resourcesBefore, 'resources of the manager after disconnect()');
}, 60_000);

test('consumers deleted from under the managers: they recover by themselves and see the next update', async () => {
  const { jsm, admin, server } = await startNats();
  const publisher = new Publisher(admin);
  await publisher.publishAcked(51);
  await publisher.publishAcked(52);
  const watched = [watchedManager(server, 51), watchedManager(server, 52)];
  await Promise.all(watched.map((w) => w.manager.initialize()));
  const consumerNames = async (): Promise<string[]> => (await jsm.consumers.list(STREAM).next()).map((c) => c.name);

  // Twice: the second time right after the replacements were made (a short-lived consumer).
  for (let round = 1; round <= 2; round += 1) {
    const before = await consumerNames();
    expect(before).toHaveLength(2);
    const errorsBefore = watched.map((w) => w.errors.length);
    for (const name of before) await jsm.consumers.delete(STREAM, name);
    await waitFor(
      () => watched.every((w, i) => w.errors.length > (errorsBefore[i] ?? 0)),
      `round ${round}: the deletions reported`,
    );
    for (const [i, w] of watched.entries()) {
      expect(w.errors.at(-1)).toBeInstanceOf(ConnectionError);
      expect(w.errors.at(-1)?.message).toMatch(/consumer .*deleted.*; creating a new consumer/);
      expect(w.manager.state).toBe('ready');
      expect(w.events).toEqual([]);
      const version = await publisher.publishAcked(51 + i);
      await waitFor(
        () => versionOf(w.manager) === version,
        `round ${round}: app ${51 + i} sees the next update`,
        15_000,
      );
    }
    await waitFor(async () => {
      const now = await consumerNames();
      return now.length === 2 && now.every((name) => !before.includes(name));
    }, `round ${round}: two new consumers, the old ones gone`);
  }
}, 60_000);
