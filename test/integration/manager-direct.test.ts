/**
 * Direct delivery (`delivery: 'auto' | 'direct'`) on a real nats-server of the test's own: a
 * stream with RePublish and `allow_direct` is followed with a subscription and direct gets, and no
 * JetStream consumer ever exists; updates on both subjects, a restart of the server, a stream
 * deleted and recreated, and a republished message lost on the way (the audit finds it). A stream
 * without RePublish is followed through a consumer under `auto`, and not at all under `direct`.
 */
import { connect, StorageType, type NatsConnection } from 'nats';
import { FlagManager, type FlagManagerOptions } from '../../src/index';
import { LIVE_REPUBLISH } from '../../src/nats/subjects';
import { DIRECT_AUDIT_MS } from '../../src/sources/jetstream-direct';
import { RecordingLogger, waitFor, wireFlag } from '../support/flags';
import { NatsDeliveryProxy } from '../support/nats-proxy';
import { NatsServer } from '../support/servers';

const STREAM = 'flags_ruleset';
const SUBJECTS = ['apps.1.update.manual', 'apps.1.update.circuit', 'apps.2.update.manual'];

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
});

async function startServer(): Promise<{ server: NatsServer; nc: NatsConnection }> {
  const server = await NatsServer.start();
  cleanups.push(() => server.dispose());
  const nc = await connect({ servers: server.url });
  cleanups.push(() => nc.close());
  return { server, nc };
}

async function createStream(nc: NatsConnection, direct = true): Promise<void> {
  const jsm = await nc.jetstreamManager();
  await jsm.streams.add({
    name: STREAM,
    subjects: SUBJECTS,
    storage: StorageType.File,
    ...(direct ? { republish: { ...LIVE_REPUBLISH }, allow_direct: true } : {}),
  });
}

async function publish(nc: NatsConnection, title: string, subject = 'apps.1.update.manual'): Promise<number> {
  const ruleset = JSON.stringify([wireFlag({ id: 1, title })]);
  return (await nc.jetstream().publish(subject, new TextEncoder().encode(ruleset))).seq;
}

async function consumers(nc: NatsConnection): Promise<number> {
  return (await (await nc.jetstreamManager()).streams.info(STREAM)).state.consumer_count;
}

async function startManager(
  natsServer: string,
  extra: Partial<FlagManagerOptions> = {},
): Promise<{ manager: FlagManager; logger: RecordingLogger }> {
  const logger = new RecordingLogger();
  const manager = new FlagManager({
    natsServer,
    appId: 1,
    logger,
    signalBackend: 'off',
    reconnectWaitMs: 100,
    initTimeoutMs: 3_000,
    ...extra,
  });
  cleanups.push(() => manager.disconnect());
  await manager.initialize();
  return { manager, logger };
}

