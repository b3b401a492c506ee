import { deepEqual, diffFlag, diffRulesets, isEmptyDiff } from '../../src/admin/diff';
import { NEW_FLAG_DEFAULTS, newWireFlag } from '../../src/admin/fields';
import type { WireFlag } from '../../src/ruleset/types';

const T0 = '2026-01-01T00:00:00.000Z';
const T1 = '2026-01-02T00:00:00.000Z';

function flag(id: number, title: string, fields: Partial<WireFlag> = {}): WireFlag {
  return { ...newWireFlag(1, id, { title }, T0), ...fields };
}

describe('diffRulesets', () => {
  it('reports nothing for equal rulesets', () => {
    const a = [flag(1, 'a'), flag(2, 'b')];
    const diff = diffRulesets(
      a,
      a.map((f) => ({ ...f })),
    );
    expect(isEmptyDiff(diff)).toBe(true);
  });

  it('reports flags added and removed, by id, in each ruleset order', () => {
    const diff = diffRulesets([flag(1, 'a'), flag(2, 'b')], [flag(2, 'b'), flag(4, 'd'), flag(3, 'c')]);
    expect(diff.added.map((f) => f.id)).toEqual([4, 3]);
    expect(diff.removed.map((f) => f.id)).toEqual([1]);
    expect(diff.changed).toEqual([]);
  });

  it('lists the changed fields of a flag in wire order with before and after', () => {
    const before = flag(1, 'a');
    const after = { ...before, updated_at: T1, rollout_percentage: 50, is_active: true };
    const diff = diffRulesets([before], [after]);
    expect(diff.added).toEqual([]);
    expect(diff.removed).toEqual([]);
    expect(diff.changed).toHaveLength(1);
    expect(diff.changed[0]?.fields).toEqual([
      { field: 'is_active', before: false, after: true },
      { field: 'rollout_percentage', before: 0, after: 50 },
      { field: 'updated_at', before: T0, after: T1 },
    ]);
  });

  it('shows a rename as a change of title on the same id, not as remove plus add', () => {
    const diff = diffRulesets([flag(7, 'old name')], [flag(7, 'new name')]);
    expect(diff.added).toEqual([]);
    expect(diff.removed).toEqual([]);
    expect(diff.changed[0]).toMatchObject({
      id: 7,
      title: 'new name',
      fields: [{ field: 'title', before: 'old name', after: 'new name' }],
    });
  });

  it('compares unknown extra fields deeply and lists them after the known fields, by name', () => {
    const before = flag(1, 'a', { zeta: { tags: ['x', 'y'] }, alpha: 1 });
    const same = flag(1, 'a', { alpha: 1, zeta: { tags: ['x', 'y'] } });
    expect(diffFlag(before, same)).toEqual([]);
    const after = flag(1, 'a', { description: 'now', zeta: { tags: ['x'] }, alpha: 2, added: true });
    expect(diffFlag(before, after).map((c) => c.field)).toEqual(['description', 'added', 'alpha', 'zeta']);
  });

  it('can ignore fields such as updated_at', () => {
    const before = flag(1, 'a');
    const diff = diffRulesets([before], [{ ...before, updated_at: T1 }], { ignoreFields: ['updated_at'] });
    expect(isEmptyDiff(diff)).toBe(true);
  });

  it('treats everything as added against an empty ruleset, and everything as removed when emptied', () => {
    const flags = [flag(1, 'a'), flag(2, 'b')];
    expect(diffRulesets([], flags).added).toHaveLength(2);
    expect(diffRulesets(flags, []).removed).toHaveLength(2);
  });

  it('survives duplicate ids (an invalid ruleset) by taking the first of each', () => {
    const diff = diffRulesets([flag(1, 'a'), flag(1, 'dup')], [flag(2, 'b'), flag(2, 'dup2')]);
    expect(diff.added.map((f) => f.title)).toEqual(['b']);
    expect(diff.removed.map((f) => f.title)).toEqual(['a']);
  });
});

describe('deepEqual', () => {
  it.each<[unknown, unknown, boolean]>([
    [1, 1, true],
    [1, '1', false],
    [NaN, NaN, true],
    [null, null, true],
    [null, {}, false],
    [[1, 2], [1, 2], true],
    [[1, 2], [2, 1], false],
    [{ a: 1, b: 2 }, { b: 2, a: 1 }, true],
    [{ a: 1 }, { a: 1, b: undefined }, true],
    [{ a: [] }, { a: {} }, false],
  ])('deepEqual(%j, %j) is %s', (a, b, expected) => {
    expect(deepEqual(a, b)).toBe(expected);
  });
});

describe('new flag defaults', () => {
  it('fill every wire field', () => {
    const f = newWireFlag(3, 9, { title: 'x' }, T0);
    expect(f).toEqual({ id: 9, app_id: 3, title: 'x', ...NEW_FLAG_DEFAULTS, created_at: T0, updated_at: T0 });
    expect(f.circuit_status).toBe('close');
    expect(f.is_active).toBe(false);
  });
});
