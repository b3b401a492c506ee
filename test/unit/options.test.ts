import { InvalidOptionError } from '../../src/errors';
import {
  DEFAULT_CACHE_FILE_MAX_BYTES,
  DEFAULT_INIT_TIMEOUT_MS,
  DEFAULT_NATS_STREAM,
  resolveOptions,
  type FlagManagerOptions,
} from '../../src/options';

const base: FlagManagerOptions = { natsServer: 'nats://localhost:4222', appId: 1 };

function errorOf(options: unknown): InvalidOptionError {
  try {
    resolveOptions(options as FlagManagerOptions);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidOptionError);
    return err as InvalidOptionError;
  }
  throw new Error('expected the options to be rejected');
}

describe('resolveOptions', () => {
  test('fills the documented defaults', () => {
    const resolved = resolveOptions(base);
    expect(resolved.nats?.stream).toBe(DEFAULT_NATS_STREAM);
    expect(resolved.initTimeoutMs).toBe(DEFAULT_INIT_TIMEOUT_MS);
    expect(resolved.cacheFileMaxBytes).toBe(DEFAULT_CACHE_FILE_MAX_BYTES);
    expect(DEFAULT_CACHE_FILE_MAX_BYTES).toBe(16 * 1024 * 1024);
    expect(resolved.hashing).toBe('murmur3');
    expect(resolved.userContext).toBe('');
    expect(resolved.signals.redis).toMatchObject({ host: 'localhost', port: 6379 });
    expect(resolved.signals.backend).toBe('auto');
  });

  test('accepts the seven Tailslide options, appId as a numeric string, several servers', () => {
    const resolved = resolveOptions({
      natsServer: ['nats://a:4222', 'b:4223'],
      natsStream: 'flags_ruleset',
      appId: '42',
      sdkKey: 'myToken',
      userContext: 'u-1',
      redisHost: 'redis.internal',
      redisPort: 6380,
    });
    expect(resolved.appId).toBe(42);
    expect(resolved.nats?.servers).toEqual(['nats://a:4222', 'b:4223']);
    expect(resolved.nats?.token).toBe('myToken');
    expect(resolved.signals.redis).toMatchObject({ host: 'redis.internal', port: 6380 });
  });

  test('a redisHost written as a URL (as Tailslide docs show) is accepted with a warning', () => {
    const resolved = resolveOptions({ ...base, redisHost: 'http://localhost' });
    expect(resolved.signals.redis.host).toBe('localhost');
    expect(resolved.warnings.join()).toMatch(/redisHost "http:\/\/localhost" is a URL/);
  });

  test.each<[string, Record<string, unknown>, RegExp]>([
    ['appId', { appId: 'abc' }, /Invalid option "appId": "abc"/],
    ['appId negative', { appId: -1 }, /"appId": -1/],
    ['natsServer missing', { natsServer: undefined }, /"natsServer": undefined/],
    ['natsServer empty list', { natsServer: [] }, /"natsServer": an array of 0/],
    ['natsServer garbage', { natsServer: ['nats://ok:1', 'not a url'] }, /"natsServer\[1\]": "not a url"/],
    ['initTimeoutMs', { initTimeoutMs: -5 }, /"initTimeoutMs": -5/],
    ['cacheFileMaxBytes', { cacheFileMaxBytes: 0 }, /"cacheFileMaxBytes": 0 \(expected an integer ≥ 1\)/],
    ['cacheFileMaxBytes as a string', { cacheFileMaxBytes: '5MB' }, /"cacheFileMaxBytes": "5MB"/],
    ['hashing', { hashing: 'sha1' }, /"hashing": "sha1" \(expected one of "murmur3", "tailslide-md5"\)/],
    ['redisPort', { redisPort: 70000 }, /"redisPort": 70000/],
    ['redisUrl', { redisUrl: 'localhost:6379' }, /"redisUrl": "localhost:6379"/],
    ['signalBackend', { signalBackend: 'memory' }, /"signalBackend": "memory"/],
    ['a misspelt option', { initTimeout: 5 }, /"initTimeout": 5 \(expected no such option/],
    ['logger without methods', { logger: { warn: () => undefined } }, /"logger.debug": undefined/],
    ['offline without bootstrap', { offline: true }, /"bootstrap": undefined/],
    ['natsStream with a dot', { natsStream: 'a.b' }, /"natsStream": "a.b"/],
  ])('rejects a bad %s, naming option and value', (_name, patch, expected) => {
    expect(errorOf({ ...base, ...patch }).message).toMatch(expected);
  });

  test('offline mode needs no NATS server', () => {
    const resolved = resolveOptions({ appId: 1, offline: true, bootstrap: [] });
    expect(resolved.nats).toBeUndefined();
  });
});
