/**
 * Errors of the admin library (`FlagAdmin`, the `tailslide` CLI). Mistakes in what the user asked
 * for (unknown app or flag, duplicate title, bad value) carry the code `INVALID_OPTION`: they are
 * wrong input, like a bad CLI flag. Each names the app, the flag and the field where it can.
 */
import { TailslideError, describeValue } from '../errors';
import type { WireFlag } from '../ruleset/types';

/** How a flag was named: a title (string) or an id (number). */
export type FlagRef = string | number;

export function describeFlagRef(ref: FlagRef): string {
  return typeof ref === 'number' ? `with id ${ref}` : JSON.stringify(ref);
}

/** The stream holding the rulesets does not exist on the server. */
export class StreamNotFoundError extends TailslideError {
  override name = 'StreamNotFoundError';
  readonly stream: string;

  constructor(stream: string, options?: { cause?: unknown }) {
    super(
      'NOT_FOUND',
      `Stream "${stream}" does not exist on the NATS server; create it first (FlagAdmin.ensureStream(), CLI: tailslide stream init)`,
      options,
    );
    this.stream = stream;
  }
}

/** The app has no ruleset in the stream (no message on either of its subjects). */
export class UnknownAppError extends TailslideError {
  override name = 'UnknownAppError';
  readonly appId: number;
  readonly stream: string;

  constructor(appId: number, stream: string) {
    super(
      'NOT_FOUND',
      `App ${appId} has no ruleset in stream "${stream}" (no message on apps.${appId}.update.manual or apps.${appId}.update.circuit); create a flag first`,
    );
    this.appId = appId;
    this.stream = stream;
  }
}

/** No flag of that title (or id) in the app's current ruleset. */
export class UnknownFlagError extends TailslideError {
  override name = 'UnknownFlagError';
  readonly appId: number;
  readonly flag: FlagRef;

  constructor(appId: number, flag: FlagRef, knownTitles: readonly string[]) {
    const known =
      knownTitles.length === 0
        ? 'it has no flags'
        : `its flags: ${knownTitles.map((t) => JSON.stringify(t)).join(', ')}`;
    super('NOT_FOUND', `App ${appId} has no flag ${describeFlagRef(flag)} (${known})`);
    this.appId = appId;
    this.flag = flag;
  }
}

/** Another flag of the app already has this title (titles are unique within a ruleset). */
export class DuplicateTitleError extends TailslideError {
  override name = 'DuplicateTitleError';
  readonly appId: number;
  readonly title: string;
  /** Id of the flag that already has the title. */
  readonly existingId: number;

  constructor(appId: number, title: string, existingId: number) {
    super('CONFLICT', `App ${appId} already has a flag titled ${JSON.stringify(title)} (id ${existingId})`);
    this.appId = appId;
    this.title = title;
    this.existingId = existingId;
  }
}

/** A flag field was given a value it cannot take. Names the flag, the field and the value. */
export class InvalidFlagValueError extends TailslideError {
  override name = 'InvalidFlagValueError';
  readonly appId: number;
  /** The flag's title (or how it was named when it has none yet). */
  readonly flag: string;
  /** The wire field (snake_case). */
  readonly field: string;
  readonly value: unknown;

  /** `problem` says what is wrong and shows the value, e.g. `must be a number from 0 to 100, got 250`. */
  constructor(appId: number, flag: string, field: string, value: unknown, problem: string) {
    super('INVALID_OPTION', `Flag ${JSON.stringify(flag)} of app ${appId}: field "${field}" ${problem}`);
    this.appId = appId;
    this.flag = flag;
    this.field = field;
    this.value = value;
  }
}

/** Other writers kept changing the stream: the edit was re-applied `attempts` times and gave up. */
export class EditConflictError extends TailslideError {
  override name = 'EditConflictError';
  readonly appId: number;
  readonly attempts: number;

  constructor(appId: number, attempts: number, what: string, options?: { cause?: unknown }) {
    super(
      'CONFLICT',
      `Could not ${what} in app ${appId}: the stream changed under each of ${attempts} attempts (other writers); try again`,
      options,
    );
    this.appId = appId;
    this.attempts = attempts;
  }
}

/**
 * A guarded update found the flag changed since the caller read it (`updateFlag(…, { expect })`):
 * nothing was published. Carries the flag as it is now and the fields that differ.
 */
export class FlagChangedError extends TailslideError {
  override name = 'FlagChangedError';
  readonly appId: number;
  /** The flag as it is now in the stream. */
  readonly current: WireFlag;
  /** The expected fields whose current values differ. */
  readonly fields: readonly string[];

  constructor(appId: number, current: WireFlag, fields: readonly string[]) {
    super(
      'CONFLICT',
      `Flag ${JSON.stringify(current.title)} of app ${appId} was changed elsewhere (${fields.join(', ')}); the edit was not applied`,
    );
    this.appId = appId;
    this.current = current;
    this.fields = fields;
  }
}

/** A FlagAdmin method was called before `connect()` or after `close()`. */
export class AdminClosedError extends TailslideError {
  override name = 'AdminClosedError';
  constructor(state: 'not connected' | 'closed') {
    super('CLOSED', `FlagAdmin is ${state}${state === 'not connected' ? ': call connect() first' : ''}`);
  }
}

/** A JetStream request failed for a reason other than the ones above (permissions, timeouts, limits). */
export class StreamRequestError extends TailslideError {
  override name = 'StreamRequestError';
  /** JetStream's error code (`err_code`, e.g. 10065), when the server sent one. */
  readonly apiCode: number | undefined;

  constructor(action: string, cause: unknown, apiCode?: number) {
    const reason = cause instanceof Error ? cause.message : describeValue(cause);
    super('CONNECTION', `Could not ${action}: ${reason}`, { cause });
    this.apiCode = apiCode;
  }
}

export function isUnknownAppError(value: unknown): value is UnknownAppError {
  return value instanceof UnknownAppError;
}
export function isUnknownFlagError(value: unknown): value is UnknownFlagError {
  return value instanceof UnknownFlagError;
}
export function isDuplicateTitleError(value: unknown): value is DuplicateTitleError {
  return value instanceof DuplicateTitleError;
}
export function isInvalidFlagValueError(value: unknown): value is InvalidFlagValueError {
  return value instanceof InvalidFlagValueError;
}
export function isEditConflictError(value: unknown): value is EditConflictError {
  return value instanceof EditConflictError;
}
export function isFlagChangedError(value: unknown): value is FlagChangedError {
  return value instanceof FlagChangedError;
}
export function isStreamNotFoundError(value: unknown): value is StreamNotFoundError {
  return value instanceof StreamNotFoundError;
}
