/**
 * The manager's state machine, driven by a scripted source (the `source` option) under jest's
 * fake timers: no server, no real waiting. Each case is a script of source events and checks.
 */
import {
  AuthorizationError,
  ConnectionError,
  FlagManager,
  type FlagManagerOptions,
  type FlagSource,
  type ManagerState,
  type MessageMeta,
  type RulesetOrigin,
  type SourceSink,
  type TailslideError,
} from '../../src/index';
import { RecordingLogger, wireFlag } from '../support/flags';

/** A source that does nothing by itself: the test plays its part. */
class ScriptedSource implements FlagSource {
  sink: SourceSink | undefined;
  started = 0;
  closed = 0;

  start(sink: SourceSink): Promise<void> {
    this.started += 1;
    this.sink = sink;
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.closed += 1;
    return Promise.resolve();
  }
}

const INIT_TIMEOUT_MS = 5_000;

/** A ruleset of flags that are on for everyone, by title. */
function ruleset(...titles: string[]): string {
  return JSON.stringify(titles.map((title) => wireFlag({ id: title.charCodeAt(0), title })));
}

interface World {
  readonly manager: FlagManager;
  readonly source: ScriptedSource;
  readonly logger: RecordingLogger;
  /** Events in order: `ready`, `update:<sorted changed>@<source>`, `stale`, `reconnected`, `error`, `failed`. */
  readonly events: string[];
  init: { settled: 'pending' | 'resolved' | 'rejected'; error?: unknown } | undefined;
}

type Step = { readonly label: string; run(world: World): void | Promise<void> };

const sink = (w: World): SourceSink => {
  if (w.source.sink === undefined) throw new Error('the source was not started');
  return w.source.sink;
};

// ---- script steps

const init: Step = {
  label: 'initialize()',
  run: async (w) => {
    const state: NonNullable<World['init']> = { settled: 'pending' };
    w.init = state;
    w.manager.initialize().then(
      () => (state.settled = 'resolved'),
      (error: unknown) => {
        state.settled = 'rejected';
        state.error = error;
      },
    );
    await jest.advanceTimersByTimeAsync(0);
  },
};

const deliver = (sequence: number, payload: string, extra: Partial<MessageMeta> = {}): Step => ({
  label: `ruleset #${sequence}`,
  run: (w) =>
    sink(w).ruleset(payload, { sequence, subject: 'apps.1.update.manual', pending: 0, origin: 'stream', ...extra }),
});
const resetSequence: Step = { label: 'resetSequence', run: (w) => sink(w).resetSequence() };
const stale = (reason = 'disconnected from NATS'): Step => ({
  label: 'stale',
  run: (w) => sink(w).connection('stale', { reason }),
});
const connected: Step = { label: 'connected', run: (w) => sink(w).connection('connected') };
const waiting = (reason: string): Step => ({ label: `waiting ${reason}`, run: (w) => sink(w).waiting(reason) });
const fatal: Step = {
  label: 'fatal',
  run: (w) => sink(w).fatal(new AuthorizationError('NATS refused the credentials')),
};
const survived: Step = {
  label: 'error',
  run: (w) => sink(w).error(new ConnectionError('a blip')),
};
const advance = (ms: number): Step => ({
  label: `advance ${ms} ms`,
  run: async () => {
    await jest.advanceTimersByTimeAsync(ms);
  },
});

/** Lets real I/O (a file read) finish: turns of the event loop until `condition` holds. */
const until = (what: string, condition: (w: World) => boolean): Step => ({
  label: `until ${what}`,
  run: async (w) => {
    for (let turn = 0; turn < 10_000 && !condition(w); turn++) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(condition(w)).toBe(true);
  },
});

interface Expectation {
  readonly state?: ManagerState;
  readonly initialized?: boolean;
  readonly init?: 'pending' | 'resolved' | 'rejected';
  readonly events?: readonly string[];
  /** Titles of the flags served, in order. */
  readonly flags?: readonly string[];
  readonly source?: RulesetOrigin | undefined;
  readonly waitingFor?: string | undefined;
  /** Patterns that some warn line must match. */
  readonly warns?: readonly RegExp[];
}

