/** Pure parts of the targeting commands: the split and target syntax, contexts, edits, printing. */
import type { EditContext } from '../../src/admin/edits';
import { InvalidFlagValueError } from '../../src/admin/errors';
import { newWireFlag } from '../../src/admin/fields';
import {
  changeTargetsEdit,
  clearTargetingEdit,
  setRulesEdit,
  setVariationsEdit,
} from '../../src/admin/targeting-edits';
import { mergeInvalid } from '../../src/admin/writer';
import type { DecodedRuleset } from '../../src/admin/read';
import { CliError } from '../../src/cli/core/exit-codes';
import { targetingLines, targetingSummary } from '../../src/cli/format/targeting';
import { watchLines } from '../../src/cli/format/watch';
import {
  parseContext,
  parseFallthrough,
  parseSplit,
  parseTargetAssignment,
  parseVariations,
} from '../../src/cli/parse/targeting';

const NOW = '2026-05-01T00:00:00.000Z';
const ctx: EditContext = { appId: 1, stream: 's', nowIso: NOW, otherAppIds: new Map(), allocateId: () => 99 };

describe('split syntax', () => {
  it('takes thousandths of a percent or percentages', () => {
    expect(parseSplit('0:50000,1:50000')).toEqual([
      { variation: 0, weight: 50000 },
      { variation: 1, weight: 50000 },
    ]);
    expect(parseSplit(' 0:33.333%, 1:33.333% ,2:33.334%')).toEqual([
      { variation: 0, weight: 33333 },
      { variation: 1, weight: 33333 },
      { variation: 2, weight: 33334 },
    ]);
    expect(parseSplit('2:100%')).toEqual([{ variation: 2, weight: 100000 }]);
  });

  it('refuses bad entries, fractions of a thousandth, and sums other than 100 %', () => {
    for (const bad of ['', '0', '0:', 'a:50%', '0:50%;1:50%', '-1:100%', '0:50.5,1:49999.5', '0:33.3333%,1:66.6667%']) {
      expect(() => parseSplit(bad)).toThrow(CliError);
    }
    expect(() => parseSplit('0:60%,1:50%')).toThrow(/add up to 110 % \(110000\)/);
  });

  it('builds the fallthrough: one variation, or a split by key or another attribute', () => {
    expect(parseFallthrough({ fallthrough: '1' })).toEqual({ variation: 1 });
    expect(parseFallthrough({ fallthroughSplit: '0:50%,1:50%', bucketBy: 'account' })).toMatchObject({
      bucket_by: 'account',
    });
    expect(parseFallthrough({ fallthroughSplit: '0:50%,1:50%', bucketBy: 'key' })).not.toHaveProperty('bucket_by');
    expect(parseFallthrough({})).toBeUndefined();
    expect(() => parseFallthrough({ fallthrough: '1', fallthroughSplit: '1:100%' })).toThrow(/not both/);
    expect(() => parseFallthrough({ bucketBy: 'account' })).toThrow(/--fallthrough-split/);
  });
});

describe('targets, variations and contexts on the command line', () => {
  it('reads index:keys', () => {
    expect(parseTargetAssignment('2:qa-1, qa-2,,qa-1')).toEqual({ variation: 2, keys: ['qa-1', 'qa-2'] });
    for (const bad of ['qa-1', ':qa-1', '2:', 'x:qa']) expect(() => parseTargetAssignment(bad)).toThrow(CliError);
  });

  it('reads variations as a JSON array', () => {
    expect(parseVariations('["a",{"b":1},3]')).toEqual(['a', { b: 1 }, 3]);
    expect(() => parseVariations('{"a":1}')).toThrow(/JSON array/);
    expect(() => parseVariations('[a]')).toThrow(CliError);
  });

  it('reads a context object or a JSON string, naming a bad attribute', () => {
    expect(parseContext('{"key":"u","country":"NL","tags":["a",1],"n":null}')).toEqual({
      key: 'u',
      country: 'NL',
      tags: ['a', 1],
      n: null,
    });
    expect(parseContext('"u"')).toBe('u');
    expect(() => parseContext('{"key":1}')).toThrow(/attribute "key"/);
    expect(() => parseContext('{"key":"u","plan":{"a":1}}')).toThrow(/attribute "plan"/);
    expect(() => parseContext('[1]')).toThrow(CliError);
  });
});

