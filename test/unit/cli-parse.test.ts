import { CommanderError } from 'commander';
import {
  DuplicateTitleError,
  EditConflictError,
  FlagChangedError,
  InvalidFlagValueError,
  StreamNotFoundError,
  StreamRequestError,
  UnknownAppError,
  UnknownFlagError,
} from '../../src/admin/errors';
import { CliError, EXIT, EXIT_BY_ERROR_CODE, errorLine, exitCodeOf } from '../../src/cli/core/exit-codes';
import { findFlagByArg, pickFlag } from '../../src/cli/parse/flag-ref';
import { renameOptionError } from '../../src/cli/parse/options';
import {
  circuitPatchFromOptions,
  flagPatchFromOptions,
  appIdFlag,
  parseAssignments,
  parseBoolean,
  parseDuration,
  parsePercentage,
  parseServers,
  parseUsers,
} from '../../src/cli/parse/values';
import {
  AuthorizationError,
  ConnectionError,
  InvalidOptionError,
  InvalidRulesetError,
  TailslideError,
  type TailslideErrorCode,
} from '../../src/errors';
import type { WireFlag } from '../../src/ruleset/types';
import { wireFlag } from '../support/flags';

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a throw');
}

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['1d', 86_400_000],
    ['1m30s', 90_000],
    ['1.5s', 1_500],
  ])('%s is %d ms', (text, ms) => {
    expect(parseDuration(text, '--duration')).toBe(ms);
  });

  it('takes bare numbers as ms only where the field is in ms', () => {
    expect(parseDuration('30000', '--recovery-delay', 'ms')).toBe(30_000);
    expect(thrown(() => parseDuration('30', '--duration')).message).toBe(
      'Invalid value for --duration: "30" (expected a duration with a unit, such as 500ms, 30s, 5m or 1h)',
    );
  });

  it.each(['', 'soon', '5 m', '5x', 's', '-5s', '5s3'])('refuses %j, naming the option', (text) => {
    const error = thrown(() => parseDuration(text, '--window'));
    expect(error).toBeInstanceOf(CliError);
    expect(error.message).toContain('--window');
    expect(error.message).toContain(JSON.stringify(text));
  });
});

describe('values', () => {
  it('parses percentages with or without %, leaving the range to the admin library', () => {
    expect(parsePercentage('20', 'rollout_percentage')).toBe(20);
    expect(parsePercentage('12.5%', 'rollout_percentage')).toBe(12.5);
    expect(parsePercentage('250', 'rollout_percentage')).toBe(250);
    expect(thrown(() => parsePercentage('abc', 'rollout_percentage')).message).toBe(
      'Invalid value for rollout_percentage: "abc" (expected a number from 0 to 100)',
    );
    expect(() => parsePercentage('', 'x')).toThrow(CliError);
  });

  it('parses booleans in the usual spellings', () => {
    for (const yes of ['true', 'on', 'yes', '1', 'TRUE']) expect(parseBoolean(yes, '--active')).toBe(true);
    for (const no of ['false', 'off', 'no', '0']) expect(parseBoolean(no, '--active')).toBe(false);
    expect(thrown(() => parseBoolean('maybe', '--active')).message).toContain('--active: "maybe"');
  });

  it('splits users on spaces (separate arguments) and commas, dropping blanks and repeats', () => {
    expect(parseUsers(['alice', 'bob,carol', ' , dave ', 'alice'])).toEqual(['alice', 'bob', 'carol', 'dave']);
    expect(() => parseUsers([' , '])).toThrow(CliError);
  });

  it('reads NATS servers as a comma-separated list', () => {
    expect(parseServers('nats://a:4222, nats://b:4222')).toEqual(['nats://a:4222', 'nats://b:4222']);
    expect(() => parseServers(' , ')).toThrow(/--nats-server/);
  });

  it('requires an app id, saying how to give one', () => {
    expect(appIdFlag('7')).toBe(7);
    expect(thrown(() => appIdFlag(undefined)).message).toContain('pass --app-id or set TAILSLIDE_APP_ID');
    expect(thrown(() => appIdFlag('seven')).message).toBe(
      'Invalid value for --app-id: "seven" (expected a non-negative integer)',
    );
    expect(() => appIdFlag('-1')).toThrow(CliError);
  });
});

