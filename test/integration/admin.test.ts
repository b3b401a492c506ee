import { expect } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  AckPolicy,
  connect,
  createInbox,
  DeliverPolicy,
  StorageType,
  type JetStreamManager,
  type NatsConnection,
  type StreamConfig,
} from 'nats';
import {
  AdminClosedError,
  DuplicateTitleError,
  FlagAdmin,
  HIGH_WATER_HEADER,
  InvalidFlagValueError,
  NEW_FLAG_DEFAULTS,
  StreamNotFoundError,
  UnknownAppError,
  UnknownFlagError,
  type FlagAdminOptions,
  type RulesetUpdate,
} from '../../src/admin';
import { AuthorizationError, ConnectionError, InvalidRulesetError } from '../../src/errors';
import { silentLogger } from '../../src/logger';
import { FlagManager } from '../../src/manager';
import { RecordingLogger, wireFlag } from '../support/flags';
import type { WireFlag } from '../../src/ruleset/types';
import { waitFor } from '../support/flags';
import { NatsServer, freePort } from '../support/servers';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');

let server: NatsServer;
let nc: NatsConnection;
let jsm: JetStreamManager;
const admins: FlagAdmin[] = [];
let streamCounter = 0;

beforeAll(async () => {
  server = await NatsServer.start();
  nc = await connect({ servers: server.url });
  jsm = await nc.jetstreamManager();
});

afterEach(async () => {
  await Promise.all(admins.splice(0).map((admin) => admin.close()));
  // Streams capturing `apps.*` subjects cannot coexist on one server: each test removes its own.
  for (const name of await jsm.streams.names().next()) await jsm.streams.delete(name);
});

afterAll(async () => {
  await nc?.close();
  await server?.dispose();
});

/** A stream name of the test's own. */
function newStream(): string {
  streamCounter += 1;
  return `admin_${streamCounter}`;
}

async function openAdmin(stream: string, options: Partial<FlagAdminOptions> = {}): Promise<FlagAdmin> {
  const admin = new FlagAdmin({ nats: { servers: server.url, stream }, logger: silentLogger, ...options });
  admins.push(admin);
  await admin.connect();
  return admin;
}

/** A stream as Tower creates it: literal subjects of the given apps. */
async function towerStream(stream: string, appIds: number[]): Promise<void> {
  await jsm.streams.add({
    name: stream,
    subjects: appIds.flatMap((id) => [`apps.${id}.update.manual`, `apps.${id}.update.circuit`]),
    storage: StorageType.File,
  });
}

async function publishRaw(subject: string, payload: unknown): Promise<number> {
  const ack = await nc.jetstream().publish(subject, typeof payload === 'string' ? payload : JSON.stringify(payload));
  return ack.seq;
}

async function lastRaw(
  stream: string,
  subject: string,
): Promise<{ seq: number; flags: WireFlag[]; highWater: string }> {
  const msg = await jsm.streams.getMessage(stream, { last_by_subj: subject });
  return { seq: msg.seq, flags: msg.json<WireFlag[]>(), highWater: msg.header.get(HIGH_WATER_HEADER) };
}

async function lastSeq(stream: string): Promise<number> {
  return (await jsm.streams.info(stream)).state.last_seq;
}

