import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FlagManager, InvalidOptionError, InvalidRulesetError, type UpdateEvent } from '../../src/index';
import { RecordingLogger, wireFlag } from '../support/flags';

const U1 = '375d39e6-9c3f-4f58-80bd-e5960b710295';
const U2 = 'fbe6133c-f751-46f4-b275-4e8c3aa22e24';

const RULESET = [
  wireFlag({ id: 1, title: 'App 1 Flag 1', rollout_percentage: 12.019, white_listed_users: U2 }),
  wireFlag({ id: 2, title: 'off', is_active: false }),
  wireFlag({ id: 3, title: 'everyone', rollout_percentage: 100 }),
];

const managers: FlagManager[] = [];
function offline(extra: Record<string, unknown> = {}): { manager: FlagManager; logger: RecordingLogger } {
  const logger = new RecordingLogger();
  const manager = new FlagManager({ appId: 1, offline: true, bootstrap: RULESET, logger, ...extra });
  managers.push(manager);
  return { manager, logger };
}

/** Temp folders of the test, removed after it (nothing is left in the temp dir). */
const tempDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tailslide-bootstrap-'));
  tempDirs.push(dir);
  return dir;
}

afterEach(async () => {
  await Promise.all(managers.splice(0).map((m) => m.disconnect()));
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('FlagManager offline', () => {
  test('before initialize() every flag is false with reason NOT_READY', () => {
    const { manager } = offline();
    expect(manager.initialized).toBe(false);
    expect(manager.newToggler({ flagName: 'everyone' }).isFlagActive(U1)).toBe(false);
    expect(manager.evaluate('everyone', U1)).toMatchObject({ value: false, reason: 'NOT_READY' });
  });

  test('serves the bootstrap ruleset: off, whitelist, rollout, full rollout', async () => {
    const { manager } = offline();
    await manager.initialize();
    expect(manager.initialized).toBe(true);
    expect(manager.state).toBe('ready');
    expect(manager.evaluate('off', U1)).toMatchObject({ value: false, reason: 'FLAG_OFF', flagId: 2 });
    expect(manager.evaluate('App 1 Flag 1', U2)).toMatchObject({
      value: true,
      reason: 'WHITELISTED',
      flagId: 1,
      variant: 'on',
    });
    expect(manager.evaluate('App 1 Flag 1', U1)).toMatchObject({ value: true, reason: 'ROLLOUT_IN' });
    expect(manager.evaluate('App 1 Flag 1', 'user-1')).toMatchObject({
      value: false,
      reason: 'ROLLOUT_OUT',
      variant: 'off',
    });
    expect(manager.evaluate('everyone')).toMatchObject({ value: true, reason: 'FULL_ROLLOUT', userContext: '' });
  });

  test('an unknown flag does not throw: false with FLAG_NOT_FOUND, warned once per flag', async () => {
    const { manager, logger } = offline();
    await manager.initialize();
    const toggler = manager.newToggler({ flagName: 'nope' });
    for (let i = 0; i < 5; i++) expect(toggler.isFlagActive(U1)).toBe(false);
    expect(toggler.evaluate(U1)).toMatchObject({ value: false, reason: 'FLAG_NOT_FOUND', flagId: undefined });
    expect(logger.matching('warn', /unknown flag "nope"/)).toHaveLength(1);
  });

  test('togglers follow the manager user context unless one is passed per call', async () => {
    const { manager } = offline({ userContext: U2 });
    await manager.initialize();
    const toggler = manager.newToggler({ flagName: 'App 1 Flag 1' });
    expect(toggler.evaluate().reason).toBe('WHITELISTED');
    manager.setUserContext('user-1');
    expect(manager.getUserContext()).toBe('user-1');
    expect(toggler.evaluate().reason).toBe('ROLLOUT_OUT');
    expect(toggler.evaluate(U1).reason).toBe('ROLLOUT_IN');
    expect(toggler.isFlagActive(U2)).toBe(true);
  });

  test('setRuleset swaps the ruleset with an update event naming the changed flags; togglers follow', async () => {
    const { manager } = offline();
    await manager.initialize();
    const toggler = manager.newToggler({ flagName: 'later' });
    expect(toggler.evaluate(U1).reason).toBe('FLAG_NOT_FOUND');
    const updates: UpdateEvent[] = [];
    manager.on('update', (event) => updates.push(event));
    manager.setRuleset([
      ...RULESET.slice(0, 2),
      wireFlag({ id: 3, title: 'everyone', is_active: false }),
      wireFlag({ id: 4, title: 'later' }),
    ]);
    expect(updates).toHaveLength(1);
    expect([...(updates[0]?.changed ?? [])].sort()).toEqual(['everyone', 'later']);
    expect(toggler.isFlagActive(U1)).toBe(true);
    expect(manager.evaluate('everyone', U1).reason).toBe('FLAG_OFF');
    manager.setRuleset(RULESET.slice(0, 1));
    expect([...(updates[1]?.changed ?? [])].sort()).toEqual(['everyone', 'later', 'off']);
  });

  test('an invalid setRuleset throws naming flag and field, and the last good ruleset stays', async () => {
    const { manager } = offline();
    await manager.initialize();
    expect(() => manager.setRuleset([wireFlag({ id: 9, title: 'bad', rollout_percentage: 250 })])).toThrow(
      /flag #0 "bad" field "rollout_percentage": must be a number from 0 to 100, got 250/,
    );
    expect(() => manager.setRuleset([wireFlag({ id: 9, title: 'bad', rollout_percentage: 250 })])).toThrow(
      InvalidRulesetError,
    );
    expect(manager.getFlags().map((f) => f.title)).toEqual(['App 1 Flag 1', 'off', 'everyone']);
  });

  test('evaluateAll returns every flag; getFlags is frozen camelCase', async () => {
    const { manager } = offline();
    await manager.initialize();
    const all = manager.evaluateAll(U1);
    expect(Object.keys(all)).toEqual(['App 1 Flag 1', 'off', 'everyone']);
    expect(all.everyone).toMatchObject({ value: true, reason: 'FULL_ROLLOUT', userContext: U1 });
    const flags = manager.getFlags();
    expect(Object.isFrozen(flags)).toBe(true);
    expect(flags[0]).toMatchObject({ id: 1, appId: 1, rolloutPercentage: 12.019, whiteListedUsers: [U2] });
    expect(manager.getFlag('off')?.isActive).toBe(false);
  });

  test('bootstrap from a JSON file', async () => {
    const dir = tempDir();
    const file = join(dir, 'flags.json');
    writeFileSync(file, JSON.stringify(RULESET));
    const { manager } = offline({ bootstrap: file });
    await manager.initialize();
    expect(manager.evaluate('everyone', U1).value).toBe(true);
  });

  test('a missing bootstrap file rejects initialize() naming the option and the path', async () => {
    const { manager } = offline({ bootstrap: '/nonexistent/flags.json' });
    await expect(manager.initialize()).rejects.toThrow(InvalidOptionError);
    await expect(manager.initialize()).rejects.toThrow(/"bootstrap": "\/nonexistent\/flags.json".*ENOENT/);
    expect(manager.state).toBe('failed');
  });

  test('a bootstrap file over cacheFileMaxBytes rejects initialize() naming the cap and the size', async () => {
    const dir = tempDir();
    const file = join(dir, 'flags.json');
    writeFileSync(file, JSON.stringify(RULESET));
    const bytes = Buffer.byteLength(JSON.stringify(RULESET));
    const { manager } = offline({ bootstrap: file, cacheFileMaxBytes: bytes - 1 });
    await expect(manager.initialize()).rejects.toThrow(
      new RegExp(
        `"bootstrap": ".*flags\\.json" \\(expected a JSON file within the size cap cacheFileMaxBytes = ` +
          `${(bytes - 1).toLocaleString('en-US')} bytes \\([\\d.]+ KiB\\); it is ${bytes.toLocaleString('en-US')} bytes`,
      ),
    );
    const exact = offline({ bootstrap: file, cacheFileMaxBytes: bytes });
    await exact.manager.initialize();
    expect(exact.manager.evaluate('everyone', U1).value).toBe(true);
  });

  test('an invalid bootstrap file rejects initialize() naming the flag and the field', async () => {
    const dir = tempDir();
    const file = join(dir, 'flags.json');
    writeFileSync(file, JSON.stringify([wireFlag({ id: 1, title: 'x', is_active: 'yes' })]));
    const { manager } = offline({ bootstrap: file });
    await expect(manager.initialize()).rejects.toThrow(
      /bootstrap file .*flags.json: flag #0 "x" field "is_active": must be true or false, got "yes"/,
    );
  });

  test('a listener that throws neither breaks the manager nor the other listeners', async () => {
    const { manager, logger } = offline();
    await manager.initialize();
    const seen: number[] = [];
    manager.on('update', () => {
      throw new Error('listener bug');
    });
    manager.on('update', (event) => seen.push(event.sequence));
    manager.setRuleset(RULESET.slice(0, 1));
    expect(seen).toHaveLength(1);
    expect(logger.matching('error', /listener of "update" threw: listener bug/)).toHaveLength(1);
  });

  test('disconnect() is idempotent and flags keep evaluating from the last ruleset', async () => {
    const { manager } = offline();
    await manager.initialize();
    await Promise.all([manager.disconnect(), manager.disconnect()]);
    await manager.disconnect();
    expect(manager.state).toBe('closed');
    expect(manager.evaluate('everyone', U1).value).toBe(true);
    expect(await manager.waitForInitialization(10)).toBe(true);
    await expect(new FlagManager({ appId: 1, offline: true, bootstrap: [] }).disconnect()).resolves.toBeUndefined();
  });

  test('waitForInitialization resolves false after its timeout when nothing arrives', async () => {
    const { manager } = offline();
    expect(await manager.waitForInitialization(20)).toBe(false);
    await manager.initialize();
    expect(await manager.waitForInitialization(20)).toBe(true);
  });

  test('tailslide-md5 hashing mode evaluates with the legacy buckets', async () => {
    const { manager } = offline({
      hashing: 'tailslide-md5',
      bootstrap: [wireFlag({ id: 1, title: 'legacy', rollout_percentage: 28 })],
    });
    await manager.initialize();
    expect(manager.evaluate('legacy', U1).reason).toBe('ROLLOUT_IN'); // md5 bucket 28 ≤ 28
    expect(manager.evaluate('legacy', 'dfcc8acc-8b99-42f7-b63d-b7c51268f2c4').reason).toBe('ROLLOUT_OUT'); // 73
  });

  test('newToggler with no flag name is a programmer error with a clear message', () => {
    const { manager } = offline();
    expect(() => manager.newToggler({ flagName: '' })).toThrow(/Invalid option "flagName": ""/);
  });
});
