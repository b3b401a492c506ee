/**
 * The OpenFeature provider through the real `@openfeature/server-sdk`: offline managers for the
 * reason mapping, real nats-server and redis-server (started here, on free ports) for readiness,
 * outages, updates and tracking. OpenFeature is a global singleton: every test resets it.
 */
import { expect } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import {
  ErrorCode,
  OpenFeature,
  ProviderEvents,
  ProviderStatus,
  type EvaluationContext,
  type EventDetails,
  type Logger as OpenFeatureLogger,
} from '@openfeature/server-sdk';
import { connect, StorageType, type NatsConnection } from 'nats';
import { FlagManager, InvalidOptionError, type FlagManagerOptions } from '../../src/index';
import { TailslideProvider } from '../../src/openfeature/index';
import { resolutionOf } from '../../src/openfeature/resolution';
import { SignalReader } from '../../src/signals';
import { NatsServer, RedisServer } from '../support/servers';
import { RecordingLogger, waitFor, wireFlag } from '../support/flags';
import { PRICING_PAGE } from '../support/targeting';

const U1 = '375d39e6-9c3f-4f58-80bd-e5960b710295'; // bucket 12018 in "App 1 Flag 1"
const U2 = 'user-1'; // bucket 79460 in "App 1 Flag 1"
const STREAM = 'flags_ruleset';

const silentOpenFeatureLogger: OpenFeatureLogger = {
  error: () => undefined,
  warn: () => undefined,
  info: () => undefined,
  debug: () => undefined,
};

/** One flag per Tailslide reason (app 1). */
const RULESET = [
  wireFlag({ id: 11, title: 'App 1 Flag 1', rollout_percentage: 50 }),
  wireFlag({ id: 12, title: 'off flag', is_active: false, white_listed_users: U1 }),
  wireFlag({ id: 13, title: 'beta testers', rollout_percentage: 0, white_listed_users: `alice,${U1}` }),
  wireFlag({ id: 14, title: 'everyone', rollout_percentage: 100 }),
];

type Recorded = { type: ProviderEvents; details: EventDetails | undefined };

/** Every provider event OpenFeature hands to API-level handlers, in order. */
function recordEvents(): Recorded[] {
  const events: Recorded[] = [];
  for (const type of [
    ProviderEvents.Ready,
    ProviderEvents.Error,
    ProviderEvents.Stale,
    ProviderEvents.ConfigurationChanged,
  ]) {
    OpenFeature.addHandler(type, (details) => {
      events.push({ type, details });
    });
  }
  return events;
}

/** The flagsChanged of a PROVIDER_CONFIGURATION_CHANGED event. */
function flagsChanged(event: Recorded | undefined): string[] {
  const titles: unknown = event?.details?.flagsChanged;
  return Array.isArray(titles) ? titles.map(String) : [];
}

const managers: FlagManager[] = [];

function offlineOptions(extra: Partial<FlagManagerOptions> = {}): FlagManagerOptions {
  return { offline: true, appId: 1, bootstrap: RULESET, logger: new RecordingLogger(), ...extra };
}

/** A manager of the test's own (the provider must leave it running); disconnected after the test. */
function ownManager(options: FlagManagerOptions): FlagManager {
  const m = new FlagManager(options);
  managers.push(m);
  return m;
}

beforeAll(() => {
  OpenFeature.setLogger(silentOpenFeatureLogger);
});

afterEach(async () => {
  await OpenFeature.clearProviders(); // closes every provider, back to the no-op one
  OpenFeature.clearHandlers();
  OpenFeature.clearHooks();
  await Promise.all(managers.splice(0).map((m) => m.disconnect()));
});

describe('construction', () => {
  test('metadata, paradigm, and the manager it owns or wraps', () => {
    const owned = new TailslideProvider(offlineOptions());
    expect(owned.metadata.name).toBe('tailslide');
    expect(owned.runsOn).toBe('server');
    expect(owned.manager).toBeInstanceOf(FlagManager);
    expect(owned.manager.state).toBe('idle'); // the constructor starts nothing
    const m = ownManager(offlineOptions());
    expect(new TailslideProvider({ manager: m }).manager).toBe(m);
  });

  test('bad options throw InvalidOptionError naming the option', () => {
    expect(() => new TailslideProvider({ manager: {} as FlagManager })).toThrow(InvalidOptionError);
    expect(() => new TailslideProvider({ manager: {} as FlagManager })).toThrow(/"manager"/);
    const m = ownManager(offlineOptions());
    expect(() => new TailslideProvider({ manager: m, appId: 2 })).toThrow(/Invalid option "appId"/);
    expect(() => new TailslideProvider({ appId: 'x' })).toThrow(/Invalid option "appId"/);
  });
});

