/**
 * Exit codes of the `tailslide` command and how errors map to them. Expected errors (a bad value,
 * an unknown flag, an unreachable server) end with one line on stderr and one of these codes;
 * only an unexpected error (a bug) prints more, and only with TAILSLIDE_DEBUG=1.
 */
import { CommanderError } from 'commander';
import { DuplicateTitleError } from '../../admin/errors';
import { TailslideError, type TailslideErrorCode } from '../../errors';
import { redactOptionValue } from '../../util/redact';

export const EXIT = {
  /** Done. */
  OK: 0,
  /** Usage error or a bad value (unknown option, missing argument, invalid file, value out of range). */
  USAGE: 1,
  /** The app, flag or stream named does not exist. */
  NOT_FOUND: 2,
  /** A server could not be reached, refused the credentials, or refused the request. */
  CONNECTION: 3,
  /** Other writers kept changing the app while an edit was retried: try again. */
  CONFLICT: 4,
  /** The demo needs nats-server / redis-server and they are neither running nor installed. */
  MISSING_SERVER: 5,
  /** Interrupted by a second Ctrl-C while shutting down. */
  INTERRUPTED: 130,
  /** An unexpected error: a bug worth reporting (run again with TAILSLIDE_DEBUG=1 for the stack). */
  INTERNAL: 70,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** What each exit code means, for `--help` and the README. */
export const EXIT_CODE_HELP: readonly (readonly [ExitCode, string])[] = [
  [EXIT.OK, 'done (also --help, and watch or demo stopped with Ctrl-C)'],
  [EXIT.USAGE, 'usage error or bad value'],
  [EXIT.NOT_FOUND, 'app, flag or stream not found'],
  [EXIT.CONNECTION, 'server not reachable, credentials or request refused'],
  [EXIT.CONFLICT, 'edit conflict: other writers kept changing the app, try again'],
  [EXIT.MISSING_SERVER, 'demo: nats-server / redis-server neither running nor installed'],
  [EXIT.INTERNAL, 'internal error (a bug; TAILSLIDE_DEBUG=1 shows the stack)'],
];

/** An error of the command line itself, with its exit code. */
export class CliError extends Error {
  override name = 'CliError';
  readonly exitCode: ExitCode;

  constructor(message: string, exitCode: ExitCode = EXIT.USAGE, options?: { cause?: unknown }) {
    super(message, options);
    this.exitCode = exitCode;
  }
}

/** A command-line value that cannot be used: names the option (or field) and the value. */
export function badValue(what: string, value: unknown, expected: string): CliError {
  const shown = typeof value === 'string' ? redactOptionValue(value) : value;
  return new CliError(`Invalid value for ${what}: ${JSON.stringify(shown)} (expected ${expected})`, EXIT.USAGE);
}

/**
 * Each `TailslideError` code's exit code: the one table library errors map through. A `Record`
 * over every code, so a code added to src/errors.ts fails to compile until it has a row here.
 */
export const EXIT_BY_ERROR_CODE: Readonly<Record<TailslideErrorCode, ExitCode>> = {
  INVALID_OPTION: EXIT.USAGE,
  INVALID_RULESET: EXIT.USAGE,
  NOT_FOUND: EXIT.NOT_FOUND,
  CONFLICT: EXIT.CONFLICT,
  CONNECTION: EXIT.CONNECTION,
  AUTHORIZATION: EXIT.CONNECTION,
  SIGNALS: EXIT.CONNECTION,
  TIMEOUT: EXIT.CONNECTION,
  // Used after close, or a cache file: a bug in the command line if one reaches it.
  CLOSED: EXIT.INTERNAL,
  CACHE_FILE: EXIT.INTERNAL,
};

/** The exit code for anything a command threw. */
export function exitCodeOf(error: unknown): ExitCode {
  if (error instanceof CliError) return error.exitCode;
  if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
  // The one exception to the table: a taken title is CONFLICT to the admin library (another flag
  // holds it), but to the command line a bad value to change, not a conflict that retrying resolves.
  if (error instanceof DuplicateTitleError) return EXIT.USAGE;
  if (error instanceof TailslideError) return EXIT_BY_ERROR_CODE[error.code] ?? EXIT.INTERNAL;
  return EXIT.INTERNAL;
}

/** The one line printed for an error (without the `tailslide: ` prefix). */
export function errorLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const line = message.replace(/\s*\n\s*/g, ' ').trim();
  return exitCodeOf(error) === EXIT.INTERNAL ? `internal error: ${line}` : line;
}
