/**
 * Fault suite, credentials and TLS: a FlagManager given what the server refuses (wrong or missing
 * token, TLS it cannot use) rejects initialize() within seconds with a clear AuthorizationError or
 * ConnectionError, then makes no further attempt (counted by the server itself, in /varz), and
 * leaves nothing open after disconnect(). Real nats-servers; a throwaway CA made with openssl.
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { connect, StorageType, type ConnectionOptions } from 'nats';
import {
  AuthorizationError,
  ConnectionError,
  FlagManager,
  type FlagManagerOptions,
  type TailslideError,
} from '../../src/index';
import { CircuitBreaker } from '../../src/breaker';
import { startDashboard } from '../../src/ui';
import { NatsServer } from '../support/servers';
import { makeTlsCerts } from '../support/tls';
import { totalConnections } from '../support/nats-monitor';
import { expectNoExtraResources, settledResources } from '../support/handles';
import { RecordingLogger, wireFlag } from '../support/flags';

const TOKEN = 'right-token-8f2c';
const WRONG_TOKEN = 'wrong-token-1d9e';
/** A refusal must reach the caller within this (the manager's own init timeout is 10 s). */
const REFUSED_WITHIN_MS = 5_000;
/** After a refusal, the server must see no new connection attempt for this long. */
const QUIET_MS = 2_000;

