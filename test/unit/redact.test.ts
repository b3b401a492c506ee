import { describeValue, InvalidOptionError } from '../../src/errors';
import { redactUrl as cliRedactUrl } from '../../src/cli/format/common';
import { hasUrlCredentials, redactOptionValue, redactText, redactUrl } from '../../src/util/redact';
import { resolveOptions } from '../../src/options';
import { resolveAdminOptions } from '../../src/admin/options';
import { resolveBreakerOptions } from '../../src/breaker/options';
import { redisUrls } from '../../src/cli/parse/options';

describe('redactUrl', () => {
  it('hides the password of NATS and Redis URLs and keeps the user', () => {
    expect(redactUrl('nats://alice:s3cret@127.0.0.1:4222')).toBe('nats://alice:***@127.0.0.1:4222');
    expect(redactUrl('redis://:s3cret@host:6379/2')).toBe('redis://:***@host:6379/2');
    expect(redactUrl('rediss://default:pw@host')).toBe('rediss://default:***@host');
    expect(redactUrl('tls://alice:pw@host:4443')).toBe('tls://alice:***@host:4443');
  });

  it('hides a token-only userinfo whole', () => {
    expect(redactUrl('nats://s3cret-token@host:4222')).toBe('nats://***@host:4222');
  });

  it('hides a password with a raw "@" whole, and userinfo without a scheme', () => {
    expect(redactUrl('nats://alice:p@ss@host')).toBe('nats://alice:***@host');
    expect(redactUrl('alice:s3cret@host:4222')).toBe('alice:***@host:4222');
  });

  it('leaves URLs without credentials alone', () => {
    expect(redactUrl('nats://127.0.0.1:4222')).toBe('nats://127.0.0.1:4222');
    expect(redactUrl('host:4222')).toBe('host:4222');
    expect(redactUrl('redis://host:6379/0?x=a@b')).toBe('redis://host:6379/0?x=a@b');
  });

  it('is the one the command line uses', () => {
    expect(cliRedactUrl).toBe(redactUrl);
  });

  it('tells whether a URL carries credentials', () => {
    expect(hasUrlCredentials('nats://a:b@h')).toBe(true);
    expect(hasUrlCredentials('nats://token@h')).toBe(true);
    expect(hasUrlCredentials('nats://h:4222')).toBe(false);
  });
});

describe('redactText', () => {
  it('hides every URL credential inside a message', () => {
    expect(redactText('cannot connect to NATS nats://a:s3cret@h1:4222, nats://tok@h2: TIMEOUT')).toBe(
      'cannot connect to NATS nats://a:***@h1:4222, nats://***@h2: TIMEOUT',
    );
    expect(redactText('"redis://:s3cret@h"')).toBe('"redis://:***@h"');
    expect(redactText('user:s3cret@host:4222')).toBe('user:***@host:4222');
  });

  it('leaves other text alone (e-mail addresses, plain host:port)', () => {
    expect(redactText('flag "a@b.com" at 127.0.0.1:4222')).toBe('flag "a@b.com" at 127.0.0.1:4222');
  });
});

describe('errors', () => {
  it('InvalidOptionError hides the password of the value it quotes, in its message and its value', () => {
    const error = new InvalidOptionError('redisUrl', 'http://u:s3cret@host', 'a URL starting with redis://');
    expect(error.message).toBe(
      'Invalid option "redisUrl": "http://u:***@host" (expected a URL starting with redis://)',
    );
    expect(error.value).toBe('http://u:***@host');
    expect(describeValue('nats://tok3n@h')).toBe('"nats://***@h"');
  });
});

describe('credentials in invalid-option messages, malformed URLs included', () => {
  const SECRET = 'secretpw';
  const MALFORMED = [
    `redis//:${SECRET}@10.0.0.1:6379`,
    `redis:/:${SECRET}@10.0.0.1:6379`,
    `nats//${SECRET}@10.0.0.1:4222`,
    `http://alice:${SECRET}@10.0.0.1`,
  ];

  it('redactOptionValue hides the userinfo of every malformed URL, keeping the user name', () => {
    expect(redactOptionValue(`redis//:${SECRET}@10.0.0.1:6379`)).toBe('redis//:***@10.0.0.1:6379');
    expect(redactOptionValue(`nats//${SECRET}@h`)).toBe('nats//***@h');
    expect(redactOptionValue(`redis:/alice:${SECRET}@h:1`)).toBe('redis:/alice:***@h:1');
    expect(redactOptionValue('not a url')).toBe('not a url');
    expect(redactOptionValue(`redis://ok@h,redis//:${SECRET}@h:1`)).toBe('redis://***@h,redis//:***@h:1');
    expect(() => redisUrls(`redis://h:1,redis//:${SECRET}@h:1`)).toThrow(
      /^Invalid value for --redis-url: "redis:\/\/h:1,redis\/\/:\*\*\*@h:1"/,
    );
    for (const value of MALFORMED) expect(redactOptionValue(value)).not.toContain(SECRET);
  });

  it.each(MALFORMED)('the manager, admin and breaker options and the CLI flags never echo %s', (value) => {
    const thrownBy = (f: () => unknown): string => {
      try {
        f();
      } catch (error) {
        return `${(error as Error).message} ${JSON.stringify((error as InvalidOptionError).value ?? '')}`;
      }
      throw new Error('expected an invalid-option error');
    };
    const messages = [
      thrownBy(() => resolveOptions({ appId: 1, redisUrl: value })),
      thrownBy(() => resolveOptions({ appId: 1, natsServer: value })),
      thrownBy(() => resolveAdminOptions({ nats: { servers: value } })),
      thrownBy(() => resolveBreakerOptions({ natsServer: 'nats://127.0.0.1:4222', redisUrl: value, apps: [1] })),
      thrownBy(() => redisUrls(value)),
    ];
    for (const message of messages) {
      expect(message).toMatch(/Invalid (option|value)/);
      expect(message).not.toContain(SECRET);
    }
  });
});