describe('boolean evaluation: every reason', () => {
  beforeEach(async () => {
    await OpenFeature.setProviderAndWait(new TailslideProvider(offlineOptions()));
  });

  test('ROLLOUT_IN and ROLLOUT_OUT → SPLIT, with variant and flag metadata', async () => {
    const client = OpenFeature.getClient();
    expect(await client.getBooleanDetails('App 1 Flag 1', false, { targetingKey: U1 })).toEqual({
      flagKey: 'App 1 Flag 1',
      value: true,
      variant: 'on',
      reason: 'SPLIT',
      flagMetadata: { flagId: 11, appId: 1, reason: 'ROLLOUT_IN' },
    });
    expect(await client.getBooleanDetails('App 1 Flag 1', true, { targetingKey: U2 })).toEqual({
      flagKey: 'App 1 Flag 1',
      value: false,
      variant: 'off',
      reason: 'SPLIT',
      flagMetadata: { flagId: 11, appId: 1, reason: 'ROLLOUT_OUT' },
    });
    expect(await client.getBooleanValue('App 1 Flag 1', false, { targetingKey: U1 })).toBe(true);
  });

  test('FLAG_OFF → DISABLED, false even for a whitelisted user and a default of true', async () => {
    const details = await OpenFeature.getClient().getBooleanDetails('off flag', true, { targetingKey: U1 });
    expect(details).toMatchObject({
      value: false,
      variant: 'off',
      reason: 'DISABLED',
      flagMetadata: { flagId: 12, reason: 'FLAG_OFF' },
    });
    expect(details.errorCode).toBeUndefined();
  });

  test('WHITELISTED → TARGETING_MATCH', async () => {
    const details = await OpenFeature.getClient().getBooleanDetails('beta testers', false, { targetingKey: 'alice' });
    expect(details).toMatchObject({
      value: true,
      variant: 'on',
      reason: 'TARGETING_MATCH',
      flagMetadata: { flagId: 13, reason: 'WHITELISTED' },
    });
    expect(
      await OpenFeature.getClient().getBooleanDetails('beta testers', false, { targetingKey: 'bob' }),
    ).toMatchObject({
      value: false,
      reason: 'SPLIT',
      flagMetadata: { reason: 'ROLLOUT_OUT' },
    });
  });

  test('FULL_ROLLOUT → STATIC, with or without a targetingKey', async () => {
    const client = OpenFeature.getClient();
    const contexts: EvaluationContext[] = [{ targetingKey: U2 }, {}];
    for (const context of contexts) {
      expect(await client.getBooleanDetails('everyone', false, context)).toMatchObject({
        value: true,
        variant: 'on',
        reason: 'STATIC',
        flagMetadata: { flagId: 14, reason: 'FULL_ROLLOUT' },
      });
    }
  });

  test('NO_USER_CONTEXT → TARGETING_KEY_MISSING error with the default value', async () => {
    const client = OpenFeature.getClient();
    for (const defaultValue of [true, false]) {
      const details = await client.getBooleanDetails('App 1 Flag 1', defaultValue, {});
      expect(details).toMatchObject({
        value: defaultValue,
        reason: 'ERROR',
        errorCode: ErrorCode.TARGETING_KEY_MISSING,
        flagMetadata: { flagId: 11, reason: 'NO_USER_CONTEXT' },
      });
      expect(details.errorMessage).toMatch(/"App 1 Flag 1" .*needs a targetingKey/);
    }
    // An empty targetingKey counts as none.
    expect((await client.getBooleanDetails('App 1 Flag 1', false, { targetingKey: '' })).errorCode).toBe(
      ErrorCode.TARGETING_KEY_MISSING,
    );
  });

  test('FLAG_NOT_FOUND → FLAG_NOT_FOUND error with the default value', async () => {
    const details = await OpenFeature.getClient().getBooleanDetails('no such flag', true, { targetingKey: U1 });
    expect(details).toMatchObject({
      value: true,
      reason: 'ERROR',
      errorCode: ErrorCode.FLAG_NOT_FOUND,
      flagMetadata: { appId: 1, reason: 'FLAG_NOT_FOUND' },
    });
    expect(details.flagMetadata).not.toHaveProperty('flagId');
    expect(details.errorMessage).toMatch(/"no such flag" is not in the ruleset of app 1/);
  });

  test('the unknown-flag warning does not claim false when the caller gets its own default', async () => {
    const logger = new RecordingLogger();
    await OpenFeature.setProviderAndWait(new TailslideProvider(offlineOptions({ logger })));
    expect(await OpenFeature.getClient().getBooleanValue('missing flag', true, { targetingKey: U1 })).toBe(true);
    const [warning, ...more] = logger.matching('warn', /missing flag/);
    expect(more).toEqual([]);
    expect(warning).toMatch(/not in the ruleset \(FLAG_NOT_FOUND\).*OpenFeature clients get their own default value/);
    expect(warning).not.toMatch(/evaluates to false/);
  });

  test('a targetingKey that is not a string → INVALID_CONTEXT; a number is taken as its text', async () => {
    const client = OpenFeature.getClient();
    const details = await client.getBooleanDetails('everyone', false, { targetingKey: { id: 1 } as unknown as string });
    expect(details).toMatchObject({ value: false, reason: 'ERROR', errorCode: ErrorCode.INVALID_CONTEXT });
    const numeric = await client.getBooleanDetails('beta testers', false, { targetingKey: 42 as unknown as string });
    expect(numeric).toMatchObject({ reason: 'SPLIT', flagMetadata: { reason: 'ROLLOUT_OUT' } });
  });

  test('string, number and object evaluations → TYPE_MISMATCH with the default value', async () => {
    const client = OpenFeature.getClient();
    const ctx = { targetingKey: U1 };
    const checks = [
      await client.getStringDetails('everyone', 'fallback', ctx),
      await client.getNumberDetails('everyone', 7, ctx),
      await client.getObjectDetails('everyone', { a: 1 }, ctx),
    ];
    expect(checks.map((d) => d.value)).toEqual(['fallback', 7, { a: 1 }]);
    for (const details of checks) {
      expect(details).toMatchObject({
        reason: 'ERROR',
        errorCode: ErrorCode.TYPE_MISMATCH,
        flagMetadata: { flagId: 14 },
      });
      expect(details.errorMessage).toMatch(/"everyone" is a boolean/);
    }
    expect((await client.getStringDetails('no such flag', 'x', ctx)).errorCode).toBe(ErrorCode.FLAG_NOT_FOUND);
  });
});

