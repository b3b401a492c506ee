/**
 * FlagManager against a real nats-server of the test's own (JetStream, temp store, free port).
 */
import { connect, StorageType, type NatsConnection } from 'nats';
import {
  AuthorizationError,
  FlagManager,
  type FlagManagerOptions,
  type TailslideError,
  type UpdateEvent,
} from '../../src/index';
import { nkeys } from '../support/nkeys';
import { NatsServer } from '../support/servers';
import { RecordingLogger, waitFor, wireFlag } from '../support/flags';

const U1 = '375d39e6-9c3f-4f58-80bd-e5960b710295';
const STREAM = 'flags_ruleset';

let server: NatsServer;
let nc: NatsConnection;
let nextApp = 100;
const managers: FlagManager[] = [];

beforeAll(async () => {
  server = await NatsServer.start();
  nc = await connect({ servers: server.url });
  await (
    await nc.jetstreamManager()
  ).streams.add({ name: STREAM, subjects: ['apps.*.update.*'], storage: StorageType.File });
});

afterAll(async () => {
  await Promise.all(managers.splice(0).map((m) => m.disconnect()));
  await nc?.close();
  await server?.dispose();
});

afterEach(async () => {
  await Promise.all(managers.splice(0).map((m) => m.disconnect()));
});

function manager(
  appId: number,
  extra: Partial<FlagManagerOptions> = {},
): { manager: FlagManager; logger: RecordingLogger } {
  const logger = new RecordingLogger();
  const m = new FlagManager({
    natsServer: server.url,
    appId,
    logger,
    signalBackend: 'off',
    initTimeoutMs: 10_000,
    reconnectWaitMs: 100,
    ...extra,
  });
  managers.push(m);
  return { manager: m, logger };
}

async function publish(
  appId: number,
  flags: unknown,
  kind: 'manual' | 'circuit' = 'manual',
  conn: NatsConnection = nc,
): Promise<number> {
  const data = typeof flags === 'string' ? flags : JSON.stringify(flags);
  const ack = await conn.jetstream().publish(`apps.${appId}.update.${kind}`, new TextEncoder().encode(data));
  return ack.seq;
}

function towerRuleset(appId: number, fields: Record<string, unknown> = {}): Record<string, unknown>[] {
  return [
    wireFlag({
      id: appId * 10 + 1,
      app_id: appId,
      title: 'App 1 Flag 1',
      rollout_percentage: 50,
      white_listed_users: U1,
      ...fields,
    }),
  ];
}

test('picks up a Tower-format message and evaluates it', async () => {
  const app = nextApp++;
  const towerJson = `[{"id":${app}1,"app_id":${app},"title":"App 1 Flag 1","description":"","is_active":true,
    "rollout_percentage":12.019,"white_listed_users":"fbe6133c-f751-46f4-b275-4e8c3aa22e24",
    "error_threshold_percentage":40,"circuit_status":"close","is_recoverable":true,
    "circuit_recovery_percentage":100,"circuit_recovery_delay":8000,
    "circuit_initial_recovery_percentage":10,"circuit_recovery_rate":400,
    "circuit_recovery_increment_percentage":10,"circuit_recovery_profile":"linear",
    "webhooks":"","created_at":"2022-08-11T18:51:52.882Z","updated_at":"2022-08-11T18:56:12.441Z"}]`;
  await publish(app, towerJson);
  const { manager: m } = manager(app, { userContext: U1 });
  await m.initialize();
  expect(m.initialized).toBe(true);
  const toggler = m.newToggler({ flagName: 'App 1 Flag 1' });
  expect(toggler.evaluate()).toMatchObject({ value: true, reason: 'ROLLOUT_IN', flagId: Number(`${app}1`) });
  expect(toggler.evaluate('fbe6133c-f751-46f4-b275-4e8c3aa22e24').reason).toBe('WHITELISTED');
  expect(toggler.evaluate('user-1').reason).toBe('ROLLOUT_OUT');
});

test('an update published right after initialize() is seen, with the changed titles', async () => {
  const app = nextApp++;
  await publish(app, towerRuleset(app));
  const { manager: m } = manager(app);
  const updates: UpdateEvent[] = [];
  m.on('update', (u) => updates.push(u));
  await m.initialize();
  const seq = await publish(app, [
    ...towerRuleset(app),
    wireFlag({ id: app * 10 + 2, app_id: app, title: 'new flag' }),
  ]);
  await waitFor(() => updates.length === 1, 'the update event');
  expect(updates[0]).toMatchObject({
    changed: ['new flag'],
    sequence: seq,
    subject: `apps.${app}.update.manual`,
    flagCount: 2,
  });
  expect(m.evaluate('new flag', U1).value).toBe(true);
});