/** A clock the test moves by hand. */
function manualClock(start = '2026-03-01T10:00:00.000Z'): { now: () => Date; set(iso: string): void } {
  let current = new Date(start);
  return { now: () => new Date(current), set: (iso) => (current = new Date(iso)) };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

const CONTROL = ['circuit_open', 'circuit_close', 'circuit_recovery_start', 'circuit_recovery_update'];
/** A new stream in Tower's layout: app 1's subjects (as Tower's), then the control subjects. */
const TOWER_NEW = ['apps.1.update.manual', 'apps.1.update.circuit', ...CONTROL];

describe('ensureStream', () => {
  it('creates a stream in Tower’s layout with file storage and full history, then leaves it alone', async () => {
    const stream = newStream();
    const admin = await openAdmin(stream);
    const created = await admin.ensureStream();
    expect(created).toMatchObject({ stream, action: 'created', subjects: TOWER_NEW, added: TOWER_NEW, warnings: [] });
    const info = await jsm.streams.info(stream);
    expect(info.config).toMatchObject({
      subjects: TOWER_NEW,
      storage: StorageType.File,
      max_msgs_per_subject: -1,
      max_age: 0,
    });
    expect(await admin.ensureStream()).toMatchObject({ action: 'unchanged', added: [] });
    expect(await admin.ensureStream({ appId: 1 })).toMatchObject({ action: 'unchanged', added: [] });
    expect(await admin.ensureStream({ appId: 42 })).toMatchObject({
      action: 'updated',
      added: ['apps.42.update.manual', 'apps.42.update.circuit'],
    });
    expect(await admin.ensureStream({ appId: 42 })).toMatchObject({ action: 'unchanged', added: [] });
  });

  it('creates a stream with the given app’s subjects instead of app 1’s', async () => {
    const stream = newStream();
    const admin = await openAdmin(stream);
    expect(await admin.ensureStream({ appId: 3 })).toMatchObject({
      action: 'created',
      subjects: ['apps.3.update.manual', 'apps.3.update.circuit', ...CONTROL],
    });
  });

  it('creates the wildcard stream only when asked, with a warning, and never converts a stream', async () => {
    const stream = newStream();
    const admin = await openAdmin(stream);
    const created = await admin.ensureStream({ layout: 'wildcard' });
    expect(created).toMatchObject({ action: 'created', subjects: ['apps.*.update.*'] });
    expect(created.warnings.join('\n')).toMatch(/Tower cannot add .* Aerobat's consumer \(apps\.<id>\.>\) is refused/);
    // A wildcard stream already captures every app: left as it is, warned about on every call.
    const again = await admin.ensureStream({ appId: 42 });
    expect(again).toMatchObject({ action: 'unchanged', added: [], subjects: ['apps.*.update.*'] });
    expect(again.warnings).toHaveLength(1);
    await admin.createFlag(42, { title: 'x' });
    expect((await jsm.streams.info(stream)).config.subjects).toEqual(['apps.*.update.*']);
    await expect(admin.ensureStream({ layout: 'star' as 'wildcard' })).rejects.toThrow(
      /layout.*"literal" or "wildcard"/,
    );
  });

  it('adds an app’s two literal subjects to a Tower-style stream, once', async () => {
    const stream = newStream();
    await towerStream(stream, [1]);
    const admin = await openAdmin(stream);
    expect(await admin.ensureStream({ appId: 1 })).toMatchObject({ action: 'unchanged' });
    const updated = await admin.ensureStream({ appId: '2' });
    expect(updated).toMatchObject({ action: 'updated', added: ['apps.2.update.manual', 'apps.2.update.circuit'] });
    expect((await jsm.streams.info(stream)).config.subjects).toEqual([
      'apps.1.update.manual',
      'apps.1.update.circuit',
      'apps.2.update.manual',
      'apps.2.update.circuit',
    ]);
    expect(await admin.ensureStream({ appId: 2 })).toMatchObject({ action: 'unchanged' });
  });

  it('reports stream settings that lose rulesets', async () => {
    const stream = newStream();
    await jsm.streams.add({
      name: stream,
      subjects: [`apps.*.update.*`],
      max_age: 3600 * 1e9,
      storage: StorageType.File,
    });
    const admin = await openAdmin(stream);
    const result = await admin.ensureStream();
    expect(result.action).toBe('unchanged');
    expect(result.warnings.join('\n')).toMatch(/older than 3600 s/);
  });
});

/**
 * What Tower and Aerobat do to a stream: Tower appends the literal subjects of an app it publishes
 * for with a stream update of the config it read (then publishes); Aerobat creates a push consumer
 * filtered on `apps.<id>.>` and publishes its control messages on `circuit_open` and the like.
 */
async function towerAppendsApp(stream: string, appId: number, config?: StreamConfig): Promise<void> {
  const current = config ?? (await jsm.streams.info(stream)).config;
  for (const subject of [`apps.${appId}.update.manual`, `apps.${appId}.update.circuit`]) {
    if (!current.subjects?.includes(subject)) current.subjects?.push(subject);
  }
  await jsm.streams.update(stream, current);
  await publishRaw(`apps.${appId}.update.manual`, [wireFlag({ id: 900 + appId, app_id: appId, title: 'from tower' })]);
}

async function aerobatConsumer(stream: string, appId: number | '*', filter = `apps.${appId}.>`): Promise<string> {
  const info = await jsm.consumers.add(stream, {
    filter_subject: filter,
    deliver_subject: createInbox(),
    deliver_policy: DeliverPolicy.LastPerSubject,
    ack_policy: AckPolicy.All,
  });
  if (appId !== '*') await publishRaw('circuit_open', String(appId * 10));
  return info.name;
}

describe('beside Tower and Aerobat', () => {
  it('a stream made by ensureStream takes Tower’s subject append and Aerobat’s consumer', async () => {
    const stream = newStream();
    const admin = await openAdmin(stream);
    await admin.ensureStream();
    // Aerobat's main process follows every app's manual subject, from before any flag exists.
    await aerobatConsumer(stream, '*', 'apps.*.update.manual');
    await admin.createFlag(5, { title: 'ours' });
    // Tower publishes for a new app, and for the app the admin already wrote.
    await towerAppendsApp(stream, 6);
    await towerAppendsApp(stream, 5);
    expect((await jsm.streams.info(stream)).config.subjects).toEqual([
      ...TOWER_NEW,
      'apps.5.update.manual',
      'apps.5.update.circuit',
      'apps.6.update.manual',
      'apps.6.update.circuit',
    ]);
    expect(await aerobatConsumer(stream, 5)).toEqual(expect.any(String));
    expect(await aerobatConsumer(stream, 6)).toEqual(expect.any(String));
    // And the admin keeps editing on top of Tower's message.
    const edited = await admin.createFlag(6, { title: 'after tower' });
    expect(edited.flags.map((f) => f.title)).toEqual(['from tower', 'after tower']);
  });

  it('the same steps fail on a wildcard stream (which is why it is not the default)', async () => {
    const stream = newStream();
    const admin = await openAdmin(stream);
    await admin.ensureStream({ layout: 'wildcard' });
    await admin.createFlag(5, { title: 'ours' });
    expect(String(await rejection(towerAppendsApp(stream, 6)))).toMatch(
      /subject "apps\.\*\.update\.\*" overlaps with "apps\.6\.update\.manual"/,
    );
    expect(await rejection(aerobatConsumer(stream, 5))).toMatchObject({ api_error: { err_code: 10093 } });
  });

  it('re-adds an app’s subjects that Tower’s stale config dropped, before the next publish', async () => {
    const stream = newStream();
    const admin = await openAdmin(stream);
    await admin.ensureStream();
    // Tower reads the stream config once, at its start.
    const towerConfig = (await jsm.streams.info(stream)).config;
    await admin.createFlag(7, { title: 'ours' });
    // Tower then adds app 8 by writing back its stale list: app 7's subjects are gone.
    await towerAppendsApp(stream, 8, towerConfig);
    expect((await jsm.streams.info(stream)).config.subjects).not.toContain('apps.7.update.manual');
    const next = await admin.createFlag(7, { title: 'again' });
    expect(next).toMatchObject({ published: true, subject: 'apps.7.update.manual' });
    expect((await jsm.streams.info(stream)).config.subjects).toEqual(
      expect.arrayContaining(['apps.7.update.manual', 'apps.7.update.circuit', 'apps.8.update.manual']),
    );
    // Tower, still on its cached list (which has app 8, added by itself), adds app 9: app 7 is
    // dropped again. `stream init` (ensureStream without an app) restores every app that has
    // rulesets in the stream.
    await towerAppendsApp(stream, 9, towerConfig);
    expect((await jsm.streams.info(stream)).config.subjects).not.toContain('apps.7.update.manual');
    const repaired = await admin.ensureStream();
    expect(repaired).toMatchObject({ action: 'updated', added: ['apps.7.update.manual', 'apps.7.update.circuit'] });
    expect((await jsm.streams.info(stream)).config.subjects).toEqual(
      expect.arrayContaining(['apps.7.update.manual', 'apps.8.update.manual', 'apps.9.update.manual']),
    );
  });

  it('concurrent first writes to many new apps from several admins all land, and no app loses its subjects', async () => {
    const stream = newStream();
    const admins = await Promise.all(Array.from({ length: 4 }, () => openAdmin(stream, { maxAttempts: 100 })));
    await admins[0]?.ensureStream();
    const apps = Array.from({ length: 12 }, (_, i) => 20 + i);
    const outcomes = await Promise.all(
      apps.map((appId, i) => admins[i % admins.length]!.createFlag(appId, { title: `first of ${appId}` })),
    );
    expect(outcomes.every((o) => o.published)).toBe(true);
    const subjects = (await jsm.streams.info(stream)).config.subjects ?? [];
    for (const appId of apps) {
      expect(subjects).toEqual(expect.arrayContaining([`apps.${appId}.update.manual`, `apps.${appId}.update.circuit`]));
      expect((await admins[0]!.readRuleset(appId))?.flags.map((f) => f.title)).toEqual([`first of ${appId}`]);
    }
  });

  it('the SDK follows an app on a literal stream, before and after the app’s subjects are added', async () => {
    const stream = newStream();
    const admin = await openAdmin(stream);
    await admin.ensureStream();
    await admin.createFlag(30, { title: 'early', is_active: true, rollout_percentage: 100 });
    const logger = new RecordingLogger();
    const managerOptions = { natsServer: server.url, natsStream: stream, logger, signalBackend: 'off' as const };
    // App 30 is in the stream already; app 31 is not yet.
    const before = new FlagManager({ ...managerOptions, appId: 30, initTimeoutMs: 10_000 });
    const waiting = new FlagManager({ ...managerOptions, appId: 31, initTimeoutMs: 300, reconnectWaitMs: 100 });
    try {
      await Promise.all([before.initialize(), waiting.initialize()]);
      expect(before.newToggler({ flagName: 'early' }).isFlagActive('u1')).toBe(true);
      expect(waiting.initialized).toBe(false);
      expect(waiting.waitingFor).toMatch(/no subjects for app 31/);
      await admin.createFlag(31, { title: 'late', is_active: true, rollout_percentage: 100 });
      expect(await waiting.waitForInitialization(20_000)).toBe(true);
      expect(waiting.newToggler({ flagName: 'late' }).isFlagActive('u1')).toBe(true);
    } finally {
      await Promise.all([before.disconnect(), waiting.disconnect()]);
    }
  });
});

describe('flag edits', () => {
  it('createFlag publishes the whole ruleset with ids, defaults and timestamps filled', async () => {
    const stream = newStream();
    const clock = manualClock();
    const admin = await openAdmin(stream, { now: clock.now });
    await admin.ensureStream();
    const first = await admin.createFlag(1, { title: 'checkout' });
    expect(first).toMatchObject({ appId: 1, published: true, subject: 'apps.1.update.manual', attempts: 1 });
    expect(first.flag).toEqual({
      id: 1,
      app_id: 1,
      title: 'checkout',
      ...NEW_FLAG_DEFAULTS,
      created_at: '2026-03-01T10:00:00.000Z',
      updated_at: '2026-03-01T10:00:00.000Z',
    });
    clock.set('2026-03-01T11:00:00.000Z');
    const second = await admin.createFlag(1, {
      title: 'search',
      is_active: true,
      rollout_percentage: 25.5,
      white_listed_users: 'u1, u2',
    });
    expect(second.flag).toMatchObject({
      id: 2,
      is_active: true,
      rollout_percentage: 25.5,
      white_listed_users: 'u1,u2',
    });

    const raw = await lastRaw(stream, 'apps.1.update.manual');
    expect(raw.seq).toBe(second.sequence);
    expect(raw.flags.map((f) => f.title)).toEqual(['checkout', 'search']);
    expect(raw.flags[0]).toEqual(first.flag);
    expect(raw.highWater).toBe('2');
    expect(await admin.readRuleset(1)).toMatchObject({
      appId: 1,
      sequence: second.sequence,
      subject: 'apps.1.update.manual',
      flags: raw.flags,
    });
  });

  it('hands out ids unique across apps and never reuses the id of a deleted flag', async () => {
    const stream = newStream();
    const admin = await openAdmin(stream);
    await admin.ensureStream();
    expect((await admin.createFlag(1, { title: 'a' })).flag?.id).toBe(1);
    expect((await admin.createFlag(2, { title: 'a' })).flag?.id).toBe(2);
    expect((await admin.createFlag(1, { title: 'b' })).flag?.id).toBe(3);
    await admin.deleteFlag(1, 'b');
    // A flag Tower published in another app, with its own id (Tower adds the app's subjects first).
    await admin.ensureStream({ appId: 9 });
    await publishRaw('apps.9.update.manual', [{ ...(await admin.getFlag(2, 'a')), id: 40, app_id: 9, title: 'tower' }]);
    expect((await admin.createFlag(3, { title: 'c' })).flag?.id).toBe(41);
    await admin.deleteFlag(3, 'c');
    expect((await admin.createFlag(1, { title: 'd' })).flag?.id).toBe(42);
    expect(await admin.listApps()).toEqual([1, 2, 3, 9]);
  });

  it('every edit re-publishes the whole ruleset, sets updated_at and keeps created_at', async () => {
    const stream = newStream();
    const clock = manualClock('2026-03-01T10:00:00.000Z');
    const admin = await openAdmin(stream, { now: clock.now });
    await admin.ensureStream();
    await admin.createFlag(5, { title: 'other' });
    const created = await admin.createFlag(5, { title: 'flag' });
    const id = created.flag?.id ?? -1;

    const steps: Array<[string, () => Promise<unknown>, Partial<WireFlag>]> = [
      ['toggle on', () => admin.setActive(5, 'flag', true), { is_active: true }],
      ['rollout', () => admin.setRollout(5, id, 42.5), { rollout_percentage: 42.5 }],
      [
        'whitelist add',
        () => admin.addWhitelistedUsers(5, 'flag', ['alice', 'bob']),
        { white_listed_users: 'alice,bob' },
      ],
      [
        'whitelist add again',
        () => admin.addWhitelistedUsers(5, 'flag', ['bob', 'carol']),
        { white_listed_users: 'alice,bob,carol' },
      ],
      ['whitelist remove', () => admin.removeWhitelistedUsers(5, 'flag', 'alice'), { white_listed_users: 'bob,carol' }],
      [
        'circuit',
        () =>
          admin.setCircuit(5, 'flag', {
            error_threshold_percentage: 30,
            is_recoverable: true,
            circuit_recovery_profile: 'exponential',
          }),
        { error_threshold_percentage: 30, is_recoverable: true, circuit_recovery_profile: 'exponential' },
      ],
      [
        'update',
        () =>
          admin.updateFlag(5, 'flag', { title: 'renamed', description: 'new', webhooks: 'https://hooks.example/x' }),
        { title: 'renamed', description: 'new', webhooks: 'https://hooks.example/x' },
      ],
      ['toggle off', () => admin.setActive(5, 'renamed', false), { is_active: false }],
    ];
    let expected: WireFlag = created.flag as WireFlag;
    for (const [index, [label, step, change]] of steps.entries()) {
      const at = `2026-03-01T10:0${index + 1}:00.000Z`;
      clock.set(at);
      const before = await lastSeq(stream);
      await step();
      expected = { ...expected, ...change, updated_at: at };
      const raw = await lastRaw(stream, 'apps.5.update.manual');
      expect({ label, seq: raw.seq }).toEqual({ label, seq: before + 1 });
      expect(raw.flags).toHaveLength(2);
      expect(raw.flags[0]?.title).toBe('other');
      expect({ label, flag: raw.flags[1] }).toEqual({ label, flag: expected });
      expect(raw.flags[1]?.created_at).toBe('2026-03-01T10:00:00.000Z');
    }

    const seq = await lastSeq(stream);
    const noop = await admin.setActive(5, 'renamed', false);
    expect(noop).toMatchObject({ published: false, sequence: seq });
    expect(await admin.removeWhitelistedUsers(5, 'renamed', 'nobody')).toMatchObject({ published: false });
    expect(await lastSeq(stream)).toBe(seq);

    const deleted = await admin.deleteFlag(5, 'renamed');
    expect(deleted.flag?.id).toBe(id);
    expect((await lastRaw(stream, 'apps.5.update.manual')).flags.map((f) => f.title)).toEqual(['other']);
  });

  it('edits apply on top of the newest message across manual and circuit subjects', async () => {
    const stream = newStream();
    const admin = await openAdmin(stream);
    await admin.ensureStream();
    await admin.createFlag(3, { title: 'f', is_active: true, error_threshold_percentage: 10 });
    const tripped = { ...(await admin.getFlag(3, 'f')), circuit_status: 'open', is_active: false };
    const circuitSeq = await publishRaw('apps.3.update.circuit', [tripped]);
    expect(await admin.readRuleset(3)).toMatchObject({ subject: 'apps.3.update.circuit', sequence: circuitSeq });
    await admin.setRollout(3, 'f', 60);
    const raw = await lastRaw(stream, 'apps.3.update.manual');
    expect(raw.flags[0]).toMatchObject({ circuit_status: 'open', is_active: false, rollout_percentage: 60 });
  });

  it('adds the subjects of a new app to a Tower-style stream when creating its first flag', async () => {
    const stream = newStream();
    await towerStream(stream, [1]);
    const admin = await openAdmin(stream);
    await admin.createFlag(1, { title: 'existing app' });
    await admin.createFlag(8, { title: 'new app' });
    expect((await jsm.streams.info(stream)).config.subjects).toEqual(
      expect.arrayContaining(['apps.8.update.manual', 'apps.8.update.circuit']),
    );
    expect((await lastRaw(stream, 'apps.8.update.manual')).flags.map((f) => f.title)).toEqual(['new app']);
  });
});

describe('edit errors', () => {
  let stream: string;
  let admin: FlagAdmin;

  beforeEach(async () => {
    stream = newStream();
    admin = await openAdmin(stream);
    await admin.ensureStream();
    await admin.createFlag(1, { title: 'alpha' });
    await admin.createFlag(1, { title: 'beta' });
  });

  it('names the unknown app', async () => {
    const err = await rejection(admin.setActive(77, 'alpha', true));
    expect(err).toBeInstanceOf(UnknownAppError);
    expect(err).toMatchObject({ appId: 77, code: 'NOT_FOUND' });
    expect((err as Error).message).toMatch(/App 77 has no ruleset in stream/);
    await expect(admin.getFlag(77, 'alpha')).rejects.toBeInstanceOf(UnknownAppError);
    expect(await admin.readRuleset(77)).toBeUndefined();
  });

  it('names the unknown flag and lists the app’s flags', async () => {
    const err = await rejection(admin.setRollout(1, 'gamma', 10));
    expect(err).toBeInstanceOf(UnknownFlagError);
    expect((err as Error).message).toBe('App 1 has no flag "gamma" (its flags: "alpha", "beta")');
    expect(await rejection(admin.deleteFlag(1, 999))).toBeInstanceOf(UnknownFlagError);
  });

  it('refuses duplicate titles on create and on rename', async () => {
    const created = await rejection(admin.createFlag(1, { title: 'alpha' }));
    expect(created).toBeInstanceOf(DuplicateTitleError);
    expect(created).toMatchObject({ title: 'alpha', existingId: 1 });
    expect(await rejection(admin.updateFlag(1, 'beta', { title: 'alpha' }))).toBeInstanceOf(DuplicateTitleError);
  });

  it.each<[string, (a: FlagAdmin) => Promise<unknown>, string, unknown, RegExp]>([
    [
      'rollout above 100',
      (a) => a.setRollout(1, 'alpha', 250),
      'rollout_percentage',
      250,
      /must be a number from 0 to 100, got 250/,
    ],
    ['negative rollout', (a) => a.setRollout(1, 'alpha', -1), 'rollout_percentage', -1, /from 0 to 100/],
    [
      'rollout as a string',
      (a) => a.updateFlag(1, 'alpha', { rollout_percentage: '50' as unknown as number }),
      'rollout_percentage',
      '50',
      /got "50"/,
    ],
    [
      'threshold above 100',
      (a) => a.setCircuit(1, 'alpha', { error_threshold_percentage: 101 }),
      'error_threshold_percentage',
      101,
      /from 0 to 100/,
    ],
    [
      'unknown circuit status',
      (a) => a.setCircuit(1, 'alpha', { circuit_status: 'broken' as 'open' }),
      'circuit_status',
      'broken',
      /one of "open", "close", "recovery"/,
    ],
    [
      'fractional delay',
      (a) => a.setCircuit(1, 'alpha', { circuit_recovery_delay: 1.5 }),
      'circuit_recovery_delay',
      1.5,
      /integer/,
    ],
    ['empty title', (a) => a.updateFlag(1, 'alpha', { title: ' ' }), 'title', ' ', /non-empty string/],
    [
      'user with a comma',
      (a) => a.addWhitelistedUsers(1, 'alpha', ['a,b']),
      'white_listed_users',
      'a,b',
      /without commas or spaces/,
    ],
    [
      'unknown field',
      (a) => a.updateFlag(1, 'alpha', { rollout: 5 } as never),
      'rollout',
      5,
      /is not a field that can be set here/,
    ],
    ['managed field', (a) => a.updateFlag(1, 'alpha', { id: 5 } as never), 'id', 5, /cannot be changed/],
    [
      'non-circuit field via setCircuit',
      (a) => a.setCircuit(1, 'alpha', { is_active: true } as never),
      'is_active',
      true,
      /not a field/,
    ],
    [
      'active as a string',
      (a) => a.setActive(1, 'alpha', 'yes' as unknown as boolean),
      'is_active',
      'yes',
      /true or false/,
    ],
  ])('names flag, field and value: %s', async (_label, act, field, value, problem) => {
    const before = await lastSeq(stream);
    const err = await rejection(act(admin));
    expect(err).toBeInstanceOf(InvalidFlagValueError);
    expect(err).toMatchObject({ appId: 1, flag: 'alpha', field, value, code: 'INVALID_OPTION' });
    expect((err as Error).message).toContain(`Flag "alpha" of app 1: field "${field}"`);
    expect((err as Error).message).toMatch(problem);
    expect(await lastSeq(stream)).toBe(before);
  });

  it('refuses an edit that leaves an invalid flag invalid, takes one that fixes it; a non-array is refused', async () => {
    await publishRaw('apps.1.update.manual', [{ id: 1, title: 'alpha', is_active: 'yes', rollout_percentage: 0 }]);
    const snapshot = await admin.readRuleset(1);
    expect(snapshot?.invalid.map((f) => f.issues[0]?.field)).toEqual(['is_active']);
    const refused = await rejection(admin.setRollout(1, 'alpha', 10));
    expect(refused).toBeInstanceOf(InvalidFlagValueError);
    expect((refused as Error).message).toContain('field "is_active"');
    await admin.setActive(1, 'alpha', true);
    expect((await admin.readRuleset(1))?.flags).toEqual([expect.objectContaining({ title: 'alpha', is_active: true })]);

    const seq = await publishRaw('apps.1.update.manual', { not: 'an array' });
    const err = await rejection(admin.setActive(1, 'alpha', false));
    expect(err).toBeInstanceOf(InvalidRulesetError);
    expect((err as Error).message).toContain(`apps.1.update.manual #${seq}`);
    await expect(admin.readRuleset(1)).rejects.toBeInstanceOf(InvalidRulesetError);
  });

  it('says when the stream does not exist, and when the admin is not connected', async () => {
    const other = await openAdmin(newStream());
    await expect(other.createFlag(1, { title: 'x' })).rejects.toBeInstanceOf(StreamNotFoundError);
    await expect(other.readRuleset(1)).rejects.toBeInstanceOf(StreamNotFoundError);
    const idle = new FlagAdmin({ nats: { servers: server.url }, logger: silentLogger });
    expect(() => idle.watch(1, () => undefined)).toThrow(AdminClosedError);
    await expect(idle.readRuleset(1)).rejects.toThrow(/not connected: call connect\(\) first/);
    await idle.close();
    await expect(idle.connect()).rejects.toBeInstanceOf(AdminClosedError);
  });
});

describe('publishRuleset', () => {
  const good = (appId: number): Array<Record<string, unknown>> => [
    { id: 100, app_id: appId, title: 'one', is_active: true, rollout_percentage: 50, custom: { keep: true } },
    { id: 101, title: 'two', is_active: false, rollout_percentage: 0, created_at: '2025-01-01T00:00:00.000Z' },
  ];

  it('validates and publishes a whole ruleset, filling createFlag defaults and timestamps, keeping extras', async () => {
    const stream = newStream();
    const clock = manualClock('2026-04-01T00:00:00.000Z');
    const admin = await openAdmin(stream, { now: clock.now });
    await admin.ensureStream();
    const outcome = await admin.publishRuleset(4, good(4), { origin: 'flags.json' });
    expect(outcome.published).toBe(true);
    const raw = await lastRaw(stream, 'apps.4.update.manual');
    expect(raw.flags).toHaveLength(2);
    // Fields left out get the same defaults as createFlag gives.
    expect(raw.flags[0]).toEqual({
      ...NEW_FLAG_DEFAULTS,
      id: 100,
      app_id: 4,
      title: 'one',
      is_active: true,
      rollout_percentage: 50,
      custom: { keep: true },
      created_at: '2026-04-01T00:00:00.000Z',
      updated_at: '2026-04-01T00:00:00.000Z',
    });
    expect(raw.flags[1]).toMatchObject({
      id: 101,
      app_id: 4,
      created_at: '2025-01-01T00:00:00.000Z',
      updated_at: '2026-04-01T00:00:00.000Z',
    });
    expect(raw.highWater).toBe('101');
    // New ids continue above the published ones.
    expect((await admin.createFlag(5, { title: 'next' })).flag?.id).toBe(102);
    // Re-publishing without timestamps keeps each flag's creation time.
    clock.set('2026-04-02T00:00:00.000Z');
    await admin.publishRuleset(4, [{ id: 100, title: 'one', is_active: false, rollout_percentage: 50 }]);
    expect(await admin.getFlag(4, 100)).toMatchObject({
      created_at: '2026-04-01T00:00:00.000Z',
      updated_at: '2026-04-02T00:00:00.000Z',
    });
  });

  it('rejects a bad file naming each flag (index and title) and field, and publishes nothing', async () => {
    const stream = newStream();
    const admin = await openAdmin(stream);
    await admin.ensureStream();
    const before = await lastSeq(stream);
    const bad = [
      { id: 1, title: 'ok', is_active: true, rollout_percentage: 10 },
      { id: 2, title: 'too much', is_active: true, rollout_percentage: 250 },
      { id: 3, title: 'ok', is_active: true, rollout_percentage: 1 },
      { id: 4, title: 'wrong app', app_id: 9, is_active: true, rollout_percentage: 1 },
    ];
    const err = await rejection(admin.publishRuleset(4, bad, { origin: 'flags.json' }));
    expect(err).toBeInstanceOf(InvalidRulesetError);
    const issues = (err as InvalidRulesetError).issues;
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ index: 1, title: 'too much', field: 'rollout_percentage' }),
        expect.objectContaining({ index: 2, title: 'ok', field: 'title' }),
        expect.objectContaining({ index: 3, title: 'wrong app', field: 'app_id' }),
      ]),
    );
    expect((err as Error).message).toMatch(/^Invalid ruleset from flags\.json: /);
    await expect(admin.publishRuleset(4, { not: 'an array' })).rejects.toThrow(/expected a JSON array of flags/);
    expect(await lastSeq(stream)).toBe(before);
  });

  it('refuses an id that another app’s flag already has', async () => {
    const stream = newStream();
    const admin = await openAdmin(stream);
    await admin.ensureStream();
    await admin.publishRuleset(1, good(1));
    const err = await rejection(
      admin.publishRuleset(2, [{ id: 101, title: 'clash', is_active: true, rollout_percentage: 0 }]),
    );
    expect(err).toBeInstanceOf(InvalidFlagValueError);
    expect(err).toMatchObject({ flag: 'clash', field: 'id', value: 101 });
    expect((err as Error).message).toMatch(/already used by a flag of app 1/);
    // Re-publishing an app's own ids is fine.
    await expect(admin.publishRuleset(1, good(1))).resolves.toMatchObject({ published: true });
  });

  it('replaces an invalid current ruleset', async () => {
    const stream = newStream();
    const admin = await openAdmin(stream);
    await admin.ensureStream({ appId: 6 });
    await publishRaw('apps.6.update.manual', 'not json');
    await admin.publishRuleset(6, good(6));
    expect((await admin.readRuleset(6))?.flags.map((f) => f.title)).toEqual(['one', 'two']);
  });
});