describe('variations (docs/targeting.md): string, number and object flags', () => {
  const PRICING = PRICING_PAGE;

  const LIMIT = wireFlag({
    id: 43,
    title: 'rate-limit',
    variations: [100, 500],
    off_variation: 0,
    fallthrough: { variation: 1 },
  });
  const THEME = wireFlag({
    id: 44,
    title: 'theme',
    variations: [{ color: 'grey' }, { color: 'teal', dense: true }],
    off_variation: 0,
    rules: [{ id: 'beta', clauses: [{ attribute: 'groups', op: 'in', values: ['beta'] }], serve: { variation: 1 } }],
    fallthrough: { variation: 0 },
  });
  const OFF = wireFlag({
    id: 45,
    title: 'pricing-off',
    is_active: false,
    variations: ['a', 'b'],
    off_variation: 1,
    fallthrough: { variation: 0 },
  });

  beforeEach(async () => {
    await OpenFeature.setProviderAndWait(
      new TailslideProvider(offlineOptions({ bootstrap: [PRICING, LIMIT, THEME, OFF] })),
    );
  });

  test('targetingKey plus attributes choose the rule; reasons and variants map', async () => {
    const client = OpenFeature.getClient();
    const rule = await client.getStringDetails('pricing-page', 'x', {
      targetingKey: 'user-42',
      country: 'NL',
      app_version: '2.4.1',
    });
    expect(rule).toMatchObject({
      value: 'annual-first',
      variant: '1',
      reason: 'TARGETING_MATCH',
      flagMetadata: { flagId: 42, reason: 'RULE_MATCH', ruleId: 'eu-annual' },
    });
    const target = await client.getStringDetails('pricing-page', 'x', { targetingKey: 'qa-1' });
    expect(target).toMatchObject({ value: 'monthly-first', variant: '2', reason: 'TARGETING_MATCH' });
    // version 2.3.0 is not above 2.3.0: the fallthrough split (bucket 76664 ≥ 50000) serves index 1
    const split = await client.getStringDetails('pricing-page', 'x', {
      targetingKey: 'user-42',
      country: 'NL',
      app_version: '2.3.0',
    });
    expect(split).toMatchObject({ value: 'annual-first', variant: '1', reason: 'SPLIT' });
    const off = await client.getStringDetails('pricing-off', 'x', { targetingKey: 'u' });
    expect(off).toMatchObject({ value: 'b', variant: '1', reason: 'DISABLED' });
  });

  test('a number flag, and its DEFAULT (fallthrough) reason', async () => {
    const details = await OpenFeature.getClient().getNumberDetails('rate-limit', 1, { targetingKey: 'u' });
    expect(details).toMatchObject({ value: 500, variant: '1', reason: 'DEFAULT' });
  });

  test('an object flag; array attributes and dates in the context', async () => {
    const client = OpenFeature.getClient();
    const beta = await client.getObjectDetails('theme', {}, { targetingKey: 'u', groups: ['staff', 'beta'] });
    expect(beta).toMatchObject({ value: { color: 'teal', dense: true }, variant: '1', reason: 'TARGETING_MATCH' });
    const plain = await client.getObjectDetails('theme', {}, { targetingKey: 'u', signedUp: new Date(0) });
    expect(plain).toMatchObject({ value: { color: 'grey' }, variant: '0', reason: 'DEFAULT' });
  });

  test('a value of another type → TYPE_MISMATCH with the default', async () => {
    const client = OpenFeature.getClient();
    const wrong = await client.getNumberDetails('pricing-page', 7, { targetingKey: 'qa-1' });
    expect(wrong).toMatchObject({ value: 7, reason: 'ERROR', errorCode: ErrorCode.TYPE_MISMATCH });
    expect(wrong.errorMessage).toMatch(/"pricing-page" serves "monthly-first", not a number/);
    const notObject = await client.getObjectDetails('rate-limit', { a: 1 }, { targetingKey: 'u' });
    expect(notObject).toMatchObject({ value: { a: 1 }, errorCode: ErrorCode.TYPE_MISMATCH });
    const bool = await client.getBooleanDetails('pricing-page', true, { targetingKey: 'qa-1' });
    expect(bool).toMatchObject({ value: true, errorCode: ErrorCode.TYPE_MISMATCH });
  });
});

