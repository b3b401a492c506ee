import { errorMessage } from '../../src/util/error-message';

describe('errorMessage', () => {
  test.each<[string, unknown, string]>([
    ['an Error', new Error('boom'), 'boom'],
    ['a string', 'plain', 'plain'],
    ['an object with a message', { message: 'from nats', code: '503' }, 'from nats'],
    ['an Error without a message', new TypeError(''), 'TypeError'],
    ['a number', 42, '42'],
    ['null', null, 'null'],
    [
      'a URL with a password',
      new Error('cannot reach redis://u:secret@10.0.0.1:6379'),
      'cannot reach redis://u:***@10.0.0.1:6379',
    ],
  ])('%s', (_, value, expected) => {
    expect(errorMessage(value)).toBe(expected);
  });

  test("adds ioredis' first previous error of a failed MULTI", () => {
    const error = Object.assign(new Error('EXECABORT Transaction discarded'), {
      previousErrors: [new Error('WRONGTYPE x')],
    });
    expect(errorMessage(error)).toBe('EXECABORT Transaction discarded (WRONGTYPE x)');
  });

  test('never throws, whatever was thrown', () => {
    const hostile = Object.create(null) as object;
    const getter = Object.defineProperty({}, 'message', {
      get() {
        throw new Error('no');
      },
    });
    expect(typeof errorMessage(hostile)).toBe('string');
    expect(errorMessage(getter)).toBe('an error that cannot be described');
  });
});
