import { InvalidRulesetError, type RulesetIssue } from '../../src/errors';
import { FlagIssueLog } from '../../src/ruleset/issues';
import {
  parseRuleset,
  parseRulesetLenient,
  parseRulesetPayload,
  parseRulesetPayloadLenient,
  toWire,
} from '../../src/ruleset/parse';
import { wireFlag } from '../support/flags';

const TOWER_MESSAGE = `[{"id":1,"app_id":1,"title":"App 1 Flag 1","description":"","is_active":true,
  "rollout_percentage":50,"white_listed_users":"375d39e6-9c3f-4f58-80bd-e5960b710295,fbe6133c-f751-46f4-b275-4e8c3aa22e24",
  "error_threshold_percentage":40,"circuit_status":"close","is_recoverable":true,
  "circuit_recovery_percentage":100,"circuit_recovery_delay":8000,
  "circuit_initial_recovery_percentage":10,"circuit_recovery_rate":400,
  "circuit_recovery_increment_percentage":10,"circuit_recovery_profile":"linear",
  "webhooks":"","created_at":"2022-08-11T18:51:52.882Z","updated_at":"2022-08-11T18:56:12.441Z"}]`;

function issuesOf(value: unknown): string {
  const result = parseRulesetPayload(value, 'test', { appId: 1 });
  if (result.ok) throw new Error('expected the ruleset to be rejected');
  expect(result.error).toBeInstanceOf(InvalidRulesetError);
  return result.error.message;
}