describe('concurrent editors', () => {
  it('lose nothing: N concurrent whitelist additions from two connections all land', async () => {
    const stream = newStream();
    const a = await openAdmin(stream, { maxAttempts: 500 });
    const b = await openAdmin(stream, { maxAttempts: 500 });
    await a.ensureStream();
    await a.createFlag(1, { title: 'shared' });
    const n = 40;
    const outcomes = await Promise.all(
      Array.from({ length: n }, (_, i) => (i % 2 === 0 ? a : b).addWhitelistedUsers(1, 'shared', `user_${i}`)),
    );
    expect(outcomes.every((o) => o.published)).toBe(true);
    expect(outcomes.some((o) => o.attempts > 1)).toBe(true);
    const users = (await a.getFlag(1, 'shared')).white_listed_users.split(',');
    expect(users.sort()).toEqual(Array.from({ length: n }, (_, i) => `user_${i}`).sort());
  });

  it('hand out distinct ids to concurrent creates in different apps', async () => {
    const stream = newStream();
    const a = await openAdmin(stream, { maxAttempts: 500 });
    const b = await openAdmin(stream, { maxAttempts: 500 });
    await a.ensureStream();
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).createFlag(1 + (i % 4), { title: `flag ${i}` })),
    );
    const ids = outcomes.map((o) => o.flag?.id);
    expect(new Set(ids).size).toBe(20);
    expect([...ids].sort((x, y) => (x ?? 0) - (y ?? 0))).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    // 20 creates racing for one guard retry each other with back-off: a fraction of a second here
    // alone, but it took over 30 s once on a machine busy with other suites.
  }, 120_000);

  it('re-applies an edit when a circuit message lands between its read and its write', async () => {
    const stream = newStream();
    const own = await connect({ servers: server.url });
    try {
      let inject: (() => void) | undefined;
      const admin = await openAdmin(stream, {
        nats: own,
        stream,
        // The clock is read after the ruleset is read and before the publish: a good place to
        // slip in a circuit message (sent first on the same connection, so the server sees it first).
        now: () => {
          inject?.();
          inject = undefined;
          return new Date();
        },
      });
      await admin.ensureStream();
      await admin.createFlag(2, { title: 'f', is_active: true, error_threshold_percentage: 20 });
      const tripped = { ...(await admin.getFlag(2, 'f')), circuit_status: 'open', is_active: false };
      let circuitPublish: Promise<unknown> | undefined;
      inject = () => {
        circuitPublish = own.jetstream().publish('apps.2.update.circuit', JSON.stringify([tripped]));
      };
      const outcome = await admin.addWhitelistedUsers(2, 'f', 'vip');
      await circuitPublish;
      expect(outcome.attempts).toBe(2);
      const current = await admin.readRuleset(2);
      expect(current?.subject).toBe('apps.2.update.manual');
      expect(current?.flags[0]).toMatchObject({ circuit_status: 'open', is_active: false, white_listed_users: 'vip' });
    } finally {
      await own.close();
    }
  });

  describe('in separate OS processes', () => {
    let outDir: string;

    beforeAll(async () => {
      // Compile the admin library (and what it imports) for plain `node` children.
      outDir = mkdtempSync(join(tmpdir(), 'tailslide-admin-build-'));
      await run(process.execPath, [
        require.resolve('typescript/bin/tsc'),
        '--outDir',
        outDir,
        '--rootDir',
        ROOT,
        '--module',
        'commonjs',
        '--target',
        'ES2022',
        '--esModuleInterop',
        '--skipLibCheck',
        '--types',
        'node',
        '--strict',
        join(ROOT, 'src/admin/index.ts'),
      ]);
    }, 120_000);

    afterAll(() => {
      if (outDir) rmSync(outDir, { recursive: true, force: true });
    });

    it('lose nothing either', async () => {
      const stream = newStream();
      const admin = await openAdmin(stream);
      await admin.ensureStream();
      await admin.createFlag(3, { title: 'multi' });
      const perProcess = 15;
      const editor = (prefix: string): Promise<{ stdout: string }> =>
        run(
          process.execPath,
          [
            join(ROOT, 'test/support/admin-editor.js'),
            join(outDir, 'src/admin/index.js'),
            server.url,
            stream,
            '3',
            'multi',
            prefix,
            String(perProcess),
          ],
          { env: { ...process.env, NODE_PATH: join(ROOT, 'node_modules') }, timeout: 60_000 },
        );
      const results = await Promise.all([editor('p1_'), editor('p2_')]);
      for (const { stdout } of results) expect(JSON.parse(stdout)).toMatchObject({ attempts: expect.any(Number) });
      const users = (await admin.getFlag(3, 'multi')).white_listed_users.split(',').sort();
      const expected = ['p1_', 'p2_'].flatMap((p) => Array.from({ length: perProcess }, (_, i) => `${p}${i}`)).sort();
      expect(users).toEqual(expected);
    }, 90_000);
  });
});