test('the manager default user context is used when there is no targetingKey', async () => {
  await OpenFeature.setProviderAndWait(new TailslideProvider(offlineOptions({ userContext: U1 })));
  expect(await OpenFeature.getClient().getBooleanDetails('App 1 Flag 1', false)).toMatchObject({
    value: true,
    reason: 'SPLIT',
  });
  expect(await OpenFeature.getClient().getBooleanDetails('App 1 Flag 1', true, { targetingKey: U2 })).toMatchObject({
    value: false,
  });
});

test('ERROR → GENERAL (the evaluator never throws, so this is the pure mapping)', () => {
  const resolution = resolutionOf(
    {
      flagName: 'f',
      flagId: undefined,
      appId: 3,
      value: true,
      variationIndex: undefined,
      variant: undefined,
      reason: 'ERROR',
      ruleIndex: undefined,
      ruleId: undefined,
      splitBucket: undefined,
      source: undefined,
      userContext: 'u',
      errorMessage: 'boom',
    },
    true,
  );
  expect(resolution).toEqual({
    value: true,
    reason: 'ERROR',
    errorCode: ErrorCode.GENERAL,
    errorMessage: 'evaluating flag "f" failed: boom',
    flagMetadata: { appId: 3, reason: 'ERROR' },
  });
});

