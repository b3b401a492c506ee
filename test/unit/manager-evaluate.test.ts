/**
 * Evaluation never throws, whatever a JavaScript caller passes, and wire data cannot reach a
 * prototype. Offline managers: no servers needed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FlagManager, type EvaluationDetail } from '../../src/index';
import { resolutionOf } from '../../src/openfeature/resolution';
import { RecordingLogger, wireFlag } from '../support/flags';

const U1 = '375d39e6-9c3f-4f58-80bd-e5960b710295';

const RULESET = [
  wireFlag({ id: 1, title: 'half', rollout_percentage: 50, white_listed_users: '42' }),
  wireFlag({ id: 2, title: 'everyone', rollout_percentage: 100 }),
  wireFlag({ id: 3, title: '__proto__', rollout_percentage: 100 }),
  wireFlag({ id: 4, title: 'constructor', is_active: false }),
  wireFlag({ id: 5, title: 'tripped', rollout_percentage: 100, circuit_status: 'open', white_listed_users: U1 }),
];

const managers: FlagManager[] = [];
async function offline(
  ruleset: unknown[] | string = RULESET,
): Promise<{ manager: FlagManager; logger: RecordingLogger }> {
  const logger = new RecordingLogger();
  const manager = new FlagManager({ appId: 1, offline: true, bootstrap: ruleset, logger });
  managers.push(manager);
  await manager.initialize();
  return { manager, logger };
}

afterEach(async () => {
  await Promise.all(managers.splice(0).map((m) => m.disconnect()));
});

/** Values a JavaScript caller can pass where a user context string belongs. */
function nastyContexts(): [string, unknown][] {
  const revoked = Proxy.revocable({}, {});
  revoked.revoke();
  return [
    ['Object.create(null)', Object.create(null)],
    [
      'an object whose toString throws',
      {
        toString(): string {
          throw new Error('toString exploded');
        },
      },
    ],
    [
      'an object whose Symbol.toPrimitive throws',
      {
        [Symbol.toPrimitive](): string {
          throw new Error('toPrimitive exploded');
        },
      },
    ],
    ['a revoked proxy', revoked.proxy],
    ['an array', [U1]],
    ['a symbol', Symbol('user')],
    ['a function', () => U1],
  ];
}

describe('evaluation never throws, for any user context', () => {
  test.each(nastyContexts())(
    '%s: evaluate, manager.evaluate, evaluateAll, isFlagActive and trackMetric return normally',
    async (_what, context) => {
      const { manager } = await offline();
      const nasty = context as string;
      const toggler = manager.newToggler({ flagName: 'half' });
      // Not usable as a context: evaluated as no context (partial rollout → NO_USER_CONTEXT).
      expect(toggler.evaluate(nasty)).toMatchObject({ value: false, reason: 'NO_USER_CONTEXT', userContext: '' });
      expect(manager.evaluate('half', nasty)).toMatchObject({ reason: 'NO_USER_CONTEXT', userContext: '' });
      expect(manager.evaluate('everyone', nasty)).toMatchObject({ value: true, reason: 'FULL_ROLLOUT' });
      expect(toggler.isFlagActive(nasty)).toBe(false);
      expect(manager.newToggler({ flagName: 'everyone' }).isFlagActive(nasty)).toBe(true);
      const all = manager.evaluateAll(nasty);
      expect(Object.keys(all)).toHaveLength(RULESET.length);
      expect(all.half?.reason).toBe('NO_USER_CONTEXT');
      expect(() => toggler.trackMetric('checkout_value', 3, nasty)).not.toThrow();
    },
  );

  test('numbers, booleans and bigints are taken as their text', async () => {
    const { manager } = await offline();
    expect(manager.evaluate('half', 42 as unknown as string)).toMatchObject({
      reason: 'WHITELISTED',
      userContext: '42',
    });
    expect(manager.evaluate('half', 42n as unknown as string).userContext).toBe('42');
    expect(manager.evaluate('half', true as unknown as string).userContext).toBe('true');
    expect(manager.newToggler({ flagName: 'half' }).isFlagActive(42 as unknown as string)).toBe(true);
  });

  test('undefined and null mean the default user context', async () => {
    const { manager } = await offline();
    manager.setUserContext('42');
    expect(manager.evaluate('half', null as unknown as string)).toMatchObject({ reason: 'WHITELISTED' });
    expect(manager.evaluate('half')).toMatchObject({ reason: 'WHITELISTED', userContext: '42' });
  });

  test('one warning per kind of value, not per call', async () => {
    const { manager, logger } = await offline();
    for (const [, context] of nastyContexts()) {
      for (let i = 0; i < 3; i++) {
        manager.evaluate('half', context as string);
        manager.newToggler({ flagName: 'half' }).isFlagActive(context as string);
      }
    }
    manager.evaluateAll(7 as unknown as string);
    manager.evaluate('half', 8 as unknown as string);
    const warnings = logger.matching('warn', /user context of type/);
    expect(warnings).toEqual([
      expect.stringMatching(/type object was passed; it cannot be used and is evaluated as no user context/),
      expect.stringMatching(/type symbol was passed; it cannot be used/),
      expect.stringMatching(/type function was passed; it cannot be used/),
      expect.stringMatching(/type number was passed; it is evaluated as its text/),
    ]);
    // The value itself (a user id, perhaps) is not logged.
    expect(warnings.join('\n')).not.toMatch(/\b7\b|\b8\b/);
  });

  test('a flag name that is not a string is a flag not found, not an exception', async () => {
    const { manager } = await offline();
    for (const [, name] of nastyContexts()) {
      expect(manager.evaluate(name as string, U1)).toMatchObject({ value: false, reason: 'FLAG_NOT_FOUND' });
    }
  });
});

