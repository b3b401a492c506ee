import {
  addWhitelistedUsersEdit,
  createFlagEdit,
  removeWhitelistedUsersEdit,
  setActiveEdit,
  updateFlagEdit,
  withNewFlagDefaults,
  type EditContext,
} from '../../src/admin/edits';
import { InvalidFlagValueError, UnknownAppError } from '../../src/admin/errors';
import { NEW_FLAG_DEFAULTS, newWireFlag } from '../../src/admin/fields';
import { appFilter, appIdOfSubject, subjectMatches } from '../../src/nats/subjects';
import { backoffMs } from '../../src/admin/writer';

const NOW = '2026-05-01T00:00:00.000Z';

function context(nextId = 10): EditContext {
  let id = nextId - 1;
  return { appId: 1, stream: 's', nowIso: NOW, otherAppIds: new Map(), allocateId: () => (id += 1) };
}

const base = [newWireFlag(1, 1, { title: 'a', white_listed_users: 'x,y' }, '2026-01-01T00:00:00.000Z')];

describe('pure edits', () => {
  it('an edit that changes nothing reports changed: false and keeps updated_at', () => {
    const result = setActiveEdit('a', false)(base, context());
    expect(result.changed).toBe(false);
    expect(result.flags).toBe(base);
  });

  it('whitelist edits keep order, skip duplicates, and trim', () => {
    const added = addWhitelistedUsersEdit('a', [' z ', 'x'])(base, context());
    expect(added.flag?.white_listed_users).toBe('x,y,z');
    expect(added.flag?.updated_at).toBe(NOW);
    const removed = removeWhitelistedUsersEdit('a', ['x'])(added.flags, context());
    expect(removed.flag?.white_listed_users).toBe('y,z');
  });

  it('a patched whitelist is normalized to the wire form', () => {
    expect(updateFlagEdit('a', { white_listed_users: ' p , q,,r ' })(base, context()).flag?.white_listed_users).toBe(
      'p,q,r',
    );
  });

  it('create takes the next id from the context and fills defaults', () => {
    const result = createFlagEdit({ title: 'b' })(base, context(42));
    expect(result.flag).toEqual({
      id: 42,
      app_id: 1,
      title: 'b',
      ...NEW_FLAG_DEFAULTS,
      created_at: NOW,
      updated_at: NOW,
    });
    expect(result.flags.map((f) => f.title)).toEqual(['a', 'b']);
  });

  it('create drops undefined fields instead of overwriting defaults with them', () => {
    const result = createFlagEdit({ title: 'b', description: undefined })(undefined, context());
    expect(result.flag?.description).toBe('');
  });

  it('create refuses a missing title, naming the field', () => {
    expect(() => createFlagEdit({} as never)(base, context())).toThrow(InvalidFlagValueError);
    expect(() => createFlagEdit({} as never)(base, context())).toThrow(/field "title" must be a non-empty string/);
  });

  it('edits of an app without a ruleset throw UnknownAppError', () => {
    expect(() => setActiveEdit('a', true)(undefined, context())).toThrow(UnknownAppError);
  });
});

describe('withNewFlagDefaults', () => {
  it('fills absent and null optional fields, leaves required ones and non-objects alone', () => {
    const [filled, other] = withNewFlagDefaults([{ id: 1, title: 't', description: null }, 5]) as [
      Record<string, unknown>,
      unknown,
    ];
    expect(filled).toMatchObject({
      id: 1,
      title: 't',
      description: '',
      circuit_status: 'close',
      circuit_recovery_delay: NEW_FLAG_DEFAULTS.circuit_recovery_delay,
    });
    expect(filled).not.toHaveProperty('is_active');
    expect(filled).not.toHaveProperty('rollout_percentage');
    expect(other).toBe(5);
    expect(withNewFlagDefaults({ a: 1 })).toEqual({ a: 1 });
  });
});

describe('subjects', () => {
  it.each<[string, string, boolean]>([
    ['apps.*.update.*', 'apps.7.update.manual', true],
    ['apps.*.update.*', 'apps.7.update', false],
    ['apps.7.update.manual', 'apps.7.update.manual', true],
    ['apps.7.update.manual', 'apps.7.update.circuit', false],
    ['apps.>', 'apps.7.update.circuit', true],
    ['>', 'apps.7.update.circuit', true],
    ['apps.7.>', 'apps.7', false],
  ])('%s covers %s: %s', (pattern, subject, expected) => {
    expect(subjectMatches(pattern, subject)).toBe(expected);
  });

  it('reads app ids from subjects and filters on the app’s two subjects', () => {
    expect(appIdOfSubject('apps.12.update.circuit')).toBe(12);
    expect(appIdOfSubject('apps.12.update.other')).toBeUndefined();
    expect(appFilter(3)).toBe('apps.3.update.*');
  });
});

describe('backoffMs', () => {
  it('stays between half the base and the capped exponential ceiling', () => {
    expect(backoffMs(1, 20, 1000, () => 0)).toBe(10);
    expect(backoffMs(1, 20, 1000, () => 1)).toBe(20);
    expect(backoffMs(4, 20, 1000, () => 1)).toBe(160);
    expect(backoffMs(30, 20, 1000, () => 1)).toBe(1000);
  });
});
