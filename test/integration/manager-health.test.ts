/**
 * `manager.health()` on a real nats-server of the test's own: unhealthy within 5 s of NATS
 * freezing (SIGSTOP), vanishing (SIGKILL) or the app's stream going, healthy within 5 s of
 * recovery; and the liveness audit, which replaces a consumer that stopped delivering (a proxy
 * swallows its deliveries while heartbeats pass) within 5 s.
 */
import { connect, StorageType, type NatsConnection } from 'nats';
import { FlagManager, type ManagerHealth, type TailslideError } from '../../src/index';
import { RecordingLogger, waitFor, wireFlag } from '../support/flags';
import { NatsDeliveryProxy } from '../support/nats-proxy';
import { NatsServer } from '../support/servers';

const STREAM = 'flags_ruleset';
const WITHIN_MS = 5_000;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
});

async function admin(url: string): Promise<NatsConnection> {
  const nc = await connect({ servers: url });
  cleanups.push(() => nc.close());
  return nc;
}

async function createStream(nc: NatsConnection): Promise<void> {
  const jsm = await nc.jetstreamManager();
  await jsm.streams.add({
    name: STREAM,
    subjects: ['apps.1.update.manual', 'apps.1.update.circuit'],
    storage: StorageType.File,
  });
}

async function publish(nc: NatsConnection, title: string): Promise<void> {
  const ruleset = JSON.stringify([wireFlag({ id: 1, title })]);
  await nc.jetstream().publish('apps.1.update.manual', new TextEncoder().encode(ruleset));
}

async function startServer(): Promise<{ server: NatsServer; nc: NatsConnection }> {
  const server = await new NatsServer().start();
  cleanups.push(async () => {
    server.thaw();
    await server.dispose();
  });
  const nc = await admin(server.url);
  await createStream(nc);
  await publish(nc, 'first');
  return { server, nc };
}

interface Watched {
  manager: FlagManager;
  logger: RecordingLogger;
  events: ManagerHealth[];
  errors: TailslideError[];
}

async function startManager(natsServer: string): Promise<Watched> {
  const logger = new RecordingLogger();
  const manager = new FlagManager({
    natsServer,
    appId: 1,
    logger,
    signalBackend: 'off',
    reconnectWaitMs: 100,
    initTimeoutMs: 3_000,
  });
  cleanups.push(() => manager.disconnect());
  const events: ManagerHealth[] = [];
  const errors: TailslideError[] = [];
  manager.on('health', (health) => events.push(health));
  manager.on('error', (error) => errors.push(error));
  await manager.initialize();
  return { manager, logger, events, errors };
}

/** Waits until `health().healthy` is `healthy`; returns how long it took. */
async function timeUntil(manager: FlagManager, healthy: boolean, details: () => string): Promise<number> {
  const started = Date.now();
  await waitFor(() => manager.health().healthy === healthy, `healthy: ${String(healthy)}`, {
    timeoutMs: WITHIN_MS,
    details,
  });
  return Date.now() - started;
}

describe('manager.health()', () => {
  test('is healthy once initialized, following the stream through a consumer, and dates the last update', async () => {
    const before = Date.now();
    const { server } = await startServer();
    const { manager } = await startManager(server.url);
    expect(manager.health()).toMatchObject({
      healthy: true,
      stale: false,
      state: 'ready',
      connected: true,
      delivery: 'consumer',
    });
    expect(manager.health().reason).toBeUndefined();
    expect(manager.health().lastUpdateAt).toBeGreaterThanOrEqual(before);
  });

  test('is unhealthy before initialize() and after disconnect(), and says why', async () => {
    const manager = new FlagManager({ natsServer: 'nats://127.0.0.1:1', appId: 1, signalBackend: 'off' });
    expect(manager.health()).toMatchObject({ healthy: false, state: 'idle' });
    expect(manager.health().reason).toMatch(/initialize/);
    await manager.disconnect();
    expect(manager.health()).toMatchObject({ healthy: false, state: 'closed' });
    expect(manager.health().reason).toMatch(/disconnect/);
  });

  test('turns false within 5 s of NATS freezing, and true within 5 s of its thaw', async () => {
    const { server, nc } = await startServer();
    const { manager, events } = await startManager(server.url);
    const details = (): string => JSON.stringify(events);
    server.freeze();
    const down = await timeUntil(manager, false, details);
    expect(manager.health()).toMatchObject({ healthy: false, stale: true });
    server.thaw();
    const up = await timeUntil(manager, true, details);
    // Healthy means following again: an update published now arrives.
    await publish(nc, 'after-thaw');
    await waitFor(() => manager.getFlag('after-thaw') !== undefined, 'the update after the thaw');
    const verdicts = events.map((e) => e.healthy).filter((healthy, i, all) => i === 0 || all[i - 1] !== healthy);
    expect(verdicts.slice(verdicts.indexOf(true))).toEqual([true, false, true]);
    process.stdout.write(`health after a freeze: false after ${down} ms, true ${up} ms after the thaw\n`);
  });

  test('turns false within 5 s of NATS being killed, and true within 5 s of its restart', async () => {
    const { server } = await startServer();
    const { manager, events } = await startManager(server.url);
    const details = (): string => JSON.stringify(events);
    await server.kill();
    const down = await timeUntil(manager, false, details);
    expect(manager.health()).toMatchObject({ connected: false, stale: true });
    expect(manager.health().reason).toMatch(/NATS connection lost/);
    await server.start();
    const up = await timeUntil(manager, true, details);
    expect(manager.health().connected).toBe(true);
    process.stdout.write(`health after a kill: false after ${down} ms, true ${up} ms after the restart\n`);
  });

  test("turns false within 5 s of the app's stream being deleted, and true once it is back", async () => {
    const { server, nc } = await startServer();
    const { manager, events } = await startManager(server.url);
    const details = (): string => JSON.stringify(events);
    await (await nc.jetstreamManager()).streams.delete(STREAM);
    await timeUntil(manager, false, details);
    expect(manager.health()).toMatchObject({ connected: true, stale: true });
    // First "consumer … ended", then, once the source has looked, the stream that is gone.
    await waitFor(
      () => /not following app updates: .*stream "flags_ruleset"/.test(manager.health().reason ?? ''),
      'the reason to name the missing stream',
      { timeoutMs: WITHIN_MS, details },
    );
    await createStream(nc);
    await publish(nc, 'recreated');
    await waitFor(() => manager.getFlag('recreated') !== undefined, 'the ruleset of the recreated stream');
    await timeUntil(manager, true, details);
  });
});

