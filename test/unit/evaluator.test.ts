import { bucket, legacyBucket } from '../../src/evaluation/bucket';
import { compileFlag, decide, isOnReason, type EvaluationReason } from '../../src/evaluation/evaluator';
import { hashAfter, murmur3, prefixState } from '../../src/evaluation/murmur3';
import { convertToText } from '../../src/evaluation/user-context';
import { parseRuleset } from '../../src/ruleset/parse';
import type { Flag } from '../../src/ruleset/types';
import type { HashingMode } from '../../src/options';

const U1 = '375d39e6-9c3f-4f58-80bd-e5960b710295';
const U2 = 'fbe6133c-f751-46f4-b275-4e8c3aa22e24';
const U3 = 'dfcc8acc-8b99-42f7-b63d-b7c51268f2c4';

function flag(fields: Record<string, unknown> = {}): Flag {
  const result = parseRuleset(
    [{ id: 1, app_id: 1, title: 'App 1 Flag 1', is_active: true, rollout_percentage: 50, ...fields }],
    'test',
  );
  if (!result.ok) throw result.error;
  return result.flags[0] as Flag;
}

function reason(fields: Record<string, unknown>, user: string, hashing: HashingMode = 'murmur3'): EvaluationReason {
  return decide(compileFlag(flag(fields)), user, hashing);
}

describe('MurmurHash3 x86_32 over UTF-8 (docs/rollout.md golden vectors)', () => {
  test.each([
    ['App 1 Flag 1', U1, 516206059, 12018],
    ['App 1 Flag 1', U2, 1582783807, 36852],
    ['App 1 Flag 1', U3, 678976385, 15808],
    ['App 1 Flag 1', 'user-1', 3412789273, 79460],
    ['App 1 Flag 1', 'ü-ñicode-用户', 1886322648, 43919],
    ['checkout-v2', U1, 1205202009, 28060],
    ['checkout-v2', U3, 93069394, 2166],
    ['checkout-v2', 'ü-ñicode-用户', 1746631911, 40666],
  ])('%s / %s → h %d, bucket %d', (title, user, h, expectedBucket) => {
    expect(murmur3(`${title}:${user}`)).toBe(h);
    expect(bucket(title, user)).toBe(expectedBucket);
  });

  test('resuming after a hashed prefix equals hashing the whole string (every prefix length mod 4)', () => {
    const alphabet = ['a', 'Z', '0', '-', ':', 'é', 'ñ', '用', '😀', ' '];
    let seed = 12345;
    const random = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const randomString = (max: number): string =>
      Array.from({ length: random(max) }, () => alphabet[random(alphabet.length)]).join('');
    for (let i = 0; i < 5_000; i++) {
      const prefix = `${randomString(9)}:`;
      const user = i % 3 === 0 ? randomString(12) : `user-${random(1_000_000)}`;
      expect([prefix, user, hashAfter(prefixState(prefix), user) >>> 0]).toEqual([
        prefix,
        user,
        murmur3(prefix + user),
      ]);
    }
  });

  test('sanity value for "hello"', () => {
    expect(murmur3('hello')).toBe(613153351);
  });

  test('agrees with a byte-wise reference on every tail length, ASCII and not', () => {
    // A reference implementation over Buffer bytes, written from the algorithm's definition.
    const reference = (s: string): number => {
      const b = Buffer.from(s, 'utf8');
      let h = 0;
      const mix = (k: number): number =>
        Math.imul((Math.imul(k, 0xcc9e2d51) << 15) | (Math.imul(k, 0xcc9e2d51) >>> 17), 0x1b873593);
      let i = 0;
      for (; i + 4 <= b.length; i += 4) {
        h ^= mix(b.readInt32LE(i));
        h = (h << 13) | (h >>> 19);
        h = (Math.imul(h, 5) + 0xe6546b64) | 0;
      }
      let t = 0;
      for (let j = b.length - i - 1; j >= 0; j--) t = (t << 8) | (b[i + j] as number);
      if (b.length - i > 0) h ^= mix(t);
      h ^= b.length;
      h ^= h >>> 16;
      h = Math.imul(h, 0x85ebca6b);
      h ^= h >>> 13;
      h = Math.imul(h, 0xc2b2ae35);
      h ^= h >>> 16;
      return h >>> 0;
    };
    const samples = [
      '',
      'a',
      'ab',
      'abc',
      'abcd',
      'abcde',
      'é',
      'aé',
      'abé',
      'abcé',
      '😀',
      'x😀y',
      '用户用户用',
      'Z'.repeat(300),
    ];
    for (const s of samples) expect([s, murmur3(s)]).toEqual([s, reference(s)]);
  });
});

