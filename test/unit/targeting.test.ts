import { bucket, splitBucket } from '../../src/evaluation/bucket';
import type { EvaluationContext } from '../../src/evaluation/context';
import { compileFlag, decide, type HashingMode } from '../../src/evaluation/evaluator';
import { murmur3, prefixState, hashAfter } from '../../src/evaluation/murmur3';
import { compareSemver, parseSemver } from '../../src/evaluation/semver';
import { clauseMatches, compileClause, toDateMs } from '../../src/evaluation/targeting';
import { decideVariation, type VariationDecision } from '../../src/evaluation/variation';
import { parseRuleset, toWire } from '../../src/ruleset/parse';
import { patternProblem, type Clause, type ClauseOp } from '../../src/ruleset/targeting';
import type { Flag } from '../../src/ruleset/types';
import { PRICING_PAGE } from '../support/targeting';

function parseOne(fields: Record<string, unknown>): Flag {
  const result = parseRuleset([fields], 'test');
  if (!result.ok) throw result.error;
  return result.flags[0] as Flag;
}

function issuesOf(fields: Record<string, unknown>): string[] {
  const result = parseRuleset([{ id: 1, title: 'f', is_active: true, rollout_percentage: 100, ...fields }], 'test');
  if (result.ok) return [];
  return result.error.issues.map((i) => `${i.field ?? ''}: ${i.message}`);
}

function evaluate(fields: Record<string, unknown>, context: EvaluationContext, hashing: HashingMode = 'murmur3') {
  return decideVariation(compileFlag(parseOne(fields)), context, hashing);
}

function summary(d: VariationDecision): unknown[] {
  return [d.value, d.variation, d.reason, d.ruleIndex, d.ruleId];
}

describe('split bucketing (seed 1) — the spec vectors', () => {
  test.each([
    ['App 1 Flag 1', '375d39e6-9c3f-4f58-80bd-e5960b710295', 12018, 2517],
    ['App 1 Flag 1', 'fbe6133c-f751-46f4-b275-4e8c3aa22e24', 36852, 12643],
    ['App 1 Flag 1', 'user-1', 79460, 88419],
    ['checkout-v2', '375d39e6-9c3f-4f58-80bd-e5960b710295', 28060, 35813],
    ['checkout-v2', 'ü-ñicode-用户', 40666, 8410],
    ['pricing-page', 'user-1', 9634, 64500],
    ['pricing-page', 'user-3', 4637, 6471],
    ['pricing-page', 'user-7', 64265, 16784],
    ['pricing-page', 'user-42', 21009, 76664],
    ['pricing-page', 'qa-1', 88883, 21489],
  ])('%s / %s → gate %d, split %d', (title, key, gate, split) => {
    expect(bucket(title, key)).toBe(gate);
    expect(splitBucket(title, key)).toBe(split);
  });

  test('the resumable hash with seed 1 equals hashing the whole string, ASCII and not', () => {
    for (const title of ['a', 'ab', 'abc', 'abcd', 'pricing-page', 'ü']) {
      const state = prefixState(`${title}:`, 1);
      for (const key of ['', 'x', 'user-42', 'ü-ñicode-用户', 'abcdefgh']) {
        expect(hashAfter(state, key) >>> 0).toBe(murmur3(`${title}:${key}`, 1));
      }
    }
  });
});