describe('watch', () => {
  it('reports the current ruleset, then each new one with a diff, until stopped', async () => {
    const stream = newStream();
    const admin = await openAdmin(stream);
    await admin.ensureStream();
    await admin.createFlag(1, { title: 'a' });
    await admin.createFlag(1, { title: 'b' });
    // The older subject's last message comes first in the initial batch but is not reported.
    const circuitSeq = await publishRaw('apps.1.update.circuit', (await admin.readRuleset(1))?.flags);
    const updates: RulesetUpdate[] = [];
    const stop = admin.watch(1, (u) => updates.push(u), { diff: { ignoreFields: ['updated_at'] } });

    await waitFor(() => updates.length >= 1, 'the initial ruleset');
    expect(updates[0]).toMatchObject({ initial: true, sequence: circuitSeq, subject: 'apps.1.update.circuit' });
    expect(updates[0]?.diff.added.map((f) => f.title)).toEqual(['a', 'b']);

    await admin.setRollout(1, 'a', 30);
    await waitFor(() => updates.length >= 2, 'the rollout change');
    expect(updates[1]).toMatchObject({ initial: false, subject: 'apps.1.update.manual' });
    expect(updates[1]?.diff.changed).toEqual([
      expect.objectContaining({ title: 'a', fields: [{ field: 'rollout_percentage', before: 0, after: 30 }] }),
    ]);

    await admin.createFlag(1, { title: 'c' });
    await waitFor(() => updates.length >= 3, 'the new flag');
    expect(updates[2]?.diff.added.map((f) => f.title)).toEqual(['c']);

    const badSeq = await publishRaw('apps.1.update.circuit', [
      { id: 1, title: 'a', is_active: true, rollout_percentage: 500 },
    ]);
    await waitFor(() => updates.length >= 4, 'the invalid message');
    expect(updates[3]).toMatchObject({ sequence: badSeq, flags: undefined });
    expect(updates[3]?.error).toBeInstanceOf(InvalidRulesetError);
    expect(updates[3]?.error?.message).toContain('field "rollout_percentage"');

    const b = updates[0]?.diff.added[1];
    await admin.publishRuleset(1, [
      { id: 2, title: 'b', is_active: true, rollout_percentage: 0, created_at: b?.created_at },
    ]);
    await waitFor(() => updates.length >= 5, 'the replacement');
    // Diffed against the last VALID ruleset (a, b, c), not the invalid message.
    expect(updates[4]?.diff.removed.map((f) => f.title)).toEqual(['a', 'c']);
    expect(updates[4]?.diff.changed.map((c) => c.fields.map((f) => f.field))).toEqual([['is_active']]);

    await stop();
    await stop();
    await admin.setActive(1, 'b', false);
    // A second watch sees that change: had the stopped one still been running, it would have too.
    const later: RulesetUpdate[] = [];
    const stopLater = admin.watch(1, (u) => later.push(u));
    await waitFor(() => later.length >= 1, 'a second watch');
    expect(updates).toHaveLength(5);
    await stopLater();
  });

  it('waits for a Tower-style stream to list the app, then follows it', async () => {
    const stream = newStream();
    await towerStream(stream, [1]);
    const admin = await openAdmin(stream);
    const reasons: string[] = [];
    const updates: RulesetUpdate[] = [];
    const stop = admin.watch(5, (u) => updates.push(u), { onWaiting: (r) => reasons.push(r), retryMs: 50 });
    await waitFor(() => reasons.length >= 1, 'a waiting reason');
    expect(reasons[0]).toMatch(/does not list the subjects of app 5/);
    await admin.createFlag(5, { title: 'late' });
    await waitFor(() => updates.length >= 1, 'the first ruleset');
    expect(updates[0]?.diff.added.map((f) => f.title)).toEqual(['late']);
    expect(reasons).toHaveLength(1);
    await stop();
  });

  it('is stopped by close(), even on a connection the admin does not own', async () => {
    const stream = newStream();
    const own = await connect({ servers: server.url });
    try {
      const admin = await openAdmin(stream, { nats: own, stream });
      await admin.ensureStream();
      await admin.createFlag(1, { title: 'before close' });
      const updates: RulesetUpdate[] = [];
      admin.watch(1, (u) => updates.push(u), { retryMs: 50 });
      await waitFor(() => updates.length >= 1, 'the initial ruleset');
      await admin.close();
      expect(own.isClosed()).toBe(false);

      const other = await openAdmin(stream);
      await other.createFlag(1, { title: 'after close' });
      const seen: RulesetUpdate[] = [];
      const stop = other.watch(1, (u) => seen.push(u));
      await waitFor(() => seen.length >= 1, 'the other watch');
      expect(seen[0]?.flags?.map((f) => f.title)).toEqual(['before close', 'after close']);
      expect(updates).toHaveLength(1);
      await stop();
    } finally {
      await own.close();
    }
  });
});