describe('the liveness audit', () => {
  test('replaces a consumer that stopped delivering (heartbeats only) within 5 s, and says so', async () => {
    const { server, nc } = await startServer();
    const proxy = await new NatsDeliveryProxy(server.port).start();
    cleanups.push(() => proxy.stop());
    const { manager, errors, logger } = await startManager(proxy.url);
    const jsm = await nc.jetstreamManager();
    const consumers = await jsm.consumers.list(STREAM).next();
    expect(consumers).toHaveLength(1);
    const stalled = consumers[0]?.name ?? '';
    proxy.blocked.add(stalled);

    const published = Date.now();
    await publish(nc, 'behind-a-stall');
    await waitFor(() => manager.getFlag('behind-a-stall') !== undefined, 'the update a stalled consumer swallowed', {
      timeoutMs: WITHIN_MS,
      details: () => logger.lines.map((l) => l.message).join('\n'),
    });
    const recovered = Date.now() - published;
    expect(proxy.swallowed).toBeGreaterThan(0);
    const stall = errors.find((e) => /stopped delivering/.test(e.message));
    expect(stall?.message).toContain(stalled);
    expect(stall?.message).toMatch(/replacing it/);
    // It is deleted once where it lived has been logged (a request of its own), so soon after.
    await waitFor(
      async () => !(await jsm.consumers.list(STREAM).next()).some((c) => c.name === stalled),
      'the stalled consumer to be deleted',
    );
    expect(manager.health().healthy).toBe(true);
    process.stdout.write(`stalled consumer: update applied ${recovered} ms after its publication\n`);
  });

  test('with every consumer blind (a diverged replica), reads the newest from the stream leader within 5 s', async () => {
    const { server, nc } = await startServer();
    const proxy = await new NatsDeliveryProxy(server.port).start();
    cleanups.push(() => proxy.stop());
    const { manager, logger } = await startManager(proxy.url);
    proxy.blockAll = true;
    const published = Date.now();
    await publish(nc, 'only-on-the-leader');
    await waitFor(() => manager.getFlag('only-on-the-leader') !== undefined, 'the update, from the stream leader', {
      timeoutMs: WITHIN_MS,
      details: () => logger.lines.map((l) => l.message).join('\n'),
    });
    expect(logger.matching('info', /from the stream leader/)).toHaveLength(1);
    process.stdout.write(`every consumer blind: update applied ${Date.now() - published} ms after its publication\n`);
  });

  test('leaves a live consumer alone while rulesets are published every 50 ms', async () => {
    const { server, nc } = await startServer();
    const { manager, errors } = await startManager(server.url);
    const jsm = await nc.jetstreamManager();
    const [first] = await jsm.consumers.list(STREAM).next();
    for (let i = 0; i < 120; i += 1) {
      await publish(nc, `busy-${i}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await waitFor(() => manager.getFlag('busy-119') !== undefined, 'the last of the busy rulesets');
    const [still] = await jsm.consumers.list(STREAM).next();
    expect(still?.name).toBe(first?.name);
    expect(errors).toEqual([]);
  });

  test('leaves a live consumer alone while nothing is published', async () => {
    const { server, nc } = await startServer();
    const { errors } = await startManager(server.url);
    const jsm = await nc.jetstreamManager();
    const [first] = await jsm.consumers.list(STREAM).next();
    await new Promise((resolve) => setTimeout(resolve, 7_000)); // three audits or more
    const [still] = await jsm.consumers.list(STREAM).next();
    expect(still?.name).toBe(first?.name);
    expect(errors).toEqual([]);
  });
});
