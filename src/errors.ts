/**
 * Error classes of the SDK. Each has a stable `code`, a `name`, and keeps the error it wraps
 * as `cause`. Programmer mistakes (bad options) throw; runtime trouble is reported through
 * the manager's `error` event and the logger, never as an unhandled rejection.
 */
import { redactOptionValue, redactText } from './util/redact';

export type TailslideErrorCode =
  | 'INVALID_OPTION'
  | 'INVALID_RULESET'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'AUTHORIZATION'
  | 'CONNECTION'
  | 'TIMEOUT'
  | 'CLOSED'
  | 'SIGNALS'
  | 'CACHE_FILE';

export class TailslideError extends Error {
  override name = 'TailslideError';
  readonly code: TailslideErrorCode;

  constructor(code: TailslideErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/**
 * A constructor option (or CLI flag) has a wrong value. Names the option and the value; a URL's
 * credentials are hidden in both the message and `value`.
 */
export class InvalidOptionError extends TailslideError {
  override name = 'InvalidOptionError';
  readonly option: string;
  readonly value: unknown;

  constructor(option: string, value: unknown, expected: string) {
    // Credentials never reach a message or the error's `value`, even in a malformed URL.
    const shown = typeof value === 'string' ? redactOptionValue(value) : value;
    super('INVALID_OPTION', `Invalid option "${option}": ${describeValue(shown)} (expected ${expected})`);
    this.option = option;
    this.value = shown;
  }
}

/** One thing wrong with a ruleset: where it is and what is wrong. */
export interface RulesetIssue {
  /** Index of the flag in the array, when the problem is inside a flag. */
  readonly index?: number;
  /** The flag's id, when it has a usable one (not part of the strict message, which names index and title). */
  readonly id?: number;
  /** The flag's title, when it has a usable one. */
  readonly title?: string;
  /** The wire field (snake_case), when one field is at fault. */
  readonly field?: string;
  readonly message: string;
}

/** A ruleset (a NATS message, a bootstrap file, a CLI file) failed validation. */
export class InvalidRulesetError extends TailslideError {
  override name = 'InvalidRulesetError';
  readonly issues: readonly RulesetIssue[];
  /** Where the ruleset came from: a subject and sequence, a file path, "bootstrap". */
  readonly origin: string;

  constructor(origin: string, issues: readonly RulesetIssue[]) {
    super('INVALID_RULESET', `Invalid ruleset from ${origin}: ${issues.map(formatIssue).join('; ')}`);
    this.origin = origin;
    this.issues = issues;
  }
}

/**
 * One flag of a received ruleset failed validation and was left out; the rest of the ruleset was
 * applied. Emitted once per (flag, reason) as the manager's `error` event. The flag evaluates as
 * FLAG_NOT_FOUND (or, for a duplicate, as the first flag of that title or id).
 */
export class InvalidFlagError extends InvalidRulesetError {
  override name = 'InvalidFlagError';
  readonly issue: RulesetIssue;

  constructor(origin: string, issue: RulesetIssue) {
    super(origin, [issue]);
    this.issue = issue;
    this.message = `Flag left out of the ruleset from ${origin}: ${formatFlagIssue(issue)} (the other flags apply)`;
  }
}

/** The NATS server refused our credentials: retrying the same ones cannot help. */
export class AuthorizationError extends TailslideError {
  override name = 'AuthorizationError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('AUTHORIZATION', message, options);
  }
}

/** A connection could not be made or was lost (NATS, Redis, TLS). */
export class ConnectionError extends TailslideError {
  override name = 'ConnectionError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('CONNECTION', message, options);
  }
}

export function isTailslideError(value: unknown): value is TailslideError {
  return value instanceof TailslideError;
}
export function isInvalidOptionError(value: unknown): value is InvalidOptionError {
  return value instanceof InvalidOptionError;
}
export function isInvalidRulesetError(value: unknown): value is InvalidRulesetError {
  return value instanceof InvalidRulesetError;
}
export function isInvalidFlagError(value: unknown): value is InvalidFlagError {
  return value instanceof InvalidFlagError;
}
export function isAuthorizationError(value: unknown): value is AuthorizationError {
  return value instanceof AuthorizationError;
}

export function formatIssue(issue: RulesetIssue): string {
  const where: string[] = [];
  if (issue.index !== undefined) where.push(`flag #${issue.index}`);
  if (issue.title !== undefined) where.push(JSON.stringify(issue.title));
  if (issue.field !== undefined) where.push(`field "${issue.field}"`);
  return where.length > 0 ? `${where.join(' ')}: ${issue.message}` : issue.message;
}

/** Like `formatIssue`, with the flag's id after its position and title: `flag #2 "beta" (id 7) field "…": …`. */
export function formatFlagIssue(issue: RulesetIssue): string {
  const where: string[] = [];
  if (issue.index !== undefined) where.push(`flag #${issue.index}`);
  if (issue.title !== undefined) where.push(JSON.stringify(issue.title));
  if (issue.id !== undefined) where.push(`(id ${issue.id})`);
  if (issue.field !== undefined) where.push(`field "${issue.field}"`);
  return where.length > 0 ? `${where.join(' ')}: ${issue.message}` : issue.message;
}

/** A short, safe rendering of any value for an error message (credentials in URLs hidden). */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') {
    const text = redactText(value);
    return JSON.stringify(text.length > 80 ? `${text.slice(0, 77)}...` : text);
  }
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'function') return 'a function';
  return `an object`;
}

/** Turns anything thrown into an Error, for `cause` and logging. */
export function toError(value: unknown): Error {
  return value instanceof Error ? value : new Error(typeof value === 'string' ? value : describeValue(value));
}
