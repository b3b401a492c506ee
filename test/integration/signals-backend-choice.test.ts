/**
 * The signal sink's backend choice against real redis-server processes: without the TimeSeries
 * module, with it (each build in ../shared/redistimeseries, when there), behind ACLs that refuse
 * the probe, and while the server is down.
 */
import { Redis } from 'ioredis';
import { BackendChoice } from '../../src/signals/backend-choice';
import { RedisServer, timeSeriesModulesFor } from '../support/servers';
import { RecordingLogger } from '../support/flags';

const RETENTION_MS = 60_000;
const MODULES = timeSeriesModulesFor('signals-backend-choice.test.ts');

const cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) {
    try {
      await cleanup();
    } catch {
      // keep cleaning up
    }
  }
});

async function server(extraArgs: string[] = []): Promise<RedisServer> {
  const s = await RedisServer.start(extraArgs);
  cleanups.push(() => s.dispose());
  return s;
}

/** A client as the sink makes one: no offline queue, one try per command. */
function client(port: number, extra: { username?: string; password?: string } = {}): Redis {
  const c = new Redis(port, '127.0.0.1', {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    ...extra,
  });
  c.on('error', () => undefined);
  cleanups.push(() => c.disconnect());
  return c;
}

async function connected(port: number, extra: { username?: string; password?: string } = {}): Promise<Redis> {
  const c = client(port, extra);
  await c.connect();
  return c;
}

describe('BackendChoice without the TimeSeries module', () => {
  test('auto: native, announced once with the reason', async () => {
    const s = await server();
    const logger = new RecordingLogger();
    const choice = new BackendChoice('auto', RETENTION_MS, logger);
    expect(choice.name).toBe('pending');
    const c = await connected(s.port);
    const first = await choice.decide(c);
    expect(first.outcome === 'ready' && first.backend.name).toBe('native');
    const second = await choice.decide(c);
    expect(second.outcome === 'ready' && second.backend).toBe(first.outcome === 'ready' && first.backend);
    expect(choice.name).toBe('native');
    expect(choice.decided).toBe(true);
    expect(logger.lines).toEqual([
      {
        level: 'info',
        message:
          'Signals: writing to the native Redis backend (hashes); the server has no TimeSeries module: the server does not know TS.INFO',
      },
    ]);
  });

  test('timeseries forced: missing, with one error saying what to do; reconnected() asks again', async () => {
    const s = await server();
    const logger = new RecordingLogger();
    const choice = new BackendChoice('timeseries', RETENTION_MS, logger);
    const c = await connected(s.port);
    expect(await choice.decide(c)).toEqual({ outcome: 'missing' });
    expect(choice.missing).toBe(true);
    expect(choice.decided).toBe(false);
    expect(choice.name).toBe('timeseries');
    expect(
      logger.matching('error', /signalBackend is "timeseries" but the Redis server has no TimeSeries module/),
    ).toHaveLength(1);
    choice.reconnected();
    expect(choice.missing).toBe(false);
  });

  test('native: decided without a word to the server (the client never connects)', async () => {
    const logger = new RecordingLogger();
    const choice = new BackendChoice('native', RETENTION_MS, logger);
    const c = client(1);
    const decision = await choice.decide(c);
    expect(decision.outcome === 'ready' && decision.backend.name).toBe('native');
    expect(c.status).toBe('wait');
    expect(logger.matching('info', /the native Redis backend \(hashes\); signalBackend is "native"/)).toHaveLength(1);
  });

  test('server down: unknown (try later), nothing decided; decided once it is up', async () => {
    const s = await server();
    await s.stop();
    const logger = new RecordingLogger();
    const choice = new BackendChoice('auto', RETENTION_MS, logger);
    const down = await choice.decide(client(s.port));
    expect(down.outcome).toBe('unknown');
    expect(choice.decided).toBe(false);
    expect(choice.name).toBe('pending');
    expect(logger.lines).toEqual([]);

    await s.start();
    const up = await choice.decide(await connected(s.port));
    expect(up.outcome === 'ready' && up.backend.name).toBe('native');
  });
});

// describe.each throws on an empty table: with no build, timeSeriesModulesFor registered the skip.
if (MODULES.length > 0)
  describe.each(MODULES)('BackendChoice with RedisTimeSeries $version', ({ path }) => {
    const withModule = (): Promise<RedisServer> => server(['--loadmodule', path]);

    test.each(['auto', 'timeseries'] as const)('%s: timeseries', async (mode) => {
      const s = await withModule();
      const logger = new RecordingLogger();
      const choice = new BackendChoice(mode, RETENTION_MS, logger);
      const decision = await choice.decide(await connected(s.port));
      expect(decision.outcome === 'ready' && decision.backend.name).toBe('timeseries');
      expect(logger.lines).toEqual([
        {
          level: 'info',
          message:
            'Signals: writing to Redis TimeSeries (TS.ADD, Tailslide wire format); the server has the TimeSeries module',
        },
      ]);
    });

    test('TS.INFO refused by an ACL: MODULE LIST finds the module', async () => {
      const s = await withModule();
      const admin = await connected(s.port);
      await admin.call('ACL', 'SETUSER', 'app', 'on', '>secret', '~*', '&*', '+@all', '-ts.info');
      const choice = new BackendChoice('auto', RETENTION_MS, new RecordingLogger());
      const decision = await choice.decide(await connected(s.port, { username: 'app', password: 'secret' }));
      expect(decision.outcome === 'ready' && decision.backend.name).toBe('timeseries');
    });

    test('TS.INFO and MODULE LIST both refused: auto falls back to native and says why', async () => {
      const s = await withModule();
      const admin = await connected(s.port);
      await admin.call('ACL', 'SETUSER', 'app', 'on', '>secret', '~*', '&*', '+@all', '-ts.info', '-module');
      const logger = new RecordingLogger();
      const choice = new BackendChoice('auto', RETENTION_MS, logger);
      const decision = await choice.decide(await connected(s.port, { username: 'app', password: 'secret' }));
      expect(decision.outcome === 'ready' && decision.backend.name).toBe('native');
      expect(logger.lines[0]?.message).toMatch(/TS\.INFO refused \(NOPERM.*\), MODULE LIST refused \(NOPERM.*\)$/);
    });
  });