describe('connections', () => {
  it('fails fast with ConnectionError when nothing listens', async () => {
    const port = await freePort();
    const admin = new FlagAdmin({
      nats: { servers: `nats://127.0.0.1:${port}` },
      logger: silentLogger,
      connectTimeoutMs: 2_000,
    });
    const started = Date.now();
    await expect(admin.connect()).rejects.toBeInstanceOf(ConnectionError);
    expect(Date.now() - started).toBeLessThan(5_000);
    await admin.close();
  });

  it('reports refused credentials as AuthorizationError, and connects with the right token', async () => {
    const secured = await NatsServer.start({ token: 's3cret' });
    try {
      const wrong = new FlagAdmin({ nats: { servers: secured.url, token: 'nope' }, logger: silentLogger });
      await expect(wrong.connect()).rejects.toBeInstanceOf(AuthorizationError);
      await wrong.close();
      const right = await openAdmin('tok', { nats: { servers: secured.url, token: 's3cret', stream: 'tok' } });
      await expect(right.ensureStream()).resolves.toMatchObject({ action: 'created' });
      await right.close();
    } finally {
      await secured.dispose();
    }
  });

  it('never closes a connection it was given', async () => {
    const own = await connect({ servers: server.url });
    const admin = new FlagAdmin({ nats: own, stream: newStream(), logger: silentLogger });
    await admin.connect();
    await admin.close();
    expect(own.isClosed()).toBe(false);
    await own.close();
  });

  it('validates options at the constructor, naming the option', () => {
    expect(() => new FlagAdmin({ nats: {} })).toThrow(/Invalid option "nats.servers"/);
    expect(() => new FlagAdmin({ nats: { servers: server.url, stream: 'a.b' } })).toThrow(/Invalid option "stream"/);
    expect(() => new FlagAdmin({ nats: { servers: server.url }, maxAttempts: 0 })).toThrow(
      /Invalid option "maxAttempts"/,
    );
    expect(() => new FlagAdmin({ nats: { servers: server.url, password: 'x' } })).toThrow(/Invalid option "nats.user"/);
  });
});
