/** The options of the source wiring: `source`, `cacheFile`, and how they combine with the rest. */
import { InvalidOptionError } from '../../src/errors';
import { resolveOptions, type FlagManagerOptions } from '../../src/options';
import { TestData } from '../../src/sources/test-data';

function errorOf(options: Record<string, unknown>): InvalidOptionError {
  try {
    resolveOptions(options as unknown as FlagManagerOptions);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidOptionError);
    return err as InvalidOptionError;
  }
  throw new Error('expected the options to be rejected');
}

describe('resolveOptions: source and cacheFile', () => {
  test('a source needs no NATS server; NATS options given anyway are ignored with a warning', () => {
    const source = new TestData().factory();
    const resolved = resolveOptions({ appId: 1, source });
    expect(resolved.sourceFactory).toBe(source);
    expect(resolved.nats).toBeUndefined();
    expect(resolved.warnings).toEqual([]);
    const withNats = resolveOptions({ appId: 1, source, natsServer: 'nats://x:4222', sdkKey: 'k' });
    expect(withNats.warnings).toEqual(['natsServer, sdkKey ignored: the "source" option supplies the flags']);
  });

  test('a cacheFile path is kept as given', () => {
    expect(resolveOptions({ appId: 1, natsServer: 'nats://x:4222', cacheFile: 'var/flags.json' }).cacheFile).toBe(
      'var/flags.json',
    );
  });

  test.each<[string, Record<string, unknown>, string, RegExp]>([
    ['source not a function', { natsServer: 'nats://x:4222', source: {} }, 'source', /\(expected a function/],
    ['source with offline', { offline: true, bootstrap: [], source: () => undefined }, 'offline', /"source"/],
    ['cacheFile empty', { natsServer: 'nats://x:4222', cacheFile: ' ' }, 'cacheFile', /" "/],
    ['cacheFile a number', { natsServer: 'nats://x:4222', cacheFile: 7 }, 'cacheFile', /7 \(expected the path/],
    ['cacheFile a directory', { natsServer: 'nats://x:4222', cacheFile: '/var/lib/' }, 'cacheFile', /"\/var\/lib\/"/],
    ['cacheFile offline', { offline: true, bootstrap: [], cacheFile: 'f.json' }, 'cacheFile', /pass it as "bootstrap"/],
  ])('%s: InvalidOptionError naming the option and the value', (_name, extra, option, message) => {
    const error = errorOf({ appId: 1, ...extra });
    expect(error.option).toBe(option);
    expect(error.message).toContain(`"${option}"`);
    expect(error.message).toMatch(message);
  });
});