function opensslAvailable(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const HAS_OPENSSL = opensslAvailable();

/** A server with the monitoring endpoint, the stream and a ruleset for app 1. */
async function startServer(
  options: { token?: string; extraConfig?: string },
  client: ConnectionOptions,
): Promise<NatsServer> {
  const server = await NatsServer.start({ ...options, monitorPort: 0 });
  const nc = await connect({ servers: server.url, ...client });
  await (
    await nc.jetstreamManager()
  ).streams.add({ name: 'flags_ruleset', subjects: ['apps.*.update.*'], storage: StorageType.File });
  const ruleset = [wireFlag({ id: 11, app_id: 1, title: 'auth-flag' })];
  await nc.jetstream().publish('apps.1.update.manual', new TextEncoder().encode(JSON.stringify(ruleset)));
  await nc.close();
  return server;
}

/** Resolves once `probe` has returned the same value for `ms`; rejects as soon as it changes. */
async function expectSteady(probe: () => Promise<number>, ms: number, what: string): Promise<number> {
  const first = await probe();
  const until = Date.now() + ms;
  while (Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const now = await probe();
    if (now !== first) throw new Error(`${what}: went from ${first} to ${now} within ${ms} ms`);
  }
  return first;
}

function newManager(
  server: NatsServer,
  extra: Partial<FlagManagerOptions>,
): { manager: FlagManager; logger: RecordingLogger; failed: TailslideError[] } {
  const logger = new RecordingLogger();
  const manager = new FlagManager({
    natsServer: server.url,
    appId: 1,
    logger,
    signalBackend: 'off',
    reconnectWaitMs: 100,
    initTimeoutMs: 10_000,
    ...extra,
  });
  const failed: TailslideError[] = [];
  manager.on('failed', (error) => failed.push(error));
  return { manager, logger, failed };
}

/**
 * The whole check of one refused configuration: rejects fast with the right class and message,
 * state `failed`, one `failed` event and one error line, no attempt after the refusal, nothing
 * left open after disconnect().
 */
async function expectRefused(
  server: NatsServer,
  extra: Partial<FlagManagerOptions>,
  errorClass: typeof AuthorizationError | typeof ConnectionError,
  message: RegExp,
): Promise<TailslideError> {
  const before = await settledResources();
  const attemptsBefore = await totalConnections(server);
  const { manager, logger, failed } = newManager(server, extra);
  const started = Date.now();
  const error: unknown = await manager.initialize().then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(Date.now() - started).toBeLessThan(REFUSED_WITHIN_MS);
  expect(error).toBeInstanceOf(errorClass);
  const refusal = error as TailslideError;
  expect(refusal.message).toMatch(message);
  expect(refusal.message).toMatch(/not retrying/);
  expect(manager.state).toBe('failed');
  expect(failed).toEqual([refusal]);
  expect(logger.matching('error', /./)).toEqual([refusal.message]);
  expect(manager.evaluate('auth-flag').reason).toBe('NOT_READY');

  // No retry storm: at most the attempt that was refused, then nothing.
  const attempts = await expectSteady(
    () => totalConnections(server),
    QUIET_MS,
    'connection attempts seen by the server after the refusal',
  );
  expect(attempts - attemptsBefore).toBeLessThanOrEqual(1);
  expect(failed).toHaveLength(1);

  await manager.disconnect();
  expect(manager.state).toBe('closed');
  await expectNoExtraResources(before, 'resources of a refused manager after disconnect()');
  return refusal;
}

describe('token', () => {
  let server: NatsServer;
  beforeAll(async () => {
    server = await startServer({ token: TOKEN }, { token: TOKEN });
  });
  afterAll(() => server?.dispose());

  test('the right token works (the fixture is sound)', async () => {
    const { manager } = newManager(server, { sdkKey: TOKEN });
    await manager.initialize();
    expect(manager.evaluate('auth-flag').value).toBe(true);
    await manager.disconnect();
  });

  test('a wrong token: AuthorizationError within seconds naming the server, never the secret; no further attempt', async () => {
    const error = await expectRefused(
      server,
      { sdkKey: WRONG_TOKEN },
      AuthorizationError,
      /refused the token \(sdkKey\)/,
    );
    expect(error.message).toContain(server.url);
    expect(error.message).not.toContain(WRONG_TOKEN);
    expect(error.code).toBe('AUTHORIZATION');
  }, 15_000);

  test('no token at all: AuthorizationError saying no credentials were given; no further attempt', async () => {
    await expectRefused(server, {}, AuthorizationError, /refused the connection without credentials/);
  }, 15_000);

  // The breaker and the dashboard connect through the same layer as the manager (src/nats/open.ts).
  test('the breaker, given a wrong token: AuthorizationError naming the server, never the secret', async () => {
    const before = await settledResources();
    const breaker = new CircuitBreaker({ natsServer: server.url, sdkKey: WRONG_TOKEN, apps: [1], autoPoll: false });
    const started = Date.now();
    const error = await breaker.start().then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(Date.now() - started).toBeLessThan(REFUSED_WITHIN_MS);
    expect(error).toBeInstanceOf(AuthorizationError);
    const message = (error as Error).message;
    expect(message).toMatch(/^CircuitBreaker: NATS server .* refused the token \(sdkKey\)/);
    expect(message).toContain(server.url);
    expect(message).not.toContain(WRONG_TOKEN);
    await breaker.stop();
    await expectNoExtraResources(before, 'resources of a refused breaker after stop()');
  }, 15_000);

  test('the dashboard, given a wrong token: AuthorizationError naming the server, never the secret', async () => {
    const before = await settledResources();
    const error = await startDashboard({ nats: { servers: server.url, token: WRONG_TOKEN }, port: 0 }).then(
      async (dashboard) => {
        await dashboard.close();
        return undefined;
      },
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(AuthorizationError);
    expect((error as Error).message).toMatch(/refused the token \(sdkKey\)/);
    expect((error as Error).message).not.toContain(WRONG_TOKEN);
    await expectNoExtraResources(before, 'resources of a refused dashboard');
  }, 15_000);
});

(HAS_OPENSSL ? describe : describe.skip)(
  `TLS${HAS_OPENSSL ? '' : ' (skipped: openssl is not on PATH, so no test certificates can be made)'}`,
  () => {
    let certDir = '';
    let tlsServer: NatsServer;
    let plainServer: NatsServer;
    const file = (name: string): string => join(certDir, name);

    beforeAll(async () => {
      certDir = makeTlsCerts('tailslide-fault-tls-', ['other-ca']);
      tlsServer = await startServer(
        {
          extraConfig: `tls { cert_file: ${JSON.stringify(file('server.pem'))}, key_file: ${JSON.stringify(file('server.key'))} }`,
        },
        { tls: { caFile: file('ca.pem') } },
      );
      plainServer = await startServer({}, {});
    });
    afterAll(async () => {
      await tlsServer?.dispose();
      await plainServer?.dispose();
      if (certDir !== '') rmSync(certDir, { recursive: true, force: true });
    });

    test('the right CA works (the fixture is sound)', async () => {
      const { manager } = newManager(tlsServer, { natsTls: { caFile: file('ca.pem') } });
      await manager.initialize();
      expect(manager.evaluate('auth-flag').value).toBe(true);
      await manager.disconnect();
    });

    test('server requires TLS, natsTls not set: ConnectionError saying to set natsTls; no further attempt', async () => {
      await expectRefused(
        tlsServer,
        {},
        ConnectionError,
        /requires TLS and its certificate is not trusted .*natsTls is not set/,
      );
    }, 15_000);

    test('a CA that did not sign the server certificate: ConnectionError about the handshake; no further attempt', async () => {
      await expectRefused(
        tlsServer,
        { natsTls: { caFile: file('other-ca.pem') } },
        ConnectionError,
        /TLS handshake with NATS server .* failed/,
      );
    }, 15_000);

    test('a CA file that does not exist: ConnectionError naming it; no further attempt', async () => {
      const missing = file('no-such-ca.pem');
      const error = await expectRefused(
        tlsServer,
        { natsTls: { caFile: missing } },
        ConnectionError,
        /TLS options for NATS server .* are unusable/,
      );
      expect(error.message).toContain(missing);
    }, 15_000);

    test('natsTls against a server without TLS: ConnectionError saying the server offers none; no further attempt', async () => {
      await expectRefused(
        plainServer,
        { natsTls: true },
        ConnectionError,
        /natsTls is set but NATS server .* does not offer TLS/,
      );
    }, 15_000);
  },
);