describe('the worked example', () => {
  test.each<[string, EvaluationContext, unknown[]]>([
    ['a target', 'qa-1', ['monthly-first', 2, 'TARGET_MATCH', undefined, undefined]],
    [
      'rule eu-annual',
      { key: 'user-42', country: 'NL', app_version: '2.4.1' },
      ['annual-first', 1, 'RULE_MATCH', 0, 'eu-annual'],
    ],
    [
      'version not above 2.3.0: fallthrough split (76664 ≥ 50000)',
      { key: 'user-42', country: 'NL', app_version: '2.3.0' },
      ['annual-first', 1, 'FALLTHROUGH', undefined, undefined],
    ],
    [
      'rule staff, split 16784 < 50000',
      { key: 'user-7', email: 'a@example.com' },
      ['annual-first', 1, 'RULE_MATCH', 1, 'staff'],
    ],
    ['fallthrough split 16784 < 50000', { key: 'user-7' }, ['control', 0, 'FALLTHROUGH', undefined, undefined]],
  ])('%s', (_name, context, expected) => {
    expect(summary(evaluate(PRICING_PAGE, context))).toEqual(expected);
  });

  test('an inactive flag serves off_variation with FLAG_OFF', () => {
    expect(summary(evaluate({ ...PRICING_PAGE, is_active: false }, 'user-3'))).toEqual([
      'control',
      0,
      'FLAG_OFF',
      undefined,
      undefined,
    ]);
  });

  test('the split bucket is reported', () => {
    expect(evaluate(PRICING_PAGE, { key: 'user-42', country: 'NL', app_version: '2.3.0' }).splitBucket).toBe(76664);
    expect(evaluate(PRICING_PAGE, { key: 'user-7', email: 'a@example.com' }).splitBucket).toBe(16784);
  });

  describe('with a 10 % rollout', () => {
    const flag = { ...PRICING_PAGE, rollout_percentage: 10 };
    test('user-1 (gate 9634) and user-3 (gate 4637) pass the gate', () => {
      expect(evaluate(flag, 'user-1').reason).toBe('FALLTHROUGH');
      expect(evaluate(flag, 'user-3').reason).toBe('FALLTHROUGH');
    });
    test('user-42 (gate 21009) gets control with ROLLOUT_OUT', () => {
      expect(summary(evaluate(flag, { key: 'user-42', country: 'NL', app_version: '9.0.0' }))).toEqual([
        'control',
        0,
        'ROLLOUT_OUT',
        undefined,
        undefined,
      ]);
    });
    test('qa-1 still gets monthly-first: targets come before the gate', () => {
      expect(summary(evaluate(flag, 'qa-1'))).toEqual(['monthly-first', 2, 'TARGET_MATCH', undefined, undefined]);
    });
    test('a whitelisted key passes the gate and is served by the rules', () => {
      const d = evaluate(
        { ...flag, white_listed_users: 'user-42' },
        { key: 'user-42', country: 'BE', app_version: '3' },
      );
      expect(summary(d)).toEqual(['annual-first', 1, 'RULE_MATCH', 0, 'eu-annual']);
    });
  });

  test('an open circuit or a 0 % rollout serves off_variation; a target still wins over the gate', () => {
    expect(evaluate({ ...PRICING_PAGE, rollout_percentage: 0 }, 'user-1').reason).toBe('ROLLOUT_OUT');
    expect(evaluate({ ...PRICING_PAGE, rollout_percentage: 0 }, 'qa-1').reason).toBe('TARGET_MATCH');
    expect(evaluate({ ...PRICING_PAGE, rollout_percentage: 50 }, '').reason).toBe('NO_USER_CONTEXT');
  });

  test('round-trips through the wire format unchanged', () => {
    const wire = toWire(parseOne(PRICING_PAGE));
    expect(wire).toEqual({ ...PRICING_PAGE, webhooks: '' });
  });
});

describe('a flag without the extension evaluates exactly as before', () => {
  const plain = { id: 1, app_id: 1, title: 'App 1 Flag 1', is_active: true, rollout_percentage: 50 };
  const keys = ['', 'user-1', 'user-2', '375d39e6-9c3f-4f58-80bd-e5960b710295', 'ü-ñicode-用户', 'qa-1'];
  test.each<[string, Record<string, unknown>]>([
    ['50 %', {}],
    ['off', { is_active: false }],
    ['100 %', { rollout_percentage: 100 }],
    ['0 %', { rollout_percentage: 0 }],
    ['whitelist', { white_listed_users: 'user-1, qa-1' }],
    ['recovering', { is_recoverable: true, circuit_status: 'recovery', circuit_recovery_percentage: 30 }],
  ])('%s: same reason as decide(), value true exactly when on', (_name, fields) => {
    const compiled = compileFlag(parseOne({ ...plain, ...fields }));
    expect(compiled.targeting).toBeUndefined();
    for (const hashing of ['murmur3', 'tailslide-md5'] as const) {
      for (const key of keys) {
        const reason = decide(compiled, key, hashing);
        const d = decideVariation(compiled, key, hashing);
        expect(d.reason).toBe(reason);
        expect(d.value).toBe(d.variation === 1);
        expect(['WHITELISTED', 'FULL_ROLLOUT', 'ROLLOUT_IN'].includes(reason)).toBe(d.value);
        expect(decideVariation(compiled, { key }, hashing)).toEqual(d);
      }
    }
  });

  test('its wire form gains no new fields', () => {
    expect(Object.keys(toWire(parseOne(plain)))).not.toContain('variations');
    expect(Object.keys(toWire(parseOne(plain)))).not.toContain('fallthrough');
  });
});