describe('parseRuleset', () => {
  test('reads the Tower example message into camelCase flags', () => {
    const result = parseRulesetPayload(Buffer.from(TOWER_MESSAGE), 'apps.1.update.manual', { appId: 1 });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const [flag] = result.flags;
    expect(flag).toMatchObject({
      id: 1,
      appId: 1,
      title: 'App 1 Flag 1',
      isActive: true,
      rolloutPercentage: 50,
      whiteListedUsers: ['375d39e6-9c3f-4f58-80bd-e5960b710295', 'fbe6133c-f751-46f4-b275-4e8c3aa22e24'],
      errorThresholdPercentage: 40,
      circuitStatus: 'close',
      circuitRecoveryDelay: 8000,
      circuitRecoveryProfile: 'linear',
      createdAt: '2022-08-11T18:51:52.882Z',
    });
    expect(Object.isFrozen(flag)).toBe(true);
  });

  test('round-trips through toWire, keeping unknown fields', () => {
    const wire = JSON.parse(TOWER_MESSAGE) as Record<string, unknown>[];
    (wire[0] as Record<string, unknown>).owner_team = 'payments';
    const result = parseRuleset(wire, 'test');
    if (!result.ok) throw result.error;
    expect(toWire(result.flags[0]!)).toEqual(wire[0]);
  });

  test('[] is a valid, empty ruleset', () => {
    expect(parseRuleset([], 'test')).toEqual({ ok: true, flags: [] });
  });

  test('fills defaults for optional fields and treats null as absent', () => {
    const result = parseRuleset(
      [{ id: 3, title: 'minimal', is_active: true, rollout_percentage: 10, description: null }],
      'test',
      { appId: 9 },
    );
    if (!result.ok) throw result.error;
    expect(result.flags[0]).toMatchObject({
      appId: 9,
      description: '',
      whiteListedUsers: [],
      circuitStatus: 'close',
      circuitRecoveryPercentage: 100,
    });
  });

  test.each<[string, unknown, RegExp]>([
    ['not JSON', '{oops', /not JSON/],
    ['an object instead of an array', { flags: [] }, /expected a JSON array of flags, got an object/],
    ['a flag that is not an object', [42], /flag #0: expected a flag object, got 42/],
    [
      'a missing title',
      [{ id: 1, is_active: true, rollout_percentage: 5 }],
      /flag #0 field "title": must be a non-empty string/,
    ],
    [
      'a percentage of 250',
      [{ id: 1, title: 'f', is_active: true, rollout_percentage: 250 }],
      /"f" field "rollout_percentage": must be a number from 0 to 100, got 250/,
    ],
    [
      'a percentage as a string',
      [{ id: 1, title: 'f', is_active: true, rollout_percentage: '50' }],
      /field "rollout_percentage": .* got "50"/,
    ],
    ['a negative percentage', [{ id: 1, title: 'f', is_active: true, rollout_percentage: -1 }], /rollout_percentage/],
    [
      'is_active as a string',
      [{ id: 1, title: 'f', is_active: 'true', rollout_percentage: 1 }],
      /field "is_active": must be true or false, got "true"/,
    ],
    [
      'an id that is not an integer',
      [{ id: 1.5, title: 'f', is_active: true, rollout_percentage: 1 }],
      /field "id": must be an integer/,
    ],
    [
      'an unknown circuit status',
      [{ id: 1, title: 'f', is_active: true, rollout_percentage: 1, circuit_status: 'half' }],
      /field "circuit_status": must be one of "open", "close", "recovery", got "half"/,
    ],
    [
      'an app id of another app',
      [{ id: 1, app_id: 2, title: 'f', is_active: true, rollout_percentage: 1 }],
      /field "app_id": is 2, but this ruleset belongs to app 1/,
    ],
    [
      'a whitelist that is an array',
      [{ id: 1, title: 'f', is_active: true, rollout_percentage: 1, white_listed_users: ['a'] }],
      /white_listed_users/,
    ],
  ])('rejects %s, naming what is wrong', (_name, value, expected) => {
    expect(issuesOf(value)).toMatch(expected);
  });

  test('rejects duplicate titles and duplicate ids, naming both flags', () => {
    const base = { is_active: true, rollout_percentage: 1 };
    expect(
      issuesOf([
        { ...base, id: 1, title: 'same' },
        { ...base, id: 2, title: 'same' },
      ]),
    ).toMatch(/flag #1 "same" field "title": duplicate title \(also flag #0\)/);
    expect(
      issuesOf([
        { ...base, id: 7, title: 'a' },
        { ...base, id: 7, title: 'b' },
      ]),
    ).toMatch(/flag #1 "b" field "id": duplicate id 7 \(also flag #0\)/);
  });

  test('lists at most 20 issues and counts the rest', () => {
    const bad = Array.from({ length: 30 }, (_, i) => ({
      id: i,
      title: `f${i}`,
      is_active: 'yes',
      rollout_percentage: 1,
    }));
    const message = issuesOf(bad);
    expect(message).toMatch(/and 10 more problems/);
  });
});

/** The flags and issues of a lenient parse that must succeed. */
function lenient(value: unknown): { titles: string[]; issues: readonly RulesetIssue[] } {
  const result = parseRulesetPayloadLenient(value, 'apps.1.update.manual (sequence 9)', { appId: 1 });
  if (!result.ok) throw result.error;
  return { titles: result.flags.map((f) => f.title), issues: result.issues };
}

describe('parseRulesetLenient (the receiving side): one bad flag is left out, the rest applies', () => {
  const good = wireFlag({ id: 1, title: 'checkout-v2', rollout_percentage: 30 });
  const other = wireFlag({ id: 3, title: 'search', is_active: false });

  test.each<[string, Record<string, unknown>, Partial<RulesetIssue>]>([
    [
      'an empty title (Tower accepts it)',
      { title: '' },
      { field: 'title', message: 'must be a non-empty string, got ""' },
    ],
    ['a blank title', { title: '   ' }, { field: 'title', message: 'must be a non-empty string, got "   "' }],
    ['a null title', { title: null }, { field: 'title', message: 'must be a non-empty string, got null' }],
    ['a percentage of 250', { rollout_percentage: 250 }, { title: 'bad', field: 'rollout_percentage' }],
    ['is_active as a string', { is_active: 'true' }, { title: 'bad', field: 'is_active' }],
    ['an unknown circuit status', { circuit_status: 'half-open' }, { title: 'bad', field: 'circuit_status' }],
    ['an app id of another app', { app_id: 2 }, { title: 'bad', field: 'app_id' }],
  ])('%s: the flag is left out and reported with its position, id and field', (_what, fields, expected) => {
    const bad = { ...wireFlag({ id: 2, title: 'bad' }), ...fields };
    const { titles, issues } = lenient([good, bad, other]);
    expect(titles).toEqual(['checkout-v2', 'search']);
    expect(issues).toEqual([expect.objectContaining({ index: 1, id: 2, ...expected })]);
    // The strict parse (editors, `ruleset publish`) still rejects the same ruleset.
    expect(parseRuleset([good, bad, other], 'test', { appId: 1 }).ok).toBe(false);
  });

  test('a flag without a usable id is reported by position only', () => {
    const { titles, issues } = lenient([good, { ...wireFlag({ id: 2, title: 'bad' }), id: '2' }]);
    expect(titles).toEqual(['checkout-v2']);
    expect(issues).toEqual([{ index: 1, title: 'bad', field: 'id', message: 'must be an integer ≥ 0, got "2"' }]);
  });

  test('a flag with several bad fields gives one issue per field', () => {
    const { issues } = lenient([good, { ...wireFlag({ id: 2, title: '' }), rollout_percentage: -1, is_active: 1 }]);
    expect(issues.map((i) => [i.index, i.id, i.field])).toEqual([
      [1, 2, 'title'],
      [1, 2, 'is_active'],
      [1, 2, 'rollout_percentage'],
    ]);
  });

  test('duplicate titles and ids: the first wins, the others are reported', () => {
    const { titles, issues } = lenient([
      good,
      wireFlag({ id: 2, title: 'checkout-v2', rollout_percentage: 99 }),
      wireFlag({ id: 1, title: 'another' }),
      other,
    ]);
    expect(titles).toEqual(['checkout-v2', 'search']);
    expect(issues).toEqual([
      { index: 1, id: 2, title: 'checkout-v2', field: 'title', message: 'duplicate title (also flag #0)' },
      { index: 2, id: 1, title: 'another', field: 'id', message: 'duplicate id 1 (also flag #0)' },
    ]);
  });

  test('a flag that is not an object is left out', () => {
    expect(lenient([good, 42, null]).issues).toEqual([
      { index: 1, message: 'expected a flag object, got 42' },
      { index: 2, message: 'expected a flag object, got null' },
    ]);
  });

  test.each<[string, unknown, RegExp]>([
    ['not JSON', '{oops', /not JSON/],
    ['an object', { flags: [good] }, /expected a JSON array of flags, got an object/],
    ['a string', '"[]"', /expected a JSON array of flags, got "\[\]"/],
    ['null', null, /expected a JSON array of flags, got null/],
    [
      'flags of which none is usable',
      [42, { title: '' }],
      /flag #0: expected a flag object, got 42; flag #1 field "title"/,
    ],
  ])('rejects the whole message when it is %s', (_what, value, expected) => {
    const result = parseRulesetPayloadLenient(value, 'test', { appId: 1 });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.message).toMatch(expected);
  });

  test('[] is an empty ruleset (an app whose flags were all deleted)', () => {
    expect(parseRulesetLenient([], 'test')).toEqual({ ok: true, flags: [], issues: [] });
  });

  test('a bootstrap object whose getter throws is an issue, not an exception', () => {
    const exotic = Object.defineProperty({ ...wireFlag({ id: 2, title: 'bad' }) }, 'rollout_percentage', {
      enumerable: true,
      get() {
        throw new Error('boom');
      },
    });
    const { titles, issues } = lenient([good, exotic]);
    expect(titles).toEqual(['checkout-v2']);
    expect(issues).toEqual([{ index: 1, id: 2, message: 'could not be read: boom' }]);
  });
});

describe('a leading UTF-8 byte order mark', () => {
  const text = JSON.stringify([wireFlag({ id: 1, title: 'bom' })]);

  test.each<[string, Uint8Array | string]>([
    ['bytes EF BB BF', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)])],
    ['text starting with U+FEFF', `\uFEFF${text}`],
  ])('is stripped: %s', (_what, payload) => {
    for (const result of [
      parseRulesetPayload(payload, 'test', { appId: 1 }),
      parseRulesetPayloadLenient(payload, 'test', { appId: 1 }),
    ]) {
      expect(result.ok).toBe(true);
      if (result.ok) expect(result.flags.map((f) => f.title)).toEqual(['bom']);
    }
  });

  test('only a leading one: a BOM inside is still not JSON', () => {
    expect(parseRulesetPayload(`[\uFEFF]`, 'test').ok).toBe(false);
  });
});