describe('legacy MD5 bucketing (tailslide-md5)', () => {
  test.each([
    [U1, 28],
    [U2, 44],
    [U3, 73],
    ['user-1', 20],
  ])('%s → %d (exact 128-bit mod 100, not the float bug)', (user, expected) => {
    expect(legacyBucket(user)).toBe(expected);
  });

  test('in rollout iff bucket ≤ R, inclusive', () => {
    expect(reason({ rollout_percentage: 28 }, U1, 'tailslide-md5')).toBe('ROLLOUT_IN');
    expect(reason({ rollout_percentage: 27.9 }, U1, 'tailslide-md5')).toBe('ROLLOUT_OUT');
    expect(reason({ rollout_percentage: 44 }, U2, 'tailslide-md5')).toBe('ROLLOUT_IN');
    expect(reason({ rollout_percentage: 43 }, U2, 'tailslide-md5')).toBe('ROLLOUT_OUT');
  });

  test('0 % still lets bucket 0 through, as the legacy SDKs do; 100 % is everyone', () => {
    const bucketZero = Array.from({ length: 2000 }, (_, i) => `legacy-${i}`).find((u) => legacyBucket(u) === 0);
    expect(bucketZero).toBeDefined();
    expect(reason({ rollout_percentage: 0 }, bucketZero as string, 'tailslide-md5')).toBe('ROLLOUT_IN');
    expect(reason({ rollout_percentage: 100 }, '', 'tailslide-md5')).toBe('FULL_ROLLOUT');
    expect(reason({ rollout_percentage: 50 }, '', 'tailslide-md5')).toBe('NO_USER_CONTEXT');
  });

  test('whitelist and active status come first in legacy mode too', () => {
    expect(reason({ rollout_percentage: 0, white_listed_users: 'user-1' }, 'user-1', 'tailslide-md5')).toBe(
      'WHITELISTED',
    );
    expect(reason({ is_active: false, white_listed_users: 'user-1' }, 'user-1', 'tailslide-md5')).toBe('FLAG_OFF');
  });
});

describe('order of checks (docs/rollout.md)', () => {
  test('inactive flag is off, even for a whitelisted user and at 100 %', () => {
    expect(reason({ is_active: false, rollout_percentage: 100, white_listed_users: U1 }, U1)).toBe('FLAG_OFF');
  });

  test('whitelist: entries split on commas, trimmed, empty ones ignored', () => {
    const fields = { rollout_percentage: 0, white_listed_users: ` ${U1} ,,${U2}, ` };
    expect(reason(fields, U1)).toBe('WHITELISTED');
    expect(reason(fields, U2)).toBe('WHITELISTED');
    expect(reason(fields, U3)).toBe('ROLLOUT_OUT');
  });

  test('an empty user context never matches the whitelist (the original SDKs bug)', () => {
    expect(reason({ rollout_percentage: 50, white_listed_users: ',,' }, '')).toBe('NO_USER_CONTEXT');
    expect(reason({ rollout_percentage: 0, white_listed_users: '' }, '')).toBe('ROLLOUT_OUT');
  });

  test('100 % is on for everyone, empty context included; 0 % is off for everyone', () => {
    expect(reason({ rollout_percentage: 100 }, '')).toBe('FULL_ROLLOUT');
    expect(reason({ rollout_percentage: 100 }, U1)).toBe('FULL_ROLLOUT');
    expect(reason({ rollout_percentage: 0 }, U1)).toBe('ROLLOUT_OUT');
    expect(reason({ rollout_percentage: 0 }, '')).toBe('ROLLOUT_OUT');
  });

  test('partial rollout with no user context is off with NO_USER_CONTEXT', () => {
    expect(reason({ rollout_percentage: 99.999 }, '')).toBe('NO_USER_CONTEXT');
  });

  test('bucket < threshold: 12.018 % is off and 12.019 % is on for the bucket-12018 user', () => {
    expect(reason({ rollout_percentage: 12.018 }, U1)).toBe('ROLLOUT_OUT');
    expect(reason({ rollout_percentage: 12.019 }, U1)).toBe('ROLLOUT_IN');
  });

  test('recovery throttles the rollout by circuit_recovery_percentage only when recoverable and in recovery', () => {
    // U3 is in bucket 15808: on at 20 %, off at 20 % × 50 % = 10 %.
    const base = { rollout_percentage: 20, circuit_recovery_percentage: 50 };
    expect(reason({ ...base, is_recoverable: true, circuit_status: 'recovery' }, U3)).toBe('ROLLOUT_OUT');
    expect(reason({ ...base, is_recoverable: false, circuit_status: 'recovery' }, U3)).toBe('ROLLOUT_IN');
    expect(reason({ ...base, is_recoverable: true, circuit_status: 'close' }, U3)).toBe('ROLLOUT_IN');
    expect(reason({ ...base, rollout_percentage: 40, is_recoverable: true, circuit_status: 'recovery' }, U3)).toBe(
      'ROLLOUT_IN',
    );
  });

  test('value is true exactly for WHITELISTED, FULL_ROLLOUT and ROLLOUT_IN', () => {
    const all: EvaluationReason[] = [
      'NOT_READY',
      'FLAG_NOT_FOUND',
      'FLAG_OFF',
      'WHITELISTED',
      'FULL_ROLLOUT',
      'NO_USER_CONTEXT',
      'ROLLOUT_IN',
      'ROLLOUT_OUT',
      'ERROR',
    ];
    expect(all.filter(isOnReason)).toEqual(['WHITELISTED', 'FULL_ROLLOUT', 'ROLLOUT_IN']);
  });
});