test('manual and circuit subjects interleaved: the newest message wins, at start and live', async () => {
  const app = nextApp++;
  await publish(app, towerRuleset(app, { rollout_percentage: 1 }), 'manual');
  await publish(app, towerRuleset(app, { rollout_percentage: 2 }), 'circuit');
  await publish(app, towerRuleset(app, { rollout_percentage: 3 }), 'manual');
  await publish(app, towerRuleset(app, { rollout_percentage: 4, circuit_status: 'open', is_active: false }), 'circuit');
  const { manager: m } = manager(app);
  await m.initialize();
  expect(m.getFlag('App 1 Flag 1')).toMatchObject({ rolloutPercentage: 4, circuitStatus: 'open', isActive: false });
  await publish(app, towerRuleset(app, { rollout_percentage: 5 }), 'manual');
  await waitFor(() => m.getFlag('App 1 Flag 1')?.rolloutPercentage === 5, 'the manual update');
  await publish(app, towerRuleset(app, { rollout_percentage: 6 }), 'circuit');
  await waitFor(() => m.getFlag('App 1 Flag 1')?.rolloutPercentage === 6, 'the circuit update');
});

test('malformed messages are reported with their reason and never replace the good ruleset', async () => {
  const app = nextApp++;
  await publish(app, towerRuleset(app));
  const { manager: m } = manager(app);
  const errors: TailslideError[] = [];
  m.on('error', (e) => errors.push(e));
  await m.initialize();
  await publish(app, 'not json at all');
  await publish(app, [{ id: 1, title: 'x', is_active: true, rollout_percentage: 250 }]);
  await publish(app, { flags: [] });
  await waitFor(() => errors.length === 3, 'three error events');
  expect(errors.map((e) => e.code)).toEqual(['INVALID_RULESET', 'INVALID_RULESET', 'INVALID_RULESET']);
  expect(errors[0]?.message).toMatch(new RegExp(`apps\\.${app}\\.update\\.manual \\(sequence \\d+\\): not JSON`));
  expect(errors[1]?.message).toMatch(/flag #0 "x" field "rollout_percentage": must be a number from 0 to 100, got 250/);
  expect(m.getFlag('App 1 Flag 1')?.rolloutPercentage).toBe(50);
  await publish(app, towerRuleset(app, { rollout_percentage: 70 }));
  await waitFor(() => m.getFlag('App 1 Flag 1')?.rolloutPercentage === 70, 'the next good ruleset');
});

test('an app that gets its first ruleset after start: NOT_READY, waits once, then ready', async () => {
  const app = nextApp++;
  const { manager: m, logger } = manager(app, { initTimeoutMs: 300 });
  await m.initialize();
  expect(m.initialized).toBe(false);
  expect(m.evaluate('App 1 Flag 1', U1)).toMatchObject({ value: false, reason: 'NOT_READY' });
  expect(logger.matching('warn', /not ready after 300 ms/)).toHaveLength(1);
  const ready = m.waitForInitialization(10_000);
  await publish(app, towerRuleset(app));
  expect(await ready).toBe(true);
  expect(m.evaluate('App 1 Flag 1', U1)).toMatchObject({ value: true, reason: 'WHITELISTED' });
  expect(logger.matching('warn', /waiting/).length).toBeLessThanOrEqual(1);
});

test('an injected NATS connection is used and left open', async () => {
  const app = nextApp++;
  await publish(app, towerRuleset(app));
  const own = await connect({ servers: server.url });
  const m = new FlagManager({ natsConnection: own, appId: app, signalBackend: 'off', logger: new RecordingLogger() });
  await m.initialize();
  expect(m.evaluate('App 1 Flag 1', U1).value).toBe(true);
  await m.disconnect();
  expect(own.isClosed()).toBe(false);
  await own.close();
});

describe('auth', () => {
  let secured: NatsServer;
  beforeAll(async () => {
    secured = await NatsServer.start({ token: 'myToken' });
    const admin = await connect({ servers: secured.url, token: 'myToken' });
    await (
      await admin.jetstreamManager()
    ).streams.add({ name: STREAM, subjects: ['apps.*.update.*'], storage: StorageType.File });
    await admin.jetstream().publish('apps.1.update.manual', new TextEncoder().encode(JSON.stringify(towerRuleset(1))));
    await admin.close();
  });
  afterAll(() => secured?.dispose());

  test('the right token (sdkKey) is accepted', async () => {
    const { manager: m } = manager(1, { natsServer: secured.url, sdkKey: 'myToken' });
    await m.initialize();
    expect(m.evaluate('App 1 Flag 1', U1).value).toBe(true);
  });

  test('a wrong token rejects initialize() within seconds with an AuthorizationError, and stops trying', async () => {
    const { manager: m } = manager(1, { natsServer: secured.url, sdkKey: 'wrong' });
    const failed: TailslideError[] = [];
    m.on('failed', (e) => failed.push(e));
    const started = Date.now();
    await expect(m.initialize()).rejects.toBeInstanceOf(AuthorizationError);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(m.state).toBe('failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]?.message).toMatch(/author/i);
  });
});

test('a server restart with an update published while the SDK was disconnected', async () => {
  const own = await NatsServer.start();
  try {
    const admin = await connect({ servers: own.url });
    await (
      await admin.jetstreamManager()
    ).streams.add({ name: STREAM, subjects: ['apps.*.update.*'], storage: StorageType.File });
    await publish(1, towerRuleset(1, { rollout_percentage: 10 }), 'manual', admin);
    await admin.close();
    const { manager: m } = manager(1, { natsServer: own.url });
    const states: string[] = [];
    m.on('stale', () => states.push('stale'));
    m.on('reconnected', () => states.push('reconnected'));
    await m.initialize();
    await own.stop();
    await waitFor(() => states.includes('stale'), 'the stale event');
    expect(m.evaluate('App 1 Flag 1', U1).value).toBe(true); // still served from the last ruleset
    await own.start();
    const again = await connect({ servers: own.url });
    await publish(1, towerRuleset(1, { rollout_percentage: 90 }), 'circuit', again);
    await again.close();
    await waitFor(
      () => m.getFlag('App 1 Flag 1')?.rolloutPercentage === 90,
      'the update published during the outage',
      20_000,
    );
    await waitFor(() => states.includes('reconnected'), 'the reconnected event');
    expect(m.state).toBe('ready');
  } finally {
    await own.dispose();
  }
});

test('init timeout against a server that never gets the app: false, NOT_READY, keeps trying', async () => {
  const empty = await NatsServer.start();
  try {
    const { manager: m, logger } = manager(5, { natsServer: empty.url, initTimeoutMs: 500 });
    const started = Date.now();
    await m.initialize();
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(m.initialized).toBe(false);
    expect(m.newToggler({ flagName: 'anything' }).evaluate(U1).reason).toBe('NOT_READY');
    expect(logger.matching('warn', /^waiting: stream "flags_ruleset" does not exist/)).toHaveLength(1);
    expect(await m.waitForInitialization(200)).toBe(false);
  } finally {
    await empty.dispose();
  }
});

describe('user/password and NKey auth', () => {
  const user = nkeys.createUser();
  const seed = new TextDecoder().decode(user.getSeed());
  let secured: NatsServer;
  beforeAll(async () => {
    secured = await NatsServer.start({
      extraConfig: `authorization { users: [ { user: "svc", password: "s3cret" }, { nkey: "${user.getPublicKey()}" } ] }`,
    });
    const admin = await connect({ servers: secured.url, user: 'svc', pass: 's3cret' });
    await (
      await admin.jetstreamManager()
    ).streams.add({ name: STREAM, subjects: ['apps.*.update.*'], storage: StorageType.File });
    await admin.jetstream().publish('apps.1.update.manual', new TextEncoder().encode(JSON.stringify(towerRuleset(1))));
    await admin.close();
  });
  afterAll(() => secured?.dispose());

  test('user and password are accepted', async () => {
    const { manager: m } = manager(1, { natsServer: secured.url, natsUser: 'svc', natsPassword: 's3cret' });
    await m.initialize();
    expect(m.evaluate('App 1 Flag 1', U1).value).toBe(true);
  });

  test('a wrong password is refused with an AuthorizationError', async () => {
    const { manager: m } = manager(1, { natsServer: secured.url, natsUser: 'svc', natsPassword: 'nope' });
    await expect(m.initialize()).rejects.toBeInstanceOf(AuthorizationError);
  });

  test('an NKey seed is accepted', async () => {
    const { manager: m } = manager(1, { natsServer: secured.url, natsNkeySeed: seed });
    await m.initialize();
    expect(m.evaluate('App 1 Flag 1', U1).value).toBe(true);
  });

  test('an NKey the server does not know is refused', async () => {
    const stranger = new TextDecoder().decode(nkeys.createUser().getSeed());
    const { manager: m } = manager(1, { natsServer: secured.url, natsNkeySeed: stranger });
    await expect(m.initialize()).rejects.toBeInstanceOf(AuthorizationError);
  });
});