describe('wire data cannot pollute prototypes', () => {
  test('an extra field named __proto__ is kept as a field, and written back by toWire', () => {
    const text = `[{"id":1,"title":"f","is_active":true,"rollout_percentage":5,"__proto__":{"polluted":true},"constructor":"x"}]`;
    const result = parseRulesetPayload(text, 'test');
    if (!result.ok) throw result.error;
    const extra = result.flags[0]!.extra;
    expect(Object.keys(extra)).toEqual(['__proto__', 'constructor']);
    expect(Object.getOwnPropertyDescriptor(extra, '__proto__')?.value).toEqual({ polluted: true });
    expect((extra as { polluted?: unknown }).polluted).toBeUndefined();
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
    const wire = toWire(result.flags[0]!);
    expect(Object.getPrototypeOf(wire)).toBe(Object.prototype);
    expect(JSON.parse(JSON.stringify(wire))).toMatchObject((JSON.parse(text) as object[])[0] as object);
    expect(JSON.stringify(wire)).toContain('"__proto__":{"polluted":true}');
  });

  test('flags titled __proto__, constructor and hasOwnProperty are flags like any other', () => {
    const { titles, issues } = lenient([
      wireFlag({ id: 1, title: '__proto__' }),
      wireFlag({ id: 2, title: 'constructor' }),
      wireFlag({ id: 3, title: 'hasOwnProperty' }),
      wireFlag({ id: 4, title: '__proto__' }),
    ]);
    expect(titles).toEqual(['__proto__', 'constructor', 'hasOwnProperty']);
    expect(issues).toEqual([
      expect.objectContaining({ index: 3, field: 'title', message: 'duplicate title (also flag #0)' }),
    ]);
  });

  test('a whitelist entry with a lone surrogate is kept exactly (never rewritten through UTF-8)', () => {
    const result = parseRulesetPayload(
      '[{"id":1,"title":"f","is_active":true,"rollout_percentage":0,"white_listed_users":"\\ud800user, b"}]',
      'test',
    );
    if (!result.ok) throw result.error;
    expect(result.flags[0]!.whiteListedUsers).toEqual(['\ud800user', 'b']);
  });
});