const check = (expected: Expectation): Step => ({
  label: `check ${JSON.stringify(expected)}`,
  run: async (w) => {
    await jest.advanceTimersByTimeAsync(0);
    if (expected.state !== undefined) expect(w.manager.state).toBe(expected.state);
    if (expected.initialized !== undefined) expect(w.manager.initialized).toBe(expected.initialized);
    if (expected.init !== undefined) expect(w.init?.settled).toBe(expected.init);
    if (expected.events !== undefined) expect(w.events).toEqual(expected.events);
    if (expected.flags !== undefined) expect(w.manager.getFlags().map((f) => f.title)).toEqual(expected.flags);
    if ('source' in expected) {
      expect(w.manager.rulesetSource).toBe(expected.source);
      expect(w.manager.evaluate('any flag').source).toBe(expected.source);
    }
    if ('waitingFor' in expected) expect(w.manager.waitingFor).toBe(expected.waitingFor);
    for (const pattern of expected.warns ?? []) {
      expect(w.logger.matching('warn', pattern)).not.toEqual([]);
    }
  },
});

// ---- the table

interface Case {
  readonly name: string;
  readonly options?: Partial<FlagManagerOptions>;
  readonly script: readonly Step[];
}

const A = ruleset('a');
const AB = ruleset('a', 'b');
const B = ruleset('b');