describe('targeting edits', () => {
  const typed = {
    ...newWireFlag(1, 1, { title: 'p' }, NOW),
    variations: ['a', 'b', 'c'],
    off_variation: 0,
    fallthrough: { variation: 1 },
    targets: [{ variation: 2, values: ['x', 'y'] }],
    rules: [{ id: 'r', clauses: [{ attribute: 'k', op: 'in', values: [1] }], serve: { variation: 2 }, note: 'kept' }],
  };

  it('moves a key pinned elsewhere, removes emptied targets, keeps the rest', () => {
    const moved = changeTargetsEdit('p', { add: [{ variation: 1, keys: ['x'] }] })([typed], ctx).flag;
    expect(moved?.targets).toEqual([
      { variation: 2, values: ['y'] },
      { variation: 1, values: ['x'] },
    ]);
    expect(moved?.rules).toBe(typed.rules);
    const emptied = changeTargetsEdit('p', { remove: ['x', 'y'] })([typed], ctx).flag;
    expect(emptied).not.toHaveProperty('targets');
  });

  it('validates the flag whole: an index out of range after new variations names the field', () => {
    expect(() => setVariationsEdit('p', { variations: ['a', 'b'] })([typed], ctx)).toThrow(InvalidFlagValueError);
    expect(() => setVariationsEdit('p', { variations: ['a', 'b'] })([typed], ctx)).toThrow(
      /field "targets\[0\]\.variation"/,
    );
    expect(() => setRulesEdit('p', [{ id: 'r', clauses: [], serve: { variation: 0 } }])([typed], ctx)).toThrow(
      /field "rules\[0\]\.clauses"/,
    );
  });

  it('clears the targeting, and an empty rules array removes the rules', () => {
    const plain = clearTargetingEdit('p')([typed], ctx).flag;
    for (const field of ['variations', 'off_variation', 'targets', 'rules', 'fallthrough']) {
      expect(plain).not.toHaveProperty(field);
    }
    expect(setRulesEdit('p', [])([typed], ctx).flag).not.toHaveProperty('rules');
  });

  it('prints the targeting readably and in short', () => {
    expect(targetingLines(typed)).toEqual([
      'targeting:',
      '  variations:',
      '    0: "a"',
      '    1: "b"',
      '    2: "c"',
      '  off variation: 0 ("a")',
      '  targets:',
      '    2 ("c") ← x, y',
      '  rules (first match serves):',
      '    [0] "r": if k in [1]',
      '        serve 2 ("c")',
      '  fallthrough: 1 ("b")',
    ]);
    expect(targetingSummary(typed)).toBe('3 variations, 1 target, 1 rule');
    expect(targetingLines(newWireFlag(1, 2, { title: 'q' }, NOW))).toEqual([]);
  });
});

describe('republishing around invalid flags', () => {
  it('keeps invalid flags in their positions, puts a fixed one in its place, new flags last', () => {
    const a = newWireFlag(1, 1, { title: 'a' }, NOW);
    const c = newWireFlag(1, 3, { title: 'c' }, NOW);
    const bad = { index: 1, id: 2, title: '', raw: { id: 2 }, json: '{ "id": 2 }', issues: [] };
    const decoded: DecodedRuleset = { flags: [a, c], invalid: [bad], slots: [{ id: 1 }, { invalid: bad }, { id: 3 }] };
    const d = newWireFlag(1, 4, { title: 'd' }, NOW);
    const kept = mergeInvalid(decoded, { flags: [c, a, d], changed: true });
    expect(kept?.text).toBe(`[${JSON.stringify(a)},{ "id": 2 },${JSON.stringify(c)},${JSON.stringify(d)}]`);
    const b = newWireFlag(1, 2, { title: 'b' }, NOW);
    const fixed = mergeInvalid(decoded, { flags: [a, c, b], changed: true, flag: b, fixed: 1 });
    expect(fixed?.flags.map((f) => f.title)).toEqual(['a', 'b', 'c']);
    const dropped = mergeInvalid(decoded, { flags: [a, c], changed: true, dropped: 1 });
    expect(dropped?.text).toBe(`[${JSON.stringify(a)},${JSON.stringify(c)}]`);
    expect(
      mergeInvalid({ ...decoded, invalid: [], slots: [{ id: 1 }, { id: 3 }] }, { flags: [a], changed: true }),
    ).toBeUndefined();
  });
});

describe('watch', () => {
  it('says which flags SDKs leave out of a ruleset', () => {
    const a = newWireFlag(1, 1, { title: 'a' }, NOW);
    const lines = watchLines({
      appId: 1,
      subject: 'apps.1.update.manual',
      sequence: 7,
      time: new Date(2026, 0, 1, 12, 0, 5),
      initial: true,
      flags: [a],
      invalidFlags: [{ index: 1, id: 2, field: 'title', message: 'must be a non-empty string, got ""' }],
      error: undefined,
      diff: { added: [a], removed: [], changed: [] },
    });
    expect(lines).toEqual([
      '12:00:05 #7 manual  current ruleset: 1 flag: "a"',
      '12:00:05 #7 manual  ! left out by SDKs: flag #1 (id 2) field "title": must be a non-empty string, got ""',
    ]);
  });
});
