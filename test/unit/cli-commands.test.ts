/**
 * Commands run in-process through `runCli`, against an in-memory admin and signal reader given to
 * the program as its session. The in-memory admin stands for the admin library (its edits are the
 * library's own pure `RulesetEdit`s), not for NATS: the transport is covered by the integration tests
 * that spawn the binary against real servers (test/integration/cli*.test.ts).
 */
import { Writable } from 'node:stream';
import { UnknownAppError, type FlagRef } from '../../src/admin/errors';
import {
  addWhitelistedUsersEdit,
  createFlagEdit,
  deleteFlagEdit,
  removeWhitelistedUsersEdit,
  replaceRulesetEdit,
  setActiveEdit,
  setCircuitEdit,
  setRolloutEdit,
  updateFlagEdit,
  type RulesetEdit,
} from '../../src/admin/edits';
import type { CircuitPatch, FlagPatch, NewFlagInput } from '../../src/admin/fields';
import type { RulesetSnapshot } from '../../src/admin/flag-admin';
import {
  changeTargetsEdit,
  clearTargetingEdit,
  setRulesEdit,
  setVariationsEdit,
  type TargetsChange,
  type VariationsPatch,
} from '../../src/admin/targeting-edits';
import type { EditOutcome } from '../../src/admin/writer';
import { EXIT } from '../../src/cli/core/exit-codes';
import { runCli } from '../../src/cli/core/program';
import type { CliAdmin, CliReader, Session } from '../../src/cli/core/session';
import type { Streams } from '../../src/cli/format/output';
import { compileWireFlag, explain } from '../../src/evaluation/explain';
import { ConnectionError } from '../../src/errors';
import type { WireFlag } from '../../src/ruleset/types';
import type { AppFlagCounts, FlagBucket, FlagCounts, SeriesWindow, SignalWindow } from '../../src/signals/reader';
import { wireFlag } from '../support/flags';

/** The admin library's edits applied to rulesets held in memory; each published edit is one new sequence. */
class MemoryAdmin implements CliAdmin {
  readonly stream = 'tailslide-test';
  readonly rulesets = new Map<number, WireFlag[]>();
  sequence = 10;
  connects = 0;
  closes = 0;
  private maxId = 100;

  constructor(private readonly connectError?: Error) {}

  connect(): Promise<void> {
    this.connects++;
    return this.connectError === undefined ? Promise.resolve() : Promise.reject(this.connectError);
  }
  close(): Promise<void> {
    this.closes++;
    return Promise.resolve();
  }

  readRuleset(appId: number | string): Promise<RulesetSnapshot | undefined> {
    const id = Number(appId);
    const flags = this.rulesets.get(id);
    if (flags === undefined) return Promise.resolve(undefined);
    const subject = `apps.${id}.update.manual`;
    return Promise.resolve({
      appId: id,
      flags,
      sequence: this.sequence,
      subject,
      time: new Date(0),
      invalid: [],
      all: flags,
    });
  }
  listApps(): Promise<number[]> {
    return Promise.resolve([...this.rulesets.keys()].sort((a, b) => a - b));
  }
  ensureStream(): never {
    throw new Error('the in-memory admin has no stream to create');
  }
  watch(): never {
    throw new Error('the in-memory admin cannot watch');
  }

