/**
 * TestData as users plug it into their own tests: `source: td.factory()`.
 */
import {
  FlagManager,
  InvalidOptionError,
  InvalidRulesetError,
  TestData,
  type FlagManagerOptions,
  type UpdateEvent,
} from '../../src/index';
import { RecordingLogger } from '../support/flags';

const managers: FlagManager[] = [];
afterEach(async () => {
  await Promise.all(managers.splice(0).map((m) => m.disconnect()));
});

function managerOf(td: TestData, extra: Partial<FlagManagerOptions> = {}): FlagManager {
  const manager = new FlagManager({
    appId: 1,
    source: td.factory(),
    signalBackend: 'off',
    logger: new RecordingLogger(),
    ...extra,
  });
  managers.push(manager);
  return manager;
}

describe('TestData', () => {
  test('a manager on it is ready at once, with its flags (none yet)', async () => {
    const td = new TestData();
    const manager = managerOf(td);
    await manager.initialize();
    expect(manager.state).toBe('ready');
    expect(manager.getFlags()).toEqual([]);
    expect(manager.evaluate('new-checkout')).toMatchObject({ value: false, reason: 'FLAG_NOT_FOUND', source: 'test' });
  });

  test('set(): on, off, and fields; each change is an update event like a JetStream one', async () => {
    const td = new TestData();
    const manager = managerOf(td);
    await manager.initialize();
    const updates: UpdateEvent[] = [];
    manager.on('update', (event) => updates.push(event));

    td.set('new-checkout', true);
    expect(manager.evaluate('new-checkout', 'anyone')).toMatchObject({ value: true, reason: 'FULL_ROLLOUT' });
    td.set('new-checkout', false);
    expect(manager.evaluate('new-checkout', 'anyone')).toMatchObject({ value: false, reason: 'FLAG_OFF' });
    td.set('beta', { rolloutPercentage: 0, whiteListedUsers: ['alice', 'bob'] });
    expect(manager.evaluate('beta', 'alice')).toMatchObject({ value: true, reason: 'WHITELISTED' });
    expect(manager.evaluate('beta', 'carol')).toMatchObject({ value: false, reason: 'ROLLOUT_OUT' });

    expect(updates.map((u) => [u.changed, u.flagCount, u.subject, u.source])).toEqual([
      [['new-checkout'], 1, 'test-data', 'test'],
      [['new-checkout'], 1, 'test-data', 'test'],
      [['beta'], 2, 'test-data', 'test'],
    ]);
    const sequences = updates.map((u) => u.sequence);
    expect(sequences).toEqual([...sequences].sort((a, b) => a - b));
    expect(new Set(sequences).size).toBe(3);
  });

  test('ids are given once per title and kept; remove() and clear()', async () => {
    const td = new TestData();
    const manager = managerOf(td);
    await manager.initialize();
    td.set('a', true).set('b', true).set('a', { rolloutPercentage: 50 });
    expect(manager.getFlags().map((f) => [f.title, f.id])).toEqual([
      ['a', 1],
      ['b', 2],
    ]);
    td.remove('a');
    expect(manager.evaluate('a').reason).toBe('FLAG_NOT_FOUND');
    td.set('a', true);
    expect(manager.getFlag('a')?.id).toBe(1);
    td.clear();
    expect(manager.getFlags()).toEqual([]);
  });

  test('setRuleset() takes the wire format; set() afterwards keeps clear of its ids', async () => {
    const td = new TestData();
    const manager = managerOf(td);
    await manager.initialize();
    td.setRuleset([{ id: 1, title: 'tower', is_active: true, rollout_percentage: 100, circuit_status: 'open' }]);
    expect(manager.getFlag('tower')).toMatchObject({ id: 1, circuitStatus: 'open', appId: 1 });
    td.set('mine', true);
    expect(manager.getFlag('mine')?.id).toBe(2);
    expect(td.flags().map((f) => f.title)).toEqual(['tower', 'mine']);
  });

  test('a bad flag throws naming the field, and nothing changes', async () => {
    const td = new TestData();
    const manager = managerOf(td);
    await manager.initialize();
    td.set('ok', true);
    expect(() => td.set('bad', { rolloutPercentage: 250 })).toThrow(InvalidRulesetError);
    expect(() => td.set('bad', { rolloutPercentage: 250 })).toThrow(/"bad" field "rollout_percentage"/);
    expect(() => td.set('', true)).toThrow(InvalidOptionError);
    expect(() => td.set('x', { rollout: 5 } as never)).toThrow(/Invalid option "rollout"/);
    expect(manager.getFlags().map((f) => f.title)).toEqual(['ok']);
  });

  test('flags set before the manager starts are there at initialize(); managers share one TestData', async () => {
    const td = new TestData().set('early', true);
    const one = managerOf(td);
    const two = managerOf(td, { appId: 2 });
    await Promise.all([one.initialize(), two.initialize()]);
    expect(one.evaluate('early').value).toBe(true);
    expect(two.getFlag('early')?.appId).toBe(2);
    td.set('late', true);
    expect([one.evaluate('late').value, two.evaluate('late').value]).toEqual([true, true]);
  });

  test('a disconnected manager no longer follows it', async () => {
    const td = new TestData();
    const manager = managerOf(td);
    await manager.initialize();
    await manager.disconnect();
    td.set('after', true);
    expect(manager.evaluate('after').reason).toBe('FLAG_NOT_FOUND');
  });

  test('simulateOutage()/endOutage(): stale and reconnected, flags kept', async () => {
    const td = new TestData().set('a', true);
    const manager = managerOf(td);
    await manager.initialize();
    const events: string[] = [];
    manager.on('stale', ({ reason }) => events.push(`stale: ${reason}`));
    manager.on('reconnected', () => events.push('reconnected'));
    td.simulateOutage('lab outage');
    expect(manager.state).toBe('stale');
    expect(manager.evaluate('a').value).toBe(true);
    td.endOutage();
    expect(manager.state).toBe('ready');
    expect(events).toEqual(['stale: lab outage', 'reconnected']);
  });

  test('an offline manager: source "bootstrap", then "test" after setRuleset', async () => {
    const manager = new FlagManager({
      appId: 1,
      offline: true,
      bootstrap: [{ id: 1, title: 'a', is_active: true, rollout_percentage: 100 }],
      logger: new RecordingLogger(),
    });
    managers.push(manager);
    await manager.initialize();
    expect(manager.evaluate('a').source).toBe('bootstrap');
    const updates: UpdateEvent[] = [];
    manager.on('update', (event) => updates.push(event));
    manager.setRuleset([{ id: 1, title: 'a', is_active: false, rollout_percentage: 100 }]);
    expect(manager.evaluate('a')).toMatchObject({ value: false, source: 'test' });
    expect(updates.map((u) => [u.subject, u.source])).toEqual([['test-data', 'test']]);
  });

  test('setRuleset on the manager is for offline managers; the error points to TestData', async () => {
    const td = new TestData();
    const manager = managerOf(td);
    await manager.initialize();
    expect(() => manager.setRuleset([])).toThrow(/with other sources, use TestData/);
  });
});
