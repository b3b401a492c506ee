/** Options and error classification added for clusters (docs/clusters.md). */
import { InvalidOptionError } from '../../src/errors';
import { isLeaderChangeError } from '../../src/nats/errors';
import { redisClusterNodes, resolveOptions } from '../../src/options';
import { apiTimeout } from '../../src/sources/jetstream-connection';

describe('redisClusterNodes', () => {
  test('takes host:port and redis:// URLs, credentials from a URL', () => {
    expect(redisClusterNodes(['10.0.0.1:7000', 'redis://u:p%40ss@r2.example:7001', 'r3'])).toEqual([
      { host: '10.0.0.1', port: 7000 },
      { host: 'r2.example', port: 7001, username: 'u', password: 'p@ss' },
      { host: 'r3', port: 6379 },
    ]);
    expect(redisClusterNodes(undefined)).toBeUndefined();
    const resolved = resolveOptions({ natsServer: 'nats://n:4222', appId: 1, redisClusterNodes: ['a:1', 'b:2'] });
    expect(resolved.signals.redis.clusterNodes).toEqual([
      { host: 'a', port: 1 },
      { host: 'b', port: 2 },
    ]);
  });

  test.each<[unknown, RegExp]>([
    [[], /"redisClusterNodes": an array of 0/],
    ['a:1', /"redisClusterNodes": "a:1"/],
    [['a:1', 7], /"redisClusterNodes\[1\]": 7/],
    [['a:notaport'], /"redisClusterNodes\[0\]": "a:notaport"/],
  ])('rejects %p, naming the value', (value, expected) => {
    expect(() => redisClusterNodes(value)).toThrow(InvalidOptionError);
    expect(() => redisClusterNodes(value)).toThrow(expected);
  });
});

describe('isLeaderChangeError', () => {
  test.each<[string, unknown, boolean]>([
    ['a request timeout', { code: 'TIMEOUT', message: 'TIMEOUT' }, true],
    ['no responders', { code: '503', message: '503' }, true],
    ['JetStream temporarily unavailable', { api_error: { err_code: 10008, code: 503 } }, true],
    ['wrapped, as the admin library throws it', { message: 'x', cause: { code: 'TIMEOUT' } }, true],
    ['wrong last sequence (a conflict, not a leader change)', { api_error: { err_code: 10071 } }, false],
    ['stream not found', { api_error: { err_code: 10059 } }, false],
    ['a permissions violation', { code: 'PERMISSIONS_VIOLATION' }, false],
    ['not an error', 'TIMEOUT', false],
  ])('%s', (_what, err, expected) => {
    expect(isLeaderChangeError(err)).toBe(expected);
  });
});

describe('apiTimeout (the JetStream source)', () => {
  test('short while retrying quickly (8 times), then ×1.5 up to 5 s', () => {
    expect([0, 1, 8, 9, 10, 11, 12, 30].map(apiTimeout)).toEqual([
      1_000, 1_000, 1_000, 1_500, 2_250, 3_375, 5_000, 5_000,
    ]);
  });
});
