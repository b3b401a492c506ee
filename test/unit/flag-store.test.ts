import { FlagStore, sameFlag } from '../../src/flag-store';
import { parseRuleset } from '../../src/ruleset/parse';
import type { Flag } from '../../src/ruleset/types';
import { wireFlag } from '../support/flags';

function flags(...items: Record<string, unknown>[]): readonly Flag[] {
  const result = parseRuleset(items, 'test');
  if (!result.ok) throw result.error;
  return result.flags;
}

describe('FlagStore.replace', () => {
  test('the first ruleset reports every flag as changed', () => {
    const store = new FlagStore();
    expect(store.replace(flags(wireFlag({ id: 1, title: 'a' }), wireFlag({ id: 2, title: 'b' })))).toEqual(['a', 'b']);
    expect(store.hasRuleset).toBe(true);
  });

  test('reports added, removed and changed flags, and nothing for an identical ruleset', () => {
    const store = new FlagStore();
    const a = wireFlag({ id: 1, title: 'a' });
    const b = wireFlag({ id: 2, title: 'b', white_listed_users: 'u1,u2' });
    store.replace(flags(a, b));
    expect(store.replace(flags(a, b))).toEqual([]);
    expect(store.replace(flags(a, { ...b, white_listed_users: 'u1,u3' }))).toEqual(['b']);
    expect(store.replace(flags({ ...a, rollout_percentage: 5 }, wireFlag({ id: 3, title: 'c' })))).toEqual([
      'a',
      'c',
      'b',
    ]);
  });

  test('an unchanged flag keeps its compiled form; a changed one is compiled anew', () => {
    const store = new FlagStore();
    const a = wireFlag({ id: 1, title: 'a' });
    const b = wireFlag({ id: 2, title: 'b' });
    store.replace(flags(a, b));
    const [compiledA, compiledB] = [store.get('a'), store.get('b')];
    store.replace(flags(a, { ...b, rollout_percentage: 7 }));
    expect(store.get('a')).toBe(compiledA);
    expect(store.get('b')).not.toBe(compiledB);
    expect(store.get('b')?.flag.rolloutPercentage).toBe(7);
    expect(store.all().map((f) => f.title)).toEqual(['a', 'b']);
  });

  test('sameFlag compares every field, the whitelist and unknown extra fields', () => {
    const [base] = flags(wireFlag({ id: 1, title: 'a', owner: 'x' }));
    const variants: Record<string, unknown>[] = [
      { description: 'd' },
      { is_active: false },
      { rollout_percentage: 1 },
      { error_threshold_percentage: 1 },
      { circuit_status: 'open' },
      { is_recoverable: true },
      { circuit_recovery_percentage: 1 },
      { circuit_recovery_delay: 1 },
      { circuit_initial_recovery_percentage: 1 },
      { circuit_recovery_rate: 1 },
      { circuit_recovery_increment_percentage: 1 },
      { circuit_recovery_profile: 'exponential' },
      { webhooks: 'w' },
      { created_at: 'c' },
      { updated_at: 'u' },
      { white_listed_users: 'someone' },
      { owner: 'y' },
      { id: 2 },
      { app_id: 2 },
    ];
    for (const patch of variants) {
      const [other] = flags({ ...wireFlag({ id: 1, title: 'a', owner: 'x' }), ...patch });
      expect([patch, sameFlag(base as Flag, other as Flag)]).toEqual([patch, false]);
    }
    const [same] = flags(wireFlag({ id: 1, title: 'a', owner: 'x' }));
    expect(sameFlag(base as Flag, same as Flag)).toBe(true);
  });
});