describe('direct delivery', () => {
  test('follows both subjects with no consumer on the server, the newer by sequence winning', async () => {
    const { server, nc } = await startServer();
    await createStream(nc);
    await publish(nc, 'first');
    await publish(nc, 'other-app', 'apps.2.update.manual');
    const { manager, logger } = await startManager(server.url);
    expect(manager.getFlag('first')).toBeDefined();
    expect(manager.health()).toMatchObject({ healthy: true, delivery: 'direct' });
    expect(logger.matching('info', /through RePublish and direct get/)).toHaveLength(1);
    await publish(nc, 'from-the-breaker', 'apps.1.update.circuit');
    await waitFor(() => manager.getFlag('from-the-breaker') !== undefined, 'the circuit update');
    await publish(nc, 'manual-again');
    await waitFor(() => manager.getFlag('manual-again') !== undefined, 'the next manual update');
    expect(manager.getFlag('other-app')).toBeUndefined();
    expect(await consumers(nc)).toBe(0);
  });

  test('starts on an app with nothing published yet, and takes its first ruleset', async () => {
    const { server, nc } = await startServer();
    await createStream(nc);
    const manager = new FlagManager({ natsServer: server.url, appId: 1, signalBackend: 'off', initTimeoutMs: 500 });
    cleanups.push(() => manager.disconnect());
    await manager.initialize();
    expect(manager.initialized).toBe(false);
    await publish(nc, 'at-last');
    await waitFor(() => manager.getFlag('at-last') !== undefined, 'the first ruleset');
    expect(manager.health()).toMatchObject({ healthy: true, delivery: 'direct' });
  });

  test('after a server restart, applies what was published meanwhile', async () => {
    const { server, nc } = await startServer();
    await createStream(nc);
    await publish(nc, 'before');
    const { manager } = await startManager(server.url);
    await nc.close();
    await server.stop();
    await waitFor(() => !manager.health().healthy, 'unhealthy while the server is down');
    await server.start();
    const again = await connect({ servers: server.url });
    cleanups.push(() => again.close());
    await publish(again, 'during-the-restart');
    await waitFor(() => manager.getFlag('during-the-restart') !== undefined, 'the update after the restart');
    await waitFor(() => manager.health().healthy, 'healthy again');
    expect(await consumers(again)).toBe(0);
  });

  test('follows a stream deleted and made again (sequences back to 1)', async () => {
    const { server, nc } = await startServer();
    await createStream(nc);
    for (let i = 0; i < 5; i += 1) await publish(nc, `old-${i}`);
    const { manager } = await startManager(server.url);
    expect(manager.getFlag('old-4')).toBeDefined();
    await (await nc.jetstreamManager()).streams.delete(STREAM);
    await createStream(nc);
    expect(await publish(nc, 'new-stream')).toBe(1);
    await waitFor(() => manager.getFlag('new-stream') !== undefined, 'the ruleset of the new stream', 15_000);
  });

  test('a republished message lost on the way is found by the audit', async () => {
    const { server, nc } = await startServer();
    await createStream(nc);
    await publish(nc, 'first');
    const proxy = await new NatsDeliveryProxy(server.port).start();
    cleanups.push(() => proxy.stop());
    const { manager } = await startManager(proxy.url);
    proxy.dropSubjectPrefix = 'tailslide.live.';
    await publish(nc, 'lost-on-the-way');
    await waitFor(() => manager.getFlag('lost-on-the-way') !== undefined, 'the audit to find the update', {
      timeoutMs: DIRECT_AUDIT_MS * 1.2 + 3_000,
    });
    expect(proxy.swallowed).toBeGreaterThan(0);
  });
});

describe('choosing the delivery', () => {
  test('auto on a stream without RePublish: a consumer, and the log says why', async () => {
    const { server, nc } = await startServer();
    await createStream(nc, false);
    await publish(nc, 'first');
    const { manager, logger } = await startManager(server.url);
    expect(manager.health()).toMatchObject({ healthy: true, delivery: 'consumer' });
    expect(
      logger.matching('info', /through a JetStream consumer: stream "flags_ruleset" has no RePublish/),
    ).toHaveLength(1);
    expect(await consumers(nc)).toBe(1);
  });

  test('consumer on a stream that allows direct delivery: a consumer all the same', async () => {
    const { server, nc } = await startServer();
    await createStream(nc);
    await publish(nc, 'first');
    const { manager } = await startManager(server.url, { delivery: 'consumer' });
    expect(manager.health().delivery).toBe('consumer');
    expect(await consumers(nc)).toBe(1);
  });

  test('direct on a stream without RePublish: not ready, and it says what is missing', async () => {
    const { server, nc } = await startServer();
    await createStream(nc, false);
    await publish(nc, 'first');
    const manager = new FlagManager({
      natsServer: server.url,
      appId: 1,
      signalBackend: 'off',
      initTimeoutMs: 500,
      delivery: 'direct',
    });
    cleanups.push(() => manager.disconnect());
    await manager.initialize();
    expect(manager.initialized).toBe(false);
    expect(manager.waitingFor).toMatch(/no RePublish .*"delivery" option asks for "direct"/);
    expect(await consumers(nc)).toBe(0);
  });

  test('refuses a delivery that is not one of auto, direct, consumer', () => {
    expect(() => new FlagManager({ natsServer: 'nats://127.0.0.1:1', appId: 1, delivery: 'push' as 'direct' })).toThrow(
      /delivery/,
    );
  });
});
