/** Glue between commander and the command functions: typed options, arguments and an Output. */
import { Command } from 'commander';
import { Output, type Streams } from '../format/output';
import type { Session } from './session';

/** What the program runs against, given to every command: the binary passes the real ones, tests their own. */
export interface CliDeps {
  /** Makes the admin (NATS) and signal reader (Redis) a command talks to. */
  readonly session: Session;
  /** Where results (stdout) and notes, warnings and errors (stderr) go. */
  readonly streams: Streams;
}

export interface ActionContext<O> {
  /** The command's options (flags, environment, defaults), as commander parsed them. */
  readonly opts: O;
  /** Declared arguments in order; a variadic one is an array. */
  readonly args: readonly unknown[];
  readonly out: Output;
  readonly session: Session;
}

/** An action handler for `command.action()`: commander passes the arguments, the options, then the command. */
export function action<O extends object>(
  deps: CliDeps,
  run: (ctx: ActionContext<O>) => Promise<void>,
): (...params: unknown[]) => Promise<void> {
  return async (...params: unknown[]) => {
    const command = params[params.length - 1];
    if (!(command instanceof Command)) throw new Error('commander did not pass the command to its action');
    const opts = command.opts<O>();
    const out = new Output((opts as { json?: unknown }).json === true, deps.streams);
    await run({ opts, args: command.processedArgs as unknown[], out, session: deps.session });
  };
}

export function stringArg(args: readonly unknown[], index: number): string {
  const value = args[index];
  return typeof value === 'string' ? value : '';
}

export function optionalStringArg(args: readonly unknown[], index: number): string | undefined {
  const value = args[index];
  return typeof value === 'string' ? value : undefined;
}

export function stringsArg(args: readonly unknown[], index: number): string[] {
  const value = args[index];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}