describe('flag patches from options', () => {
  it('types --set values by field', () => {
    expect(
      parseAssignments([
        'is_active=yes',
        'rollout_percentage=20',
        'description=a=b',
        'circuit_recovery_profile=exponential',
      ]),
    ).toEqual({
      is_active: true,
      rollout_percentage: 20,
      description: 'a=b',
      circuit_recovery_profile: 'exponential',
    });
  });

  it('refuses unknown fields and fields the library manages, listing the fields', () => {
    expect(thrown(() => parseAssignments(['bogus=1'])).message).toMatch(
      /^Invalid value for --set: "bogus=1" \(expected field=value with one of the fields title, description, is_active/,
    );
    expect(() => parseAssignments(['id=5'])).toThrow(/--set: "id=5"/);
    expect(() => parseAssignments(['=5'])).toThrow(/field=value/);
    expect(thrown(() => parseAssignments(['rollout_percentage=lots'])).message).toBe(
      'Invalid value for field "rollout_percentage": "lots" (expected a number)',
    );
  });

  it('builds a patch where named options win over --set', () => {
    expect(
      flagPatchFromOptions({
        set: ['rollout_percentage=5', 'webhooks=x'],
        rollout: '30',
        on: true,
        whitelist: 'a, b,,c',
        title: 'new',
      }),
    ).toEqual({ rollout_percentage: 30, webhooks: 'x', is_active: true, white_listed_users: 'a,b,c', title: 'new' });
    expect(flagPatchFromOptions({ whitelist: '' })).toEqual({ white_listed_users: '' });
    expect(flagPatchFromOptions({})).toEqual({});
  });

  it('builds a circuit patch with durations in ms', () => {
    expect(
      circuitPatchFromOptions({
        errorThreshold: '25',
        status: 'recovery',
        recoverable: 'yes',
        recoveryPercentage: '40',
        recoveryDelay: '30s',
        initialRecoveryPercentage: '5',
        recoveryRate: '1500',
        recoveryIncrement: '10',
        recoveryProfile: 'exponential',
      }),
    ).toEqual({
      error_threshold_percentage: 25,
      circuit_status: 'recovery',
      is_recoverable: true,
      circuit_recovery_percentage: 40,
      circuit_recovery_delay: 30_000,
      circuit_initial_recovery_percentage: 5,
      circuit_recovery_rate: 1_500,
      circuit_recovery_increment_percentage: 10,
      circuit_recovery_profile: 'exponential',
    });
    expect(thrown(() => circuitPatchFromOptions({ status: 'half' })).message).toBe(
      'Invalid value for --status: "half" (expected one of open, close, recovery)',
    );
    expect(() => circuitPatchFromOptions({ recoveryProfile: 'cubic' })).toThrow(/--recovery-profile/);
  });
});

describe('naming a flag', () => {
  const flag = (id: number, title: string): WireFlag => wireFlag({ id, title }) as WireFlag;
  const flags: WireFlag[] = [flag(3, 'checkout'), flag(7, '3'), flag(9, 'search')];

  it('finds by title first, then by id; #n is always the id', () => {
    expect(findFlagByArg(flags, 'checkout')?.id).toBe(3);
    expect(findFlagByArg(flags, '3')?.id).toBe(7);
    expect(findFlagByArg(flags, '#3')?.id).toBe(3);
    expect(findFlagByArg(flags, '9')?.id).toBe(9);
    expect(findFlagByArg(flags, 'nope')).toBeUndefined();
  });

  it('reports an unknown flag with the app and its flags', () => {
    const error = thrown(() => pickFlag(flags, 'nope', 5));
    expect(error).toBeInstanceOf(UnknownFlagError);
    expect(error.message).toBe('App 5 has no flag "nope" (its flags: "checkout", "3", "search")');
    expect(thrown(() => pickFlag(flags, '#42', 5)).message).toContain('no flag with id 42');
  });
});

describe('exit codes', () => {
  it.each([
    ['CliError', new CliError('x'), EXIT.USAGE],
    ['CliError with a code', new CliError('x', EXIT.MISSING_SERVER), EXIT.MISSING_SERVER],
    ['CommanderError', new CommanderError(1, 'commander.unknownOption', 'x'), EXIT.USAGE],
    ['CommanderError (help)', new CommanderError(0, 'commander.helpDisplayed', 'x'), EXIT.OK],
    ['InvalidOptionError', new InvalidOptionError('a', 1, 'b'), EXIT.USAGE],
    ['InvalidRulesetError', new InvalidRulesetError('f', [{ message: 'x' }]), EXIT.USAGE],
    ['UnknownAppError', new UnknownAppError(1, 's'), EXIT.NOT_FOUND],
    ['UnknownFlagError', new UnknownFlagError(1, 'f', []), EXIT.NOT_FOUND],
    ['StreamNotFoundError', new StreamNotFoundError('s'), EXIT.NOT_FOUND],
    ['ConnectionError', new ConnectionError('x'), EXIT.CONNECTION],
    ['AuthorizationError', new AuthorizationError('x'), EXIT.CONNECTION],
    ['TailslideError SIGNALS', new TailslideError('SIGNALS', 'x'), EXIT.CONNECTION],
    ['EditConflictError', new EditConflictError(1, 10, 'edit'), EXIT.CONFLICT],
    ['DuplicateTitleError', new DuplicateTitleError(1, 'f', 2), EXIT.USAGE],
    ['TailslideError NOT_FOUND', new TailslideError('NOT_FOUND', 'x'), EXIT.NOT_FOUND],
    ['TailslideError CONFLICT', new TailslideError('CONFLICT', 'x'), EXIT.CONFLICT],
    ['TailslideError CLOSED', new TailslideError('CLOSED', 'x'), EXIT.INTERNAL],
    ['TailslideError TIMEOUT', new TailslideError('TIMEOUT', 'x'), EXIT.CONNECTION],
    ['TailslideError CACHE_FILE', new TailslideError('CACHE_FILE', 'x'), EXIT.INTERNAL],
    ['InvalidFlagValueError', new InvalidFlagValueError(1, 'f', 'rollout_percentage', 250, 'bad'), EXIT.USAGE],
    [
      'FlagChangedError',
      new FlagChangedError(1, wireFlag({ id: 1, title: 'f' }) as WireFlag, ['is_active']),
      EXIT.CONFLICT,
    ],
    ['StreamRequestError', new StreamRequestError('read', new Error('x')), EXIT.CONNECTION],
    ['TypeError', new TypeError('bug'), EXIT.INTERNAL],
    ['a thrown string', 'a string', EXIT.INTERNAL],
  ])('%s → %d', (_name, error, code) => {
    expect(exitCodeOf(error)).toBe(code);
  });

  it('maps every TailslideError code through the table', () => {
    for (const [code, exit] of Object.entries(EXIT_BY_ERROR_CODE)) {
      expect(exitCodeOf(new TailslideError(code as TailslideErrorCode, 'x'))).toBe(exit);
    }
  });

  it('prints one line, and says when an error is unexpected', () => {
    expect(errorLine(new ConnectionError('no\n  server'))).toBe('no server');
    expect(errorLine(new TypeError('x is undefined'))).toBe('internal error: x is undefined');
  });

  it('renames library option names to the command-line flags', () => {
    const renamed = renameOptionError(
      new InvalidOptionError('nats.servers[0]', 'a b', 'a URL such as "nats://localhost:4222"'),
    );
    expect(renamed).toBeInstanceOf(CliError);
    expect((renamed as Error).message).toBe(
      'Invalid value for --nats-server: "a b" (expected a URL such as "nats://localhost:4222")',
    );
    const other = new InvalidOptionError('somethingElse', 1, 'x');
    expect(renameOptionError(other)).toBe(other);
  });
});