const cases: readonly Case[] = [
  {
    name: 'waits for the initial batch: ready only once pending reaches 0',
    script: [
      init,
      deliver(3, A, { pending: 1 }),
      check({ state: 'initializing', initialized: false, init: 'pending', events: [], source: 'stream' }),
      deliver(4, AB, { pending: 0 }),
      check({ state: 'ready', initialized: true, init: 'resolved', events: ['ready'], flags: ['a', 'b'] }),
    ],
  },
  {
    name: 'a batch with no pending count counts as drained',
    script: [init, deliver(1, A, { pending: undefined }), check({ state: 'ready', events: ['ready'] })],
  },
  {
    name: 'an older or equal sequence is dropped; a newer one is an update',
    script: [
      init,
      deliver(10, A),
      deliver(9, B),
      deliver(10, B),
      check({ flags: ['a'], events: ['ready'] }),
      deliver(11, AB),
      check({ flags: ['a', 'b'], events: ['ready', 'update:b@stream'] }),
    ],
  },
  {
    name: 'resetSequence: the next ruleset is taken whatever its sequence',
    script: [
      init,
      deliver(50, A),
      resetSequence,
      deliver(1, B),
      check({ flags: ['b'], events: ['ready', 'update:a,b@stream'] }),
      deliver(1, A),
      check({ flags: ['b'] }),
    ],
  },
  {
    name: 'an invalid ruleset is reported; the last good one stays; its sequence is used up',
    script: [
      init,
      deliver(1, A),
      deliver(2, '{"not":"an array"}'),
      check({ flags: ['a'], events: ['ready', 'error'] }),
      deliver(2, B),
      check({ flags: ['a'] }),
    ],
  },
  {
    name: 'an invalid first ruleset: not ready until a good one',
    script: [
      init,
      deliver(1, 'not json'),
      check({ state: 'initializing', events: ['error'], source: undefined }),
      deliver(2, A),
      check({ state: 'ready', events: ['error', 'ready'] }),
    ],
  },
  {
    name: 'stale → reconnected, each reported once',
    script: [
      init,
      deliver(1, A),
      stale('disconnected from NATS 127.0.0.1:4222'),
      stale('disconnected again'),
      check({
        state: 'stale',
        events: ['ready', 'stale'],
        warns: [/^disconnected from NATS .*; serving the last ruleset while reconnecting$/],
      }),
      connected,
      connected,
      check({ state: 'ready', events: ['ready', 'stale', 'reconnected'], flags: ['a'] }),
    ],
  },
  {
    name: 'lost before the first ruleset: the warning claims no ruleset; ready comes as stale',
    script: [
      init,
      stale('cannot connect to NATS'),
      check({
        state: 'initializing',
        events: ['stale'],
        warns: [
          /^cannot connect to NATS; no ruleset loaded yet: flags evaluate to false \(NOT_READY\) while reconnecting$/,
        ],
      }),
      deliver(1, A),
      check({ state: 'stale', events: ['stale', 'ready'], init: 'resolved' }),
      connected,
      check({ state: 'ready', events: ['stale', 'ready', 'reconnected'] }),
    ],
  },
  {
    name: 'fatal → failed: initialize() rejects, once',
    script: [
      init,
      fatal,
      fatal,
      check({ state: 'failed', init: 'rejected', events: ['failed'], initialized: false }),
      deliver(1, A),
      check({ state: 'failed', events: ['failed'] }),
    ],
  },
  {
    name: 'fatal after ready: failed, and the last ruleset keeps being served',
    script: [
      init,
      deliver(1, A),
      fatal,
      check({ state: 'failed', events: ['ready', 'failed'], flags: ['a'], source: 'stream' }),
    ],
  },
  {
    name: 'a survived error changes no state',
    script: [init, deliver(1, A), survived, check({ state: 'ready', events: ['ready', 'error'] })],
  },
  {
    name: 'init timeout: initialize() resolves not ready; the late ruleset makes it ready',
    script: [
      init,
      waiting('stream "flags_ruleset" does not exist yet'),
      advance(INIT_TIMEOUT_MS - 1),
      check({ init: 'pending', waitingFor: 'stream "flags_ruleset" does not exist yet' }),
      advance(1),
      check({
        init: 'resolved',
        state: 'initializing',
        initialized: false,
        events: [],
        warns: [/^not ready after 5000 ms \(initTimeoutMs\): stream "flags_ruleset" does not exist yet\. /],
      }),
      deliver(1, A),
      check({ state: 'ready', initialized: true, events: ['ready'], waitingFor: undefined }),
    ],
  },
  {
    name: 'each waiting reason is logged once, the latest is kept',
    script: [
      init,
      waiting('x'),
      waiting('y'),
      waiting('x'),
      check({ waitingFor: 'x' }),
      {
        label: 'count',
        run: (w) => expect(w.logger.matching('warn', /^waiting: /)).toEqual(['waiting: x', 'waiting: y']),
      },
    ],
  },
  {
    name: 'bootstrap online: served at once, replaced by the stream before the timeout (no update event)',
    options: { bootstrap: JSON.parse(B) as unknown[] },
    script: [
      init,
      check({ state: 'initializing', initialized: false, source: 'bootstrap', flags: ['b'] }),
      deliver(7, A),
      check({ state: 'ready', events: ['ready'], source: 'stream', flags: ['a'], init: 'resolved' }),
    ],
  },
  {
    name: 'bootstrap online, stream silent: ready on the bootstrap at the timeout, then the stream wins',
    options: { bootstrap: JSON.parse(B) as unknown[] },
    script: [
      init,
      stale('cannot connect to NATS'),
      check({ warns: [/^cannot connect to NATS; serving the bootstrap ruleset \(1 flags\) while reconnecting$/] }),
      advance(INIT_TIMEOUT_MS),
      check({ init: 'resolved', state: 'stale', initialized: true, events: ['stale', 'ready'], source: 'bootstrap' }),
      connected,
      deliver(7, AB),
      check({ state: 'ready', events: ['stale', 'ready', 'reconnected', 'update:a@stream'], source: 'stream' }),
    ],
  },
  {
    name: 'an unreadable online bootstrap is reported, not fatal: the stream still makes it ready',
    options: { bootstrap: '/nonexistent/tailslide-bootstrap.json' },
    script: [
      init,
      until('the error event', (w) => w.events.includes('error')),
      check({ state: 'initializing', events: ['error'], source: undefined, warns: [/"bootstrap": ".*ENOENT/] }),
      deliver(1, A),
      check({ state: 'ready', events: ['error', 'ready'], source: 'stream' }),
    ],
  },
  {
    name: 'events after disconnect() are ignored',
    script: [
      init,
      deliver(1, A),
      { label: 'disconnect', run: (w) => w.manager.disconnect() },
      deliver(2, B),
      stale(),
      fatal,
      check({ state: 'closed', events: ['ready'], flags: ['a'] }),
      { label: 'closed once', run: (w) => expect(w.source.closed).toBe(1) },
    ],
  },
];

const managers: FlagManager[] = [];

beforeEach(() => {
  // setImmediate stays real: `until` uses it to let file reads finish.
  jest.useFakeTimers({ doNotFake: ['setImmediate'] });
});

afterEach(async () => {
  await Promise.all(managers.splice(0).map((m) => m.disconnect()));
  jest.useRealTimers();
});

function world(options: Partial<FlagManagerOptions> = {}): World {
  const source = new ScriptedSource();
  const logger = new RecordingLogger();
  const manager = new FlagManager({
    appId: 1,
    source: () => source,
    signalBackend: 'off',
    initTimeoutMs: INIT_TIMEOUT_MS,
    logger,
    ...options,
  });
  managers.push(manager);
  const events: string[] = [];
  manager.on('ready', () => events.push('ready'));
  manager.on('update', (e) => events.push(`update:${[...e.changed].sort().join(',')}@${e.source}`));
  manager.on('stale', () => events.push('stale'));
  manager.on('reconnected', () => events.push('reconnected'));
  manager.on('error', () => events.push('error'));
  manager.on('failed', () => events.push('failed'));
  return { manager, source, logger, events, init: undefined };
}

describe('FlagManager transitions (scripted source, fake timers)', () => {
  test.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, { options, script }) => {
    const w = world(options);
    for (const [index, step] of script.entries()) {
      try {
        await step.run(w);
      } catch (err) {
        throw new Error(`step ${index + 1} (${step.label}) failed:\n${(err as Error).message}`, { cause: err });
      }
    }
  });

  test('the source factory gets the app and the logger, and is called once, by initialize()', async () => {
    const calls: unknown[] = [];
    const logger = new RecordingLogger();
    const source = new ScriptedSource();
    const manager = new FlagManager({
      appId: '7',
      logger,
      signalBackend: 'off',
      source: (context) => {
        calls.push(context);
        return source;
      },
    });
    managers.push(manager);
    expect(calls).toEqual([]);
    void manager.initialize();
    void manager.initialize();
    await jest.advanceTimersByTimeAsync(0);
    expect(calls).toEqual([{ appId: 7, logger: manager.logger }]);
    manager.logger.warn('through the context');
    expect(logger.matching('warn', /through the context/)).toHaveLength(1);
    expect(source.started).toBe(1);
  });

  test.each([
    [
      'throws',
      () => {
        throw new Error('boom');
      },
      /the "source" factory threw: boom/,
    ],
    ['returns no source', () => ({}) as FlagSource, /Invalid option "source"/],
  ])('a factory that %s: initialize() rejects and the manager is failed', async (_what, factory, message) => {
    const manager = new FlagManager({ appId: 1, source: factory, signalBackend: 'off', logger: new RecordingLogger() });
    managers.push(manager);
    const failed: TailslideError[] = [];
    manager.on('failed', (e) => failed.push(e));
    await expect(manager.initialize()).rejects.toThrow(message);
    expect(manager.state).toBe('failed');
    expect(failed).toHaveLength(1);
  });

  test('a source whose start() rejects fails the manager instead of leaking a rejection', async () => {
    const manager = new FlagManager({
      appId: 1,
      signalBackend: 'off',
      logger: new RecordingLogger(),
      source: () => ({ start: () => Promise.reject(new Error('no')), close: () => Promise.resolve() }),
    });
    managers.push(manager);
    await expect(manager.initialize()).rejects.toThrow(/the flag source failed to start: no/);
    expect(manager.state).toBe('failed');
  });

  test('waitForInitialization() under fake time: false at its timeout, true once ready', async () => {
    const w = world();
    await init.run(w);
    const early = w.manager.waitForInitialization(1_000);
    await jest.advanceTimersByTimeAsync(1_000);
    await expect(early).resolves.toBe(false);
    const later = w.manager.waitForInitialization();
    await deliver(1, A).run(w);
    await expect(later).resolves.toBe(true);
  });
});
