import { updateFlagEdit, type EditContext } from '../../src/admin/edits';
import { FlagChangedError } from '../../src/admin/errors';
import { newWireFlag } from '../../src/admin/fields';

const context: EditContext = {
  appId: 1,
  stream: 's',
  nowIso: '2026-05-01T00:00:00.000Z',
  otherAppIds: new Map(),
  allocateId: () => 99,
};
const flags = [
  newWireFlag(1, 1, { title: 'a', rollout_percentage: 30, white_listed_users: 'x' }, '2026-01-01T00:00:00.000Z'),
];

describe('updateFlagEdit with expect (guarded edits of the dashboard)', () => {
  it('applies the patch while the flag still has the expected values', () => {
    const result = updateFlagEdit(
      'a',
      { rollout_percentage: 50 },
      { rollout_percentage: 30, white_listed_users: 'x' },
    )(flags, context);
    expect(result.changed).toBe(true);
    expect(result.flag?.rollout_percentage).toBe(50);
  });

  it('refuses it, with the current flag and the fields that differ, when they changed', () => {
    let error: unknown;
    try {
      updateFlagEdit('a', { rollout_percentage: 50 }, { rollout_percentage: 10, is_active: false })(flags, context);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(FlagChangedError);
    const changed = error as FlagChangedError;
    expect(changed.fields).toEqual(['rollout_percentage']);
    expect(changed.current.rollout_percentage).toBe(30);
    expect(changed.message).toMatch(
      /Flag "a" of app 1 was changed elsewhere \(rollout_percentage\); the edit was not applied/,
    );
    expect(changed.code).toBe('CONFLICT');
  });
});
