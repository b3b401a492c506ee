/**
 * Per-flag validation on the receiving side, against a real nats-server of the test's own: a
 * ruleset as Tower publishes it, with one flag the SDK cannot use (Tower accepts an empty title),
 * still applies every other flag's changes, now and in later updates; each flag left out is
 * reported once per (flag, reason). Also: a byte order mark on the wire, an open circuit.
 */
import { connect, StorageType, type NatsConnection } from 'nats';
import { FlagManager, InvalidFlagError, type TailslideError, type UpdateEvent } from '../../src/index';
import { NatsServer } from '../support/servers';
import { RecordingLogger, waitFor, wireFlag } from '../support/flags';

const U1 = '375d39e6-9c3f-4f58-80bd-e5960b710295';

let server: NatsServer;
let nc: NatsConnection;
let nextApp = 200;
const managers: FlagManager[] = [];

beforeAll(async () => {
  server = await NatsServer.start();
  nc = await connect({ servers: server.url });
  await (
    await nc.jetstreamManager()
  ).streams.add({ name: 'flags_ruleset', subjects: ['apps.*.update.*'], storage: StorageType.File });
});

afterEach(async () => {
  await Promise.all(managers.splice(0).map((m) => m.disconnect()));
});

afterAll(async () => {
  await nc?.close();
  await server?.dispose();
});

interface Started {
  manager: FlagManager;
  logger: RecordingLogger;
  errors: TailslideError[];
  updates: UpdateEvent[];
}

async function start(appId: number): Promise<Started> {
  const logger = new RecordingLogger();
  const manager = new FlagManager({
    natsServer: server.url,
    appId,
    logger,
    signalBackend: 'off',
    initTimeoutMs: 10_000,
  });
  managers.push(manager);
  const errors: TailslideError[] = [];
  const updates: UpdateEvent[] = [];
  manager.on('error', (e) => errors.push(e));
  manager.on('update', (u) => updates.push(u));
  await manager.initialize();
  return { manager, logger, errors, updates };
}

async function publish(
  appId: number,
  data: unknown[] | Uint8Array,
  kind: 'manual' | 'circuit' = 'manual',
): Promise<void> {
  const bytes = data instanceof Uint8Array ? data : new TextEncoder().encode(JSON.stringify(data));
  await nc.jetstream().publish(`apps.${appId}.update.${kind}`, bytes);
}

/** Tower's whole-app ruleset: every flag with every field, in id order. */
function towerApp(appId: number, fields: { checkout?: object; search?: object; untitled?: object } = {}): unknown[] {
  return [
    // U1 is in bucket 28060 of checkout-v2: in at 30 %, out at 5 %.
    wireFlag({ id: 1, app_id: appId, title: 'checkout-v2', rollout_percentage: 30, ...fields.checkout }),
    wireFlag({ id: 2, app_id: appId, title: 'search', rollout_percentage: 100, ...fields.search }),
    // Created in Tower's form and submitted before a title was typed.
    wireFlag({ id: 3, app_id: appId, title: '', rollout_percentage: 0, ...fields.untitled }),
  ];
}

test('a Tower ruleset with one empty-title flag applies the other flags, now and in later updates', async () => {
  const app = nextApp++;
  await publish(app, towerApp(app));
  const { manager, logger, errors, updates } = await start(app);

  // The usable flags are in; the untitled one is left out and reported once, naming position, id and field.
  expect(manager.initialized).toBe(true);
  expect(manager.getFlags().map((f) => f.title)).toEqual(['checkout-v2', 'search']);
  expect(manager.evaluate('checkout-v2', U1)).toMatchObject({ value: true, reason: 'ROLLOUT_IN' });
  expect(manager.evaluate('search', U1)).toMatchObject({ value: true, reason: 'FULL_ROLLOUT' });
  expect(manager.evaluate('', U1).reason).toBe('FLAG_NOT_FOUND');
  expect(errors).toHaveLength(1);
  expect(errors[0]).toBeInstanceOf(InvalidFlagError);
  expect(errors[0]?.code).toBe('INVALID_RULESET');
  expect((errors[0] as InvalidFlagError).issue).toEqual({
    index: 2,
    id: 3,
    field: 'title',
    message: 'must be a non-empty string, got ""',
  });
  expect(errors[0]?.message).toMatch(
    new RegExp(
      `^Flag left out of the ruleset from apps\\.${app}\\.update\\.manual \\(sequence \\d+\\): ` +
        'flag #2 \\(id 3\\) field "title": must be a non-empty string, got "" \\(the other flags apply\\)$',
    ),
  );
  expect(logger.matching('warn', /Flag left out/)).toEqual([errors[0]?.message]);

  // A later change (Tower republishes the whole app, the untitled flag with it) applies; no new report.
  await publish(app, towerApp(app, { checkout: { rollout_percentage: 100 }, search: { is_active: false } }));
  await waitFor(() => updates.length === 1, 'the update event');
  expect(updates[0]).toMatchObject({ changed: ['checkout-v2', 'search'], flagCount: 2 });
  expect(manager.evaluate('checkout-v2', U1)).toMatchObject({ value: true, reason: 'FULL_ROLLOUT' });
  expect(manager.evaluate('search', U1)).toMatchObject({ value: false, reason: 'FLAG_OFF' });
  expect(errors).toHaveLength(1);

  // Tower's PATCH without is_active leaves search active with circuit_status "open": is_active
  // decides, as in Tailslide's SDKs, so search is served.
  await publish(
    app,
    towerApp(app, { checkout: { rollout_percentage: 100 }, search: { circuit_status: 'open' } }),
    'circuit',
  );
  await waitFor(() => updates.length === 2, 'the circuit update');
  expect(manager.evaluate('search', U1)).toMatchObject({ value: true, reason: 'FULL_ROLLOUT' });
  expect(errors).toHaveLength(1);

  // The same flag with a second problem: that reason is new, the first is not repeated.
  await publish(app, towerApp(app, { checkout: { rollout_percentage: 5 }, untitled: { rollout_percentage: 250 } }));
  await waitFor(() => updates.length === 3, 'the third update');
  expect(manager.evaluate('checkout-v2', U1)).toMatchObject({ value: false, reason: 'ROLLOUT_OUT' });
  expect(errors.map((e) => (e as InvalidFlagError).issue.field)).toEqual(['title', 'rollout_percentage']);

  // Someone types the title in Tower: the flag arrives like any other.
  await publish(app, towerApp(app, { untitled: { title: 'named-later', rollout_percentage: 100 } }));
  await waitFor(() => updates.length === 4, 'the fourth update');
  expect(manager.getFlags().map((f) => f.title)).toEqual(['checkout-v2', 'search', 'named-later']);
  expect(manager.evaluate('named-later', U1)).toMatchObject({ value: true, flagId: 3 });
  expect(errors).toHaveLength(2);
  expect(manager.state).toBe('ready');
});

