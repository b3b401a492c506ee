/** `redisClusterNodes` of `new CircuitBreaker(…)`: validated as the manager's option. */
import { resolveBreakerOptions } from '../../src/breaker/options';
import { InvalidOptionError } from '../../src/errors';

const base = { natsServer: 'nats://127.0.0.1:4222', apps: [1] };

describe('CircuitBreaker redisClusterNodes', () => {
  it('resolves host:port and redis:// nodes, with credentials', () => {
    const { redis } = resolveBreakerOptions({ ...base, redisClusterNodes: ['10.0.0.1:7000', 'redis://u:pw@r2:7001'] });
    expect(redis.clusterNodes).toEqual([
      { host: '10.0.0.1', port: 7000 },
      { host: 'r2', port: 7001, username: 'u', password: 'pw' },
    ]);
  });

  it('is absent unless given', () => {
    expect(resolveBreakerOptions(base).redis.clusterNodes).toBeUndefined();
  });

  it.each([
    [[], /"redisClusterNodes": an array of 0/],
    ['a:1', /"redisClusterNodes": "a:1"/],
    [['a:1', 7], /"redisClusterNodes\[1\]": 7/],
  ])('rejects %p, naming the field', (value, expected) => {
    const options = { ...base, redisClusterNodes: value as unknown as string[] };
    expect(() => resolveBreakerOptions(options)).toThrow(InvalidOptionError);
    expect(() => resolveBreakerOptions(options)).toThrow(expected);
  });
});