test('setRuleset → PROVIDER_CONFIGURATION_CHANGED with the changed titles', async () => {
  const events = recordEvents();
  const provider = new TailslideProvider(offlineOptions());
  await OpenFeature.setProviderAndWait(provider);
  provider.manager.setRuleset([
    ...RULESET.slice(0, 3),
    wireFlag({ id: 14, title: 'everyone', rollout_percentage: 10 }),
    wireFlag({ id: 15, title: 'new flag' }),
  ]);
  await waitFor(
    () => events.some((e) => e.type === ProviderEvents.ConfigurationChanged),
    'PROVIDER_CONFIGURATION_CHANGED',
  );
  const changed = events.filter((e) => e.type === ProviderEvents.ConfigurationChanged);
  expect(changed).toHaveLength(1);
  expect(flagsChanged(changed[0]).sort()).toEqual(['everyone', 'new flag']);
  expect(changed[0]?.details).toMatchObject({
    providerName: 'tailslide',
    metadata: { flagCount: 5, subject: 'test-data' },
  });
  expect(await OpenFeature.getClient().getBooleanValue('new flag', false)).toBe(true);
});

describe('lifecycle', () => {
  test('wrapping a manager that is already initialized resolves at once; close leaves it running', async () => {
    const m = ownManager(offlineOptions());
    await m.initialize();
    const before = {
      update: m.listenerCount('update'),
      ready: m.listenerCount('ready'),
      stale: m.listenerCount('stale'),
    };
    const provider = new TailslideProvider({ manager: m });
    const started = Date.now();
    await OpenFeature.setProviderAndWait(provider);
    expect(Date.now() - started).toBeLessThan(100);
    expect(OpenFeature.getClient().providerStatus).toBe(ProviderStatus.READY);
    expect(m.listenerCount('update')).toBe(before.update + 1);
    await OpenFeature.close();
    expect(m.state).toBe('ready');
    expect({
      update: m.listenerCount('update'),
      ready: m.listenerCount('ready'),
      stale: m.listenerCount('stale'),
    }).toEqual(before);
    m.setRuleset(RULESET); // still alive and usable
    expect(m.evaluate('everyone').value).toBe(true);
  });

  test('close disconnects the manager the provider created, once', async () => {
    const provider = new TailslideProvider(offlineOptions());
    await OpenFeature.setProviderAndWait(provider);
    expect(provider.manager.state).toBe('ready');
    await OpenFeature.close();
    expect(provider.manager.state).toBe('closed');
    await expect(provider.onClose()).resolves.toBeUndefined();
    await expect(provider.initialize()).rejects.toThrow(/closed/);
  });

  test('an invalid bootstrap: setProviderAndWait rejects and the provider is FATAL', async () => {
    const provider = new TailslideProvider(
      offlineOptions({ bootstrap: [{ id: 1, title: 'x', rollout_percentage: 250 }] }),
    );
    await expect(OpenFeature.setProviderAndWait(provider)).rejects.toMatchObject({
      code: ErrorCode.PROVIDER_FATAL,
      message: expect.stringMatching(/tailslide: the FlagManager of app 1 cannot start: Invalid ruleset/),
    });
    const client = OpenFeature.getClient();
    expect(client.providerStatus).toBe(ProviderStatus.FATAL);
    expect(await client.getBooleanDetails('x', true)).toMatchObject({
      value: true,
      errorCode: ErrorCode.PROVIDER_FATAL,
    });
  });

  test('wrapping a manager that was disconnected fails for good (it would never see another update)', async () => {
    const m = ownManager(offlineOptions());
    await m.initialize();
    await m.disconnect();
    await expect(OpenFeature.setProviderAndWait(new TailslideProvider({ manager: m }))).rejects.toMatchObject({
      code: ErrorCode.PROVIDER_FATAL,
      message: expect.stringMatching(/was disconnected/),
    });
  });

  test('setProvider without waiting: a failed start is an ERROR event, never an unhandled rejection', async () => {
    const events = recordEvents();
    OpenFeature.setProvider(new TailslideProvider(offlineOptions({ bootstrap: [{ id: 1 }] })));
    await waitFor(() => events.some((e) => e.type === ProviderEvents.Error), 'PROVIDER_ERROR');
    expect(events.find((e) => e.type === ProviderEvents.Error)?.details?.message).toMatch(
      /cannot start: Invalid ruleset from bootstrap/,
    );
  });

  test('the main entry never loads @openfeature/server-sdk (optional peer dependency)', () => {
    const root = resolve(__dirname, '../../src');
    const seen = new Set<string>();
    const offenders: string[] = [];
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(file, 'utf8');
      for (const match of text.matchAll(/(?:from\s+|import\s*\(\s*|require\s*\(\s*)['"]([^'"]+)['"]/g)) {
        const spec = match[1] ?? '';
        if (spec.startsWith('@openfeature')) offenders.push(`${file.slice(root.length + 1)} imports ${spec}`);
        if (!spec.startsWith('.')) continue;
        const base = join(dirname(file), spec);
        const candidates = [`${base}.ts`, join(base, 'index.ts')];
        const next = candidates.find((c) => {
          try {
            readFileSync(c);
            return true;
          } catch {
            return false;
          }
        });
        if (next !== undefined) visit(next);
      }
    };
    visit(join(root, 'index.ts'));
    expect(seen.size).toBeGreaterThan(5);
    expect(offenders).toEqual([]);
  });
});

describe('over a real nats-server', () => {
  let server: NatsServer;
  let nc: NatsConnection;
  let nextApp = 200;

  beforeAll(async () => {
    server = await NatsServer.start();
    nc = await connect({ servers: server.url });
    await (
      await nc.jetstreamManager()
    ).streams.add({ name: STREAM, subjects: ['apps.*.update.*'], storage: StorageType.File });
  });

  afterAll(async () => {
    await nc?.close();
    await server?.dispose();
  });

  async function publish(appId: number, flags: unknown, conn: NatsConnection = nc): Promise<void> {
    await conn.jetstream().publish(`apps.${appId}.update.manual`, new TextEncoder().encode(JSON.stringify(flags)));
  }

  function ruleset(appId: number, fields: Record<string, unknown> = {}): Record<string, unknown>[] {
    return [wireFlag({ id: appId * 10 + 1, app_id: appId, title: 'App 1 Flag 1', rollout_percentage: 50, ...fields })];
  }

  function natsOptions(appId: number, url: string, extra: Partial<FlagManagerOptions> = {}): FlagManagerOptions {
    return {
      natsServer: url,
      appId,
      signalBackend: 'off',
      reconnectWaitMs: 100,
      initTimeoutMs: 10_000,
      logger: new RecordingLogger(),
      ...extra,
    };
  }

  test('ready, then a published ruleset → PROVIDER_CONFIGURATION_CHANGED and new values', async () => {
    const app = nextApp++;
    await publish(app, ruleset(app));
    const events = recordEvents();
    await OpenFeature.setProviderAndWait(new TailslideProvider(natsOptions(app, server.url)));
    const client = OpenFeature.getClient();
    expect(await client.getBooleanDetails('App 1 Flag 1', false, { targetingKey: U2 })).toMatchObject({
      value: false,
      reason: 'SPLIT',
    });
    await publish(app, [
      ...ruleset(app, { rollout_percentage: 100 }),
      wireFlag({ id: app * 10 + 2, app_id: app, title: 'second' }),
    ]);
    await waitFor(
      () => events.some((e) => e.type === ProviderEvents.ConfigurationChanged),
      'PROVIDER_CONFIGURATION_CHANGED',
    );
    const changed = events.find((e) => e.type === ProviderEvents.ConfigurationChanged);
    expect(flagsChanged(changed).sort()).toEqual(['App 1 Flag 1', 'second']);
    expect(changed?.details?.metadata).toMatchObject({ subject: `apps.${app}.update.manual`, flagCount: 2 });
    expect(await client.getBooleanDetails('App 1 Flag 1', false, { targetingKey: U2 })).toMatchObject({
      value: true,
      reason: 'STATIC',
    });
  });

  test('no ruleset within initTimeoutMs: setProviderAndWait rejects, PROVIDER_NOT_READY; PROVIDER_READY when it arrives', async () => {
    const empty = await NatsServer.start(); // no stream at all
    try {
      const events = recordEvents();
      const provider = new TailslideProvider(natsOptions(1, empty.url, { initTimeoutMs: 300 }));
      await expect(OpenFeature.setProviderAndWait(provider)).rejects.toMatchObject({
        code: ErrorCode.PROVIDER_NOT_READY,
        message: expect.stringMatching(/no ruleset of app 1 arrived within initTimeoutMs/),
      });
      const client = OpenFeature.getClient();
      expect(client.providerStatus).toBe(ProviderStatus.ERROR);
      expect(await client.getBooleanDetails('App 1 Flag 1', true, { targetingKey: U1 })).toMatchObject({
        value: true,
        reason: 'ERROR',
        errorCode: ErrorCode.PROVIDER_NOT_READY,
        flagMetadata: { reason: 'NOT_READY' },
      });
      expect(events.map((e) => e.type)).toEqual([ProviderEvents.Error]);

      // The stream and a ruleset appear later: the manager picks them up and the provider says so.
      const admin = await connect({ servers: empty.url });
      try {
        await (
          await admin.jetstreamManager()
        ).streams.add({ name: STREAM, subjects: ['apps.*.update.*'], storage: StorageType.File });
        await publish(1, ruleset(1), admin);
      } finally {
        await admin.close();
      }
      await waitFor(() => events.some((e) => e.type === ProviderEvents.Ready), 'the late PROVIDER_READY', 20_000);
      expect(client.providerStatus).toBe(ProviderStatus.READY);
      expect(await client.getBooleanDetails('App 1 Flag 1', false, { targetingKey: U1 })).toMatchObject({
        value: true,
        reason: 'SPLIT',
      });
    } finally {
      await OpenFeature.clearProviders();
      await empty.dispose();
    }
  });

  test('server stopped → PROVIDER_STALE, reason STALE (last ruleset still served); restarted → PROVIDER_READY', async () => {
    const own = await NatsServer.start();
    try {
      const admin = await connect({ servers: own.url });
      await (
        await admin.jetstreamManager()
      ).streams.add({ name: STREAM, subjects: ['apps.*.update.*'], storage: StorageType.File });
      await publish(1, ruleset(1), admin);
      await admin.close();
      const events = recordEvents();
      await OpenFeature.setProviderAndWait(new TailslideProvider(natsOptions(1, own.url)));
      const client = OpenFeature.getClient();
      await waitFor(() => events.some((e) => e.type === ProviderEvents.Ready), 'PROVIDER_READY of initialize');
      events.length = 0;

      await own.stop();
      await waitFor(() => events.some((e) => e.type === ProviderEvents.Stale), 'PROVIDER_STALE', 15_000);
      expect(events.find((e) => e.type === ProviderEvents.Stale)?.details?.message).toMatch(
        /NATS connection lost: .*; serving the last ruleset/,
      );
      expect(client.providerStatus).toBe(ProviderStatus.STALE);
      // The value of the last ruleset, said to be possibly out of date; Tailslide's reason in the metadata.
      expect(await client.getBooleanDetails('App 1 Flag 1', false, { targetingKey: U1 })).toMatchObject({
        value: true,
        reason: 'STALE',
        flagMetadata: { reason: 'ROLLOUT_IN' },
      });

      await own.start();
      await waitFor(
        () => events.some((e) => e.type === ProviderEvents.Ready),
        'PROVIDER_READY after the restart',
        20_000,
      );
      expect(client.providerStatus).toBe(ProviderStatus.READY);
      expect(await client.getBooleanDetails('App 1 Flag 1', false, { targetingKey: U1 })).toMatchObject({
        reason: 'SPLIT',
      });
      expect(events.filter((e) => e.type === ProviderEvents.Error)).toEqual([]);
    } finally {
      await OpenFeature.clearProviders();
      await own.dispose();
    }
  });

  test('refused credentials: setProviderAndWait rejects with PROVIDER_FATAL', async () => {
    const secured = await NatsServer.start({ token: 'right' });
    try {
      const provider = new TailslideProvider(natsOptions(1, secured.url, { sdkKey: 'wrong' }));
      await expect(OpenFeature.setProviderAndWait(provider)).rejects.toMatchObject({
        code: ErrorCode.PROVIDER_FATAL,
        message: expect.stringMatching(/cannot start: .*author/i),
      });
      expect(OpenFeature.getClient().providerStatus).toBe(ProviderStatus.FATAL);
      expect(provider.manager.state).toBe('failed');
    } finally {
      await OpenFeature.clearProviders();
      await secured.dispose();
    }
  });

  test('credentials refused after a restart → PROVIDER_ERROR (not fatal: the last ruleset is still served)', async () => {
    const first = await NatsServer.start({ token: 'right' });
    const second = new NatsServer({ token: 'rotated' });
    try {
      const admin = await connect({ servers: first.url, token: 'right' });
      await (
        await admin.jetstreamManager()
      ).streams.add({ name: STREAM, subjects: ['apps.*.update.*'], storage: StorageType.File });
      await publish(1, ruleset(1), admin);
      await admin.close();
      const events = recordEvents();
      await OpenFeature.setProviderAndWait(new TailslideProvider(natsOptions(1, first.url, { sdkKey: 'right' })));
      await first.stop();
      second.port = first.port; // same address, new token: the SDK key was revoked
      await second.start();
      await waitFor(() => events.some((e) => e.type === ProviderEvents.Error), 'PROVIDER_ERROR', 20_000);
      const error = events.find((e) => e.type === ProviderEvents.Error);
      expect(error?.details?.message).toMatch(/author.*stopped trying and serves the last ruleset/is);
      const client = OpenFeature.getClient();
      expect(client.providerStatus).toBe(ProviderStatus.ERROR);
      // Served from a ruleset nothing updates any more: possibly out of date.
      expect(await client.getBooleanDetails('App 1 Flag 1', false, { targetingKey: U1 })).toMatchObject({
        value: true,
        reason: 'STALE',
      });
    } finally {
      await OpenFeature.clearProviders();
      await second.dispose();
      await first.dispose();
    }
  });

  describe('track', () => {
    let redis: RedisServer;
    let reader: SignalReader;

    beforeAll(async () => {
      redis = await RedisServer.start();
      reader = new SignalReader({ redisUrl: redis.url, backend: 'native' });
    });

    afterAll(async () => {
      await reader?.close();
      await redis?.dispose();
    });

    test('track records a metric against trackingEventDetails.flagKey, with the user variant', async () => {
      const app = nextApp++;
      const flagId = app * 10 + 1;
      const started = Date.now();
      await publish(app, ruleset(app));
      const logger = new RecordingLogger();
      const provider = new TailslideProvider(
        natsOptions(app, server.url, { signalBackend: 'native', redisUrl: redis.url, logger }),
      );
      await OpenFeature.setProviderAndWait(provider);
      const client = OpenFeature.getClient();

      client.track('checkout', { targetingKey: U1 }, { flagKey: 'App 1 Flag 1', value: 42.5 });
      client.track('checkout', { targetingKey: U1 }, { flagKey: 'App 1 Flag 1' }); // value defaults to 1
      client.track('checkout', { targetingKey: U2 }, { flagKey: ['App 1 Flag 1'], value: 3 });
      // Not recorded, each warned once: no flagKey, unknown flag, bad value.
      client.track('checkout', { targetingKey: U1 }, { value: 5 });
      client.track('checkout', { targetingKey: U1 }, { value: 5 });
      client.track('checkout', { targetingKey: U1 }, { flagKey: 'no such flag' });
      client.track('checkout', { targetingKey: U1 }, { flagKey: 'App 1 Flag 1', value: Number.NaN });
      client.track('   ', { targetingKey: U1 }, { flagKey: 'App 1 Flag 1' });

      await provider.manager.flushSignals(5_000);
      const summary = await reader.metricSummary(flagId, 'checkout', {
        fromMs: started - 60_000,
        toMs: Date.now() + 60_000,
      });
      const on = { count: 2, sum: 43.5, mean: 21.75 };
      const off = { count: 1, sum: 3, mean: 3 };
      expect(summary).toEqual({ on, off, variants: { on, off } });
      expect(
        logger.matching('warn', /track\("checkout"\) ignored: trackingEventDetails.flagKey must name the flag/),
      ).toHaveLength(1);
      expect(
        logger.matching('warn', /not recorded for "no such flag": flag "no such flag" is not in the ruleset/),
      ).toHaveLength(1);
      expect(logger.matching('warn', /trackingEventDetails.value must be a finite number/)).toHaveLength(1);
      expect(logger.matching('warn', /invalid event name/)).toHaveLength(1);
    });
  });
});