  createFlag(appId: number | string, input: NewFlagInput): Promise<EditOutcome> {
    return this.apply(appId, createFlagEdit(input));
  }
  updateFlag(
    appId: number | string,
    flag: FlagRef,
    patch: FlagPatch,
    options: { expect?: Readonly<Record<string, unknown>> } = {},
  ): Promise<EditOutcome> {
    return this.apply(appId, updateFlagEdit(flag, patch, options.expect));
  }
  deleteFlag(appId: number | string, flag: FlagRef): Promise<EditOutcome> {
    return this.apply(appId, deleteFlagEdit(flag));
  }
  setActive(appId: number | string, flag: FlagRef, active: boolean): Promise<EditOutcome> {
    return this.apply(appId, setActiveEdit(flag, active));
  }
  setRollout(appId: number | string, flag: FlagRef, percentage: number): Promise<EditOutcome> {
    return this.apply(appId, setRolloutEdit(flag, percentage));
  }
  addWhitelistedUsers(appId: number | string, flag: FlagRef, users: string | readonly string[]): Promise<EditOutcome> {
    return this.apply(appId, addWhitelistedUsersEdit(flag, typeof users === 'string' ? [users] : users));
  }
  removeWhitelistedUsers(
    appId: number | string,
    flag: FlagRef,
    users: string | readonly string[],
  ): Promise<EditOutcome> {
    return this.apply(appId, removeWhitelistedUsersEdit(flag, typeof users === 'string' ? [users] : users));
  }
  setVariations(appId: number | string, flag: FlagRef, patch: VariationsPatch): Promise<EditOutcome> {
    return this.apply(appId, setVariationsEdit(flag, patch));
  }
  clearTargeting(appId: number | string, flag: FlagRef): Promise<EditOutcome> {
    return this.apply(appId, clearTargetingEdit(flag));
  }
  changeTargets(appId: number | string, flag: FlagRef, change: TargetsChange): Promise<EditOutcome> {
    return this.apply(appId, changeTargetsEdit(flag, change));
  }
  setRules(appId: number | string, flag: FlagRef, rules: unknown): Promise<EditOutcome> {
    return this.apply(appId, setRulesEdit(flag, rules));
  }
  setCircuit(appId: number | string, flag: FlagRef, patch: CircuitPatch): Promise<EditOutcome> {
    return this.apply(appId, setCircuitEdit(flag, patch));
  }
  publishRuleset(appId: number | string, flags: unknown): Promise<EditOutcome> {
    return this.apply(appId, replaceRulesetEdit(flags, `the ruleset for app ${appId}`));
  }