describe('__proto__ and other Object.prototype names', () => {
  test('evaluateAll has a key for a flag titled __proto__, and no prototype to pollute', async () => {
    const { manager } = await offline();
    const all = manager.evaluateAll(U1);
    expect(Object.keys(all)).toEqual(['half', 'everyone', '__proto__', 'constructor', 'tripped']);
    expect(Object.getPrototypeOf(all)).toBeNull();
    const proto = Object.getOwnPropertyDescriptor(all, '__proto__')?.value as EvaluationDetail;
    expect(proto).toMatchObject({ flagId: 3, value: true, reason: 'FULL_ROLLOUT' });
    expect(all.constructor).toMatchObject({ flagId: 4, reason: 'FLAG_OFF' });
    expect(({} as { flagId?: unknown }).flagId).toBeUndefined();
  });

  test('a toggler and getFlag find the __proto__ flag', async () => {
    const { manager } = await offline();
    expect(manager.newToggler({ flagName: '__proto__' }).isFlagActive(U1)).toBe(true);
    expect(manager.getFlag('__proto__')?.id).toBe(3);
    expect(manager.evaluate('hasOwnProperty', U1).reason).toBe('FLAG_NOT_FOUND');
  });

  test('extra fields named __proto__ are kept on getFlags()', async () => {
    const ruleset = JSON.parse(
      `[{"id":1,"title":"f","is_active":true,"rollout_percentage":5,"__proto__":{"isActive":false},"owner":"payments"}]`,
    ) as unknown[];
    const { manager } = await offline(ruleset);
    const flag = manager.getFlags()[0];
    expect(flag?.isActive).toBe(true);
    expect(Object.keys(flag?.extra ?? {})).toEqual(['__proto__', 'owner']);
    expect(Object.getOwnPropertyDescriptor(flag?.extra, '__proto__')?.value).toEqual({ isActive: false });
  });
});

describe('an open circuit field on an active flag (Tower after close-circuit)', () => {
  test("is served: is_active decides, as in Tailslide's SDKs", async () => {
    const { manager } = await offline();
    expect(manager.evaluate('tripped', U1)).toMatchObject({ value: true, variant: 'on', reason: 'WHITELISTED' });
    expect(manager.evaluate('tripped', 'someone-else')).toMatchObject({ value: true, reason: 'FULL_ROLLOUT' });
    expect(manager.newToggler({ flagName: 'tripped' }).isFlagActive(U1)).toBe(true);
  });

  test("OpenFeature: the flag's value with the reason of its rule", async () => {
    const { manager } = await offline();
    expect(resolutionOf(manager.newToggler({ flagName: 'tripped' }).booleanVariationDetail(U1, false), false)).toEqual({
      value: true,
      variant: 'on',
      reason: 'TARGETING_MATCH',
      flagMetadata: { appId: 1, flagId: 5, reason: 'WHITELISTED' },
    });
  });
});

test('a bootstrap file that starts with a UTF-8 byte order mark is read', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tailslide-bom-'));
  try {
    const file = join(dir, 'flags.json');
    writeFileSync(file, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(RULESET))]));
    const { manager } = await offline(file);
    expect(manager.evaluate('everyone', U1)).toMatchObject({ value: true, reason: 'FULL_ROLLOUT' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
