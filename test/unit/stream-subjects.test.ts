import { appFilter, appSubjects, describeSubjects, streamCoversApp, subjectMatches } from '../../src/nats/subjects';

describe('subjectMatches (NATS wildcards)', () => {
  test.each([
    ['apps.1.update.manual', 'apps.1.update.manual', true],
    ['apps.1.update.manual', 'apps.1.update.circuit', false],
    ['apps.1.update.manual', 'apps.1.update', false],
    ['apps.1.update', 'apps.1.update.manual', false],
    ['apps.*.update.*', 'apps.7.update.manual', true],
    ['apps.*.update.*', 'apps.7.update.circuit', true],
    ['apps.*.update.*', 'apps.7.update', false],
    ['apps.*.update.*', 'apps.7.update.manual.x', false],
    ['apps.*.update.*', 'apps.7.other.manual', false],
    ['apps.*', 'apps.7', true],
    ['apps.*', 'apps.7.update.manual', false],
    ['apps.>', 'apps.7.update.manual', true],
    ['apps.>', 'apps', false],
    ['apps.7.>', 'apps.7.update.manual', true],
    ['apps.7.>', 'apps.70.update.manual', false],
    ['apps.7.update.>', 'apps.7.update.circuit', true],
    ['>', 'apps.7.update.manual', true],
    ['>', 'x', true],
    ['*', 'x', true],
    ['*', 'x.y', false],
    ['*.*.*.*', 'apps.7.update.manual', true],
    ['*.7.*.manual', 'apps.7.update.manual', true],
    ['apps.1.update.manual', 'apps.11.update.manual', false],
    ['apps.>.x', 'apps.y.x', false],
  ])('%s matches %s: %s', (pattern, subject, expected) => {
    expect(subjectMatches(pattern, subject)).toBe(expected);
  });

  test('empty tokens never match', () => {
    expect(subjectMatches('apps.*.update.*', 'apps..update.manual')).toBe(false);
    expect(subjectMatches('apps.>', 'apps.')).toBe(false);
  });
});

describe('streamCoversApp', () => {
  test.each<[string, string[], number, boolean]>([
    ["Tower's literal subjects of the app", ['apps.1.update.manual', 'apps.1.update.circuit'], 1, true],
    ['only the manual subject so far', ['apps.1.update.manual'], 1, true],
    ['only the circuit subject', ['apps.1.update.circuit'], 1, true],
    ['literal subjects of other apps only', ['apps.1.update.manual', 'apps.2.update.manual'], 7, false],
    ['a longer app id is another app', ['apps.17.update.manual', 'apps.71.update.circuit'], 7, false],
    ['a shorter app id is another app', ['apps.1.update.manual'], 11, false],
    ["our tooling's wildcard", ['apps.*.update.*'], 7, true],
    ['apps.>', ['apps.>'], 7, true],
    ['everything', ['>'], 7, true],
    ['the app subtree', ['apps.7.>'], 7, true],
    ['another app subtree', ['apps.8.>'], 7, false],
    ['other subjects only', ['orders.*', 'apps.7'], 7, false],
    ['wildcard of one kind', ['apps.*.update.circuit'], 7, true],
    ['wrong depth', ['apps.*.*'], 7, false],
    ['no subjects', [], 7, false],
  ])('%s', (_label, subjects, appId, expected) => {
    expect(streamCoversApp(subjects, appId)).toBe(expected);
  });
});

describe('app subjects', () => {
  test('the two subjects of an app and its consumer filter', () => {
    expect(appSubjects(7)).toEqual(['apps.7.update.manual', 'apps.7.update.circuit']);
    expect(appFilter(7)).toBe('apps.7.update.*');
    for (const subject of appSubjects(7)) expect(subjectMatches(appFilter(7), subject)).toBe(true);
    expect(subjectMatches(appFilter(7), 'apps.70.update.manual')).toBe(false);
  });

  test('describeSubjects keeps messages short', () => {
    expect(describeSubjects([])).toBe('no subjects');
    expect(describeSubjects(['a', 'b'])).toBe('a, b');
    expect(describeSubjects(['a', 'b', 'c', 'd', 'e', 'f', 'g'])).toBe('a, b, c, d, e and 2 more');
  });
});