  /** Like the library's writer, an edit that throws rejects (nothing published). */
  private apply(appId: number | string, edit: RulesetEdit): Promise<EditOutcome> {
    try {
      return Promise.resolve(this.applyNow(Number(appId), edit));
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private applyNow(id: number, edit: RulesetEdit): EditOutcome {
    const result = edit(this.rulesets.get(id), {
      appId: id,
      stream: this.stream,
      nowIso: '2026-01-02T03:04:05.000Z',
      allocateId: () => ++this.maxId,
      otherAppIds: new Map(),
    });
    if (result.changed) {
      this.sequence++;
      this.rulesets.set(id, [...result.flags]);
    }
    const subject = `apps.${id}.update.manual`;
    return {
      appId: id,
      published: result.changed,
      subject,
      sequence: this.sequence,
      flags: result.flags,
      flag: result.flag,
      attempts: 1,
    };
  }
}

/** Signal counts held in memory, by flag id. */
class MemoryReader implements CliReader {
  readonly backendName = 'native' as const;
  closes = 0;
  readonly windows: SignalWindow[] = [];

  constructor(private readonly counts: ReadonlyMap<number, { success: number; failure: number }>) {}

  flagCounts(flagId: number, window: SignalWindow): Promise<FlagCounts> {
    this.windows.push(window);
    return Promise.resolve(toCounts(this.counts.get(flagId) ?? { success: 0, failure: 0 }));
  }
  flagSeries(flagId: number, window: SeriesWindow): Promise<FlagBucket[]> {
    const c = this.counts.get(flagId) ?? { success: 0, failure: 0 };
    return Promise.resolve([{ startMs: window.toMs - (window.toMs % window.bucketMs), ...c }]);
  }
  appCounts(): Promise<AppFlagCounts[]> {
    return Promise.resolve([...this.counts].map(([flagId, c]) => ({ flagId, ...toCounts(c) })));
  }
  close(): Promise<void> {
    this.closes++;
    return Promise.resolve();
  }
}

function toCounts({ success, failure }: { success: number; failure: number }): FlagCounts {
  const total = success + failure;
  return { success, failure, total, errorRate: total === 0 ? 0 : failure / total };
}

/** A stream that keeps what is written to it. */
function capture(): { stream: Writable; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      text += chunk.toString();
      callback();
    },
  });
  return { stream, text: () => text };
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(admin: MemoryAdmin, args: readonly string[], reader?: MemoryReader): Promise<Run> {
  const stdout = capture();
  const stderr = capture();
  const streams: Streams = { stdout: stdout.stream, stderr: stderr.stream };
  const session: Session = {
    admin: () => admin,
    reader: () => reader ?? new MemoryReader(new Map()),
  };
  const code = await runCli(['node', 'tailslide', ...args], { session, streams });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

function appWithFlags(): MemoryAdmin {
  const admin = new MemoryAdmin();
  admin.rulesets.set(1, [
    wireFlag({ id: 7, title: 'checkout', rollout_percentage: 30 }) as WireFlag,
    wireFlag({ id: 8, title: 'search', is_active: false }) as WireFlag,
  ]);
  return admin;
}

describe('tailslide flags list (in-process)', () => {
  it('prints the flags as a table, and closes the admin it opened', async () => {
    const admin = appWithFlags();
    const result = await run(admin, ['flags', 'list', '--app-id', '1']);
    expect(result.code).toBe(EXIT.OK);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toMatch(/^app 1: 2 flags, ruleset #10 on apps\.1\.update\.manual at /);
    expect(result.stdout).toContain('checkout');
    expect(result.stdout).toContain('search');
    expect(result.stderr).toBe('');
    expect([admin.connects, admin.closes]).toEqual([1, 1]);
  });

  it('prints the wire flags with --json', async () => {
    const admin = appWithFlags();
    const result = await run(admin, ['flags', 'list', '--app-id', '1', '--json']);
    expect(result.code).toBe(EXIT.OK);
    const flags = JSON.parse(result.stdout) as WireFlag[];
    expect(flags.map((f) => [f.id, f.title, f.rollout_percentage])).toEqual([
      [7, 'checkout', 30],
      [8, 'search', 100],
    ]);
  });

  it('exits 2 with one line for an app without a ruleset', async () => {
    const admin = appWithFlags();
    const result = await run(admin, ['flags', 'list', '--app-id', '5']);
    expect(result.code).toBe(EXIT.NOT_FOUND);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`tailslide: ${new UnknownAppError(5, admin.stream).message}\n`);
    expect(admin.closes).toBe(1);
  });

  it('exits 3 when the admin cannot connect, and still closes it', async () => {
    const admin = new MemoryAdmin(new ConnectionError('Could not connect to NATS at 127.0.0.1:1'));
    const result = await run(admin, ['flags', 'list', '--app-id', '1']);
    expect(result.code).toBe(EXIT.CONNECTION);
    expect(result.stderr).toBe('tailslide: Could not connect to NATS at 127.0.0.1:1\n');
    expect(admin.closes).toBe(1);
  });

  it('exits 1 on a bad --app-id before opening anything', async () => {
    const admin = appWithFlags();
    const result = await run(admin, ['flags', 'list', '--app-id', 'x']);
    expect(result.code).toBe(EXIT.USAGE);
    expect(result.stderr).toBe('tailslide: Invalid value for --app-id: "x" (expected a non-negative integer)\n');
    expect(admin.connects).toBe(0);
  });
});

describe('tailslide flags set-rollout (in-process)', () => {
  it('publishes the new rollout and prints the change', async () => {
    const admin = appWithFlags();
    const result = await run(admin, ['flags', 'set-rollout', 'checkout', '25', '--app-id', '1']);
    expect(result.code).toBe(EXIT.OK);
    expect(result.stdout).toBe(
      'updated "checkout" (id 7) in app 1: ruleset #11 on apps.1.update.manual\n  rollout_percentage: 30 → 25\n',
    );
    expect(admin.rulesets.get(1)?.find((f) => f.id === 7)?.rollout_percentage).toBe(25);
  });

  it('says so and publishes nothing when the rollout is already that', async () => {
    const admin = appWithFlags();
    const result = await run(admin, ['flags', 'set-rollout', '#7', '30', '--app-id', '1']);
    expect(result.code).toBe(EXIT.OK);
    expect(result.stdout).toBe(
      '"checkout" (id 7) in app 1 is already like that: nothing published (ruleset #10 stays)\n',
    );
    expect(admin.sequence).toBe(10);
  });

  it('exits 1 on a percentage out of range, and 2 on an unknown flag, publishing nothing', async () => {
    const admin = appWithFlags();
    const bad = await run(admin, ['flags', 'set-rollout', 'checkout', '250', '--app-id', '1']);
    expect(bad.code).toBe(EXIT.USAGE);
    // The admin library's edit refuses it (InvalidFlagValueError, code INVALID_OPTION).
    expect(bad.stderr).toBe(
      'tailslide: Flag "checkout" of app 1: field "rollout_percentage" must be a number from 0 to 100, got 250\n',
    );
    const unknown = await run(admin, ['flags', 'set-rollout', 'nope', '10', '--app-id', '1']);
    expect(unknown.code).toBe(EXIT.NOT_FOUND);
    expect(unknown.stderr).toBe('tailslide: App 1 has no flag "nope" (its flags: "checkout", "search")\n');
    expect(admin.sequence).toBe(10);
  });
});

describe('tailslide evaluate (in-process)', () => {
  it('answers as the evaluation path does, for every flag', async () => {
    const admin = appWithFlags();
    const users = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank'];
    for (const user of users) {
      const result = await run(admin, ['evaluate', '--user', user, '--app-id', '1', '--json']);
      expect(result.code).toBe(EXIT.OK);
      const body = JSON.parse(result.stdout) as { sequence: number; flags: { flagId: number; value: boolean }[] };
      expect(body.sequence).toBe(10);
      const expected = (admin.rulesets.get(1) ?? []).map((flag) => {
        const compiled = compileWireFlag(flag, 1);
        return { flagId: flag.id, value: compiled !== undefined && explain(compiled, user, 'murmur3').on };
      });
      expect(body.flags.map((f) => ({ flagId: f.flagId, value: f.value }))).toEqual(expected);
    }
  });

  it('prints one flag in words', async () => {
    const admin = appWithFlags();
    const result = await run(admin, ['evaluate', 'search', '--user', 'alice', '--app-id', '1']);
    expect(result.code).toBe(EXIT.OK);
    expect(result.stdout.split('\n')[0]).toBe('"search" (id 8) is OFF for user "alice"');
  });

  it('exits 1 when given both --user and --context', async () => {
    const admin = appWithFlags();
    const result = await run(admin, ['evaluate', '--user', 'a', '--context', '{"key":"a"}', '--app-id', '1']);
    expect(result.code).toBe(EXIT.USAGE);
    expect(result.stderr).toBe('tailslide: Give either --user or --context, not both\n');
  });
});

describe('tailslide stats (in-process)', () => {
  it('reports the counts the reader has, for the ruleset flags and for deleted ones', async () => {
    const admin = appWithFlags();
    const counts = new Map([
      [7, { success: 90, failure: 10 }],
      [99, { success: 1, failure: 3 }],
    ]);
    const reader = new MemoryReader(counts);
    const result = await run(admin, ['stats', '--app-id', '1', '--json', '--window', '5m'], reader);
    expect(result.code).toBe(EXIT.OK);
    const body = JSON.parse(result.stdout) as {
      backend: string;
      windowMs: number;
      flags: { flagId: number; title?: string; total: number; errorRate: number }[];
    };
    expect(body.backend).toBe('native');
    expect(body.windowMs).toBe(300_000);
    expect(body.flags.map((f) => [f.flagId, f.title, f.total, f.errorRate])).toEqual([
      [7, 'checkout', 100, 0.1],
      [8, 'search', 0, 0],
      [99, undefined, 4, 0.75],
    ]);
    const window = reader.windows[0];
    expect(window === undefined ? undefined : window.toMs - window.fromMs).toBe(300_000 - 1);
    expect([admin.closes, reader.closes]).toEqual([1, 1]);
  });

  it('exits 1 on a chart that does not fit the bucket, before reading anything', async () => {
    const admin = appWithFlags();
    const result = await run(admin, ['stats', '--app-id', '1', '--chart', '1m', '--bucket', '2m']);
    expect(result.code).toBe(EXIT.USAGE);
    expect(result.stderr).toMatch(/^tailslide: Invalid value for --bucket: "2m"/);
    expect(admin.connects).toBe(0);
  });
});

describe('the program and its streams', () => {
  it('writes --help to the given stdout, and a usage error to the given stderr', async () => {
    const admin = new MemoryAdmin();
    const help = await run(admin, ['--help']);
    expect(help.code).toBe(EXIT.OK);
    expect(help.stdout).toContain('Usage: tailslide');
    expect(help.stdout).toContain('Exit codes:');
    const usage = await run(admin, ['flags', 'list', '--no-such-option']);
    expect(usage.code).toBe(EXIT.USAGE);
    expect(usage.stderr).toContain("tailslide: unknown option '--no-such-option'");
  });
});