describe('a boolean flag with rules only (implicit variations [false, true])', () => {
  const flag = {
    id: 1,
    title: 'beta',
    is_active: true,
    rollout_percentage: 100,
    rules: [{ id: 'nl', clauses: [{ attribute: 'country', op: 'in', values: ['NL'] }], serve: { variation: 1 } }],
    fallthrough: { variation: 0 },
  };
  test('rule match serves true, fallthrough serves false', () => {
    expect(summary(evaluate(flag, { key: 'a', country: 'NL' }))).toEqual([true, 1, 'RULE_MATCH', 0, 'nl']);
    expect(summary(evaluate(flag, { key: 'a', country: 'BE' }))).toEqual([
      false,
      0,
      'FALLTHROUGH',
      undefined,
      undefined,
    ]);
  });
  test('the implicit fallthrough is true', () => {
    const { fallthrough: _omit, ...noFallthrough } = flag;
    expect(evaluate(noFallthrough, { key: 'a' }).value).toBe(true);
    expect(evaluate(noFallthrough, { key: 'a' }).reason).toBe('FALLTHROUGH');
  });
});

function clause(op: ClauseOp, values: Clause['values'], negate = false, attribute = 'a'): Clause {
  return { attribute, op, values, negate };
}
function matches(c: Clause, value: unknown): boolean {
  return clauseMatches(compileClause(c), { key: 'k', a: value as string });
}

describe('clause operators', () => {
  test.each<[string, Clause, unknown, boolean]>([
    ['in: string equal', clause('in', ['NL', 'BE']), 'BE', true],
    ['in: case-sensitive', clause('in', ['NL']), 'nl', false],
    ['in: no coercion "1" vs 1', clause('in', ['1']), 1, false],
    ['in: number', clause('in', [1, 2]), 2, true],
    ['in: boolean', clause('in', [true]), true, true],
    ['in: null', clause('in', [null]), null, true],
    ['in: array attribute, any element', clause('in', ['b']), ['a', 'b'], true],
    ['in: array attribute, none', clause('in', ['z']), ['a', 'b'], false],
    ['contains', clause('contains', ['amp']), 'example', true],
    ['contains: not a string', clause('contains', ['1']), 123, false],
    ['starts_with', clause('starts_with', ['ex']), 'example', true],
    ['starts_with: no', clause('starts_with', ['am']), 'example', false],
    ['ends_with', clause('ends_with', ['@example.com']), 'a@example.com', true],
    ['matches', clause('matches', ['^user-[0-9]+$']), 'user-42', true],
    ['matches: no', clause('matches', ['^user-[0-9]+$']), 'user-x', false],
    ['matches: not a string', clause('matches', ['1']), 1, false],
    ['lt', clause('lt', [10]), 9, true],
    ['lt: equal', clause('lt', [10]), 10, false],
    ['lte: equal', clause('lte', [10]), 10, true],
    ['gt', clause('gt', [10]), 10.5, true],
    ['gte: equal', clause('gte', [10]), 10, true],
    ['gt: string never compares', clause('gt', [10]), '11', false],
    ['gt: string clause value never compares', clause('gt', ['10']), 11, false],
    ['before: ms', clause('before', [1_700_000_000_000]), 1_600_000_000_000, true],
    ['before: RFC 3339 both', clause('before', ['2026-11-27T00:00:00Z']), '2026-11-26T23:59:59.999Z', true],
    ['after: offset', clause('after', ['2026-11-27T00:00:00Z']), '2026-11-27T01:00:01+01:00', true],
    ['after: mixed forms', clause('after', [Date.UTC(2026, 0, 1)]), '2026-06-01T00:00:00Z', true],
    ['before: not a date', clause('before', ['2026-11-27T00:00:00Z']), 'yesterday', false],
    ['before: date-only is not RFC 3339 date-time', clause('before', ['2026-11-27T00:00:00Z']), '2026-01-01', false],
    ['semver_eq: short form', clause('semver_eq', ['2.3']), '2.3.0', true],
    ['semver_eq: build ignored', clause('semver_eq', ['1.0.0']), '1.0.0+build.5', true],
    ['semver_gt', clause('semver_gt', ['2.3.0']), '2.4.1', true],
    ['semver_gt: equal', clause('semver_gt', ['2.3.0']), '2.3.0', false],
    ['semver_lt: pre-release below release', clause('semver_lt', ['1.0.0']), '1.0.0-rc.1', true],
    ['semver_lt: numeric pre-release ids numerically', clause('semver_lt', ['1.0.0-beta.11']), '1.0.0-beta.2', true],
    ['semver: not a version', clause('semver_gt', ['1.0.0']), 'v2', false],
    ['semver: leading zero invalid', clause('semver_gt', ['1.0.0']), '01.2.3', false],
  ])('%s', (_name, c, value, expected) => {
    expect(matches(c, value)).toBe(expected);
  });

  test('negate inverts a present attribute', () => {
    expect(matches(clause('in', ['NL'], true), 'BE')).toBe(true);
    expect(matches(clause('in', ['NL'], true), 'NL')).toBe(false);
  });

  test('a missing attribute never matches, negated or not', () => {
    for (const negate of [false, true]) {
      const compiled = compileClause(clause('in', ['NL'], negate, 'country'));
      expect(clauseMatches(compiled, { key: 'k' })).toBe(false);
      expect(clauseMatches(compiled, 'k')).toBe(false);
      expect(clauseMatches(compiled, { key: 'k', country: undefined })).toBe(false);
    }
  });

  test('the attribute "key" names the key, in string and object contexts', () => {
    const c = compileClause(clause('starts_with', ['qa-'], false, 'key'));
    expect(clauseMatches(c, 'qa-7')).toBe(true);
    expect(clauseMatches(c, { key: 'qa-7' })).toBe(true);
    expect(clauseMatches(c, { key: 'user-7' })).toBe(false);
  });

  test('contexts that throw, have no prototype, or carry objects read as missing attributes', () => {
    const c = compileClause(clause('in', ['NL'], true, 'country'));
    const hostile = Object.defineProperty({ key: 'k' }, 'country', {
      enumerable: true,
      get() {
        throw new Error('boom');
      },
    });
    expect(clauseMatches(c, hostile as EvaluationContext)).toBe(false);
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { key: 'k', country: 'BE' });
    expect(clauseMatches(c, bare as EvaluationContext)).toBe(true);
    expect(clauseMatches(c, { key: 'k', country: { nested: 1 } } as unknown as EvaluationContext)).toBe(false);
    // an inherited property is not an attribute
    const inherited = Object.create({ country: 'BE' }) as EvaluationContext;
    expect(clauseMatches(c, inherited)).toBe(false);
  });
});

