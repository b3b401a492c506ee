import { isWildcardAppSubject, newStreamConfig } from '../../src/admin/stream';
import { initialStreamSubjects } from '../../src/nats/subjects';

describe('new stream subjects', () => {
  test("literal (default): an app's two subjects, app 1 unless given, then Tower's control subjects", () => {
    const control = ['circuit_open', 'circuit_close', 'circuit_recovery_start', 'circuit_recovery_update'];
    expect(initialStreamSubjects('literal')).toEqual(['apps.1.update.manual', 'apps.1.update.circuit', ...control]);
    expect(initialStreamSubjects('literal', 7)).toEqual(['apps.7.update.manual', 'apps.7.update.circuit', ...control]);
    expect(newStreamConfig('s').subjects).toEqual(initialStreamSubjects('literal'));
  });

  test('wildcard: apps.*.update.* alone', () => {
    expect(initialStreamSubjects('wildcard', 7)).toEqual(['apps.*.update.*']);
    expect(newStreamConfig('s', 'wildcard')).toMatchObject({ subjects: ['apps.*.update.*'], max_age: 0 });
  });
});

describe('isWildcardAppSubject (what Tower cannot append literal app subjects next to)', () => {
  test.each([
    ['apps.*.update.*', true],
    ['apps.*.update.manual', true],
    ['apps.>', true],
    ['>', true],
    ['apps.7.>', true],
    ['*.*.*.*', true],
    ['apps.7.update.manual', false],
    ['circuit_open', false],
    ['orders.*', false],
    ['apps.*.other', false],
  ])('%s: %s', (pattern, expected) => {
    expect(isWildcardAppSubject(pattern)).toBe(expected);
  });
});