describe('is_active decides; an open circuit field does not (Tailslide: is_active && (whitelisted || in rollout))', () => {
  // Tower's close-circuit writes is_active true and leaves circuit_status "open"; its PATCH without
  // is_active leaves it so too. Tailslide's SDKs serve such a flag, and so must this one.
  test('active with an open circuit field evaluates as any active flag', () => {
    const open = { is_active: true, circuit_status: 'open', white_listed_users: U1 };
    expect(reason({ ...open, rollout_percentage: 100 }, U2)).toBe('FULL_ROLLOUT');
    expect(reason({ ...open, rollout_percentage: 100 }, '')).toBe('FULL_ROLLOUT');
    expect(reason({ ...open, rollout_percentage: 0 }, U1)).toBe('WHITELISTED');
    expect(reason({ ...open, rollout_percentage: 0 }, U2)).toBe('ROLLOUT_OUT');
    expect(reason({ ...open, rollout_percentage: 50, is_recoverable: true, circuit_recovery_percentage: 0 }, '')).toBe(
      'NO_USER_CONTEXT',
    );
    expect(reason({ ...open, rollout_percentage: 100, is_recoverable: true }, U2, 'tailslide-md5')).toBe(
      'FULL_ROLLOUT',
    );
  });

  test('an open circuit field does not throttle: only "recovery" on a recoverable flag does', () => {
    const flag = { is_active: true, rollout_percentage: 100, is_recoverable: true, circuit_recovery_percentage: 0 };
    expect(reason({ ...flag, circuit_status: 'open' }, U2)).toBe('FULL_ROLLOUT');
    expect(reason({ ...flag, circuit_status: 'recovery' }, U2)).toBe('ROLLOUT_OUT');
  });

  test('inactive comes first: a tripped flag (is_active false, circuit open) is FLAG_OFF', () => {
    expect(reason({ is_active: false, circuit_status: 'open', rollout_percentage: 100 }, U1)).toBe('FLAG_OFF');
  });

  test('closed and recovering circuits evaluate as before', () => {
    expect(reason({ circuit_status: 'close', rollout_percentage: 100 }, U1)).toBe('FULL_ROLLOUT');
    expect(
      reason(
        { circuit_status: 'recovery', is_recoverable: true, rollout_percentage: 100, circuit_recovery_percentage: 100 },
        U1,
      ),
    ).toBe('FULL_ROLLOUT');
  });
});