describe('SemVer', () => {
  test.each([
    ['1.0.0-alpha', '1.0.0-alpha.1'],
    ['1.0.0-alpha.1', '1.0.0-alpha.beta'],
    ['1.0.0-alpha.beta', '1.0.0-beta'],
    ['1.0.0-beta', '1.0.0-beta.2'],
    ['1.0.0-beta.2', '1.0.0-beta.11'],
    ['1.0.0-beta.11', '1.0.0-rc.1'],
    ['1.0.0-rc.1', '1.0.0'],
    ['1.0.0', '1.0.1'],
    ['1.9.0', '1.10.0'],
    ['2', '2.0.1'],
  ])('%s < %s (SemVer 2.0 precedence)', (a, b) => {
    const x = parseSemver(a);
    const y = parseSemver(b);
    expect(x && y && compareSemver(x, y)).toBeLessThan(0);
    expect(x && y && compareSemver(y, x)).toBeGreaterThan(0);
  });

  test.each(['', 'v1.0.0', '1.0.0.0', '1.0.0-', '1.0.0-01', '1..0', 'a.b.c', '1.0.0+', ' 1.0.0'])(
    '%j is not a version',
    (text) => expect(parseSemver(text)).toBeUndefined(),
  );

  test('short forms count missing parts as 0', () => {
    expect(parseSemver('2')).toEqual({ major: 2, minor: 0, patch: 0, pre: [] });
    expect(parseSemver('2.3-rc.1')).toEqual({ major: 2, minor: 3, patch: 0, pre: ['rc', 1] });
  });
});

describe('dates', () => {
  test('both forms', () => {
    expect(toDateMs(0)).toBe(0);
    expect(toDateMs('1970-01-01T00:00:00Z')).toBe(0);
    expect(toDateMs('1970-01-01 00:00:01.5+00:00')).toBe(1500);
    expect(toDateMs(Number.NaN)).toBeUndefined();
    expect(toDateMs('1970-01-01')).toBeUndefined();
    expect(toDateMs('2026-13-45T00:00:00Z')).toBeUndefined();
  });
});

