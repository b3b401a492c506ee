import {
  AdminClosedError,
  DuplicateTitleError,
  EditConflictError,
  FlagChangedError,
  InvalidFlagValueError,
  StreamNotFoundError,
  StreamRequestError,
  UnknownAppError,
  UnknownFlagError,
} from '../../src/admin';
import { ConnectionError, InvalidOptionError, InvalidRulesetError, TailslideError } from '../../src/errors';
import type { Logger } from '../../src/logger';
import type { WireFlag } from '../../src/ruleset/types';
import { toHttpError } from '../../src/ui/api';
import { HttpError } from '../../src/ui/http';

function recordingLogger(): Logger & { errors: string[] } {
  const errors: string[] = [];
  return { errors, debug: () => undefined, info: () => undefined, warn: () => undefined, error: (m) => errors.push(m) };
}

const flag = { id: 7, title: 'beta' } as WireFlag;

describe('dashboard error answers (TailslideError.code → status)', () => {
  it.each([
    [new InvalidOptionError('app', 'x', 'an app id'), 400, { code: 'INVALID', field: 'app' }],
    [
      new InvalidFlagValueError(1, 'beta', 'rollout_percentage', 250, 'must be 0–100'),
      400,
      { code: 'INVALID', field: 'rollout_percentage' },
    ],
    [
      new InvalidRulesetError('test', [{ field: 'title', message: 'missing' }]),
      400,
      { code: 'INVALID', field: 'title' },
    ],
    [new UnknownAppError(1, 's'), 404, { code: 'NOT_FOUND' }],
    [new UnknownFlagError(1, 7, []), 404, { code: 'NOT_FOUND' }],
    [new StreamNotFoundError('s'), 404, { code: 'NOT_FOUND' }],
    [new FlagChangedError(1, flag, ['is_active']), 409, { code: 'CHANGED', fields: ['is_active'], current: flag }],
    [new DuplicateTitleError(1, 'beta', 7), 409, { code: 'DUPLICATE', field: 'title' }],
    [new EditConflictError(1, 5, 'update flag'), 409, { code: 'BUSY' }],
    [new ConnectionError('down'), 503, { code: 'UNAVAILABLE' }],
    [new StreamRequestError('read', new Error('timeout')), 503, { code: 'UNAVAILABLE' }],
    [new TailslideError('SIGNALS', 'Redis refused'), 502, { code: 'SIGNALS' }],
  ])('%s answers %i', (error, status, details) => {
    const logger = recordingLogger();
    const answer = toHttpError(error, logger);
    expect(answer.status).toBe(status);
    expect(answer.message).toBe(error.message);
    expect(answer.details).toEqual(details);
    expect(logger.errors).toEqual([]);
  });

  it.each([
    new AdminClosedError('closed'),
    new TailslideError('TIMEOUT', 'slow'),
    new TailslideError('AUTHORIZATION', 'refused'),
    new Error('a bug'),
    'not even an error',
  ])('hides and logs %s as a 500', (error) => {
    const logger = recordingLogger();
    const answer = toHttpError(error, logger);
    expect(answer.status).toBe(500);
    expect(answer.message).toBe('Internal error (see the dashboard log)');
    expect(answer.details).toEqual({});
    expect(logger.errors).toHaveLength(1);
  });

  it('passes an HttpError through unchanged', () => {
    const error = new HttpError(405, 'no', { allowed: ['GET'] });
    expect(toHttpError(error, recordingLogger())).toBe(error);
  });
});
