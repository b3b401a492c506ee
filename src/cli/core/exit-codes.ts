/**
 * Exit codes of the `tailslide` command and how errors map to them. Expected errors (a bad value,
 * an unknown flag, an unreachable server) end with one line on stderr and one of these codes;
 * only an unexpected error (a bug) prints more, and only with TAILSLIDE_DEBUG=1.
 */
import { CommanderError } from 'commander';
import {
  DuplicateTitleError,
  EditConflictError,
  StreamNotFoundError,
  UnknownAppError,
  UnknownFlagError,
} from '../../admin/errors';
import { TailslideError } from '../../errors';
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

/** The exit code for anything a command threw. */
export function exitCodeOf(error: unknown): ExitCode {
  if (error instanceof CliError) return error.exitCode;
  if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
  if (error instanceof UnknownAppError || error instanceof UnknownFlagError || error instanceof StreamNotFoundError) {
    return EXIT.NOT_FOUND;
  }
  if (error instanceof EditConflictError) return EXIT.CONFLICT;
  // A taken title is a bad value to change, not a conflict that retrying resolves.
  if (error instanceof DuplicateTitleError) return EXIT.USAGE;
  if (error instanceof TailslideError) {
    switch (error.code) {
      case 'INVALID_OPTION':
      case 'INVALID_RULESET':
        return EXIT.USAGE;
      case 'NOT_FOUND':
        return EXIT.NOT_FOUND;
      case 'CONFLICT':
        return EXIT.CONFLICT;
      case 'CONNECTION':
      case 'AUTHORIZATION':
      case 'SIGNALS':
      case 'TIMEOUT':
        return EXIT.CONNECTION;
      default:
        return EXIT.INTERNAL;
    }
  }
  return EXIT.INTERNAL;
}

/** The one line printed for an error (without the `tailslide: ` prefix). */
export function errorLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const line = message.replace(/\s*\n\s*/g, ' ').trim();
  return exitCodeOf(error) === EXIT.INTERNAL ? `internal error: ${line}` : line;
}