describe('FlagIssueLog: each (flag, reason) reported once', () => {
  const empty: RulesetIssue = { index: 1, id: 7, field: 'title', message: 'must be a non-empty string, got ""' };

  test('an issue is fresh once, not with every later ruleset that still has it', () => {
    const log = new FlagIssueLog();
    expect(log.fresh([empty])).toEqual([empty]);
    expect(log.fresh([empty])).toEqual([]);
    // The same flag moved to another position is the same flag (its id).
    expect(log.fresh([{ ...empty, index: 4 }])).toEqual([]);
  });

  test('another reason of the same flag is new; an issue that went away and came back is new again', () => {
    const log = new FlagIssueLog();
    const rollout: RulesetIssue = { index: 1, id: 7, field: 'rollout_percentage', message: 'must be …' };
    log.fresh([empty]);
    expect(log.fresh([empty, rollout])).toEqual([rollout]);
    expect(log.fresh([])).toEqual([]);
    expect(log.fresh([empty])).toEqual([empty]);
  });

  test('flags without an id are told apart by position', () => {
    const log = new FlagIssueLog();
    const a: RulesetIssue = { index: 0, message: 'expected a flag object, got 1' };
    const b: RulesetIssue = { index: 1, message: 'expected a flag object, got 1' };
    expect(log.fresh([a, b])).toEqual([a, b]);
  });
});