describe('patterns: the subset common to ECMAScript and RE2', () => {
  test.each([
    ['x'.repeat(257), /at most 256/],
    ['(a)\\1', /backreference/],
    ['(?<n>a)\\k<n>', /backreference/],
    ['a(?=b)', /lookaround/],
    ['a(?!b)', /lookaround/],
    ['(?<=a)b', /lookaround/],
    ['(?<!a)b', /lookaround/],
    ['[', /does not compile/],
  ])('%j is refused', (pattern, problem) => {
    expect(patternProblem(pattern)).toMatch(problem);
  });

  test.each(['x'.repeat(256), '^user-\\d+$', '\\\\1', 'a|b', '(?:ab)+', '[a-z]{2,3}'])('%j is accepted', (pattern) => {
    expect(patternProblem(pattern)).toBeUndefined();
  });
});

describe('validation: an invalid extension names the field', () => {
  const rule = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
    id: 'r',
    clauses: [{ attribute: 'a', op: 'in', values: ['x'] }],
    serve: { variation: 0 },
    ...over,
  });
  test.each<[string, Record<string, unknown>, RegExp]>([
    ['variations not an array', { variations: 'ab' }, /^variations: must be an array/],
    [
      'one variation',
      { variations: ['a'], off_variation: 0, fallthrough: { variation: 0 } },
      /^variations: must hold 2–64/,
    ],
    [
      '65 variations',
      { variations: Array.from({ length: 65 }, (_, i) => i), off_variation: 0, fallthrough: { variation: 0 } },
      /^variations: must hold 2–64/,
    ],
    [
      'off_variation missing with variations',
      { variations: ['a', 'b'], fallthrough: { variation: 0 } },
      /^off_variation: is required/,
    ],
    ['fallthrough missing with variations', { variations: ['a', 'b'], off_variation: 0 }, /^fallthrough: is required/],
    [
      'index out of range',
      { variations: ['a', 'b'], off_variation: 2, fallthrough: { variation: 0 } },
      /^off_variation: must be a variation index from 0 to 1, got 2/,
    ],
    ['implicit variations: index 2', { off_variation: 2 }, /^off_variation: must be a variation index from 0 to 1/],
    [
      'split weights do not sum',
      {
        fallthrough: {
          split: [
            { variation: 0, weight: 50000 },
            { variation: 1, weight: 49999 },
          ],
        },
      },
      /^fallthrough.split: weights must sum to 100000/,
    ],
    [
      'negative weight',
      {
        fallthrough: {
          split: [
            { variation: 0, weight: -1 },
            { variation: 1, weight: 100001 },
          ],
        },
      },
      /^fallthrough.split\[0\].weight: must be a non-negative integer/,
    ],
    ['serve with both', { fallthrough: { variation: 1, split: [] } }, /^fallthrough: must have exactly one/],
    [
      'key in two targets',
      {
        targets: [
          { variation: 0, values: ['a'] },
          { variation: 1, values: ['a'] },
        ],
      },
      /^targets\[1\].values: key "a" is also in targets\[0\]/,
    ],
    [
      'target values not strings',
      { targets: [{ variation: 0, values: [1] }] },
      /^targets\[0\].values: must be an array of context keys/,
    ],
    [
      'unknown op',
      { rules: [rule({ clauses: [{ attribute: 'a', op: 'like', values: ['x'] }] })] },
      /^rules\[0\].clauses\[0\].op: must be one of in, contains/,
    ],
    [
      'bad pattern',
      { rules: [rule({ clauses: [{ attribute: 'a', op: 'matches', values: ['(a)\\1'] }] })] },
      /^rules\[0\].clauses\[0\].values\[0\]: pattern .* backreference/,
    ],
    ['no clauses', { rules: [rule({ clauses: [] })] }, /^rules\[0\].clauses: must be an array of 1–20 clauses/],
    [
      '21 clauses',
      { rules: [rule({ clauses: Array.from({ length: 21 }, () => ({ attribute: 'a', op: 'in', values: ['x'] })) })] },
      /^rules\[0\].clauses: must be an array of 1–20/,
    ],
    [
      'no values',
      { rules: [rule({ clauses: [{ attribute: 'a', op: 'in', values: [] }] })] },
      /^rules\[0\].clauses\[0\].values: must be an array of 1–1000/,
    ],
    [
      'object as clause value',
      { rules: [rule({ clauses: [{ attribute: 'a', op: 'in', values: [{}] }] })] },
      /^rules\[0\].clauses\[0\].values\[0\]: must be a string, a finite number/,
    ],
    ['duplicate rule ids', { rules: [rule(), rule()] }, /^rules\[1\].id: "r" is also the id of rules\[0\]/],
    ['empty rule id', { rules: [rule({ id: '' })] }, /^rules\[0\].id: must be a non-empty string/],
    [
      'negate not boolean',
      { rules: [rule({ clauses: [{ attribute: 'a', op: 'in', values: ['x'], negate: 'yes' }] })] },
      /^rules\[0\].clauses\[0\].negate: must be true or false/,
    ],
    [
      '101 rules',
      { rules: Array.from({ length: 101 }, (_, i) => rule({ id: `r${i}` })) },
      /^rules: has 101 rules; at most 100/,
    ],
    ['rule without serve', { rules: [rule({ serve: undefined })] }, /^rules\[0\].serve: is required/],
  ])('%s', (_name, fields, expected) => {
    const issues = issuesOf(fields);
    expect(issues.some((i) => expected.test(i))).toBe(true);
  });

  test('a valid extension has no issues', () => {
    expect(issuesOf({ ...PRICING_PAGE, id: 1, title: 'f' })).toEqual([]);
  });

  test('variations are copied and frozen, not the caller’s objects', () => {
    const value = { plan: 'annual' };
    const flag = parseOne({ ...PRICING_PAGE, variations: ['a', value, 'c'] });
    expect(Object.isFrozen(value)).toBe(false);
    expect(Object.isFrozen(flag.targeting?.variations[1])).toBe(true);
    expect(flag.targeting?.variations[1]).toEqual(value);
  });
});