test('duplicate titles: the first wins and the others are reported once, with their id', async () => {
  const app = nextApp++;
  const ruleset = [
    wireFlag({ id: 1, app_id: app, title: 'twin', rollout_percentage: 100 }),
    wireFlag({ id: 2, app_id: app, title: 'twin', is_active: false }),
    wireFlag({ id: 3, app_id: app, title: 'other', is_active: false }),
  ];
  await publish(app, ruleset);
  const { manager, errors } = await start(app);
  expect(manager.evaluate('twin', U1)).toMatchObject({ value: true, flagId: 1 });
  expect(manager.evaluate('other', U1)).toMatchObject({ reason: 'FLAG_OFF' });
  expect(errors.map((e) => e.message)).toEqual([
    expect.stringMatching(/flag #1 "twin" \(id 2\) field "title": duplicate title \(also flag #0\)/),
  ]);
});

test('a message whose flags are all unusable, or that is not an array, keeps the last good ruleset', async () => {
  const app = nextApp++;
  await publish(app, towerApp(app));
  const { manager, errors } = await start(app);
  await publish(app, [wireFlag({ id: 9, app_id: app, title: '' })]);
  await publish(app, new TextEncoder().encode('{"flags":[]}'));
  await waitFor(() => errors.length === 3, 'two more error events');
  expect(errors.slice(1).map((e) => e.message)).toEqual([
    expect.stringMatching(/^Invalid ruleset from .*: flag #0 field "title": must be a non-empty string/),
    expect.stringMatching(/^Invalid ruleset from .*: expected a JSON array of flags, got an object$/),
  ]);
  expect(manager.getFlags().map((f) => f.title)).toEqual(['checkout-v2', 'search']);
});

test('many bad flags: 20 reported one by one, the rest in one line', async () => {
  const app = nextApp++;
  const bad = Array.from({ length: 25 }, (_, i) =>
    wireFlag({ id: 100 + i, app_id: app, title: `bad-${i}`, is_active: 'yes' }),
  );
  await publish(app, [wireFlag({ id: 1, app_id: app, title: 'good' }), ...bad]);
  const { manager, logger, errors } = await start(app);
  expect(manager.getFlags().map((f) => f.title)).toEqual(['good']);
  expect(errors).toHaveLength(20);
  expect(errors[19]?.message).toMatch(/flag #20 "bad-19" \(id 119\) field "is_active"/);
  expect(logger.matching('warn', /more problems/)).toEqual([
    expect.stringMatching(/^5 more problems with flags left out of the ruleset from apps\.\d+\.update\.manual/),
  ]);
});

test('a ruleset with a leading UTF-8 byte order mark is applied', async () => {
  const app = nextApp++;
  const text = JSON.stringify([wireFlag({ id: 1, app_id: app, title: 'bom', rollout_percentage: 100 })]);
  await publish(app, Uint8Array.from([0xef, 0xbb, 0xbf, ...new TextEncoder().encode(text)]));
  const { manager, errors } = await start(app);
  expect(manager.evaluate('bom', U1)).toMatchObject({ value: true, reason: 'FULL_ROLLOUT' });
  expect(errors).toEqual([]);
});