describe('whitelist entries are compared as JS strings', () => {
  test('an entry with a lone surrogate matches exactly that user, not its UTF-8 rewrite', () => {
    const fields = { rollout_percentage: 0, white_listed_users: 'a\ud800b,\udfffz,ok' };
    expect(reason(fields, 'a\ud800b')).toBe('WHITELISTED');
    expect(reason(fields, '\udfffz')).toBe('WHITELISTED');
    expect(reason(fields, 'ok')).toBe('WHITELISTED');
    expect(reason(fields, 'a\ufffdb')).toBe('ROLLOUT_OUT');
    expect(reason(fields, '\ufffdz')).toBe('ROLLOUT_OUT');
  });

  test('well-formed non-ASCII entries (pairs included) still match', () => {
    const fields = { rollout_percentage: 0, white_listed_users: 'ü-ñicode-用户,😀' };
    expect(reason(fields, 'ü-ñicode-用户')).toBe('WHITELISTED');
    expect(reason(fields, '😀')).toBe('WHITELISTED');
  });
});

describe('convertToText: any value to evaluation text, never throwing', () => {
  const throwing = {
    toString(): string {
      throw new Error('toString');
    },
  };
  const revoked = Proxy.revocable({}, {});
  revoked.revoke();
  test.each<[string, unknown, string, boolean]>([
    ['a string', 'u-1', 'u-1', true],
    ['a number', 42, '42', true],
    ['a float', 1.5, '1.5', true],
    ['a boolean', true, 'true', true],
    ['a bigint', 12345678901234567890n, '12345678901234567890', true],
    ['undefined', undefined, '', false],
    ['null', null, '', false],
    ['an object with no prototype', Object.create(null), '', false],
    ['an object whose toString throws', throwing, '', false],
    ['a revoked proxy', revoked.proxy, '', false],
    ['an array', ['u-1'], '', false],
    ['a symbol', Symbol('u'), '', false],
    ['a function', () => 'u', '', false],
  ])('%s', (_what, value, text, usable) => {
    expect(convertToText(value)).toEqual({ text, usable, kind: typeof value });
  });
});

describe('distribution', () => {
  const users = Array.from({ length: 100_000 }, (_, i) => `user-${i}-${(i * 2654435761) % 1000003}`);

  test('buckets are uniform over 100,000 users (chi-square, 100 cells, p > 0.001)', () => {
    const cells = new Array<number>(100).fill(0);
    for (const user of users) {
      const b = bucket('uniformity-flag', user);
      cells[Math.floor(b / 1000)] = (cells[Math.floor(b / 1000)] as number) + 1;
    }
    const expected = users.length / 100;
    const chi2 = cells.reduce((sum, observed) => sum + (observed - expected) ** 2 / expected, 0);
    // Critical value of chi-square with 99 degrees of freedom at p = 0.001 is 148.23.
    expect(chi2).toBeLessThan(148.23);
  });

  test('raising the rollout only ever adds users (monotonic)', () => {
    const sample = users.slice(0, 5000);
    let previous = new Set<string>();
    for (const percent of [0, 0.1, 1, 5, 12.5, 25, 37.5, 50, 75, 99.9, 100]) {
      const compiled = compileFlag(flag({ title: 'monotonic', rollout_percentage: percent }));
      const on = new Set(sample.filter((u) => isOnReason(decide(compiled, u, 'murmur3'))));
      for (const u of previous) expect(on.has(u)).toBe(true);
      expect(on.size).toBeGreaterThanOrEqual(previous.size);
      previous = on;
    }
    expect(previous.size).toBe(sample.length);
  });

  test('share of users in a 37.5 % rollout is 37.5 % ± 0.5', () => {
    const compiled = compileFlag(flag({ title: 'share', rollout_percentage: 37.5 }));
    const on = users.filter((u) => isOnReason(decide(compiled, u, 'murmur3'))).length;
    expect(Math.abs(on / users.length - 0.375)).toBeLessThan(0.005);
  });

  test('two flags at 50 % pick independent halves (about 25 % get both)', () => {
    const a = compileFlag(flag({ title: 'flag-a', rollout_percentage: 50 }));
    const b = compileFlag(flag({ id: 2, title: 'flag-b', rollout_percentage: 50 }));
    let both = 0;
    for (const u of users) if (isOnReason(decide(a, u, 'murmur3')) && isOnReason(decide(b, u, 'murmur3'))) both++;
    expect(Math.abs(both / users.length - 0.25)).toBeLessThan(0.01);
  });
});