describe('splits: uniform, and independent of the rollout gate', () => {
  const N = 100_000;
  const fifty = {
    id: 1,
    title: 'experiment',
    is_active: true,
    rollout_percentage: 100,
    variations: ['a', 'b'],
    off_variation: 0,
    fallthrough: {
      split: [
        { variation: 0, weight: 50000 },
        { variation: 1, weight: 50000 },
      ],
    },
  };

  test('four 25 % arms: chi-square over 100,000 keys below the p = 0.001 critical value', () => {
    const compiled = compileFlag(
      parseOne({
        ...fifty,
        variations: ['a', 'b', 'c', 'd'],
        fallthrough: { split: [0, 1, 2, 3].map((variation) => ({ variation, weight: 25000 })) },
      }),
    );
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < N; i++) counts[decideVariation(compiled, `user-${i}`, 'murmur3').variation]! += 1;
    const expected = N / 4;
    const chi = counts.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
    expect(chi).toBeLessThan(16.27); // 3 degrees of freedom
  });

  test('at a 10 % rollout a 50/50 split serves each variation to 5 % ± 0.3 of all keys', () => {
    const compiled = compileFlag(parseOne({ ...fifty, rollout_percentage: 10 }));
    let a = 0;
    let b = 0;
    for (let i = 0; i < N; i++) {
      const d = decideVariation(compiled, `key-${i}`, 'murmur3');
      if (d.reason !== 'FALLTHROUGH') continue;
      if (d.variation === 0) a++;
      else b++;
    }
    expect(Math.abs((a / N) * 100 - 5)).toBeLessThan(0.3);
    expect(Math.abs((b / N) * 100 - 5)).toBeLessThan(0.3);
  });

  test('bucket_by an attribute; a missing or non-scalar one gives bucket 0', () => {
    const byCompany = {
      ...fifty,
      fallthrough: { ...fifty.fallthrough, bucket_by: 'company' },
    };
    const compiled = compileFlag(parseOne(byCompany));
    const one = decideVariation(compiled, { key: 'u1', company: 'acme' }, 'murmur3');
    const two = decideVariation(compiled, { key: 'u2', company: 'acme' }, 'murmur3');
    expect(one.splitBucket).toBe(splitBucket('experiment', 'acme'));
    expect(two.variation).toBe(one.variation);
    expect(decideVariation(compiled, { key: 'u1' }, 'murmur3').splitBucket).toBe(0);
    expect(decideVariation(compiled, { key: 'u1', company: ['a'] }, 'murmur3').splitBucket).toBe(0);
    expect(decideVariation(compiled, { key: 'u1', company: 7 }, 'murmur3').splitBucket).toBe(
      splitBucket('experiment', '7'),
    );
    expect(decideVariation(compiled, { key: 'u1', company: true }, 'murmur3').splitBucket).toBe(
      splitBucket('experiment', 'true'),
    );
  });
});
