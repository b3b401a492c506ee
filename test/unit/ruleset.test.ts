import { InvalidRulesetError } from '../../src/errors';
import { parseRuleset, parseRulesetPayload, toWire } from '../../src/ruleset/parse';

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
